// Package jirafake is Jira Cloud's REST API v3, as far as sitrep's backlog
// sync uses it, in process. Every request is checked against the excerpt
// of Jira's published OpenAPI document (openapi/; made from
// swagger-v3.v3.json by excerpt_test.go): the method and path, every query
// parameter (known, of its type), the body against its schema (required,
// unknown and read-only properties, types). Jira's document describes an
// issue's `fields` as a free map (each site has its own fields), so the
// fake checks the system fields sitrep sets as Jira's field reference
// describes them (project, issuetype, summary, description as an Atlassian
// Document Format doc, labels, duedate, assignee by accountId), and JQL by
// a parser of the clauses sitrep writes. A request the document does not
// allow gets Jira's error shape (ErrorCollection) and fails the test; a
// request the document allows but the fake does not model (another field,
// a JQL clause, a parameter it does not implement) is recorded as
// uncovered and fails the test at cleanup. Every answer the fake gives is
// checked against the document's response schema too.
//
// Faults: a queue per operation (FailNext) answers 429 with Retry-After,
// 500, 502, 503, 401, 403, 404; Lost does the work (creates the issue) and
// drops the connection before answering; Hang does it and never answers.
// SearchLag keeps a new issue out of JQL results for a while, as Jira's
// search index does.
package jirafake

import (
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
	"unicode"

	"github.com/sitrep-dev/sitrep/internal/backlog/trackerfake"
)

// User is an Atlassian account of the site.
type User struct {
	AccountID   string
	Email       string
	DisplayName string
	// HideEmail: the person's profile hides the address (the search
	// still finds them by it, but emailAddress is left out).
	HideEmail bool
	Inactive  bool
	// NotAssignable: the person lacks "Assignable user" in the project.
	NotAssignable bool
}

// Options configure the fake.
type Options struct {
	Email, Token string   // the account and API token every request must carry
	Project      string   // the one project's key: OPS
	IssueTypes   []string // nil: Task, Bug
	Users        []User
	// NoDueDate: duedate is not on the project's create screen.
	NoDueDate bool
	// SearchLag: a new issue shows in JQL results this long after it was
	// created.
	SearchLag time.Duration
}

// Fault is what the next call of an operation gets instead of its answer.
type Fault struct {
	Status     int    // 429, 401, 403, 404, 500, 502, 503
	RetryAfter string // the Retry-After header, when set
	Lost       bool   // do the work, then drop the connection unanswered
	Hang       bool   // do the work, then never answer
}

// Request is one request the fake saw.
type Request struct {
	Method, Path, Query string
	Operation           string // operationId; "" when none matched
	Body                string
	Status              int // what it was answered; 0 when lost or hung
}

// Transition is a status change in an issue's history.
type Transition struct {
	By       string // the display name
	At       time.Time
	From, To string // status names
}

// Issue is an issue of the fake's site.
type Issue struct {
	ID, Key     string
	Project     string
	IssueType   string
	Summary     string
	Description any // the ADF document
	Labels      []string
	Due         string
	Assignee    string // accountId
	Status      string // To Do | In Progress | Done
	Created     time.Time
	Updated     time.Time
	History     []Transition
}

// statuses is the workflow: every status, its category and the transition
// that leads to it.
var statuses = []struct{ name, id, category, catName, color, transition string }{
	{"To Do", "10000", "new", "To Do", "blue-gray", "11"},
	{"In Progress", "3", "indeterminate", "In Progress", "yellow", "21"},
	{"Done", "10001", "done", "Done", "green", "31"},
}

var catIDs = map[string]int{"new": 2, "indeterminate": 4, "done": 3}

// Server is the fake.
type Server struct {
	*httptest.Server
	t  testing.TB
	o  Options
	ex *Excerpt

	mu     sync.Mutex // guards issues, ledger and clock
	issues []*Issue
	ledger trackerfake.Ledger[Fault, Request]
	clock  time.Time
}

