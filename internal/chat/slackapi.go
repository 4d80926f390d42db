package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"unicode/utf8"
)

// SlackAPI posts through Slack's Web API with a bot token: one thread per
// incident in Channel. The incident's first event posts a parent message
// (title, severity, state, link) and the event as a reply in its thread;
// each later event is a reply there, and the parent is edited in place
// (chat.update) so that it always shows the incident's current state.
//
// The app needs the bot scopes chat:write, and channels:history (a
// public channel) or groups:history (a private one): every post carries
// a block whose block_id comes from Message.Key (the parent's from
// "sitrep-thread-"+incident), and SlackAPI reads the channel back to find
// an earlier try whose answer never came (Recognize), and a parent an
// earlier, failed try already made, before making another.
type SlackAPI struct {
	BaseURL string       // "" is https://slack.com/api
	Token   string       // the bot token, xoxb-...; a secret: never in errors or logs
	Channel string       // the channel's ID (C0123ABCD), not its name
	Client  *http.Client // nil: a client with a 30 s timeout (a slow answer is awaited, not taken for a failure)
	Logger  *slog.Logger // nil: slog.Default()
}

var (
	_ Poster     = (*SlackAPI)(nil)
	_ Recognizer = (*SlackAPI)(nil)
)

const (
	// The look-back of a search for an earlier try: from the event's time
	// less slackClockSkew (sitrep's clock and Slack's may differ), at most
	// slackPages pages of slackPage messages. A try older than that is not
	// found, and the event is posted again.
	slackClockSkew = 10 * time.Minute
	slackPage      = 100
	slackPages     = 10
	// Slack's answers are small but for a page of history; an answer
	// larger than this is not read.
	slackMaxAnswer = 4 << 20
	// Block Kit's limits: a header's text, a section's text, a block_id.
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackBlockIDMax = 255
)

// Post posts m in its incident's thread, making the thread when m.Thread
// is "". The parent is edited before the reply is posted, so that a
// retry after a failed edit posts nothing twice.
func (s *SlackAPI) Post(ctx context.Context, m Message) (Posted, error) {
	thread := m.Thread
	if thread == "" {
		ts, found, err := s.findParent(ctx, m)
		if err != nil {
			return Posted{}, err
		}
		if found {
			// An earlier try made the parent and failed after.
			if err := s.editParent(ctx, m, ts); err != nil {
				return Posted{Thread: ts}, err
			}
		} else {
			ts, err = s.write(ctx, "chat.postMessage", s.parentArgs(m, ""))
			if err != nil {
				return Posted{}, err
			}
		}
		thread = ts
	} else if err := s.editParent(ctx, m, thread); err != nil {
		return Posted{Thread: thread}, err
	}
	ref, err := s.write(ctx, "chat.postMessage", s.replyArgs(m, thread))
	if err != nil {
		// The thread is made: a mirror that keeps it does not make another
		// (and if it does not, the next try finds the parent anyway).
		return Posted{Thread: thread}, err
	}
	return Posted{Ref: ref, Thread: thread}, nil
}

// Recognize looks for an earlier try of m in the channel: its reply in the
// thread (m.Thread, or the parent it finds when m.Thread is ""), by the
// block_id made from m.Key. Not found with a nil error means the try
// never reached Slack, within the look-back.
func (s *SlackAPI) Recognize(ctx context.Context, m Message) (Posted, bool, error) {
	if m.Key == "" {
		return Posted{}, false, nil
	}
	thread := m.Thread
	if thread == "" {
		ts, found, err := s.findParent(ctx, m)
		if err != nil || !found {
			return Posted{}, false, err
		}
		thread = ts
	}
	ref, found, err := s.findReply(ctx, m, thread)
	if err != nil || !found {
		return Posted{}, false, err
	}
	return Posted{Ref: ref, Thread: thread}, true, nil
}

// Verify tells whether the token works and the app can read the channel
// (for sitrep doctor): auth.test, then one message of history.
func (s *SlackAPI) Verify(ctx context.Context) error {
	if _, err := s.call(ctx, "auth.test", nil, false); err != nil {
		return err
	}
	_, err := s.call(ctx, "conversations.history", url.Values{"channel": {s.Channel}, "limit": {"1"}}, false)
	return err
}

