// Package slackfake is a Slack Web API server for tests: the methods
// sitrep calls (chat.postMessage, chat.update, conversations.history,
// conversations.replies, auth.test), each request checked against Slack's
// published OpenAPI description (spec.json) and each answer shaped, and
// checked, as its responses are. It keeps channels with their messages and
// threads, edits messages on chat.update and answers errors as Slack does
// (HTTP 200 with {"ok": false, "error": ...}; 429 with Retry-After when
// rate limited).
//
// A request the description does not allow (an unknown method or
// argument, the wrong HTTP method or content type, a missing required
// argument, no Bearer token) is a contract violation: the fake answers as
// Slack would and records it, and the test fails when it ends.
//
// Where the 2021 description and Slack's answers differ, the fake follows
// Slack's documentation and says so: a 429's error is "ratelimited"
// (api.slack.com/apis/rate-limits; the description lists "rate_limited"),
// a reply in conversations.replies carries the fields of a message
// (blocks among them; the description's reply items leave them out), and
// a token in the query string is refused (Slack stopped taking them from
// apps created after 24 February 2021).
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake's workspace. Token has the scopes sitrep's Slack app asks for;
// Channel is a public channel the app is a member of.
const (
	Token   = "xoxb-1111-2222-sitrepfaketoken"
	Channel = "C0SITREP01"
	BotUser = "U0SITREPBOT"
	BotID   = "B0SITREP01"
	Team    = "T0SITREP01"
)

// Message is a message as the fake keeps it.
type Message struct {
	TS       string
	ThreadTS string // the parent's ts for a reply and for a parent with replies; "" otherwise
	User     string
	Text     string
	Blocks   []any
	Edits    int // how many times chat.update changed it
}

// BlockIDs returns the block_id of each of the message's blocks that has one.
func (m Message) BlockIDs() []string {
	var ids []string
	for _, b := range m.Blocks {
		if o, ok := b.(map[string]any); ok {
			if id, ok := o["block_id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// ChannelInfo describes a channel to AddChannel.
type ChannelInfo struct {
	ID       string // C... public, G... or Private: private
	Private  bool
	Archived bool
	Member   bool // the app has been invited
}

type channel struct {
	ChannelInfo
	messages []*Message // in ts order, replies included
}

// Request is one call the fake received.
type Request struct {
	Method     string // chat.postMessage
	HTTPMethod string
	Args       map[string]any // as sent: JSON values for a JSON body, strings for a query
	Answer     string         // "ok" or the error answered
	Status     int
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	// URL is the Web API's base, to use as SlackAPI.BaseURL.
	URL string

	t    testing.TB
	spec *spec
	srv  *httptest.Server

	mu         sync.Mutex
	tokens     map[string][]string // token → scopes
	channels   map[string]*channel
	lastTS     time.Time
	requests   []Request
	violations []string
	faults     []fault
	delay      time.Duration
}

type fault struct {
	method     string        // "" any
	code       string        // a Slack error; "ratelimited" answers 429
	status     int           // an HTTP status with no Slack body (a 503 from Slack's edge)
	lose       bool          // the request never reaches Slack: nothing is done, no answer comes
	delay      time.Duration // the answer comes this late, after the call is done
	retryAfter int
	skip       int // matching calls to let through first
}

// New starts a fake with Token and Channel, closed when the test ends, and
// fails the test then for each contract violation it saw.
func New(t testing.TB) *Server {
	t.Helper()
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, spec: sp, tokens: map[string][]string{}, channels: map[string]*channel{}}
	s.AddToken(Token, "chat:write", "channels:history", "groups:history")
	s.AddChannel(ChannelInfo{ID: Channel, Member: true})
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + sp.basePath
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
		for _, v := range s.Violations() {
			t.Errorf("slackfake: contract violation: %s", v)
		}
	})
	return s
}

// AddToken makes token known, with these scopes (granular bot scopes:
// "chat:write", "channels:history", "groups:history").
func (s *Server) AddToken(token string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = scopes
}

// AddChannel adds (or replaces) a channel.
func (s *Server) AddChannel(c ChannelInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[c.ID] = &channel{ChannelInfo: c}
}

// FailNext makes the next call of method ("" any) fail with Slack's error
// code: "ratelimited" answers HTTP 429 with Retry-After: 1, any other
// code HTTP 200 with {"ok": false, "error": code}. Nothing is done.
func (s *Server) FailNext(method, code string) { s.FailAfter(method, 0, code) }

// FailAfter is FailNext for the call after the next n calls of method.
func (s *Server) FailAfter(method string, n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, code: code, retryAfter: 1, skip: n})
}

