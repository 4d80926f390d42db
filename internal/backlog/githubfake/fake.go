// Package githubfake is GitHub's REST API for issues, as far as sitrep's
// backlog sync uses it, in process. Every request is checked against the
// excerpt of GitHub's published OpenAPI description (openapi/; made from
// github/rest-api-description by excerpt_test.go): the method and path,
// every query parameter (known, of its type, in its enum), the body's
// required and unknown properties and their types. A request the
// description does not allow gets GitHub's error shape and fails the
// test; a request the description allows but the fake does not model (a
// filter it does not implement) is recorded as uncovered and fails the
// test at cleanup. Errors are GitHub's: {"message", "documentation_url",
// "errors"}, checked against basic-error and validation-error.
//
// Faults: a queue per operation (FailNext) answers 429 with Retry-After,
// 502, 503, 401, 403, 404; Lost creates the issue and drops the
// connection before answering; Hang creates it and never answers.
package githubfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/trackerfake"
)

// Options configure the fake.
type Options struct {
	Token       string   // the token every request must carry
	Owner, Repo string   // the one repository
	Users       []string // logins that can be assigned
}

// Fault is what the next call of an operation gets instead of its answer.
type Fault struct {
	Status     int    // 429, 401, 403, 404, 502, 503
	RetryAfter string // the Retry-After header, when set
	// Lost: the call does its work (an issue is created), then the
	// connection is dropped before any answer.
	Lost bool
	// Hang: the call does its work, then never answers (until the client
	// gives up or the fake closes).
	Hang bool
}

// Request is one request the fake saw.
type Request struct {
	Method, Path, Query string
	Operation           string // operationId; "" when none matched
	Body                string
	Status              int // what it was answered; 0 when lost or hung
}

// Issue is an issue in the fake's repository.
type Issue struct {
	Number    int64
	Title     string
	Body      string
	State     string // open | closed
	Labels    []string
	Assignees []string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time
}

// Server is the fake.
type Server struct {
	*httptest.Server
	t  testing.TB
	o  Options
	ex *Excerpt

	mu     sync.Mutex // guards issues, ledger and clock
	issues []*Issue
	ledger trackerfake.Ledger[Fault, Request]
	clock  time.Time // the last change's time: now, and at least a second after the one before
}

// New starts the fake; it stops, and fails t for uncovered calls, at cleanup.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	ex, err := LoadExcerpt()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, o: o, ex: ex}
	s.Server = trackerfake.Serve(t, http.HandlerFunc(s.serve), &s.mu, &s.ledger, "githubfake", "description")
	return s
}

// FailNext queues a fault for the next call of operation (an operationId:
// issues/create, issues/list-for-repo).
func (s *Server) FailNext(operation string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.ex.Operations, func(op Operation) bool { return op.OperationID == operation }) {
		s.t.Fatalf("githubfake: FailNext: no operation %q in the excerpt", operation)
	}
	s.ledger.Queue(operation, f)
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.Requests()
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

// Issues returns a copy of the repository's issues.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = *is
	}
	return out
}

// SetState closes or reopens issue number, as someone on GitHub would.
func (s *Server) SetState(number int64, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.issues {
		if is.Number == number {
			is.State, is.UpdatedAt = state, s.tick()
			is.ClosedAt = nil
			if state == "closed" {
				t := s.clock
				is.ClosedAt = &t
			}
			return
		}
	}
	s.t.Fatalf("githubfake: SetState: no issue %d", number)
}

// AddIssue adds an issue made by someone else (not through the API).
func (s *Server) AddIssue(title, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(title, body, nil, nil).Number
}

// tick is the time of a change: GitHub's clock (the real one, to the
// second, as its timestamps), moved on a second past the last change so
// that updated_at orders changes as they happened.
func (s *Server) tick() time.Time {
	now := time.Now().UTC().Truncate(time.Second)
	if next := s.clock.Add(time.Second); next.After(now) {
		now = next
	}
	s.clock = now
	return now
}

