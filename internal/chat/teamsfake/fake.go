// Package teamsfake is a Microsoft Teams Workflows webhook for tests: the
// HTTP trigger of a flow made from the template "Post to a channel when a
// webhook request is received", holding what it is sent to Microsoft's
// documented shapes.
//
// What it checks, and where Microsoft documents it:
//
//   - the request: POST, Content-Type application/json, the flow's
//     signature (sig=) in the query (Power Automate's Request trigger);
//   - the envelope: {"type": "message", "attachments": [one attachment of
//     contentType "application/vnd.microsoft.card.adaptive" with the card
//     as "content"]} (Teams: "Send Adaptive Cards using an Incoming
//     Webhook"; the template posts attachments[0].content);
//   - the card: type AdaptiveCard, $schema
//     http://adaptivecards.io/schemas/adaptive-card.json, a version Teams
//     renders (at most 1.5), element and action types the Adaptive Cards
//     schema defines, with their required properties, none newer than the
//     card's version (adaptivecards.io/explorer);
//   - the size: at most 28 KB (Teams' limit on a message).
//
// Like the real flow, it answers 202 Accepted to a card Teams will not
// show (the flow's run fails later, out of the caller's sight): the fake
// records that as a contract violation and the test fails when it ends.
// A body that is not JSON is refused at once (400, as the trigger does).
// Errors are Power Automate's: {"error": {"code": ..., "message": ...}}.
package teamsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Signature is the fake flow's sig=: the URL's secret.
const Signature = "Xy9SiTrEpFaKeSiGnAtUrE0123456789abcdefABCDE"

// MaxMessage is Teams' limit on a message.
const MaxMessage = 28 << 10

// Post is one card the flow received.
type Post struct {
	Card map[string]any // attachments[0].content
	Raw  []byte         // the body as sent
}

// Server is the fake flow. Make it with New.
type Server struct {
	// URL is the flow's HTTP URL, signature included.
	URL string

	srv        *httptest.Server
	mu         sync.Mutex
	posts      []Post
	violations []string
	faults     []fault
	delay      time.Duration
	hanging    bool
	hung       int // requests that arrived while hanging
	downUntil  time.Time
}

type fault struct {
	status     int
	retryAfter int
	code       string
}

const workflow = "/powerautomate/automations/direct/workflows/5f1e0c0ffee04b2f9a1d5c7e3b2a9d10/triggers/manual/paths/invoke"

// New starts a fake flow, closed when the test ends, and fails the test
// then for each contract violation it saw.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + workflow + "?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + Signature
	t.Cleanup(func() {
		s.Release()
		s.srv.CloseClientConnections()
		s.srv.Close()
		for _, v := range s.Violations() {
			t.Errorf("teamsfake: contract violation: %s", v)
		}
	})
	return s
}

// FailNext makes the next post answer status with Power Automate's error
// body; a 429 carries Retry-After: retryAfter seconds. Nothing is posted.
func (s *Server) FailNext(status, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := map[int]string{
		http.StatusBadRequest:          "InvalidRequestContent",
		http.StatusUnauthorized:        "DirectApiAuthorizationRequired",
		http.StatusForbidden:           "AuthorizationFailed",
		http.StatusNotFound:            "WorkflowNotFound",
		http.StatusTooManyRequests:     "WorkflowRequestsThrottled",
		http.StatusInternalServerError: "InternalServerError",
		http.StatusBadGateway:          "BadGateway",
		http.StatusServiceUnavailable:  "ServiceUnavailable",
	}[status]
	if code == "" {
		code = http.StatusText(status)
	}
	s.faults = append(s.faults, fault{status: status, retryAfter: retryAfter, code: code})
}

// Hang makes every request from now until Release go unanswered and
// unposted: each waits until its client gives up.
func (s *Server) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hanging = true
}

// Outage makes the flow answer 503 ServiceUnavailable, posting nothing,
// for d from now: Power Automate down, or a gateway before it.
func (s *Server) Outage(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downUntil = time.Now().Add(d)
}

// Hung counts the requests that arrived while the flow hung: tries
// whose card was never posted.
func (s *Server) Hung() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hung
}

// Release makes the requests that come after it answered again.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hanging = false
}