// FailNextStatus makes the next call of method answer an HTTP status with
// no Slack body, as Slack's edge does when it is down (500, 502, 503).
func (s *Server) FailNextStatus(method string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, status: status})
}

// LoseNext makes the next call of method vanish: nothing is done and no
// answer comes until the client gives up.
func (s *Server) LoseNext(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, lose: true})
}

// Delay makes every answer come d late, after the call has been done
// (0: on time). A client that gives up first does not know its post
// went through.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// DelayNext makes the answer to the next call of method come d late,
// after the call has been done.
func (s *Server) DelayNext(method string, d time.Duration) { s.DelayAfter(method, 0, d) }

// DelayAfter is DelayNext for the call after the next n calls of method.
func (s *Server) DelayAfter(method string, n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, delay: d, skip: n})
}

// Requests returns the calls received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls returns how many calls of method were received.
func (s *Server) Calls(method string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

// Violations returns the contract violations seen.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Messages returns the channel's top-level messages, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	if c := s.channels[channelID]; c != nil {
		for _, m := range c.messages {
			if m.ThreadTS == "" || m.ThreadTS == m.TS {
				out = append(out, *m)
			}
		}
	}
	return out
}

// Replies returns the replies in the thread of parent ts, oldest first.
func (s *Server) Replies(channelID, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	if c := s.channels[channelID]; c != nil {
		for _, m := range c.messages {
			if m.ThreadTS == ts && m.TS != ts {
				out = append(out, *m)
			}
		}
	}
	return out
}

func (s *Server) violation(format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

// slackError is an answer with ok false.
type slackError struct {
	code   string
	status int
	extra  map[string]any
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, s.spec.basePath+"/")
	s.mu.Lock()
	req := Request{Method: method, HTTPMethod: r.Method}
	answer, errAnswer, lost, delay := s.handle(r, method, &req)
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if lost {
		<-r.Context().Done()
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if errAnswer != nil {
		if errAnswer.status >= 500 {
			http.Error(w, http.StatusText(errAnswer.status), errAnswer.status)
			return
		}
		if errAnswer.code == "ratelimited" {
			w.Header().Set("Retry-After", fmt.Sprint(errAnswer.extra["retry_after"]))
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "ratelimited"})
			return
		}
		body := map[string]any{"ok": false, "error": errAnswer.code}
		for k, v := range errAnswer.extra {
			body[k] = v
		}
		status := http.StatusOK
		if errAnswer.status != 0 {
			status = errAnswer.status
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
		return
	}
	json.NewEncoder(w).Encode(answer)
}

// handle does the call under s.mu and returns the answer.
func (s *Server) handle(r *http.Request, method string, req *Request) (answer map[string]any, e *slackError, lost bool, delay time.Duration) {
	op, ok := s.spec.ops[method]
	if !ok {
		s.violation("%s %s: not a method the fake covers (%v)", r.Method, r.URL.Path, Methods)
		req.Answer, req.Status = "unknown_method", http.StatusNotFound
		return nil, &slackError{code: "unknown_method", status: http.StatusNotFound}, false, 0
	}
	fail := func(code string, extra map[string]any) (map[string]any, *slackError, bool, time.Duration) {
		req.Answer = code
		return nil, &slackError{code: code, extra: extra}, false, s.delay
	}
	if r.Method != op.httpMethod {
		s.violation("%s: HTTP %s; the description has %s", method, r.Method, op.httpMethod)
		return fail("invalid_post_type", nil)
	}
	args, bad := s.readArgs(r, method, op)
	req.Args = args
	if bad != "" {
		return fail(bad, nil)
	}
	token, bad := s.bearer(r, method)
	if bad != "" {
		return fail(bad, nil)
	}

	late := s.delay
	for i, f := range s.faults {
		if f.method == "" || f.method == method {
			if f.skip > 0 {
				s.faults[i].skip--
				continue
			}
			s.faults = slices.Delete(s.faults, i, i+1)
			switch {
			case f.delay > 0:
				late = f.delay
			case f.lose:
				req.Answer = "lost"
				return nil, nil, true, 0
			case f.status != 0:
				req.Answer, req.Status = http.StatusText(f.status), f.status
				return nil, &slackError{status: f.status}, false, s.delay
			case f.code == "ratelimited":
				req.Answer, req.Status = f.code, http.StatusTooManyRequests
				return nil, &slackError{code: f.code, extra: map[string]any{"retry_after": f.retryAfter}}, false, s.delay
			default:
				return fail(f.code, nil)
			}
			break
		}
	}

	if len(op.scopes) > 0 && method != "auth.test" {
		if need := s.scopeNeeded(method, token, args); need != "" {
			return fail("missing_scope", map[string]any{"needed": need, "provided": strings.Join(s.tokens[token], ",")})
		}
	}
	var code string
	switch method {
	case "auth.test":
		answer = map[string]any{"ok": true, "url": "https://sitrep-fake.slack.com/", "team": "sitrep fake",
			"user": "sitrep", "team_id": Team, "user_id": BotUser, "bot_id": BotID}
	case "chat.postMessage":
		answer, code = s.postMessage(args)
	case "chat.update":
		answer, code = s.update(args)
	case "conversations.history":
		answer, code = s.history(args)
	case "conversations.replies":
		answer, code = s.replies(args)
	}
	if code != "" {
		return fail(code, nil)
	}
	// The fake's own answer must fit the description too.
	var generic any
	raw, _ := json.Marshal(answer)
	json.Unmarshal(raw, &generic)
	schema := op.success
	if method == "conversations.replies" {
		schema = repliesAsSlackAnswers(schema)
	}
	for _, v := range s.spec.validate(schema, generic, method) {
		s.violation("the fake's answer: %s", v)
	}
	req.Answer = "ok"
	return answer, nil, false, late
}

