// Package linearfake is Linear's GraphQL API, as far as sitrep's backlog
// sync uses it, in process. Every request's query is parsed and validated
// with gqlparser against the excerpt of Linear's published schema
// (schema/; made from linear/linear's packages/sdk/src/schema.graphql by
// excerpt_test.go): an unknown field or argument, a wrong type, a
// variable of the wrong type is refused as Linear refuses it (HTTP 400,
// GRAPHQL_VALIDATION_FAILED) and fails the test. A query the schema
// allows but the fake does not model (a filter it does not implement, a
// field its objects do not carry, a fragment) is recorded as uncovered
// and fails the test at cleanup.
//
// Errors have Linear's shape: {"errors": [{"message", "extensions": {"code",
// "type", "userError", "userPresentableMessage"}}]}, the type strings
// being those Linear's SDK reads (packages/sdk/src/error.ts).
//
// Faults: a queue per top-level field (FailNext: issueCreate, issues,
// users, teams, issueLabels, viewer, issueUpdate, workflowStates) answers a
// rate limit (HTTP 400 with extensions.code RATELIMITED, or 429, with
// the X-RateLimit-Requests-Reset header), 500, 502, 503, or an
// authentication or permission error; Lost does the work (creates the
// issue) and drops the connection before answering; Hang does it and
// never answers.
package linearfake

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/trackerfake"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

//go:embed schema/linear-excerpt.graphql
var schemaText string

// LoadSchema parses the embedded excerpt of Linear's schema.
func LoadSchema() (*ast.Schema, error) {
	return gqlparser.LoadSchema(&ast.Source{Name: "linear-excerpt.graphql", Input: schemaText})
}

// User is a member of the workspace.
type User struct {
	ID, Name, Email string
	Inactive        bool
}

// Label is an issue label: of the team, or of the workspace (Team "").
type Label struct {
	ID, Name string
	Team     string // the team's key; "" a workspace label
}

// Options configure the fake.
type Options struct {
	APIKey string // the Authorization header every request must carry
	Team   string // the one team's key: ENG
	Users  []User
	Labels []Label
}

// Fault is what the next call of a top-level field gets instead of its answer.
type Fault struct {
	Status int // 400 (with Code), 429, 401, 403, 500, 502, 503
	// Code is extensions.code of the error: RATELIMITED,
	// AUTHENTICATION_ERROR, FORBIDDEN, INVALID_INPUT.
	Code string
	// ResetIn puts X-RateLimit-Requests-Reset (UTC epoch milliseconds)
	// on a rate limit, this long after the fault is answered; zero: none.
	// It is relative to the answer, as Linear's window is, so that a test
	// on a loaded machine sees the wait it asked for.
	ResetIn time.Duration
	Lost    bool // do the work, then drop the connection unanswered
	Hang    bool // do the work, then never answer
}

// Request is one request the fake saw.
type Request struct {
	Operation string // the top-level fields, comma-separated
	Query     string
	Variables string
	Status    int // what it was answered; 0 when lost or hung
}

// State is a workflow state of the team.
type State struct{ ID, Name, Type string }

// States are the team's workflow, as a new Linear team has it.
var States = []State{
	{"st-backlog", "Backlog", "backlog"}, {"st-todo", "Todo", "unstarted"}, {"st-progress", "In Progress", "started"},
	{"st-done", "Done", "completed"}, {"st-canceled", "Canceled", "canceled"},
}

func stateByID(id string) *State {
	for i := range States {
		if States[i].ID == id {
			return &States[i]
		}
	}
	return nil
}

// Issue is an issue of the fake's team.
type Issue struct {
	ID, Identifier string
	Title          string
	Description    string
	Assignee       string // user id
	DueDate        string
	LabelIDs       []string
	StateID        string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ArchivedAt     *time.Time
}

// Server is the fake.
type Server struct {
	*httptest.Server
	t      testing.TB
	o      Options
	schema *ast.Schema
	teamID string

	mu     sync.Mutex // guards issues, ledger and clock
	issues []*Issue
	ledger trackerfake.Ledger[Fault, Request]
	clock  time.Time
}