func (s *Server) create(title, body string, labels, assignees []string) *Issue {
	s.tick()
	is := &Issue{Number: int64(len(s.issues) + 1), Title: title, Body: body, State: "open", Labels: labels, Assignees: assignees,
		CreatedAt: s.clock, UpdatedAt: s.clock}
	s.issues = append(s.issues, is)
	return is
}

// Event is an "issues" webhook delivery's body for issue number and
// action (closed, reopened), as GitHub sends it (the fields sitrep reads,
// and the repository and sender).
func (s *Server) Event(number int64, action, sender string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.issues {
		if is.Number == number {
			b, _ := json.Marshal(map[string]any{"action": action, "issue": s.issueJSON(is),
				"repository": map[string]any{"full_name": s.o.Owner + "/" + s.o.Repo, "name": s.o.Repo},
				"sender":     map[string]any{"login": sender, "type": "User"}})
			return b
		}
	}
	s.t.Fatalf("githubfake: Event: no issue %d", number)
	return nil
}

const docs = "https://docs.github.com/rest/issues/issues"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)}
	s.mu.Lock()
	defer s.mu.Unlock()
	op, vars := s.ex.match(r.Method, r.URL.Path)
	if op != nil {
		req.Operation = op.OperationID
	}
	// Recorded as it arrives (a hung call is seen at once), its status
	// when answered.
	at := s.ledger.Record(req)
	defer func() { s.ledger.At(at).Status = req.Status }()

	if op == nil {
		s.uncover(&req, "no operation of the excerpt has this method and path")
		req.Status = s.answerError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	// Authentication first, as GitHub does.
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+s.o.Token && auth != "token "+s.o.Token {
		req.Status = s.answerError(w, http.StatusUnauthorized, "Bad credentials", nil)
		return
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" && v != "2026-03-10" {
		req.Status = s.answerError(w, http.StatusBadRequest, "API version "+v+" is not supported.", nil)
		return
	}
	if err := op.checkQuery(r.URL.Query()); err != nil {
		s.uncover(&req, "the description does not allow it: "+err.Error())
		req.Status = s.answerError(w, http.StatusUnprocessableEntity, "Validation Failed", nil)
		return
	}
	if !strings.EqualFold(vars["owner"], s.o.Owner) || !strings.EqualFold(vars["repo"], s.o.Repo) {
		req.Status = s.answerError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	if f, ok := s.ledger.TakeFault(op.OperationID); ok && !f.Lost && !f.Hang {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := map[int]string{429: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			401: "Bad credentials", 403: "Resource not accessible by personal access token", 404: "Not Found",
			502: "Server Error", 503: "Service Unavailable"}[f.Status]
		req.Status = s.answerError(w, f.Status, msg, nil)
		return
	} else if ok {
		req.Status = s.work(w, r, op, vars, body, &req, f)
		return
	}
	req.Status = s.work(w, r, op, vars, body, &req, Fault{})
}

// work does the operation; with a Lost or Hang fault, it does it and
// then gives no answer.
func (s *Server) work(w http.ResponseWriter, r *http.Request, op *Operation, vars map[string]string, body []byte, req *Request, f Fault) int {
	var status int
	var answer any
	switch op.OperationID {
	case "issues/create":
		status, answer = s.createIssue(body, op, req)
	case "issues/list-for-repo":
		status, answer = s.listIssues(r, req)
	case "issues/update":
		status, answer = s.updateIssue(vars["issue_number"], body, op, req)
	default:
		s.uncover(req, "the fake does not model "+op.OperationID)
		return s.answerError(w, http.StatusNotImplemented, "githubfake does not model "+op.OperationID, nil)
	}
	if f.Lost {
		trackerfake.Lose()
	}
	if f.Hang {
		s.ledger.Hang(r, &s.mu)
		return 0
	}
	if e, ok := answer.(errorAnswer); ok {
		return s.answerError(w, status, e.msg, e.errors)
	}
	writeJSON(w, status, answer)
	return status
}

type errorAnswer struct {
	msg    string
	errors []map[string]any
}

func (s *Server) createIssue(body []byte, op *Operation, req *Request) (int, any) {
	v, err := trackerfake.DecodeJSON(body)
	if err != nil {
		return http.StatusBadRequest, errorAnswer{msg: "Problems parsing JSON"}
	}
	if err := CheckValue(v, op.RequestBody.Schema, "body"); err != nil {
		s.uncover(req, "the description does not allow the body: "+err.Error())
		return http.StatusUnprocessableEntity, errorAnswer{msg: "Validation Failed", errors: []map[string]any{{"resource": "Issue", "code": "invalid", "message": err.Error()}}}
	}
	obj := v.(map[string]any)
	title := fmt.Sprint(obj["title"])
	if strings.TrimSpace(title) == "" {
		return http.StatusUnprocessableEntity, errorAnswer{msg: "Validation Failed", errors: []map[string]any{{"resource": "Issue", "code": "missing_field", "field": "title"}}}
	}
	text, _ := obj["body"].(string)
	var labels, assignees []string
	if l, ok := obj["labels"].([]any); ok {
		for _, x := range l {
			name, ok := x.(string)
			if !ok {
				s.uncover(req, "labels given as objects (the fake models names)")
				return http.StatusNotImplemented, errorAnswer{msg: "githubfake does not model label objects"}
			}
			labels = append(labels, name)
		}
	}
	if a, ok := obj["assignees"].([]any); ok {
		for _, x := range a {
			login := x.(string)
			if !slices.Contains(s.o.Users, login) {
				return http.StatusUnprocessableEntity, errorAnswer{msg: "Validation Failed",
					errors: []map[string]any{{"resource": "Issue", "code": "invalid", "field": "assignees", "value": login}}}
			}
			assignees = append(assignees, login)
		}
	}
	for _, k := range []string{"assignee", "milestone", "issue_field_values", "type", "parent_issue_id"} {
		if _, ok := obj[k]; ok {
			s.uncover(req, "the fake does not model "+k)
		}
	}
	is := s.create(title, text, labels, assignees)
	return http.StatusCreated, s.issueJSON(is)
}

// updateIssue changes an issue's state and assignees, as sitrep carries
// its changes; any other property is uncovered.
func (s *Server) updateIssue(number string, body []byte, op *Operation, req *Request) (int, any) {
	v, err := trackerfake.DecodeJSON(body)
	if err != nil {
		return http.StatusBadRequest, errorAnswer{msg: "Problems parsing JSON"}
	}
	if err := CheckValue(v, op.RequestBody.Schema, "body"); err != nil {
		s.uncover(req, "the description does not allow the body: "+err.Error())
		return http.StatusUnprocessableEntity, errorAnswer{msg: "Validation Failed", errors: []map[string]any{{"resource": "Issue", "code": "invalid", "message": err.Error()}}}
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil {
		return http.StatusNotFound, errorAnswer{msg: "Not Found"}
	}
	var is *Issue
	for _, x := range s.issues {
		if x.Number == n {
			is = x
		}
	}
	if is == nil {
		return http.StatusNotFound, errorAnswer{msg: "Not Found"}
	}
	obj := v.(map[string]any)
	for k := range obj {
		if k != "state" && k != "state_reason" && k != "assignees" {
			s.uncover(req, "the fake does not model updating "+k)
		}
	}
	changed := false
	if a, ok := obj["assignees"].([]any); ok {
		var list []string
		for _, x := range a {
			login, ok := x.(string)
			if !ok {
				s.uncover(req, "assignees given as objects (the fake models logins)")
				continue
			}
			if !slices.Contains(s.o.Users, login) {
				return http.StatusUnprocessableEntity, errorAnswer{msg: "Validation Failed",
					errors: []map[string]any{{"resource": "Issue", "code": "invalid", "field": "assignees", "value": login}}}
			}
			list = append(list, login)
		}
		if !slices.Equal(list, is.Assignees) {
			is.Assignees, changed = list, true
		}
	}
	if st, ok := obj["state"].(string); ok && st != is.State {
		is.State, changed = st, true
		is.ClosedAt = nil
		if st == "closed" {
			t := s.tick()
			is.ClosedAt = &t
		}
	}
	if changed {
		is.UpdatedAt = s.tick()
	}
	return http.StatusOK, s.issueJSON(is)
}

func (s *Server) listIssues(r *http.Request, req *Request) (int, any) {
	q := r.URL.Query()
	for _, k := range []string{"milestone", "assignee", "type", "creator", "mentioned", "issue_field_values"} {
		if q.Has(k) {
			s.uncover(req, "the fake does not model the filter "+k)
		}
	}
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var labels []string
	if v := q.Get("labels"); v != "" {
		labels = strings.Split(v, ",")
	}
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "created"
	}
	if sortBy == "comments" {
		s.uncover(req, "the fake does not model sort=comments")
	}
	desc := q.Get("direction") != "asc"
	perPage, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		perPage, _ = strconv.Atoi(v)
	}
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if perPage > 100 {
		perPage = 100 // GitHub's maximum
	}
	if perPage < 1 || page < 1 {
		return http.StatusUnprocessableEntity, errorAnswer{msg: "Validation Failed"}
	}
	var list []*Issue
	for _, is := range s.issues {
		if state != "all" && is.State != state {
			continue
		}
		if !since.IsZero() && is.UpdatedAt.Before(since) {
			continue
		}
		if !containsAll(is.Labels, labels) {
			continue
		}
		list = append(list, is)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].CreatedAt, list[j].CreatedAt
		if sortBy == "updated" {
			a, b = list[i].UpdatedAt, list[j].UpdatedAt
		}
		if desc {
			return a.After(b)
		}
		return a.Before(b)
	})
	out := []any{}
	for i := (page - 1) * perPage; i < len(list) && i < page*perPage; i++ {
		out = append(out, s.issueJSON(list[i]))
	}
	return http.StatusOK, out
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