// repliesAsSlackAnswers: Slack's replies carry a message's fields (blocks
// among them), which the description's reply items leave out.
func repliesAsSlackAnswers(schema any) any {
	sc, _ := schema.(map[string]any)
	out := map[string]any{}
	for k, v := range sc {
		out[k] = v
	}
	props := map[string]any{}
	for k, v := range sc["properties"].(map[string]any) {
		props[k] = v
	}
	props["messages"] = map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/objs_message"}}
	out["properties"] = props
	return out
}

// readArgs reads the arguments where the description puts them: a JSON
// or form body for POST methods, the query for GET ones. It records a
// violation and returns Slack's error for an argument the description
// does not list, a missing required one, or one of the wrong type.
func (s *Server) readArgs(r *http.Request, method string, op *operation) (map[string]any, string) {
	args := map[string]any{}
	switch r.Method {
	case http.MethodGet:
		if r.ContentLength > 0 {
			s.violation("%s: a GET with a body", method)
		}
		for k, vs := range r.URL.Query() {
			args[k] = vs[0]
		}
	case http.MethodPost:
		if len(r.URL.RawQuery) > 0 {
			s.violation("%s: arguments in the query of a POST (%s)", method, keys(r.URL.Query()))
		}
		ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !slices.Contains(op.consumes, ct) {
			s.violation("%s: Content-Type %q; the description takes %v", method, r.Header.Get("Content-Type"), op.consumes)
			return args, "invalid_post_type"
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return args, "invalid_form_data"
		}
		if ct == "application/json" {
			if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") {
				s.violation("%s: charset %q; Slack reads JSON as UTF-8", method, cs)
				return args, "invalid_charset"
			}
			if err := json.Unmarshal(body, &args); err != nil {
				s.violation("%s: a JSON body that is not an object: %v", method, err)
				return args, "invalid_json"
			}
		} else {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return args, "invalid_form_data"
			}
			for k, vs := range form {
				args[k] = vs[0]
			}
		}
	}
	for _, k := range sortedKeys(args) {
		p, ok := op.params[k]
		switch {
		case k == "token":
			// Slack refuses a token in the query (apps created after
			// 24 February 2021) and in a JSON body; sitrep sends it as a
			// Bearer header only.
			s.violation("%s: the token sent as an argument (%s); send it as Authorization: Bearer", method, r.Method)
			return args, "invalid_arg_name"
		case !ok || p.in == "header":
			s.violation("%s: argument %q is not in the description (it has %v)", method, k, keys(op.params))
			return args, "invalid_arg_name"
		}
		if msg := checkType(k, p.typ, args[k]); msg != "" {
			s.violation("%s: %s", method, msg)
			return args, "invalid_arguments"
		}
	}
	for _, k := range sortedKeys(op.params) {
		if p := op.params[k]; p.required && p.in != "header" {
			if _, ok := args[k]; !ok {
				s.violation("%s: required argument %q missing", method, k)
				return args, "invalid_arguments"
			}
		}
	}
	return args, ""
}

