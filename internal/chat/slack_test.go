package chat_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
)

// slackContract answers like Slack's incoming webhooks
// (api.slack.com/messaging/webhooks, "Handling errors"): 200 "ok" for a
// valid payload; 400 invalid_payload for JSON without text or blocks; the
// path picks the channel's fate (/archived 410 channel_is_archived, /gone
// 404 channel_not_found, /prohibited 403 action_prohibited, /broken 500);
// /limited answers 429 with Retry-After: 1 until a second has passed.
type slackContract struct {
	mu        sync.Mutex
	posts     []map[string]any
	limitedAt time.Time
	hits      map[string]int
}

func (s *slackContract) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hits == nil {
		s.hits = map[string]int{}
	}
	s.hits[r.URL.Path]++
	var p map[string]any
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&p) != nil || (p["text"] == nil && p["blocks"] == nil) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if blocks, ok := p["blocks"].([]any); ok {
		for _, b := range blocks {
			if m, ok := b.(map[string]any); !ok || m["type"] == nil {
				http.Error(w, "invalid_blocks", http.StatusBadRequest)
				return
			}
		}
	}
	switch r.URL.Path {
	case "/archived":
		http.Error(w, "channel_is_archived", http.StatusGone)
	case "/gone":
		http.Error(w, "channel_not_found", http.StatusNotFound)
	case "/prohibited":
		http.Error(w, "action_prohibited", http.StatusForbidden)
	case "/broken":
		http.Error(w, "internal_error", http.StatusInternalServerError)
	case "/limited":
		if s.limitedAt.IsZero() {
			s.limitedAt = time.Now()
		}
		if time.Since(s.limitedAt) < time.Second {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "rate_limited", http.StatusTooManyRequests)
			return
		}
		fallthrough
	default:
		s.posts = append(s.posts, p)
		w.Write([]byte("ok"))
	}
}

var sample = chat.Message{Incident: "INC-7", Title: "Checkout <down> & out", Severity: "SEV1", State: "investigating",
	Event: "Status update sent", Text: "Rolled back release 2026.11.24-3.\nError rate < 1% & falling.", URL: "https://sitrep.example.com/incidents/INC-7",
	At: time.Date(2026, 11, 24, 14, 5, 0, 0, time.UTC)}

func TestSlackFollowsTheWebhookContract(t *testing.T) {
	t.Parallel()
	contract := &slackContract{}
	srv := httptest.NewServer(contract)
	defer srv.Close()
	post := func(path string) error {
		_, err := (&chat.Slack{WebhookURL: srv.URL + path}).Post(context.Background(), sample)
		return err
	}
	if err := post("/ok"); err != nil {
		t.Fatal(err)
	}
	p := contract.posts[0]
	var blocks []struct {
		Type string `json:"type"`
		Text struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	raw, _ := json.Marshal(p["blocks"])
	if err := json.Unmarshal(raw, &blocks); err != nil || len(blocks) != 3 {
		t.Fatalf("blocks %s: %v", raw, err)
	}
	// plain_text is shown as it is; mrkdwn needs &, < and > escaped.
	if blocks[0].Type != "header" || blocks[0].Text.Type != "plain_text" || blocks[0].Text.Text != "INC-7 Checkout <down> & out" {
		t.Errorf("header %+v", blocks[0])
	}
	if blocks[1].Type != "section" || blocks[1].Text.Type != "mrkdwn" ||
		blocks[1].Text.Text != "*Status update sent*\nRolled back release 2026.11.24-3.\nError rate &lt; 1% &amp; falling." {
		t.Errorf("section %q", blocks[1].Text.Text)
	}
	if blocks[2].Type != "context" || len(blocks[2].Elements) != 1 ||
		blocks[2].Elements[0].Text != "SEV1 · investigating · 14:05 UTC · <https://sitrep.example.com/incidents/INC-7|incident page>" {
		t.Errorf("context %+v", blocks[2])
	}
	if p["text"] != "INC-7 Status update sent: Checkout <down> & out" {
		t.Errorf("fallback text %q", p["text"])
	}
	for _, path := range []string{"/archived", "/gone", "/prohibited"} {
		if err := post(path); !chat.Permanent(err) {
			t.Errorf("%s: %v; want a permanent failure", path, err)
		}
	}
	if err := post("/broken"); err == nil || chat.Permanent(err) {
		t.Errorf("500: %v; want a temporary failure", err)
	}
	err := post("/limited")
	after, ok := chat.RetryAfter(err)
	if !ok || after != time.Second {
		t.Fatalf("429: %v; want retry after 1s", err)
	}
	time.Sleep(after)
	if err := post("/limited"); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
	// Slack down altogether: a temporary failure that does not leak the URL.
	dead := &chat.Slack{WebhookURL: "http://127.0.0.1:1/services/T000/B000/XXXXSECRET", Client: &http.Client{Timeout: time.Second}}
	if _, err := dead.Post(context.Background(), sample); err == nil || chat.Permanent(err) || strings.Contains(err.Error(), "XXXXSECRET") {
		t.Errorf("unreachable: %v", err)
	}
}

// A request that went out and got no answer may have posted: an
// UncertainError. One that never left, or that Slack answered with a
// failure, did not post: a plain error, tried again.
func TestSlackTellsAnUnansweredPostFromAnUnsentOne(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
		conn.Close()
	}))
	defer reset.Close()
	contract := httptest.NewServer(&slackContract{})
	defer contract.Close()
	short := &http.Client{Timeout: 500 * time.Millisecond}
	for _, c := range []struct {
		name, url string
		uncertain bool
	}{
		{"no answer within the timeout", hang.URL, true},
		{"connection reset after the request", reset.URL, true},
		{"connection refused", "http://127.0.0.1:1/services/T0/B0/x", false},
		{"500 internal_error", contract.URL + "/broken", false},
	} {
		_, err := (&chat.Slack{WebhookURL: c.url, Client: short}).Post(context.Background(), sample)
		if err == nil || chat.Uncertain(err) != c.uncertain || chat.Permanent(err) {
			t.Errorf("%s: %v; want uncertain=%v", c.name, err, c.uncertain)
		}
	}
}