// New starts the fake; it stops, and fails t for uncovered calls, at cleanup.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	ex, err := LoadExcerpt()
	if err != nil {
		t.Fatal(err)
	}
	if o.IssueTypes == nil {
		o.IssueTypes = []string{"Task", "Bug"}
	}
	s := &Server{t: t, o: o, ex: ex}
	s.Server = trackerfake.Serve(t, http.HandlerFunc(s.serve), &s.mu, &s.ledger, "jirafake", "document")
	return s
}

// FailNext queues a fault for the next call of operation (an operationId:
// createIssue, searchAndReconsileIssuesUsingJql, findUsers, getProject,
// editIssue, getTransitions, doTransition).
func (s *Server) FailNext(operation string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ex.operation(operation) == nil {
		s.t.Fatalf("jirafake: FailNext: no operation %q in the excerpt", operation)
	}
	s.ledger.Queue(operation, f)
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.Requests()
}

// Count is how many requests of operation were seen.
func (s *Server) Count(operation string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Operation == operation {
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

// TakeUncovered returns the uncovered calls and forgets them, for tests
// that make one on purpose.
func (s *Server) TakeUncovered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.TakeUncovered()
}

// Issues returns a copy of the site's issues.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = *is
		out[i].Labels = slices.Clone(is.Labels)
		out[i].History = slices.Clone(is.History)
	}
	return out
}

// Transition moves issue key to status (To Do, In Progress, Done), as a
// person named by would on the board.
func (s *Server) Transition(key, status, by string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.find(key)
	if is == nil {
		s.t.Fatalf("jirafake: Transition: no issue %s", key)
	}
	s.transition(is, status, by)
}

func (s *Server) transition(is *Issue, status, by string) {
	if is.Status == status {
		return
	}
	at := s.tick()
	is.History = append(is.History, Transition{By: by, At: at, From: is.Status, To: status})
	is.Status, is.Updated = status, at
}

// Move moves issue key to another project, as Jira's Move does: a new key,
// the same id.
func (s *Server) Move(key, project string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.find(key)
	if is == nil {
		s.t.Fatalf("jirafake: Move: no issue %s", key)
	}
	n := 1
	for _, o := range s.issues {
		if o.Project == project {
			n++
		}
	}
	is.Project, is.Key, is.Updated = project, project+"-"+strconv.Itoa(n), s.tick()
	return is.Key
}

// AddIssue adds an issue made by someone else (not through the API).
func (s *Server) AddIssue(summary string, labels ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(summary, labels).Key
}

func (s *Server) find(key string) *Issue {
	for _, is := range s.issues {
		if is.Key == key || is.ID == key {
			return is
		}
	}
	return nil
}

// tick is the time of a change: the real clock to the millisecond (as
// Jira's timestamps), a millisecond past the last change at least.
func (s *Server) tick() time.Time {
	now := time.Now().UTC().Truncate(time.Millisecond)
	if next := s.clock.Add(time.Millisecond); next.After(now) {
		now = next
	}
	s.clock = now
	return now
}

func (s *Server) create(summary string, labels []string) *Issue {
	at := s.tick()
	n := 1
	for _, o := range s.issues {
		if o.Project == s.o.Project {
			n++
		}
	}
	is := &Issue{ID: strconv.Itoa(10000 + len(s.issues) + 1), Key: s.o.Project + "-" + strconv.Itoa(n), Project: s.o.Project,
		IssueType: s.o.IssueTypes[0], Summary: summary, Labels: labels, Status: "To Do", Created: at, Updated: at}
	s.issues = append(s.issues, is)
	return is
}

// Event is a webhook delivery's body for issue key, as Jira sends it for
// jira:issue_updated (or another webhookEvent): the issue with its fields,
// the user who made the change, and the changelog of the last transition.
func (s *Server) Event(key, webhookEvent, by string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.find(key)
	if is == nil {
		s.t.Fatalf("jirafake: Event: no issue %s", key)
	}
	ev := map[string]any{"timestamp": time.Now().UnixMilli(), "webhookEvent": webhookEvent, "issue_event_type_name": "issue_generic",
		"user":  map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": by, "active": true, "accountType": "atlassian"},
		"issue": s.issueJSON(is, []string{"status", "labels", "updated", "summary"}, false)}
	if n := len(is.History); n > 0 {
		h := is.History[n-1]
		ev["changelog"] = map[string]any{"id": "10100", "items": []any{map[string]any{"field": "status", "fieldtype": "jira", "fieldId": "status",
			"from": statusOf(h.From).id, "fromString": h.From, "to": statusOf(h.To).id, "toString": h.To}}}
	}
	b, _ := json.Marshal(ev)
	return b
}

