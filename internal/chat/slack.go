package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Slack posts through an incoming webhook (api.slack.com/messaging/webhooks):
// a Block Kit message with a plain "text" fallback for notifications.
type Slack struct {
	WebhookURL string
	Client     *http.Client // nil: a client with a 30 s timeout
}

// slackTimeout is how long a webhook call is awaited. Slack answers in
// well under a second when well; a slow answer is still an answer, and
// giving up on it early makes the outcome unknown (the post may be in the
// channel) where waiting would have made it a success.
const slackTimeout = 30 * time.Second

var _ Poster = (*Slack)(nil)

// Post sends m. Slack's documented answers: 200 "ok"; 400
// invalid_payload (and the other 400s), 403 action_prohibited, 404
// channel_not_found, 410 channel_is_archived — permanent; 429 with
// Retry-After (seconds) — come back then; 5xx and failures before the
// request was written (connection refused, DNS) — temporary, retried with
// backoff. A failure after the request was written (a timeout, a reset)
// is an UncertainError: Slack may have posted it, and an incoming webhook
// cannot be read back to tell.
func (s *Slack) Post(ctx context.Context, m Message) (Posted, error) {
	return Posted{}, s.post(ctx, m)
}

func (s *Slack) post(ctx context.Context, m Message) error {
	body, err := json.Marshal(SlackPayload(m))
	if err != nil {
		return &PermanentError{fmt.Errorf("chat: slack: payload: %w", err)}
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: slackTimeout}
	}
	// Whether the whole request went out decides what a failure means.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, s.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{fmt.Errorf("chat: slack: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		err = fmt.Errorf("chat: slack: %w", redact(err, s.WebhookURL))
		if wrote.Load() {
			return &UncertainError{Err: fmt.Errorf("%w (sent, unanswered: it may be in the channel)", err)}
		}
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	what := strings.TrimSpace(string(answer))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		after := 30 * time.Second
		if v, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && v >= 0 {
			after = time.Duration(v) * time.Second
		}
		return &RetryAfterError{After: after, Err: fmt.Errorf("chat: slack: rate limited (429 %s)", what)}
	case resp.StatusCode >= 500:
		return fmt.Errorf("chat: slack: %d %s", resp.StatusCode, what)
	default: // 400 invalid_payload, 403 action_prohibited, 404 channel_not_found, 410 channel_is_archived ...
		return &PermanentError{fmt.Errorf("chat: slack: %d %s", resp.StatusCode, what)}
	}
}

// redact keeps the webhook URL, which is a credential, out of errors and logs.
func redact(err error, secretURL string) error {
	if secretURL == "" || !strings.Contains(err.Error(), secretURL) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secretURL, "<slack webhook>"))
}

// SlackPayload is m as a Block Kit message: a header, the event and its
// text, and a context line with the severity, state, time and link.
func SlackPayload(m Message) map[string]any {
	head := m.Incident + " " + m.Title
	if len(head) > 150 { // Block Kit: a header's text is at most 150 characters
		head = head[:147] + "..."
	}
	section := "*" + slackEscape(m.Event) + "*"
	if m.Text != "" {
		section += "\n" + slackEscape(m.Text)
	}
	if len(section) > 3000 { // a section's text is at most 3000 characters
		section = section[:2997] + "..."
	}
	ctx := []string{m.Severity, m.State, m.At.UTC().Format("15:04 UTC"), nextUpdate(m)}
	if m.URL != "" {
		ctx = append(ctx, "<"+m.URL+"|incident page>")
	}
	return map[string]any{
		"text": fmt.Sprintf("%s %s: %s", m.Incident, m.Event, m.Title),
		"blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": head}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": section}},
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": strings.Join(nonEmpty(ctx), " · ")}}},
		},
	}
}

// slackEscape: Slack's mrkdwn needs &, < and > escaped, and nothing else.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}