// checkType: a JSON body carries typed values (blocks may be the array
// itself rather than its JSON text, as Slack's docs allow); a query or a
// form carries strings that must parse as the type.
func checkType(name, typ string, v any) string {
	if str, ok := v.(string); ok {
		var err error
		switch typ {
		case "boolean":
			if str != "true" && str != "false" && str != "1" && str != "0" {
				err = fmt.Errorf("not a boolean")
			}
		case "number":
			_, err = strconv.ParseFloat(str, 64)
		case "integer":
			_, err = strconv.Atoi(str)
		}
		if err != nil {
			return fmt.Sprintf("argument %q = %q is not a %s", name, str, typ)
		}
		return ""
	}
	switch {
	case typ == "string" && (name == "blocks" || name == "attachments"):
		if _, ok := v.([]any); ok {
			return ""
		}
	case typ == "boolean":
		if _, ok := v.(bool); ok {
			return ""
		}
	case typ == "number" || typ == "integer":
		if _, ok := v.(float64); ok {
			return ""
		}
	}
	return fmt.Sprintf("argument %q is a %s, the description says %s", name, kind(v), typ)
}

func (s *Server) bearer(r *http.Request, method string) (string, string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		s.violation("%s: no Authorization header; the description requires the token", method)
		return "", "not_authed"
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		s.violation("%s: Authorization is not a Bearer token", method)
		return "", "not_authed"
	}
	if _, known := s.tokens[token]; !known {
		return "", "invalid_auth"
	}
	return token, ""
}

// scopeNeeded returns the scope the call needs and the token lacks, or "".
// The description names the classic "chat:write:bot"; apps made today get
// the granular "chat:write".
func (s *Server) scopeNeeded(method, token string, args map[string]any) string {
	has := s.tokens[token]
	switch method {
	case "chat.postMessage", "chat.update":
		if !slices.Contains(has, "chat:write") && !slices.Contains(has, "chat:write:bot") {
			return "chat:write"
		}
	case "conversations.history", "conversations.replies":
		need := "channels:history"
		if c := s.channels[str(args["channel"])]; c != nil && c.Private {
			need = "groups:history"
		}
		if !slices.Contains(has, need) {
			return need
		}
	}
	return ""
}

