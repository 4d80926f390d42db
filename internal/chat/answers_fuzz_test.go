package chat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
)

// fuzzDeadline is wall-clock time for one input: reading an answer is
// linear and takes microseconds, but on a loaded 2-core machine a trivial
// input can wait a second for a core (docs/reliability.md).
const fuzzDeadline = 3 * time.Second

// answering is a server that gives every request the same answer.
func answering(status int, retryAfter string, body []byte) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
}

// headerValue: what a server can send as a header (Go's client refuses
// the rest before sitrep sees it).
func headerValue(v string) bool {
	for _, r := range v {
		if r < ' ' || r > '~' {
			return false
		}
	}
	return true
}

func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(fuzzDeadline):
		t.Fatalf("%s took over %s", what, fuzzDeadline)
	}
}

// FuzzTeamsAnswer: whatever the flow answers, a post counts as made only
// on 200 or 202, a wait is never negative, and the flow's signed URL
// never shows in the error.
func FuzzTeamsAnswer(f *testing.F) {
	f.Add(202, "", []byte(""))
	f.Add(429, "7", []byte(`{"error":{"code":"WorkflowRequestsThrottled","message":"slow down"}}`))
	f.Add(400, "", []byte(`{"error":{"code":"InvalidRequestContent","message":"sig=SECRETSIG"}}`))
	f.Add(503, "-1", []byte("<html>"))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 200 || status > 599 || !headerValue(retryAfter) {
			return
		}
		srv := answering(status, retryAfter, body)
		defer srv.Close()
		p := &chat.Teams{WebhookURL: srv.URL + "/workflows/x?sig=SECRETSIG", Client: &http.Client{Timeout: fuzzDeadline}}
		within(t, "a Teams answer", func() {
			_, err := p.Post(context.Background(), chat.Message{Incident: "INC-1", Title: "t", Event: "e", At: time.Unix(0, 0)})
			if (err == nil) != (status == 200 || status == 202) {
				t.Fatalf("HTTP %d: err %v", status, err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETSIG") {
				t.Fatalf("the signature in %v", err)
			}
			if d, ok := chat.RetryAfter(err); ok && d < 0 {
				t.Fatalf("a negative wait %s", d)
			}
		})
	})
}

// FuzzSlackAPIAnswer: whatever Slack's Web API answers, a post counts as
// made only when the answer says ok with a ts, and the bot token never
// shows in the error.
func FuzzSlackAPIAnswer(f *testing.F) {
	f.Add(200, "", []byte(`{"ok":true,"channel":"C1","ts":"1.2","messages":[]}`))
	f.Add(200, "", []byte(`{"ok":false,"error":"not_in_channel"}`))
	f.Add(429, "3", []byte(`{"ok":false,"error":"ratelimited"}`))
	f.Add(200, "", []byte(`{"ok":true}`))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 200 || status > 599 || !headerValue(retryAfter) {
			return
		}
		srv := answering(status, retryAfter, body)
		defer srv.Close()
		p := &chat.SlackAPI{BaseURL: srv.URL, Token: "xoxb-SECRETTOKEN", Channel: "C1", Client: &http.Client{Timeout: fuzzDeadline}}
		within(t, "a Slack answer", func() {
			got, err := p.Post(context.Background(), chat.Message{Incident: "INC-1", Title: "t", Event: "e", Key: "sitrep-INC-1-1", Thread: "1.1", At: time.Unix(0, 0)})
			if err == nil && (status != 200 || got.Ref == "") {
				t.Fatalf("HTTP %d %q taken for a post: %+v", status, body, got)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Fatalf("the token in %v", err)
			}
			_, _, _ = p.Recognize(context.Background(), chat.Message{Incident: "INC-1", Key: "sitrep-INC-1-1", Thread: "1.1", At: time.Unix(0, 0)})
		})
	})
}