// editParent makes the parent show m's state. A parent that is gone or
// can no longer be edited (someone deleted it, the workspace limits
// edits) is no reason to withhold the event: it is logged and skipped.
func (s *SlackAPI) editParent(ctx context.Context, m Message, ts string) error {
	_, err := s.write(ctx, "chat.update", s.parentArgs(m, ts))
	var se *slackAPIError
	if errors.As(err, &se) {
		switch se.code {
		case "message_not_found", "cant_update_message", "edit_window_closed":
			s.logger().Warn("chat: slack: the incident's parent message was not edited", "incident", m.Incident, "ts", ts, "error", se.code)
			return nil
		}
	}
	return err
}

// findParent looks for the incident's parent message in the channel's
// history since m.At (less the clock skew).
func (s *SlackAPI) findParent(ctx context.Context, m Message) (string, bool, error) {
	want := slackBlockID("sitrep-thread-" + m.Incident)
	latest := ""
	for range slackPages {
		q := url.Values{"channel": {s.Channel}, "oldest": {slackOldest(m.At)}, "limit": {strconv.Itoa(slackPage)}}
		if latest != "" {
			q.Set("latest", latest)
		}
		a, err := s.call(ctx, "conversations.history", q, false)
		if err != nil {
			return "", false, err
		}
		for _, msg := range a.Messages { // newest first
			if msg.has(want) {
				return msg.TS, true, nil
			}
			latest = msg.TS
		}
		if !a.HasMore || len(a.Messages) == 0 {
			break
		}
	}
	return "", false, nil
}

// findReply looks for m's reply in the thread since m.At (less the skew).
func (s *SlackAPI) findReply(ctx context.Context, m Message, thread string) (string, bool, error) {
	want := slackBlockID(m.Key)
	oldest := slackOldest(m.At)
	for range slackPages {
		q := url.Values{"channel": {s.Channel}, "ts": {thread}, "oldest": {oldest}, "limit": {strconv.Itoa(slackPage)}}
		a, err := s.call(ctx, "conversations.replies", q, false)
		var se *slackAPIError
		if errors.As(err, &se) && se.code == "thread_not_found" {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		next := oldest
		for _, msg := range a.Messages { // the parent first, then replies oldest first
			if msg.TS == thread {
				continue
			}
			if msg.has(want) {
				return msg.TS, true, nil
			}
			next = msg.TS
		}
		if !a.HasMore || next == oldest {
			break
		}
		oldest = next
	}
	return "", false, nil
}

func slackOldest(at time.Time) string {
	if at.IsZero() {
		return "0"
	}
	t := at.Add(-slackClockSkew)
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// slackBlockID is key as a block_id: itself when it fits, a digest when
// it is longer than Block Kit allows.
func slackBlockID(key string) string {
	if len(key) <= slackBlockIDMax {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sitrep-" + hex.EncodeToString(sum[:16])
}

// parentArgs: the incident in a few lines (title, severity, state, the
// latest event, the link); ts "" posts it, else edits it.
func (s *SlackAPI) parentArgs(m Message, ts string) map[string]any {
	lines := []string{
		fmt.Sprintf("*Severity:* %s    *State:* %s", slackEscape(m.Severity), slackEscape(m.State)),
		fmt.Sprintf("*Latest:* %s, %s", slackEscape(m.Event), m.At.UTC().Format("2006-01-02 15:04 UTC")),
	}
	if !m.NextUpdate.IsZero() {
		lines = append(lines, "*Next update by* "+m.NextUpdate.UTC().Format("15:04 UTC"))
	}
	if m.URL != "" {
		lines = append(lines, "<"+m.URL+"|Open incident>")
	}
	args := map[string]any{
		"channel": s.Channel,
		"text":    fmt.Sprintf("%s %s (%s, %s)", m.Incident, m.Title, m.Severity, m.State),
		"blocks": []any{
			map[string]any{"type": "header", "block_id": slackBlockID("sitrep-thread-" + m.Incident),
				"text": map[string]any{"type": "plain_text", "text": slackClip(m.Incident+" "+m.Title, slackHeaderMax)}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackClip(strings.Join(lines, "\n"), slackSectionMax)}},
		},
	}
	if ts != "" {
		args["ts"] = ts
	} else {
		args["unfurl_links"] = false
	}
	return args
}

// replyArgs: the event and its words, in the thread.
func (s *SlackAPI) replyArgs(m Message, thread string) map[string]any {
	section := fmt.Sprintf("*%s* · %s", slackEscape(m.Event), m.At.UTC().Format("15:04 UTC"))
	if m.Text != "" {
		section += "\n" + slackEscape(m.Text)
	}
	section = slackClip(section, slackSectionMax)
	sec := map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": section}}
	if m.Key != "" {
		sec["block_id"] = slackBlockID(m.Key)
	}
	fallback := m.Incident + " " + m.Event
	if first, _, _ := strings.Cut(m.Text, "\n"); first != "" {
		fallback += ": " + first
	}
	return map[string]any{
		"channel":      s.Channel,
		"thread_ts":    thread,
		"text":         slackClip(fallback, slackSectionMax),
		"unfurl_links": false,
		"blocks": []any{
			sec,
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn",
				"text": slackEscape(strings.Join(nonEmpty([]string{m.Severity, m.State, nextUpdate(m)}), " · "))}}},
		},
	}
}