// Delay makes every answer come d late, after the card is posted (0: on
// time).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Posts returns the cards posted, in order.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// Violations returns the contract violations seen.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != workflow {
		writeError(w, http.StatusNotFound, "WorkflowNotFound", "The workflow could not be found.")
		return
	}
	if r.URL.Query().Get("sig") != Signature {
		writeError(w, http.StatusUnauthorized, "DirectApiInvalidAuthorizationSignature", "The provided authorization signature is not valid.")
		return
	}
	if r.Method != http.MethodPost {
		s.violation("HTTP %s; the trigger takes POST", r.Method)
		writeError(w, http.StatusNotFound, "TriggerRequestMethodNotValid", "The HTTP method for this request is not valid: expected 'Post'.")
		return
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		s.violation("Content-Type %q; the trigger takes application/json", r.Header.Get("Content-Type"))
		writeError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content is not valid JSON.")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg map[string]any
	if err != nil || json.Unmarshal(raw, &msg) != nil {
		s.violation("a body that is not a JSON object")
		writeError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content is not valid JSON.")
		return
	}

	s.mu.Lock()
	if time.Now().Before(s.downUntil) {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable.")
		return
	}
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		s.mu.Unlock()
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		writeError(w, f.status, f.code, "The fake flow was told to fail.")
		return
	}
	hanging, delay := s.hanging, s.delay
	s.mu.Unlock()

	if hanging {
		s.mu.Lock()
		s.hung++
		s.mu.Unlock()
		<-r.Context().Done()
		return // never answered, never posted
	}
	card, problems := checkMessage(msg, len(raw))
	for _, p := range problems {
		s.violation("%s", p)
	}
	s.mu.Lock()
	s.posts = append(s.posts, Post{Card: card, Raw: raw})
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("x-ms-workflow-run-id", "08584000000000000000000000000CU00")
	w.WriteHeader(http.StatusAccepted)
}

// checkMessage checks the envelope and returns its card.
func checkMessage(msg map[string]any, size int) (map[string]any, []string) {
	var bad []string
	if size > MaxMessage {
		bad = append(bad, fmt.Sprintf("the message is %d bytes; Teams takes at most %d", size, MaxMessage))
	}
	if msg["type"] != "message" {
		bad = append(bad, fmt.Sprintf(`type %v; the envelope is "message"`, msg["type"]))
	}
	atts, _ := msg["attachments"].([]any)
	if len(atts) != 1 {
		return nil, append(bad, fmt.Sprintf("%d attachments; the template posts one card", len(atts)))
	}
	att, _ := atts[0].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		bad = append(bad, fmt.Sprintf("attachment contentType %v; want application/vnd.microsoft.card.adaptive", att["contentType"]))
	}
	if v, ok := att["contentUrl"]; ok && v != nil {
		bad = append(bad, "attachment contentUrl is set; a card is sent as content")
	}
	for k := range att {
		if k != "contentType" && k != "contentUrl" && k != "content" && k != "name" && k != "thumbnailUrl" {
			bad = append(bad, fmt.Sprintf("attachment property %q is not an attachment's", k))
		}
	}
	card, _ := att["content"].(map[string]any)
	if card == nil {
		return nil, append(bad, "attachment content is not a card object")
	}
	return card, append(bad, checkCard(card)...)
}

// elements are the Adaptive Cards element types (adaptivecards.io
// explorer), the version each came in and its required properties.
var elements = map[string]struct {
	since    float64
	required []string
}{
	"TextBlock":     {1.0, []string{"text"}},
	"Image":         {1.0, []string{"url"}},
	"Media":         {1.1, []string{"sources"}},
	"RichTextBlock": {1.2, []string{"inlines"}},
	"Container":     {1.0, []string{"items"}},
	"ColumnSet":     {1.0, nil},
	"Column":        {1.0, nil},
	"FactSet":       {1.0, []string{"facts"}},
	"ImageSet":      {1.0, []string{"images"}},
	"ActionSet":     {1.2, []string{"actions"}},
	"Table":         {1.5, nil},
	"TextRun":       {1.2, []string{"text"}},
}

var actions = map[string]struct {
	since    float64
	required []string
}{
	"Action.OpenUrl":          {1.0, []string{"url"}},
	"Action.Submit":           {1.0, nil},
	"Action.ShowCard":         {1.0, []string{"card"}},
	"Action.ToggleVisibility": {1.2, []string{"targetElements"}},
	"Action.Execute":          {1.4, nil},
}