func statusOf(name string) struct{ name, id, category, catName, color, transition string } {
	for _, st := range statuses {
		if st.name == name {
			return st
		}
	}
	return statuses[0]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)}
	s.mu.Lock()
	defer s.mu.Unlock()
	op, vars := s.ex.match(r.Method, r.URL.Path)
	if op != nil {
		req.Operation = op.OperationID
	}
	at := s.ledger.Record(req)
	defer func() { s.ledger.At(at).Status = req.Status }()

	if op == nil {
		s.uncover(&req, "no operation of the excerpt has this method and path")
		req.Status = s.answerError(w, http.StatusNotFound, []string{"The requested resource was not found."}, nil)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.o.Email || pass != s.o.Token {
		// Jira Cloud answers a failed Basic sign-in 401, with the reason
		// in the ErrorCollection.
		req.Status = s.answerError(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
		return
	}
	if err := op.checkQuery(r.URL.Query()); err != nil {
		s.uncover(&req, "the document does not allow it: "+err.Error())
		req.Status = s.answerError(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	var v any
	if op.RequestBody != nil {
		var err error
		if v, err = trackerfake.DecodeJSON(body); err != nil {
			req.Status = s.answerError(w, http.StatusBadRequest, []string{"Unexpected character in the request body."}, nil)
			return
		}
		if err := s.ex.CheckValue(v, op.RequestBody.Schema, "body", InRequest); err != nil {
			s.uncover(&req, "the document does not allow the body: "+err.Error())
			req.Status = s.answerError(w, http.StatusBadRequest, []string{err.Error()}, nil)
			return
		}
	} else if len(strings.TrimSpace(string(body))) > 0 {
		s.uncover(&req, "a body on an operation that takes none")
	}
	f, faulted := s.ledger.TakeFault(op.OperationID)
	if faulted && !f.Lost && !f.Hang {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := map[int]string{429: "Rate limit exceeded.", 401: "You are not authenticated. Authentication required to perform this operation.",
			403: "You do not have permission to perform this operation.", 404: "The requested resource was not found.",
			500: "Internal server error", 502: "Bad Gateway", 503: "Service Unavailable"}[f.Status]
		if f.Status == 502 || f.Status == 503 {
			// A proxy's page, not Jira's JSON.
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, "<html><body>"+msg+"</body></html>")
			req.Status = f.Status
			return
		}
		req.Status = s.answerError(w, f.Status, []string{msg}, nil)
		return
	}
	status, answer := s.work(r, op, vars, v, &req)
	if f.Lost {
		trackerfake.Lose()
	}
	if f.Hang {
		s.ledger.Hang(r, &s.mu)
		return
	}
	if e, ok := answer.(errorAnswer); ok {
		req.Status = s.answerError(w, status, e.messages, e.errors)
		return
	}
	req.Status = s.answer(w, op, status, answer)
}

type errorAnswer struct {
	messages []string
	errors   map[string]string
}

func (s *Server) work(r *http.Request, op *Operation, vars map[string]string, body any, req *Request) (int, any) {
	switch op.OperationID {
	case "createIssue":
		return s.createIssue(r, body, req)
	case "searchAndReconsileIssuesUsingJql":
		return s.search(r, req)
	case "findUsers":
		return s.findUsers(r, req)
	case "getProject":
		return s.getProject(r, vars["projectIdOrKey"], req)
	case "getIssue":
		return s.getIssue(r, vars["issueIdOrKey"], req)
	case "editIssue":
		return s.editIssue(r, vars["issueIdOrKey"], body, req)
	case "getTransitions":
		return s.getTransitions(r, vars["issueIdOrKey"], req)
	case "doTransition":
		return s.doTransition(vars["issueIdOrKey"], body, req)
	}
	s.uncover(req, "the fake does not model "+op.OperationID)
	return http.StatusNotImplemented, errorAnswer{messages: []string{"jirafake does not model " + op.OperationID}}
}

func (s *Server) user(accountID string) *User {
	for i := range s.o.Users {
		if s.o.Users[i].AccountID == accountID {
			return &s.o.Users[i]
		}
	}
	return nil
}

// checkAssignee reads {"accountId": ...} (or null: unassigned).
func (s *Server) checkAssignee(v any, req *Request) (string, string) {
	if v == nil {
		return "", ""
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", "Could not find valid 'id' or 'name' in assignee object."
	}
	for k := range m {
		if k != "accountId" {
			s.uncover(req, "assignee by "+k+" (the fake models accountId; name was removed for GDPR)")
		}
	}
	id, _ := m["accountId"].(string)
	u := s.user(id)
	if u == nil || u.Inactive || u.NotAssignable {
		return "", "User '" + id + "' cannot be assigned issues."
	}
	return id, ""
}

func checkDate(v any) (string, string) {
	if v == nil {
		return "", ""
	}
	str, ok := v.(string)
	if _, err := time.Parse(time.DateOnly, str); !ok || err != nil {
		return "", "Error parsing date string: " + fmt.Sprint(v)
	}
	return str, ""
}

// createIssue checks the fields as Jira does for the system fields sitrep
// sets, and creates the issue.
func (s *Server) createIssue(r *http.Request, body any, req *Request) (int, any) {
	obj := body.(map[string]any)
	for k := range obj {
		if k != "fields" {
			s.uncover(req, "the fake does not model "+k+" on create")
		}
	}
	fields, _ := obj["fields"].(map[string]any)
	bad := map[string]string{}
	is := &Issue{}
	proj, _ := fields["project"].(map[string]any)
	if key, _ := proj["key"].(string); key != s.o.Project {
		if _, byID := proj["id"]; byID {
			s.uncover(req, "project by id (the fake models key)")
		}
		bad["project"] = "Specify a valid project ID or key"
	}
	it, _ := fields["issuetype"].(map[string]any)
	name, _ := it["name"].(string)
	if _, byID := it["id"]; byID {
		s.uncover(req, "issuetype by id (the fake models name)")
	}
	if !slices.ContainsFunc(s.o.IssueTypes, func(t string) bool { return strings.EqualFold(t, name) }) {
		bad["issuetype"] = "Specify an issue type"
	}
	is.IssueType = name
	summary, _ := fields["summary"].(string)
	switch {
	case strings.TrimSpace(summary) == "":
		bad["summary"] = "You must specify a summary of the issue."
	case len([]rune(summary)) > 255:
		bad["summary"] = "Summary must be less than 255 characters."
	case strings.ContainsAny(summary, "\r\n"):
		bad["summary"] = "The summary is invalid because it contains newline characters."
	}
	if d, ok := fields["description"]; ok {
		if err := CheckADF(d); err != nil {
			bad["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format): " + err.Error()
		}
		is.Description = d
	}
	if l, ok := fields["labels"]; ok {
		list, ok := l.([]any)
		if !ok {
			bad["labels"] = "Field 'labels' requires an array of strings."
		}
		for _, x := range list {
			str, ok := x.(string)
			if !ok || str == "" || strings.IndexFunc(str, unicode.IsSpace) >= 0 || len([]rune(str)) > 255 {
				bad["labels"] = "The label '" + fmt.Sprint(x) + "' contains spaces which is invalid."
				continue
			}
			is.Labels = append(is.Labels, str)
		}
	}
	if d, ok := fields["duedate"]; ok {
		if s.o.NoDueDate {
			bad["duedate"] = "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."
		} else if due, why := checkDate(d); why != "" {
			bad["duedate"] = why
		} else {
			is.Due = due
		}
	}
	if a, ok := fields["assignee"]; ok {
		id, why := s.checkAssignee(a, req)
		if why != "" {
			bad["assignee"] = why
		}
		is.Assignee = id
	}
	for k := range fields {
		switch k {
		case "project", "issuetype", "summary", "description", "labels", "duedate", "assignee":
		default:
			s.uncover(req, "the fake does not model the field "+k)
			bad[k] = "Field '" + k + "' cannot be set. It is not on the appropriate screen, or unknown."
		}
	}
	if len(bad) > 0 {
		return http.StatusBadRequest, errorAnswer{errors: bad}
	}
	made := s.create(summary, is.Labels)
	made.IssueType, made.Description, made.Due, made.Assignee = is.IssueType, is.Description, is.Due, is.Assignee
	return http.StatusCreated, map[string]any{"id": made.ID, "key": made.Key, "self": s.URL + "/rest/api/3/issue/" + made.ID}
}

// CheckADF checks an Atlassian Document Format document as far as sitrep
// writes one: a doc (version 1) of paragraphs of text nodes (not empty;
// strong and link marks, a link with an href) and hardBreaks.
func CheckADF(v any) error {
	doc, ok := v.(map[string]any)
	if !ok || doc["type"] != "doc" || fmt.Sprint(doc["version"]) != "1" {
		return fmt.Errorf("not a doc of version 1")
	}
	blocks, ok := doc["content"].([]any)
	if !ok {
		return fmt.Errorf("the doc has no content array")
	}
	for _, b := range blocks {
		p, ok := b.(map[string]any)
		if !ok || p["type"] != "paragraph" {
			return fmt.Errorf("a block that is not a paragraph: %v", b)
		}
		inline, _ := p["content"].([]any)
		for _, x := range inline {
			n, _ := x.(map[string]any)
			switch n["type"] {
			case "hardBreak":
			case "text":
				if t, _ := n["text"].(string); t == "" {
					return fmt.Errorf("an empty text node")
				}
				marks, _ := n["marks"].([]any)
				for _, m := range marks {
					mk, _ := m.(map[string]any)
					switch mk["type"] {
					case "strong", "em", "code":
					case "link":
						attrs, _ := mk["attrs"].(map[string]any)
						if h, _ := attrs["href"].(string); h == "" {
							return fmt.Errorf("a link mark without href")
						}
					default:
						return fmt.Errorf("the mark %v", mk["type"])
					}
				}
			default:
				return fmt.Errorf("the inline node %v", n["type"])
			}
		}
	}
	return nil
}

// jql is a parsed query: the clauses sitrep writes.
type jql struct {
	project, label string
	updatedMin     time.Duration // updated >= "-Nm": N minutes; 0 none
	orderBy        string
	desc           bool
}

var (
	jqlClause = regexp.MustCompile(`^(project|labels)\s*=\s*"((?:[^"\\]|\\.)*)"$|^updated\s*>=\s*"-(\d+)m"$`)
	jqlOrder  = regexp.MustCompile(`(?i)\s+ORDER BY\s+(created|updated)\s+(ASC|DESC)\s*$`)
)

func parseJQL(q string) (*jql, error) {
	out := &jql{}
	if m := jqlOrder.FindStringSubmatch(q); m != nil {
		out.orderBy, out.desc = strings.ToLower(m[1]), strings.EqualFold(m[2], "DESC")
		q = q[:len(q)-len(m[0])]
	}
	if strings.TrimSpace(q) == "" {
		return nil, fmt.Errorf("unbounded JQL queries are not allowed here")
	}
	for _, c := range strings.Split(q, " AND ") {
		m := jqlClause.FindStringSubmatch(strings.TrimSpace(c))
		if m == nil {
			return nil, fmt.Errorf("the fake does not model the clause %q", c)
		}
		unq := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
		switch {
		case m[1] == "project":
			out.project = unq
		case m[1] == "labels":
			out.label = unq
		default:
			n, _ := strconv.Atoi(m[3])
			out.updatedMin = time.Duration(n) * time.Minute
		}
	}
	return out, nil
}

func (s *Server) search(r *http.Request, req *Request) (int, any) {
	q := r.URL.Query()
	for _, k := range []string{"properties", "fieldsByKeys", "failFast", "reconcileIssues"} {
		if q.Has(k) {
			s.uncover(req, "the fake does not model "+k)
		}
	}
	parsed, err := parseJQL(q.Get("jql"))
	if err != nil {
		if strings.HasPrefix(err.Error(), "the fake") {
			s.uncover(req, err.Error())
		}
		return http.StatusBadRequest, errorAnswer{messages: []string{"Error in the JQL Query: " + err.Error()}}
	}
	fields := []string{"id"}
	if v := q.Get("fields"); v != "" {
		fields = strings.Split(v, ",")
	}
	for _, f := range fields {
		if !slices.Contains([]string{"id", "key", "status", "labels", "updated", "summary"}, f) {
			s.uncover(req, "the fake does not model the field "+f)
		}
	}
	changelog := false
	if v := q.Get("expand"); v != "" {
		for _, e := range strings.Split(v, ",") {
			if e == "changelog" {
				changelog = true
			} else {
				s.uncover(req, "the fake does not model expand="+e)
			}
		}
	}
	max := 50
	if v := q.Get("maxResults"); v != "" {
		max, _ = strconv.Atoi(v)
	}
	if max < 1 {
		max = 1
	}
	if max > 100 && !(len(fields) == 1 && (fields[0] == "id" || fields[0] == "key")) {
		max = 100 // more fields, fewer issues per page
	}
	start := 0
	if v := q.Get("nextPageToken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if start, err = strconv.Atoi(string(b)); err != nil {
			return http.StatusBadRequest, errorAnswer{messages: []string{"The provided next page token is invalid or expired."}}
		}
	}
	now := time.Now()
	var list []*Issue
	for _, is := range s.issues {
		if now.Before(is.Created.Add(s.o.SearchLag)) {
			continue // not in the index yet
		}
		if parsed.project != "" && !strings.EqualFold(is.Project, parsed.project) {
			continue
		}
		if parsed.label != "" && !slices.Contains(is.Labels, parsed.label) {
			continue
		}
		if parsed.updatedMin > 0 && is.Updated.Before(now.Add(-parsed.updatedMin)) {
			continue
		}
		list = append(list, is)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Created, list[j].Created
		if parsed.orderBy == "updated" {
			a, b = list[i].Updated, list[j].Updated
		}
		if parsed.desc {
			return a.After(b)
		}
		return a.Before(b)
	})
	out := []any{}
	for i := start; i < len(list) && i < start+max; i++ {
		out = append(out, s.issueJSON(list[i], fields, changelog))
	}
	res := map[string]any{"issues": out, "isLast": start+max >= len(list)}
	if start+max < len(list) {
		res["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + max)))
	}
	return http.StatusOK, res
}

func (s *Server) issueJSON(is *Issue, fields []string, changelog bool) map[string]any {
	f := map[string]any{}
	for _, name := range fields {
		switch name {
		case "status":
			st := statusOf(is.Status)
			f["status"] = map[string]any{"self": s.URL + "/rest/api/3/status/" + st.id, "id": st.id, "name": st.name,
				"statusCategory": map[string]any{"self": s.URL + "/rest/api/3/statuscategory/" + strconv.Itoa(catIDs[st.category]),
					"id": catIDs[st.category], "key": st.category, "colorName": st.color, "name": st.catName}}
		case "labels":
			f["labels"] = append([]string{}, is.Labels...)
		case "updated":
			f["updated"] = is.Updated.Format("2006-01-02T15:04:05.000-0700")
		case "summary":
			f["summary"] = is.Summary
		}
	}
	m := map[string]any{"id": is.ID, "key": is.Key, "self": s.URL + "/rest/api/3/issue/" + is.ID, "fields": f}
	if changelog {
		histories := []any{}
		for i, h := range is.History {
			histories = append(histories, map[string]any{"id": strconv.Itoa(20000 + i), "created": h.At.Format("2006-01-02T15:04:05.000-0700"),
				"author": map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": h.By, "active": true},
				"items": []any{map[string]any{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": statusOf(h.From).id,
					"fromString": h.From, "to": statusOf(h.To).id, "toString": h.To}}})
		}
		m["changelog"] = map[string]any{"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}
		m["expand"] = "changelog"
	}
	return m
}

func (s *Server) findUsers(r *http.Request, req *Request) (int, any) {
	q := r.URL.Query()
	for _, k := range []string{"username", "accountId", "property", "startAt"} {
		if q.Has(k) {
			s.uncover(req, "the fake does not model "+k)
		}
	}
	query := q.Get("query")
	if query == "" {
		return http.StatusBadRequest, errorAnswer{messages: []string{"One of the following query parameters must be provided: query, accountId, property."}}
	}
	out := []any{}
	for _, u := range s.o.Users {
		if !strings.EqualFold(u.Email, query) && !strings.Contains(strings.ToLower(u.DisplayName), strings.ToLower(query)) {
			continue
		}
		m := map[string]any{"self": s.URL + "/rest/api/3/user?accountId=" + u.AccountID, "accountId": u.AccountID, "accountType": "atlassian",
			"displayName": u.DisplayName, "active": !u.Inactive, "timeZone": "Europe/Berlin", "locale": "en_US"}
		if !u.HideEmail {
			m["emailAddress"] = u.Email
		}
		out = append(out, m)
	}
	return http.StatusOK, out
}

func (s *Server) getProject(r *http.Request, key string, req *Request) (int, any) {
	if r.URL.Query().Has("expand") || r.URL.Query().Has("properties") {
		s.uncover(req, "the fake does not model expand or properties on a project")
	}
	if !strings.EqualFold(key, s.o.Project) {
		return http.StatusNotFound, errorAnswer{messages: []string{"No project could be found with key '" + key + "'."}}
	}
	types := []any{}
	for i, t := range s.o.IssueTypes {
		types = append(types, map[string]any{"self": s.URL + "/rest/api/3/issuetype/" + strconv.Itoa(10001+i), "id": strconv.Itoa(10001 + i),
			"name": t, "subtask": false, "hierarchyLevel": 0})
	}
	return http.StatusOK, map[string]any{"self": s.URL + "/rest/api/3/project/10000", "id": "10000", "key": s.o.Project, "name": s.o.Project + " backlog",
		"projectTypeKey": "software", "simplified": false, "style": "classic", "issueTypes": types}
}

func (s *Server) getIssue(r *http.Request, key string, req *Request) (int, any) {
	q := r.URL.Query()
	for _, k := range []string{"fieldsByKeys", "expand", "properties", "updateHistory", "failFast"} {
		if q.Has(k) {
			s.uncover(req, "the fake does not model "+k)
		}
	}
	is := s.find(key)
	if is == nil {
		return http.StatusNotFound, errorAnswer{messages: []string{"Issue does not exist or you do not have permission to see it."}}
	}
	fields := []string{"status", "labels", "updated", "summary"}
	if v := q.Get("fields"); v != "" {
		fields = strings.Split(v, ",")
	}
	for _, f := range fields {
		if !slices.Contains([]string{"id", "key", "status", "labels", "updated", "summary"}, f) {
			s.uncover(req, "the fake does not model the field "+f)
		}
	}
	return http.StatusOK, s.issueJSON(is, fields, false)
}

func (s *Server) editIssue(r *http.Request, key string, body any, req *Request) (int, any) {
	for _, k := range []string{"returnIssue", "expand", "overrideScreenSecurity", "overrideEditableFlag"} {
		if r.URL.Query().Has(k) {
			s.uncover(req, "the fake does not model "+k)
		}
	}
	is := s.find(key)
	if is == nil {
		return http.StatusNotFound, errorAnswer{messages: []string{"Issue does not exist or you do not have permission to see it."}}
	}
	obj := body.(map[string]any)
	for k := range obj {
		if k != "fields" {
			s.uncover(req, "the fake does not model "+k+" on edit")
		}
	}
	fields, _ := obj["fields"].(map[string]any)
	bad := map[string]string{}
	assignee, due := is.Assignee, is.Due
	for k, v := range fields {
		switch k {
		case "assignee":
			id, why := s.checkAssignee(v, req)
			if why != "" {
				bad[k] = why
			}
			assignee = id
		case "duedate":
			d, why := checkDate(v)
			if s.o.NoDueDate {
				why = "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."
			}
			if why != "" {
				bad[k] = why
			}
			due = d
		default:
			s.uncover(req, "the fake does not model editing the field "+k)
		}
	}
	if len(bad) > 0 {
		return http.StatusBadRequest, errorAnswer{errors: bad}
	}
	if assignee != is.Assignee || due != is.Due {
		is.Assignee, is.Due, is.Updated = assignee, due, s.tick()
	}
	return http.StatusNoContent, nil
}

func (s *Server) getTransitions(r *http.Request, key string, req *Request) (int, any) {
	for _, k := range []string{"expand", "transitionId", "skipRemoteOnlyCondition", "includeUnavailableTransitions", "sortByOpsBarAndStatus"} {
		if r.URL.Query().Has(k) {
			s.uncover(req, "the fake does not model "+k)
		}
	}
	is := s.find(key)
	if is == nil {
		return http.StatusNotFound, errorAnswer{messages: []string{"Issue does not exist or you do not have permission to see it."}}
	}
	list := []any{}
	for _, st := range statuses {
		if st.name == is.Status {
			continue
		}
		list = append(list, map[string]any{"id": st.transition, "name": st.name, "hasScreen": false, "isAvailable": true, "isConditional": false,
			"isGlobal": true, "isInitial": false, "isLooped": false,
			"to": map[string]any{"self": s.URL + "/rest/api/3/status/" + st.id, "id": st.id, "name": st.name,
				"statusCategory": map[string]any{"self": s.URL + "/rest/api/3/statuscategory/" + strconv.Itoa(catIDs[st.category]),
					"id": catIDs[st.category], "key": st.category, "colorName": st.color, "name": st.catName}}})
	}
	return http.StatusOK, map[string]any{"transitions": list}
}

func (s *Server) doTransition(key string, body any, req *Request) (int, any) {
	is := s.find(key)
	if is == nil {
		return http.StatusNotFound, errorAnswer{messages: []string{"Issue does not exist or you do not have permission to see it."}}
	}
	obj := body.(map[string]any)
	for k := range obj {
		if k != "transition" {
			s.uncover(req, "the fake does not model "+k+" on a transition")
		}
	}
	tr, _ := obj["transition"].(map[string]any)
	id, _ := tr["id"].(string)
	for _, st := range statuses {
		if st.transition == id && st.name != is.Status {
			s.transition(is, st.name, "sitrep")
			return http.StatusNoContent, nil
		}
	}
	return http.StatusBadRequest, errorAnswer{messages: []string{"Transition id '" + id + "' is not valid for this issue."}}
}

func (s *Server) uncover(req *Request, what string) {
	s.ledger.Uncover(req.Method + " " + req.Path + "?" + req.Query + ": " + what)
}

// answer writes a success answer, checked against the operation's
// response schema for the status.
func (s *Server) answer(w http.ResponseWriter, op *Operation, status int, v any) int {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return status
	}
	b, _ := json.Marshal(v)
	schema, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		s.t.Errorf("jirafake: %s answers %d, which the document does not list", op.OperationID, status)
	}
	if schema != nil {
		dv, _ := trackerfake.DecodeJSON(b)
		if err := s.ex.CheckValue(dv, schema, op.OperationID, InAnswer); err != nil {
			s.t.Errorf("jirafake: its own answer to %s breaks the document: %v", op.OperationID, err)
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// answerError answers Jira's ErrorCollection, checked against the excerpt.
func (s *Server) answerError(w http.ResponseWriter, status int, messages []string, errors map[string]string) int {
	if messages == nil {
		messages = []string{}
	}
	if errors == nil {
		errors = map[string]string{}
	}
	b, _ := json.Marshal(map[string]any{"errorMessages": messages, "errors": errors})
	v, _ := trackerfake.DecodeJSON(b)
	if err := s.ex.CheckValue(v, map[string]any{"$ref": "#/components/schemas/ErrorCollection"}, "error", InAnswer); err != nil {
		s.t.Errorf("jirafake: its own error answer breaks the document: %v", err)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}