// New starts the fake; it stops, and fails t for uncovered calls, at cleanup.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	schema, err := LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, o: o, schema: schema, teamID: "team-" + strings.ToLower(o.Team)}
	s.Server = trackerfake.Serve(t, http.HandlerFunc(s.serve), &s.mu, &s.ledger, "linearfake", "schema")
	return s
}

// GraphQLURL is the endpoint, as api_url.
func (s *Server) GraphQLURL() string { return s.URL + "/graphql" }

// TeamID is the team's id.
func (s *Server) TeamID() string { return s.teamID }

// FailNext queues a fault for the next request whose first top-level
// field is field.
func (s *Server) FailNext(field string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schema.Query.Fields.ForName(field) == nil && s.schema.Mutation.Fields.ForName(field) == nil {
		s.t.Fatalf("linearfake: FailNext: no field %q in the excerpt", field)
	}
	s.ledger.Queue(field, f)
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.Requests()
}

// Count is how many requests asked for the top-level field.
func (s *Server) Count(field string) int {
	n := 0
	for _, r := range s.Requests() {
		if slices.Contains(strings.Split(r.Operation, ","), field) {
			n++
		}
	}
	return n
}

// Uncovered returns the calls the fake could not answer faithfully.
func (s *Server) Uncovered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.Uncovered()
}

// TakeUncovered returns the uncovered calls and forgets them.
func (s *Server) TakeUncovered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.TakeUncovered()
}

// Issues returns a copy of the team's issues.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = *is
		out[i].LabelIDs = slices.Clone(is.LabelIDs)
	}
	return out
}

// SetState moves issue identifier to the workflow state named (Todo, In
// Progress, Done, Canceled...), as someone in Linear would.
func (s *Server) SetState(identifier, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.find(identifier)
	if is == nil {
		s.t.Fatalf("linearfake: SetState: no issue %s", identifier)
	}
	for _, st := range States {
		if st.Name == name {
			if is.StateID != st.ID {
				is.StateID, is.UpdatedAt = st.ID, s.tick()
			}
			return
		}
	}
	s.t.Fatalf("linearfake: SetState: no state %q", name)
}

// AddIssue adds an issue made by someone else.
func (s *Server) AddIssue(title string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(fmt.Sprintf("00000000-0000-4000-8000-%012d", len(s.issues)+1), title).Identifier
}

func (s *Server) find(idOrIdentifier string) *Issue {
	for _, is := range s.issues {
		if is.ID == idOrIdentifier || is.Identifier == idOrIdentifier {
			return is
		}
	}
	return nil
}

func (s *Server) tick() time.Time {
	now := time.Now().UTC().Truncate(time.Millisecond)
	if next := s.clock.Add(time.Millisecond); next.After(now) {
		now = next
	}
	s.clock = now
	return now
}

func (s *Server) create(id, title string) *Issue {
	at := s.tick()
	is := &Issue{ID: id, Identifier: s.o.Team + "-" + strconv.Itoa(len(s.issues)+1), Title: title, StateID: "st-todo", CreatedAt: at, UpdatedAt: at}
	s.issues = append(s.issues, is)
	return is
}

// Event is an Issue webhook delivery's body for identifier, as Linear
// sends it: action, type, the issue as data, the actor, and
// webhookTimestamp (now, in milliseconds, unless at is given).
func (s *Server) Event(identifier, action, actor string, at time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.find(identifier)
	if is == nil {
		s.t.Fatalf("linearfake: Event: no issue %s", identifier)
	}
	if at.IsZero() {
		at = time.Now()
	}
	st := stateByID(is.StateID)
	data := map[string]any{"id": is.ID, "identifier": is.Identifier, "title": is.Title, "url": s.issueURL(is),
		"createdAt": is.CreatedAt.Format(time.RFC3339Nano), "updatedAt": is.UpdatedAt.Format(time.RFC3339Nano),
		"number": len(s.issues), "teamId": s.teamID, "stateId": st.ID, "priority": 0, "labelIds": is.LabelIDs,
		"state": map[string]any{"id": st.ID, "name": st.Name, "type": st.Type, "color": "#5e6ad2"},
		"team":  map[string]any{"id": s.teamID, "key": s.o.Team, "name": s.o.Team}}
	b, _ := json.Marshal(map[string]any{"action": action, "type": "Issue", "data": data, "url": s.issueURL(is),
		"updatedFrom":      map[string]any{"updatedAt": is.CreatedAt.Format(time.RFC3339Nano), "stateId": "st-todo"},
		"actor":            map[string]any{"id": "user-actor", "name": actor, "type": "user"},
		"createdAt":        at.UTC().Format(time.RFC3339Nano),
		"organizationId":   "org-example",
		"webhookTimestamp": at.UnixMilli(), "webhookId": "webhook-1"})
	return b
}

