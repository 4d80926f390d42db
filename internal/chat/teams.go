package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Teams posts to a Microsoft Teams channel through a Workflows webhook:
// a flow made from the template "Post to a channel when a webhook request
// is received" (the Office 365 connectors' incoming webhooks are
// retired). Each event is an Adaptive Card: the incident, a FactSet
// (severity, state, event, time), the event's words and an "Open
// incident" button.
//
// A Workflows webhook only takes posts: it gives no id of the message, no
// way to read the channel back and none to edit a message, so Teams is not
// a Recognizer (after an unknown outcome the mirror does not post the event
// again) and posts no thread: each event is a message of its own. A reply
// thread would need Microsoft Graph's ChannelMessage.Send, which has no
// application permission, only a signed-in user's.
//
// The flow answers 202 Accepted when it has started a run, before the
// card is posted: a card Teams cannot show fails in the run, unseen by
// sitrep, which is why the card is kept within what Teams documents
// (Adaptive Cards 1.4, 28 KB).
type Teams struct {
	WebhookURL string       // the flow's HTTP URL; a secret (its sig= signs it): never in errors or logs
	Client     *http.Client // nil: a client with a 30 s timeout (a slow answer is awaited, not taken for a failure)
	Logger     *slog.Logger // nil: slog.Default()
}

var _ Poster = (*Teams)(nil)

const (
	// Teams' limit on a message, card included.
	teamsMaxMessage = 28 << 10
	// The Adaptive Card version Teams renders on every client.
	teamsCardVersion = "1.4"
	teamsCardSchema  = "http://adaptivecards.io/schemas/adaptive-card.json"
)

// Post sends m as a card. The flow's answers (Power Automate's Request
// trigger): 200 or 202, done; 429 with Retry-After, come back then; 400
// (the body is not what the flow takes), 401 and 403 (the signature is
// wrong, or the flow takes signed-in callers only), 404 (the flow is
// deleted or turned off), other 4xx — permanent; 5xx — temporary; no
// answer after the request was sent — uncertain.
func (t *Teams) Post(ctx context.Context, m Message) (Posted, error) {
	body, err := TeamsPayload(m)
	if err != nil {
		return Posted{}, &PermanentError{fmt.Errorf("chat: teams: payload: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return Posted{}, &PermanentError{t.redact(fmt.Errorf("chat: teams: the webhook URL: %w", err))}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	var sent atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { sent.Store(i.Err == nil) },
	}))
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		err = t.redact(fmt.Errorf("chat: teams: %w", err))
		if sent.Load() {
			return Posted{}, &UncertainError{err}
		}
		return Posted{}, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	what := t.redact(errors.New(teamsAnswer(answer))).Error()
	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusAccepted:
		t.logger().Debug("chat: teams: posted", "incident", m.Incident, "event", m.Event, "run", resp.Header.Get("x-ms-workflow-run-id"))
		return Posted{}, nil
	case code == http.StatusTooManyRequests:
		after := 30 * time.Second
		if v, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && v >= 0 {
			after = time.Duration(v) * time.Second
		}
		return Posted{}, &RetryAfterError{After: after, Err: fmt.Errorf("chat: teams: rate limited (429 %s)", what)}
	case code >= 500:
		return Posted{}, fmt.Errorf("chat: teams: %d %s", code, what)
	case code == http.StatusBadRequest:
		return Posted{}, &PermanentError{fmt.Errorf("chat: teams: 400 %s: the flow refused the card; check that chat.teams.webhook_url is a flow made from the template \"Post to a channel when a webhook request is received\"", what)}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Posted{}, &PermanentError{fmt.Errorf("chat: teams: %d %s: the flow refused the caller; in the flow's trigger set \"Who can trigger the flow\" to Anyone, then copy its URL again, whole (with sig=), into chat.teams.webhook_url", code, what)}
	case code == http.StatusNotFound:
		return Posted{}, &PermanentError{fmt.Errorf("chat: teams: 404 %s: the flow is gone or turned off; turn it on, or make it again and put its URL in chat.teams.webhook_url", what)}
	default:
		return Posted{}, &PermanentError{fmt.Errorf("chat: teams: %d %s", code, what)}
	}
}

// teamsAnswer is what an error answer says: Power Automate answers
// {"error": {"code": ..., "message": ...}}.
func teamsAnswer(raw []byte) string {
	var a struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &a) == nil && a.Error.Code != "" {
		return strings.TrimSpace(a.Error.Code + ": " + a.Error.Message)
	}
	return strings.TrimSpace(string(raw))
}

// redact keeps the webhook URL and its signature out of an error.
func (t *Teams) redact(err error) error {
	text := err.Error()
	secrets := []string{t.WebhookURL}
	if u, perr := url.Parse(t.WebhookURL); perr == nil {
		if sig := u.Query().Get("sig"); sig != "" {
			secrets = append(secrets, sig, url.QueryEscape(sig))
		}
	}
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, "<teams webhook>")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.New(text)
}

func (t *Teams) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.Default()
}

// TeamsPayload is m as the message a Workflows webhook takes: one Adaptive
// Card attachment, at most Teams' 28 KB (a long text is cut to fit).
func TeamsPayload(m Message) ([]byte, error) {
	text := m.Text
	for {
		body, err := teamsMarshal(teamsMessage(m, text))
		if err != nil || len(body) <= teamsMaxMessage || text == "" {
			return body, err
		}
		// Cut a quarter, on a rune boundary, until it fits.
		text = slackClip(text, len(text)*3/4)
	}
}

func teamsMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" as itself, not six bytes of \u003c
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func teamsMessage(m Message, text string) map[string]any {
	facts := []any{}
	next := ""
	if !m.NextUpdate.IsZero() {
		next = m.NextUpdate.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, f := range [][2]string{{"Severity", m.Severity}, {"State", m.State}, {"Event", m.Event}, {"Time", m.At.UTC().Format("2006-01-02 15:04 UTC")}, {"Next update by", next}} {
		if strings.TrimSpace(f[1]) != "" && !(f[0] == "Time" && m.At.IsZero()) {
			facts = append(facts, map[string]any{"title": f[0], "value": f[1]})
		}
	}
	body := []any{
		map[string]any{"type": "TextBlock", "text": strings.TrimSpace(m.Incident + " " + m.Title), "size": "Medium", "weight": "Bolder", "wrap": true},
	}
	if len(facts) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	if text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": text, "wrap": true})
	}
	card := map[string]any{
		"$schema": teamsCardSchema,
		"type":    "AdaptiveCard",
		"version": teamsCardVersion,
		"body":    body,
		"msteams": map[string]any{"width": "Full"},
	}
	if m.URL != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open incident", "url": m.URL}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	}
}
