package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB whose errors the test reads instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func call(t *testing.T, s *Server, httpMethod, method, contentType, body string, query url.Values, bearer bool) (int, map[string]any) {
	t.Helper()
	u := s.URL + "/" + method
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(httpMethod, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer {
		req.Header.Set("Authorization", "Bearer "+Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a map[string]any
	json.Unmarshal(raw, &a)
	return resp.StatusCode, a
}

const jsonCT = "application/json; charset=utf-8"

func TestTheFakeHoldsRequestsToTheDescription(t *testing.T) {
	for _, c := range []struct {
		name                    string
		httpMethod, method, ct  string
		body                    string
		query                   url.Values
		bearer                  bool
		wantError, wantViolated string
	}{
		{"a method it does not cover", "POST", "chat.delete", jsonCT, `{"channel":"C0SITREP01","ts":"1.2"}`, nil, true, "unknown_method", "not a method the fake covers"},
		{"an argument the 2021 description lacks", "POST", "chat.postMessage", jsonCT,
			`{"channel":"C0SITREP01","text":"x","metadata":{"event_type":"incident"}}`, nil, true, "invalid_arg_name", `"metadata" is not in the description`},
		{"a required argument missing", "POST", "chat.update", jsonCT, `{"channel":"C0SITREP01","text":"x"}`, nil, true, "invalid_arguments", `required argument "ts" missing`},
		{"the wrong HTTP method", "GET", "chat.postMessage", "", "", url.Values{"channel": {Channel}, "text": {"x"}}, true, "invalid_post_type", "HTTP GET"},
		{"a content type it does not take", "POST", "chat.postMessage", "text/plain", "channel=C0SITREP01", nil, true, "invalid_post_type", "Content-Type"},
		{"no token", "GET", "conversations.history", "", "", url.Values{"channel": {Channel}}, false, "not_authed", "no Authorization header"},
		{"the token in the query", "GET", "conversations.history", "", "", url.Values{"channel": {Channel}, "token": {Token}}, true, "invalid_arg_name", "token sent as an argument"},
		{"a limit that is not a number", "GET", "conversations.history", "", "", url.Values{"channel": {Channel}, "limit": {"ten"}}, true, "invalid_arguments", "not a integer"},
		{"a boolean as a string in JSON", "POST", "chat.postMessage", jsonCT, `{"channel":"C0SITREP01","text":"x","unfurl_links":"no"}`, nil, true, "invalid_arguments", "unfurl_links"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			_, a := call(t, s, c.httpMethod, c.method, c.ct, c.body, c.query, c.bearer)
			if a["ok"] != false || a["error"] != c.wantError {
				t.Errorf("answered %v; want error %s", a, c.wantError)
			}
			v := s.Violations()
			if len(v) != 1 || !strings.Contains(v[0], c.wantViolated) {
				t.Errorf("violations %q; want one saying %q", v, c.wantViolated)
			}
		})
	}
}

func TestTheFakeAnswersAsSlackDoes(t *testing.T) {
	s := New(t)
	// A form body is fine too: the description takes both.
	_, a := call(t, s, "POST", "chat.postMessage", "application/x-www-form-urlencoded",
		url.Values{"channel": {Channel}, "text": {"parent"}, "blocks": {`[{"type":"section","block_id":"b1","text":{"type":"mrkdwn","text":"hi"}}]`}}.Encode(), nil, true)
	parent, _ := a["ts"].(string)
	if a["ok"] != true || parent == "" || a["channel"] != Channel {
		t.Fatalf("postMessage: %v", a)
	}
	_, a = call(t, s, "POST", "chat.postMessage", jsonCT, `{"channel":"C0SITREP01","text":"reply","thread_ts":"`+parent+`"}`, nil, true)
	reply, _ := a["ts"].(string)
	if a["ok"] != true || reply <= parent {
		t.Fatalf("reply: %v", a)
	}
	_, a = call(t, s, "GET", "conversations.history", "", "", url.Values{"channel": {Channel}}, true)
	msgs, _ := a["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["reply_count"] != float64(1) {
		t.Errorf("history: %v", a)
	}
	_, a = call(t, s, "GET", "conversations.replies", "", "", url.Values{"channel": {Channel}, "ts": {parent}}, true)
	if msgs, _ := a["messages"].([]any); len(msgs) != 2 || msgs[1].(map[string]any)["ts"] != reply {
		t.Errorf("replies: %v", a)
	}
	_, a = call(t, s, "POST", "chat.update", jsonCT, `{"channel":"C0SITREP01","ts":"`+parent+`","text":"edited"}`, nil, true)
	if a["ok"] != true || a["text"] != "edited" || s.Messages(Channel)[0].Edits != 1 {
		t.Errorf("update: %v", a)
	}
	_, a = call(t, s, "POST", "chat.update", jsonCT, `{"channel":"C0SITREP01","ts":"1111111111.000001","text":"x"}`, nil, true)
	if a["error"] != "message_not_found" {
		t.Errorf("update of no message: %v", a)
	}
	_, a = call(t, s, "GET", "auth.test", "", "", nil, true)
	if a["ok"] != true || a["user_id"] != BotUser {
		t.Errorf("auth.test: %v", a)
	}
	s.FailNext("", "ratelimited")
	status, a := call(t, s, "GET", "auth.test", "", "", nil, true)
	if status != http.StatusTooManyRequests || a["error"] != "ratelimited" {
		t.Errorf("ratelimited: %d %v", status, a)
	}
}

// The fake's own answers are checked against the description's schemas:
// an answer that strays from them is a violation too.
func TestTheDescriptionCatchesAWrongAnswer(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var good, bad any
	json.Unmarshal([]byte(`{"ok":true,"channel":"C0SITREP01","ts":"1700000000.000100","message":{"type":"message","text":"x","ts":"1700000000.000100"}}`), &good)
	json.Unmarshal([]byte(`{"ok":true,"channel":"general","ts":"17.1","message":{"text":"x"},"extra":1}`), &bad)
	if v := sp.validate(sp.ops["chat.postMessage"].success, good, "answer"); len(v) != 0 {
		t.Errorf("a good answer: %q", v)
	}
	v := sp.validate(sp.ops["chat.postMessage"].success, bad, "answer")
	for _, want := range []string{"extra is not in the description", `"general" does not match`, `"17.1" does not match`, "message: ts missing"} {
		if !strings.Contains(strings.Join(v, "\n"), want) {
			t.Errorf("a bad answer: %q lacks %q", v, want)
		}
	}
}