func (s *Server) issueURL(is *Issue) string {
	return "https://linear.app/example/issue/" + is.Identifier
}

// gqlErr is one error of an answer, in Linear's shape.
type gqlErr struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func linearError(code, typ, msg string, user bool) gqlErr {
	return gqlErr{Message: msg, Extensions: map[string]any{"code": code, "type": typ, "userError": user, "userPresentableMessage": msg}}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{}
	at := s.ledger.Record(req)
	defer func() { *s.ledger.At(at) = req }()

	if r.Method != http.MethodPost || r.URL.Path != "/graphql" {
		s.uncover(&req, r.Method+" "+r.URL.Path+": Linear's API is POST /graphql")
		req.Status = s.answer(w, http.StatusNotFound, nil, []gqlErr{linearError("NOT_FOUND", "unknown", "Not found", false)})
		return
	}
	if r.Header.Get("Authorization") != s.o.APIKey {
		req.Status = s.answer(w, http.StatusUnauthorized, nil, []gqlErr{linearError("AUTHENTICATION_ERROR", "authentication error",
			"Authentication required, not authenticated", true)})
		return
	}
	var in struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil || in.Query == "" {
		s.uncover(&req, "a body that is not a GraphQL request")
		req.Status = s.answer(w, http.StatusBadRequest, nil, []gqlErr{linearError("BAD_USER_INPUT", "invalid input", "Must provide query string.", true)})
		return
	}
	vb, _ := json.Marshal(in.Variables)
	req.Query, req.Variables = in.Query, string(vb)
	doc, errs := gqlparser.LoadQuery(s.schema, in.Query)
	if len(errs) > 0 {
		var list []gqlErr
		for _, e := range errs {
			list = append(list, linearError("GRAPHQL_VALIDATION_FAILED", "graphql error", e.Message, true))
			s.uncover(&req, "the schema does not allow it: "+e.Message)
		}
		req.Status = s.answer(w, http.StatusBadRequest, nil, list)
		return
	}
	op := doc.Operations.ForName(in.OperationName)
	if op == nil || len(doc.Operations) != 1 {
		s.uncover(&req, "a request with more than one operation, or none named")
		req.Status = s.answer(w, http.StatusBadRequest, nil, []gqlErr{linearError("GRAPHQL_VALIDATION_FAILED", "graphql error", "Unknown operation", true)})
		return
	}
	if len(doc.Fragments) > 0 {
		s.uncover(&req, "fragments (the fake does not model them)")
	}
	vars, gerr := validator.VariableValues(s.schema, op, in.Variables)
	if gerr != nil {
		s.uncover(&req, "variables the schema does not allow: "+gerr.Error())
		req.Status = s.answer(w, http.StatusBadRequest, nil, []gqlErr{linearError("GRAPHQL_VALIDATION_FAILED", "graphql error", gerr.Error(), true)})
		return
	}
	var fields []*ast.Field
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			s.uncover(&req, "a fragment at the top level")
			continue
		}
		fields = append(fields, f)
		if req.Operation != "" {
			req.Operation += ","
		}
		req.Operation += f.Name
	}
	var f Fault
	faulted := false
	if len(fields) > 0 {
		f, faulted = s.ledger.TakeFault(fields[0].Name)
	}
	if faulted && !f.Lost && !f.Hang {
		req.Status = s.fault(w, f)
		return
	}
	data := map[string]any{}
	var errList []gqlErr
	for _, fld := range fields {
		v, e := s.resolve(op.Operation, fld, vars, &req)
		if e != nil {
			errList = append(errList, *e)
			data[key(fld)] = nil
			continue
		}
		data[key(fld)] = v
	}
	if f.Lost {
		trackerfake.Lose()
	}
	if f.Hang {
		*s.ledger.At(at) = req // seen at once, answered never
		s.ledger.Hang(r, &s.mu)
		return
	}
	status := http.StatusOK
	if len(errList) > 0 {
		status = http.StatusBadRequest
		if len(errList) < len(fields) {
			status = http.StatusOK
		}
	}
	req.Status = s.answer(w, status, data, errList)
}