// checkCard checks a top-level Adaptive Card.
func checkCard(card map[string]any) []string {
	var bad []string
	if card["type"] != "AdaptiveCard" {
		bad = append(bad, fmt.Sprintf("card type %v; want AdaptiveCard", card["type"]))
	}
	if card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		bad = append(bad, fmt.Sprintf("card $schema %v; want http://adaptivecards.io/schemas/adaptive-card.json", card["$schema"]))
	}
	vs, _ := card["version"].(string)
	version, err := strconv.ParseFloat(vs, 64)
	switch {
	case err != nil:
		bad = append(bad, fmt.Sprintf("card version %v; a top-level card needs one (\"1.4\")", card["version"]))
	case version > 1.5:
		bad = append(bad, fmt.Sprintf("card version %s; Teams renders at most 1.5", vs))
	}
	if body, ok := card["body"]; ok {
		bad = append(bad, checkElements(body, "body", version)...)
	}
	if acts, ok := card["actions"]; ok {
		bad = append(bad, checkActions(acts, "actions", version)...)
	}
	return bad
}

func checkElements(v any, at string, version float64) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{at + ": not an array"}
	}
	var bad []string
	for i, x := range list {
		el, _ := x.(map[string]any)
		here := fmt.Sprintf("%s[%d]", at, i)
		typ, _ := el["type"].(string)
		spec, known := elements[typ]
		if !known {
			bad = append(bad, fmt.Sprintf("%s: element type %q is not an Adaptive Card element", here, typ))
			continue
		}
		if spec.since > version {
			bad = append(bad, fmt.Sprintf("%s: %s needs version %.1f; the card says %.1f", here, typ, spec.since, version))
		}
		for _, r := range spec.required {
			if _, ok := el[r]; !ok {
				bad = append(bad, fmt.Sprintf("%s: %s without its required %q", here, typ, r))
			}
		}
		switch typ {
		case "TextBlock":
			if s, _ := el["text"].(string); strings.TrimSpace(s) == "" {
				bad = append(bad, here+": TextBlock with no text (Teams shows nothing)")
			}
		case "FactSet":
			facts, _ := el["facts"].([]any)
			for j, f := range facts {
				fm, _ := f.(map[string]any)
				if _, ok := fm["title"].(string); !ok {
					bad = append(bad, fmt.Sprintf("%s.facts[%d]: no title", here, j))
				}
				if _, ok := fm["value"].(string); !ok {
					bad = append(bad, fmt.Sprintf("%s.facts[%d]: no value", here, j))
				}
			}
		case "Container":
			bad = append(bad, checkElements(el["items"], here+".items", version)...)
		case "Column":
			if items, ok := el["items"]; ok {
				bad = append(bad, checkElements(items, here+".items", version)...)
			}
		case "ColumnSet":
			if cols, ok := el["columns"]; ok {
				bad = append(bad, checkElements(cols, here+".columns", version)...)
			}
		case "ActionSet":
			bad = append(bad, checkActions(el["actions"], here+".actions", version)...)
		}
	}
	return bad
}

func checkActions(v any, at string, version float64) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{at + ": not an array"}
	}
	var bad []string
	for i, x := range list {
		a, _ := x.(map[string]any)
		here := fmt.Sprintf("%s[%d]", at, i)
		typ, _ := a["type"].(string)
		spec, known := actions[typ]
		if !known {
			bad = append(bad, fmt.Sprintf("%s: action type %q is not an Adaptive Card action", here, typ))
			continue
		}
		if spec.since > version {
			bad = append(bad, fmt.Sprintf("%s: %s needs version %.1f; the card says %.1f", here, typ, spec.since, version))
		}
		for _, r := range spec.required {
			if _, ok := a[r]; !ok {
				bad = append(bad, fmt.Sprintf("%s: %s without its required %q", here, typ, r))
			}
		}
		if typ == "Action.OpenUrl" {
			if u, _ := a["url"].(string); !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				bad = append(bad, fmt.Sprintf("%s: Action.OpenUrl url %q is not a web address", here, u))
			}
		}
	}
	return bad
}