func (s *Server) nextTS() string {
	now := time.Now().Truncate(time.Microsecond)
	if !now.After(s.lastTS) {
		now = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

func (s *Server) writable(id string) (*channel, string) {
	c := s.channels[id]
	switch {
	case c == nil:
		return nil, "channel_not_found"
	case c.Archived:
		return nil, "is_archived"
	case !c.Member:
		return nil, "not_in_channel"
	}
	return c, ""
}

// blocks reads a blocks argument (the array or its JSON text) and checks
// what Block Kit requires of it: at most 50 blocks, each with a type,
// block_ids at most 255 characters and unique in the message.
func blocksArg(v any) ([]any, string) {
	if v == nil {
		return nil, ""
	}
	var blocks []any
	switch v := v.(type) {
	case []any:
		blocks = v
	case string:
		if err := json.Unmarshal([]byte(v), &blocks); err != nil {
			return nil, "invalid_blocks_format"
		}
	}
	if len(blocks) > 50 {
		return nil, "invalid_blocks"
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		o, ok := b.(map[string]any)
		if !ok || str(o["type"]) == "" {
			return nil, "invalid_blocks"
		}
		if id, ok := o["block_id"]; ok {
			sid, ok := id.(string)
			if !ok || sid == "" || len(sid) > 255 || ids[sid] {
				return nil, "invalid_blocks"
			}
			ids[sid] = true
		}
	}
	return blocks, ""
}

func (s *Server) postMessage(args map[string]any) (map[string]any, string) {
	c, code := s.writable(str(args["channel"]))
	if code != "" {
		return nil, code
	}
	blocks, code := blocksArg(args["blocks"])
	if code != "" {
		return nil, code
	}
	text := str(args["text"])
	if text == "" && len(blocks) == 0 {
		return nil, "no_text"
	}
	if len(text) > 40000 {
		return nil, "msg_too_long"
	}
	m := &Message{TS: s.nextTS(), User: BotUser, Text: text, Blocks: blocks}
	if parent := str(args["thread_ts"]); parent != "" {
		p := c.find(parent)
		if p == nil {
			return nil, "thread_not_found"
		}
		if p.ThreadTS != "" && p.ThreadTS != p.TS {
			parent = p.ThreadTS // a reply to a reply lands in the same thread
		}
		c.find(parent).ThreadTS = parent
		m.ThreadTS = parent
	}
	c.messages = append(c.messages, m)
	return map[string]any{"ok": true, "channel": c.ID, "ts": m.TS, "message": c.view(m)}, ""
}

func (s *Server) update(args map[string]any) (map[string]any, string) {
	c, code := s.writable(str(args["channel"]))
	if code != "" {
		return nil, code
	}
	m := c.find(str(args["ts"]))
	if m == nil {
		return nil, "message_not_found"
	}
	if m.User != BotUser {
		return nil, "cant_update_message"
	}
	blocks, code := blocksArg(args["blocks"])
	if code != "" {
		return nil, code
	}
	if _, ok := args["text"]; ok {
		m.Text = str(args["text"])
	}
	if _, ok := args["blocks"]; ok {
		m.Blocks = blocks
	}
	if len(m.Text) > 40000 {
		return nil, "msg_too_long"
	}
	m.Edits++
	return map[string]any{"ok": true, "channel": c.ID, "ts": m.TS, "text": m.Text, "message": map[string]any{"text": m.Text}}, ""
}

func (s *Server) readable(args map[string]any) (*channel, string) {
	c := s.channels[str(args["channel"])]
	switch {
	case c == nil:
		return nil, "channel_not_found"
	case !c.Member:
		return nil, "not_in_channel"
	}
	return c, ""
}

// window reads oldest, latest, inclusive and limit (default 100, at most
// 1000, as Slack's docs say).
func window(args map[string]any) (in func(ts string) bool, limit int) {
	oldest, _ := strconv.ParseFloat(str(args["oldest"]), 64)
	latest, err := strconv.ParseFloat(str(args["latest"]), 64)
	if err != nil || latest == 0 {
		latest = 1e12
	}
	inclusive := str(args["inclusive"]) == "true" || str(args["inclusive"]) == "1"
	limit = 100
	if n, err := strconv.Atoi(str(args["limit"])); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	return func(ts string) bool {
		f, _ := strconv.ParseFloat(ts, 64)
		if inclusive {
			return f >= oldest && f <= latest
		}
		return f > oldest && f < latest
	}, limit
}

func (s *Server) history(args map[string]any) (map[string]any, string) {
	c, code := s.readable(args)
	if code != "" {
		return nil, code
	}
	in, limit := window(args)
	msgs := []any{}
	more := false
	for i := len(c.messages) - 1; i >= 0; i-- { // newest first
		m := c.messages[i]
		if (m.ThreadTS != "" && m.ThreadTS != m.TS) || !in(m.TS) {
			continue
		}
		if len(msgs) == limit {
			more = true
			break
		}
		msgs = append(msgs, c.view(m))
	}
	return map[string]any{"ok": true, "messages": msgs, "has_more": more, "pin_count": 0,
		"channel_actions_ts": nil, "channel_actions_count": 0}, ""
}

func (s *Server) replies(args map[string]any) (map[string]any, string) {
	c, code := s.readable(args)
	if code != "" {
		return nil, code
	}
	parent := c.find(str(args["ts"]))
	if parent == nil {
		return nil, "thread_not_found"
	}
	in, limit := window(args)
	// The parent comes first, then the replies in the window, oldest first.
	msgs := []any{c.view(parent)}
	more := false
	for _, m := range c.messages {
		if m.ThreadTS != parent.TS || m.TS == parent.TS || !in(m.TS) {
			continue
		}
		if len(msgs) == limit {
			more = true
			break
		}
		msgs = append(msgs, c.view(m))
	}
	return map[string]any{"ok": true, "messages": msgs, "has_more": more}, ""
}

func (c *channel) find(ts string) *Message {
	for _, m := range c.messages {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// view is m as Slack shows it (objs_message).
func (c *channel) view(m *Message) map[string]any {
	v := map[string]any{"type": "message", "ts": m.TS, "user": m.User, "text": m.Text, "team": Team}
	if m.User == BotUser {
		v["bot_id"] = BotID
	}
	if len(m.Blocks) > 0 {
		v["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		v["thread_ts"] = m.ThreadTS
		if m.ThreadTS == m.TS {
			n, latest := 0, ""
			for _, r := range c.messages {
				if r.ThreadTS == m.TS && r.TS != m.TS {
					n, latest = n+1, r.TS
				}
			}
			v["reply_count"], v["reply_users_count"] = n, 1
			v["reply_users"] = []string{BotUser}
			v["latest_reply"] = latest
		} else {
			v["parent_user_id"] = BotUser
		}
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keys[V any](m map[string]V) string { return strings.Join(sortedKeys(m), ", ") }