// slackClip shortens s to at most n bytes, on a rune boundary, marking the cut.
func slackClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// slackAnswer is the part of Slack's answers sitrep reads.
type slackAnswer struct {
	OK       bool           `json:"ok"`
	Error    string         `json:"error"`
	Needed   string         `json:"needed"`
	TS       string         `json:"ts"`
	HasMore  bool           `json:"has_more"`
	Messages []slackMessage `json:"messages"`
}

type slackMessage struct {
	TS     string `json:"ts"`
	Blocks []struct {
		BlockID string `json:"block_id"`
	} `json:"blocks"`
}

func (m slackMessage) has(blockID string) bool {
	for _, b := range m.Blocks {
		if b.BlockID == blockID {
			return true
		}
	}
	return false
}

// slackAPIError is an answer with "ok": false.
type slackAPIError struct {
	method, code string
	err          error
}

func (e *slackAPIError) Error() string { return e.err.Error() }
func (e *slackAPIError) Unwrap() error { return e.err }

// write calls a method that changes the channel and returns the ts of the
// message it made or edited.
func (s *SlackAPI) write(ctx context.Context, method string, args map[string]any) (string, error) {
	a, err := s.call(ctx, method, args, true)
	if err != nil {
		return "", err
	}
	if a.TS == "" {
		return "", fmt.Errorf("chat: slack: %s answered ok with no ts", method)
	}
	return a.TS, nil
}

// call calls a Web API method: a JSON body for a write, the query of a GET
// for a read, the token in the Authorization header. It sorts Slack's
// answers into the errors the mirror acts on.
func (s *SlackAPI) call(ctx context.Context, method string, args any, write bool) (*slackAnswer, error) {
	base := s.BaseURL
	if base == "" {
		base = "https://slack.com/api"
	}
	endpoint := strings.TrimRight(base, "/") + "/" + method
	var req *http.Request
	var err error
	if write {
		body, merr := json.Marshal(args)
		if merr != nil {
			return nil, &PermanentError{fmt.Errorf("chat: slack: %s: %w", method, merr)}
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
	} else {
		if q, ok := args.(url.Values); ok && len(q) > 0 {
			endpoint += "?" + q.Encode()
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	}
	if err != nil {
		return nil, &PermanentError{fmt.Errorf("chat: slack: %s: %w", method, err)}
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	// Whether the request was all sent tells a post that may have got
	// through (a timeout, a reset while waiting) from one that cannot have
	// (a dial error).
	var sent atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { sent.Store(i.Err == nil) },
	}))
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		err = s.scrub(fmt.Errorf("chat: slack: %s: %w", method, err))
		if write && sent.Load() {
			return nil, &UncertainError{err}
		}
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, slackMaxAnswer+1))
	if err != nil {
		err = s.scrub(fmt.Errorf("chat: slack: %s: reading the answer: %w", method, err))
		if write && resp.StatusCode == http.StatusOK {
			return nil, &UncertainError{err}
		}
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		after := 30 * time.Second
		if v, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && v >= 0 {
			after = time.Duration(v) * time.Second
		}
		return nil, &RetryAfterError{After: after, Err: fmt.Errorf("chat: slack: %s: rate limited", method)}
	case resp.StatusCode == http.StatusGatewayTimeout && write:
		// Slack's edge gave up waiting on Slack: the post may be made.
		return nil, &UncertainError{fmt.Errorf("chat: slack: %s: %s", method, resp.Status)}
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("chat: slack: %s: %s", method, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, &PermanentError{fmt.Errorf("chat: slack: %s: %s (is the Web API's address right?)", method, resp.Status)}
	}
	if len(raw) > slackMaxAnswer {
		return nil, fmt.Errorf("chat: slack: %s: an answer over %d bytes", method, slackMaxAnswer)
	}
	var a slackAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		if write {
			// 200 with something that is not Slack's JSON (a proxy's
			// page): whether Slack saw the post is not known.
			return nil, &UncertainError{fmt.Errorf("chat: slack: %s: an answer that is not JSON: %w", method, err)}
		}
		return nil, fmt.Errorf("chat: slack: %s: an answer that is not JSON: %w", method, err)
	}
	if !a.OK {
		return nil, slackFailure(method, a)
	}
	return &a, nil
}