func (s *Server) issueJSON(is *Issue) map[string]any {
	labels := []any{}
	for i, l := range is.Labels {
		labels = append(labels, map[string]any{"id": i + 1, "name": l, "color": "ededed", "default": false})
	}
	assignees := []any{}
	for _, a := range is.Assignees {
		assignees = append(assignees, map[string]any{"login": a, "type": "User"})
	}
	base := "/repos/" + s.o.Owner + "/" + s.o.Repo
	m := map[string]any{
		"id": 1000 + is.Number, "node_id": fmt.Sprintf("I_fake%d", is.Number), "number": is.Number,
		"url": s.URL + base + "/issues/" + strconv.FormatInt(is.Number, 10), "repository_url": s.URL + base,
		"html_url": "https://github.com/" + s.o.Owner + "/" + s.o.Repo + "/issues/" + strconv.FormatInt(is.Number, 10),
		"state":    is.State, "title": is.Title, "body": is.Body, "labels": labels, "assignees": assignees,
		"user": map[string]any{"login": "sitrep-bot", "type": "User"}, "locked": false, "comments": 0,
		"created_at": is.CreatedAt.Format(time.RFC3339), "updated_at": is.UpdatedAt.Format(time.RFC3339), "closed_at": nil,
		"author_association": "MEMBER",
	}
	if is.ClosedAt != nil {
		m["closed_at"] = is.ClosedAt.Format(time.RFC3339)
	}
	return m
}

func (s *Server) uncover(req *Request, what string) {
	s.ledger.Uncover(req.Method + " " + req.Path + "?" + req.Query + ": " + what)
}

// answerError answers GitHub's error shape: basic-error, or
// validation-error when there are errors; checked against the excerpt.
func (s *Server) answerError(w http.ResponseWriter, status int, msg string, errs []map[string]any) int {
	body := map[string]any{"message": msg, "documentation_url": docs, "status": strconv.Itoa(status)}
	schema := s.ex.Schemas["basic-error"]
	if errs != nil {
		list := make([]any, len(errs))
		for i, e := range errs {
			list[i] = e
		}
		body["errors"] = list
		delete(body, "status")
		schema = s.ex.Schemas["validation-error"]
	}
	b, _ := json.Marshal(body)
	v, _ := trackerfake.DecodeJSON(b)
	if err := CheckValue(v, schema, "error"); err != nil {
		s.t.Errorf("githubfake: its own error answer breaks the description: %v", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