func key(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

func (s *Server) fault(w http.ResponseWriter, f Fault) int {
	if f.ResetIn != 0 {
		w.Header().Set("X-RateLimit-Requests-Limit", "5000")
		w.Header().Set("X-RateLimit-Requests-Remaining", "0")
		w.Header().Set("X-RateLimit-Requests-Reset", strconv.FormatInt(time.Now().Add(f.ResetIn).UnixMilli(), 10))
	}
	switch {
	case f.Code == "RATELIMITED" || f.Status == http.StatusTooManyRequests:
		return s.answer(w, cmpOr(f.Status, http.StatusBadRequest), nil, []gqlErr{linearError("RATELIMITED", "ratelimited", "Rate limit exceeded", false)})
	case f.Code == "AUTHENTICATION_ERROR" || f.Status == http.StatusUnauthorized:
		return s.answer(w, cmpOr(f.Status, http.StatusBadRequest), nil, []gqlErr{linearError("AUTHENTICATION_ERROR", "authentication error", "Authentication required, not authenticated", true)})
	case f.Code == "FORBIDDEN" || f.Status == http.StatusForbidden:
		return s.answer(w, cmpOr(f.Status, http.StatusBadRequest), nil, []gqlErr{linearError("FORBIDDEN", "forbidden", "You don't have access to this team", true)})
	case f.Code == "INVALID_INPUT":
		return s.answer(w, cmpOr(f.Status, http.StatusBadRequest), nil, []gqlErr{linearError("INVALID_INPUT", "invalid input", "Argument Validation Error", true)})
	case f.Status == http.StatusBadGateway || f.Status == http.StatusServiceUnavailable:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html><body>"+http.StatusText(f.Status)+"</body></html>")
		return f.Status
	default:
		return s.answer(w, cmpOr(f.Status, http.StatusInternalServerError), nil, []gqlErr{linearError("INTERNAL_SERVER_ERROR", "internal error", "Internal server error", false)})
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// resolve answers one top-level field: its modelled value, projected on
// the field's selection.
func (s *Server) resolve(kind ast.Operation, f *ast.Field, vars map[string]any, req *Request) (any, *gqlErr) {
	args := f.ArgumentMap(vars)
	var v any
	var e *gqlErr
	switch {
	case kind == ast.Query && f.Name == "issues":
		v, e = s.queryIssues(args, req)
	case kind == ast.Query && f.Name == "users":
		v = s.queryUsers(args, req)
	case kind == ast.Query && f.Name == "teams":
		v = s.queryTeams(args, req)
	case kind == ast.Query && f.Name == "issueLabels":
		v = s.queryLabels(args, req)
	case kind == ast.Query && f.Name == "workflowStates":
		v = s.queryStates(args, req)
	case kind == ast.Query && f.Name == "viewer":
		v = map[string]any{"id": "user-sitrep", "name": "sitrep", "email": "sitrep@example.com", "active": true}
	case kind == ast.Mutation && f.Name == "issueCreate":
		v, e = s.issueCreate(args, req)
	case kind == ast.Mutation && f.Name == "issueUpdate":
		v, e = s.issueUpdate(args, req)
	default:
		s.uncover(req, "the fake does not model "+f.Name)
		return nil, &gqlErr{Message: "linearfake does not model " + f.Name}
	}
	if e != nil {
		return nil, e
	}
	return s.project(f.SelectionSet, v, f.Definition.Type.Name(), req), nil
}

// project keeps what the selection asks for of the modelled value v.
func (s *Server) project(sel ast.SelectionSet, v any, typ string, req *Request) any {
	if len(sel) == 0 || v == nil {
		return v
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.project(sel, e, typ, req)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for _, se := range sel {
			f, ok := se.(*ast.Field)
			if !ok {
				s.uncover(req, "a fragment in a selection")
				continue
			}
			if f.Name == "__typename" {
				out[key(f)] = typ
				continue
			}
			val, ok := x[f.Name]
			if !ok {
				s.uncover(req, "the fake's "+typ+" does not carry "+f.Name)
				out[key(f)] = nil
				continue
			}
			if len(f.Arguments) > 0 {
				s.uncover(req, "arguments on "+typ+"."+f.Name)
			}
			out[key(f)] = s.project(f.SelectionSet, val, f.Definition.Type.Name(), req)
		}
		return out
	}
	return v
}

func (s *Server) user(id string) map[string]any {
	for _, u := range s.o.Users {
		if u.ID == id {
			return map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "active": !u.Inactive}
		}
	}
	return nil
}

func (s *Server) team() map[string]any {
	return map[string]any{"id": s.teamID, "key": s.o.Team, "name": s.o.Team}
}

func (s *Server) stateJSON(id string) map[string]any {
	st := stateByID(id)
	return map[string]any{"id": st.ID, "name": st.Name, "type": st.Type, "team": s.team()}
}

func (s *Server) issueJSON(is *Issue) map[string]any {
	m := map[string]any{"id": is.ID, "identifier": is.Identifier, "url": s.issueURL(is), "title": is.Title, "description": is.Description,
		"createdAt": is.CreatedAt.Format(time.RFC3339Nano), "updatedAt": is.UpdatedAt.Format(time.RFC3339Nano), "dueDate": nil,
		"state": s.stateJSON(is.StateID), "team": s.team(), "assignee": nil, "archivedAt": nil}
	if is.DueDate != "" {
		m["dueDate"] = is.DueDate
	}
	if is.Assignee != "" {
		m["assignee"] = s.user(is.Assignee)
	}
	return m
}

// only records as uncovered any key of m (an argument, a filter) other
// than those the fake models.
func (s *Server) only(m map[string]any, what string, req *Request, modelled ...string) {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(modelled, k) {
			s.uncover(req, "the fake does not model "+what+"."+k)
		}
	}
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func (s *Server) connection(nodes []any, args map[string]any, req *Request) map[string]any {
	first := 50
	if v, ok := args["first"]; ok && v != nil {
		n, _ := strconv.Atoi(fmt.Sprint(v))
		first = n
	}
	if first < 1 || first > 250 {
		first = 50
	}
	start := 0
	if v, ok := args["after"].(string); ok && v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if n, err2 := strconv.Atoi(string(b)); err == nil && err2 == nil {
			start = n
		}
	}
	end := min(start+first, len(nodes))
	page := []any{}
	if start < len(nodes) {
		page = nodes[start:end]
	}
	info := map[string]any{"hasNextPage": end < len(nodes), "endCursor": nil}
	if len(page) > 0 {
		info["endCursor"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return map[string]any{"nodes": page, "pageInfo": info}
}

func (s *Server) queryIssues(args map[string]any, req *Request) (any, *gqlErr) {
	s.only(args, "issues", req, "filter", "first", "after", "includeArchived", "orderBy")
	filter := obj(args["filter"])
	s.only(filter, "IssueFilter", req, "id", "team", "updatedAt")
	idEq := ""
	if c := obj(filter["id"]); c != nil {
		s.only(c, "IssueIDComparator", req, "eq")
		idEq, _ = c["eq"].(string)
	}
	teamEq := ""
	if t := obj(filter["team"]); t != nil {
		s.only(t, "TeamFilter", req, "id")
		c := obj(t["id"])
		s.only(c, "IDComparator", req, "eq")
		teamEq, _ = c["eq"].(string)
	}
	var since time.Time
	if c := obj(filter["updatedAt"]); c != nil {
		s.only(c, "DateComparator", req, "gte")
		str, _ := c["gte"].(string)
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			s.uncover(req, "updatedAt.gte as a duration or "+str+" (the fake models an ISO 8601 time)")
		}
		since = t
	}
	archived := args["includeArchived"] == true
	var list []*Issue
	for _, is := range s.issues {
		if idEq != "" && is.ID != idEq || teamEq != "" && teamEq != s.teamID || !since.IsZero() && is.UpdatedAt.Before(since) {
			continue
		}
		if is.ArchivedAt != nil && !archived {
			continue
		}
		list = append(list, is)
	}
	order := "createdAt"
	if v, ok := args["orderBy"].(string); ok {
		order = v
	}
	sort.SliceStable(list, func(i, j int) bool {
		// Newest first, as Linear orders a connection.
		if order == "updatedAt" {
			return list[i].UpdatedAt.After(list[j].UpdatedAt)
		}
		return list[i].CreatedAt.After(list[j].CreatedAt)
	})
	nodes := []any{}
	for _, is := range list {
		nodes = append(nodes, s.issueJSON(is))
	}
	return s.connection(nodes, args, req), nil
}

func (s *Server) queryUsers(args map[string]any, req *Request) any {
	s.only(args, "users", req, "filter", "first")
	filter := obj(args["filter"])
	s.only(filter, "UserFilter", req, "email")
	c := obj(filter["email"])
	s.only(c, "StringComparator", req, "eq", "eqIgnoreCase")
	nodes := []any{}
	for _, u := range s.o.Users {
		if v, ok := c["eq"].(string); ok && u.Email != v {
			continue
		}
		if v, ok := c["eqIgnoreCase"].(string); ok && !strings.EqualFold(u.Email, v) {
			continue
		}
		nodes = append(nodes, s.user(u.ID))
	}
	return s.connection(nodes, args, req)
}

func (s *Server) queryTeams(args map[string]any, req *Request) any {
	s.only(args, "teams", req, "filter", "first")
	filter := obj(args["filter"])
	s.only(filter, "TeamFilter", req, "key")
	c := obj(filter["key"])
	s.only(c, "StringComparator", req, "eq")
	nodes := []any{}
	if v, ok := c["eq"].(string); !ok || v == s.o.Team {
		nodes = append(nodes, s.team())
	}
	return s.connection(nodes, args, req)
}

func (s *Server) queryLabels(args map[string]any, req *Request) any {
	s.only(args, "issueLabels", req, "filter", "first")
	filter := obj(args["filter"])
	s.only(filter, "IssueLabelFilter", req, "name")
	c := obj(filter["name"])
	s.only(c, "StringComparator", req, "in", "eq")
	var names []string
	if list, ok := c["in"].([]any); ok {
		for _, n := range list {
			names = append(names, fmt.Sprint(n))
		}
	}
	if v, ok := c["eq"].(string); ok {
		names = append(names, v)
	}
	nodes := []any{}
	for _, l := range s.o.Labels {
		if names != nil && !slices.Contains(names, l.Name) {
			continue
		}
		m := map[string]any{"id": l.ID, "name": l.Name, "team": nil}
		if l.Team != "" {
			m["team"] = map[string]any{"id": "team-" + strings.ToLower(l.Team), "key": l.Team, "name": l.Team}
		}
		nodes = append(nodes, m)
	}
	return s.connection(nodes, args, req)
}

func (s *Server) queryStates(args map[string]any, req *Request) any {
	s.only(args, "workflowStates", req, "filter", "first")
	filter := obj(args["filter"])
	s.only(filter, "WorkflowStateFilter", req, "team", "type")
	if t := obj(filter["team"]); t != nil {
		s.only(t, "TeamFilter", req, "id")
		s.only(obj(t["id"]), "IDComparator", req, "eq")
	}
	c := obj(filter["type"])
	s.only(c, "StringComparator", req, "eq", "in")
	nodes := []any{}
	for _, st := range States {
		if v, ok := c["eq"].(string); ok && st.Type != v {
			continue
		}
		if list, ok := c["in"].([]any); ok && !slices.ContainsFunc(list, func(x any) bool { return fmt.Sprint(x) == st.Type }) {
			continue
		}
		nodes = append(nodes, s.stateJSON(st.ID))
	}
	return s.connection(nodes, args, req)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func invalid(msg string) *gqlErr {
	e := linearError("INVALID_INPUT", "invalid input", msg, true)
	return &e
}

func (s *Server) checkAssignee(v any) (string, *gqlErr) {
	id, _ := v.(string)
	if u := s.user(id); u == nil || u["active"] != true {
		return "", invalid("Argument Validation Error: assigneeId " + id + " is not a user of the workspace")
	}
	return id, nil
}

func (s *Server) issueCreate(args map[string]any, req *Request) (any, *gqlErr) {
	in := obj(args["input"])
	s.only(in, "IssueCreateInput", req, "id", "teamId", "title", "description", "assigneeId", "dueDate", "labelIds")
	if in["teamId"] != s.teamID {
		return nil, invalid("Argument Validation Error: teamId must be the id of a team")
	}
	title, _ := in["title"].(string)
	if strings.TrimSpace(title) == "" {
		return nil, invalid("Argument Validation Error: title should not be empty")
	}
	id, _ := in["id"].(string)
	if id == "" {
		s.uncover(req, "issueCreate without an id (the fake models the client's own)")
	} else if !uuidRE.MatchString(id) {
		return nil, invalid("Argument Validation Error: id must be a UUID v4")
	}
	if s.find(id) != nil {
		// What Linear answers to an id taken is not documented; the
		// client does not read it (it looks the id up).
		return nil, invalid("Entity with this id already exists")
	}
	is := &Issue{}
	if v, ok := in["assigneeId"]; ok && v != nil {
		a, e := s.checkAssignee(v)
		if e != nil {
			return nil, e
		}
		is.Assignee = a
	}
	if v, ok := in["dueDate"].(string); ok {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return nil, invalid("Argument Validation Error: dueDate must be a date")
		}
		is.DueDate = v
	}
	if list, ok := in["labelIds"].([]any); ok {
		for _, x := range list {
			if !slices.ContainsFunc(s.o.Labels, func(l Label) bool { return l.ID == x && (l.Team == "" || l.Team == s.o.Team) }) {
				return nil, invalid("Argument Validation Error: labelIds: no label " + fmt.Sprint(x) + " in the team or the workspace")
			}
			is.LabelIDs = append(is.LabelIDs, fmt.Sprint(x))
		}
	}
	made := s.create(id, title)
	made.Description, _ = in["description"].(string)
	made.Assignee, made.DueDate, made.LabelIDs = is.Assignee, is.DueDate, is.LabelIDs
	return map[string]any{"success": true, "lastSyncId": float64(len(s.issues)), "issue": s.issueJSON(made)}, nil
}

func (s *Server) issueUpdate(args map[string]any, req *Request) (any, *gqlErr) {
	id, _ := args["id"].(string)
	is := s.find(id)
	if is == nil {
		e := linearError("INVALID_INPUT", "invalid input", "Entity not found: Issue", true)
		return nil, &e
	}
	in := obj(args["input"])
	s.only(in, "IssueUpdateInput", req, "stateId", "assigneeId", "dueDate")
	changed := false
	if v, ok := in["stateId"]; ok {
		st := stateByID(fmt.Sprint(v))
		if st == nil {
			return nil, invalid("Argument Validation Error: stateId must be a state of the team")
		}
		changed = changed || is.StateID != st.ID
		is.StateID = st.ID
	}
	if v, ok := in["assigneeId"]; ok {
		a := ""
		if v != nil {
			var e *gqlErr
			if a, e = s.checkAssignee(v); e != nil {
				return nil, e
			}
		}
		changed = changed || is.Assignee != a
		is.Assignee = a
	}
	if v, ok := in["dueDate"]; ok {
		d := ""
		if v != nil {
			d = fmt.Sprint(v)
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return nil, invalid("Argument Validation Error: dueDate must be a date")
			}
		}
		changed = changed || is.DueDate != d
		is.DueDate = d
	}
	if changed {
		is.UpdatedAt = s.tick()
	}
	return map[string]any{"success": true, "lastSyncId": float64(len(s.issues)), "issue": s.issueJSON(is)}, nil
}

func (s *Server) uncover(req *Request, what string) {
	q := strings.Join(strings.Fields(req.Query), " ")
	if len(q) > 120 {
		q = q[:120] + "…"
	}
	s.ledger.Uncover(q + ": " + what)
}

func (s *Server) answer(w http.ResponseWriter, status int, data map[string]any, errs []gqlErr) int {
	out := map[string]any{}
	if data != nil {
		out["data"] = data
	}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}