// slackFailure sorts an answer with "ok": false (api.slack.com/methods/*,
// "Errors") into permanent, with how to fix it, and temporary.
func slackFailure(method string, a slackAnswer) error {
	code := a.Error
	fix := ""
	permanent := true
	switch code {
	case "invalid_auth", "not_authed", "not_allowed_token_type":
		fix = "chat.slack.token is not a valid bot token: copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"
	case "account_inactive", "token_revoked", "token_expired", "no_permission", "org_login_required":
		fix = "the app was removed or its token revoked: reinstall the app to the workspace and put its new bot token in chat.slack.token"
	case "channel_not_found":
		fix = "check chat.slack.channel: it must be the channel's ID (C0123ABCD, under the channel's name → About), not its name, and for a private channel the app must be invited first"
	case "not_in_channel":
		fix = "invite the app to the channel: /invite @sitrep (the app's name) in the channel"
	case "is_archived":
		fix = "the channel is archived: unarchive it or set chat.slack.channel to another channel"
	case "missing_scope":
		need := a.Needed
		if need == "" {
			need = "chat:write, channels:history and groups:history"
		}
		fix = "the app lacks the scope " + need + ": add it under OAuth & Permissions → Bot Token Scopes and reinstall the app"
	case "restricted_action", "restricted_action_read_only_channel", "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel", "ekm_access_denied", "team_access_not_granted":
		fix = "a workspace setting keeps the app from posting in this channel: ask a workspace admin, or pick another channel"
	case "msg_too_long", "no_text", "invalid_blocks", "invalid_blocks_format", "too_many_attachments", "invalid_arguments",
		"invalid_arg_name", "invalid_array_arg", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type",
		"invalid_json", "json_not_object", "unknown_method", "invalid_ts_latest", "invalid_ts_oldest":
		fix = "Slack refused what sitrep sent: a bug in sitrep, please report it"
	case "message_not_found", "cant_update_message", "edit_window_closed", "thread_not_found":
		fix = "the incident's Slack thread is gone or can no longer be edited"
	case "ratelimited", "rate_limited":
		return &RetryAfterError{After: 30 * time.Second, Err: &slackAPIError{method, code, fmt.Errorf("chat: slack: %s: %s", method, code)}}
	default: // internal_error, fatal_error, service_unavailable, request_timeout, team_added_to_org, ...
		permanent = false
	}
	err := &slackAPIError{method: method, code: code}
	if permanent {
		err.err = fmt.Errorf("chat: slack: %s: %s: %s", method, code, fix)
		return &PermanentError{err}
	}
	err.err = fmt.Errorf("chat: slack: %s: %s", method, code)
	return err
}

// scrub keeps the token out of an error, should anything ever quote it.
func (s *SlackAPI) scrub(err error) error {
	if s.Token == "" || !strings.Contains(err.Error(), s.Token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.Token, "<slack token>"))
}

func (s *SlackAPI) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
