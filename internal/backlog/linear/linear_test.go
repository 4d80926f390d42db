package linear_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/backlog/linear"
	"github.com/sitrep-dev/sitrep/internal/backlog/linearfake"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

const (
	apiKey = "lin_api_test0123456789"
	secret = "lin_wh_secret"
	marker = "sitrep:improvement:3:0a1b2c3d4e5f"
)

var olga = linearfake.User{ID: "user-olga", Name: "Olga Nunez", Email: "olga@example.test"}

func rig(t *testing.T) (*linearfake.Server, *linear.Issues) {
	t.Helper()
	fake := linearfake.New(t, linearfake.Options{APIKey: apiKey, Team: "ENG", Users: []linearfake.User{olga},
		Labels: []linearfake.Label{{ID: "label-ws", Name: "post-mortem"}, {ID: "label-eng", Name: "post-mortem", Team: "ENG"}, {ID: "label-ops", Name: "post-mortem", Team: "OPS"}}})
	return fake, &linear.Issues{URL: fake.GraphQLURL(), APIKey: apiKey, Team: "ENG", Labels: []string{"post-mortem"}, WebhookSecret: secret,
		Client: &http.Client{Timeout: 5 * time.Second}}
}

var item = backlog.Item{ID: 3, Title: "[INC-1] Gate config pushes", Assignee: "OLGA@example.test", Due: "2026-03-20", Body: "Gate config pushes\n\n**Owner:** Olga Nunez"}

// TestCreateFindChanges: the issue is created under the id its marker
// names, in the team, with the team's label, the owner (by email) and the
// due date; found by that id; read back by the poll, closed when its
// state's type is completed or canceled.
func TestCreateFindChanges(t *testing.T) {
	t.Parallel()
	fake, c := rig(t)
	ctx := context.Background()
	is, err := c.Create(ctx, item, marker)
	if err != nil {
		t.Fatal(err)
	}
	if is.Ref != "ENG-1" || is.ID != linear.IssueID(marker) || !strings.HasSuffix(is.URL, "/issue/ENG-1") || is.Closed {
		t.Fatalf("created %+v", is)
	}
	got := fake.Issues()[0]
	if got.Assignee != "user-olga" || got.DueDate != "2026-03-20" || strings.Join(got.LabelIDs, ",") != "label-eng" || got.Description != item.Body {
		t.Errorf("issue %+v", got)
	}
	if f, ok, err := c.Find(ctx, marker, time.Time{}); err != nil || !ok || f.Ref != "ENG-1" {
		t.Fatalf("find: %+v %v %v", f, ok, err)
	}
	if _, ok, err := c.Find(ctx, "sitrep:improvement:4:ffffffffffff", time.Time{}); ok || err != nil {
		t.Errorf("another marker found: %v %v", ok, err)
	}
	since := time.Now().Add(-time.Minute)
	for state, closed := range map[string]bool{"Done": true, "In Progress": false, "Canceled": true, "Backlog": false} {
		fake.SetState("ENG-1", state)
		changes, next, err := c.Changes(ctx, since)
		if err != nil || len(changes) != 1 || changes[0].Closed != closed || changes[0].ID != is.ID || changes[0].Ref != "ENG-1" || next.Before(since) {
			t.Errorf("%s: %+v %s %v", state, changes, next, err)
		}
	}
	// Twice the same marker: one issue (Linear keeps ids unique; the client
	// reads the one there).
	again, err := c.Create(ctx, item, marker)
	if err != nil || again.Ref != "ENG-1" || len(fake.Issues()) != 1 {
		t.Errorf("a second create of the same marker: %+v %v, %d issues", again, err, len(fake.Issues()))
	}
	if err := c.Verify(ctx); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestIssueID(t *testing.T) {
	t.Parallel()
	a, b := linear.IssueID(marker), linear.IssueID("sitrep:improvement:3:0a1b2c3d4e5e")
	if a == b || a != linear.IssueID(marker) || len(a) != 36 || a[14] != '4' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Errorf("%s %s", a, b)
	}
}

// TestErrors: rate limits in both of Linear's shapes wait for the reset
// it gives; server errors are tried again; authentication, permission,
// an unknown team or label are refusals naming the fix.
func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := rig(t)
	if _, err := c.Create(ctx, backlog.Item{Title: "warm the team cache"}, "sitrep:improvement:9:999999999999"); err != nil {
		t.Fatal(err)
	}
	fake.FailNext("issueCreate", linearfake.Fault{Status: 400, Code: "RATELIMITED", ResetIn: 40 * time.Second})
	_, err := c.Create(ctx, backlog.Item{Title: "x"}, marker)
	if d, ok := backlog.RetryAfter(err); !ok || d < 30*time.Second || d > 41*time.Second {
		t.Errorf("400 RATELIMITED: %v %s", err, d)
	}
	fake.FailNext("issueCreate", linearfake.Fault{Status: 429})
	if _, err := c.Create(ctx, backlog.Item{Title: "x"}, marker); !isLimited(err) {
		t.Errorf("429: %v", err)
	}
	for _, st := range []int{500, 502, 503} {
		fake.FailNext("issueCreate", linearfake.Fault{Status: st})
		_, err := c.Create(ctx, backlog.Item{Title: "x"}, marker)
		if err == nil || backlog.Refused(err) || isLimited(err) {
			t.Errorf("%d must be tried again: %v", st, err)
		}
	}
	for code, want := range map[string]string{"AUTHENTICATION_ERROR": "backlog.linear.api_key", "FORBIDDEN": "team ENG"} {
		fake.FailNext("issueCreate", linearfake.Fault{Status: 400, Code: code})
		_, err := c.Create(ctx, backlog.Item{Title: "x"}, marker)
		if !backlog.Refused(err) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), apiKey) {
			t.Errorf("%s: %v", code, err)
		}
	}
	bad := &linear.Issues{URL: c.URL, APIKey: "lin_api_stale_9x", Team: "ENG"}
	if err := bad.Verify(ctx); !backlog.Refused(err) || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "lin_api_stale_9x") {
		t.Errorf("verify with a revoked key: %v", err)
	}
	noTeam := &linear.Issues{URL: c.URL, APIKey: apiKey, Team: "NOPE"}
	if err := noTeam.Verify(ctx); !backlog.Refused(err) || !strings.Contains(err.Error(), "backlog.linear.team") {
		t.Errorf("verify an unknown team: %v", err)
	}
	noLabel := &linear.Issues{URL: c.URL, APIKey: apiKey, Team: "ENG", Labels: []string{"no-such-label"}}
	if err := noLabel.Verify(ctx); !backlog.Refused(err) || !strings.Contains(err.Error(), "no-such-label") {
		t.Errorf("verify an unknown label: %v", err)
	}
	if n := len(fake.Issues()); n != 1 {
		t.Errorf("%d issues after the faults", n)
	}
}

func isLimited(err error) bool {
	_, ok := backlog.RetryAfter(err)
	return ok
}

func signed(body []byte) http.Header {
	h := http.Header{}
	h.Set("Linear-Signature", linear.Sign(secret, body))
	h.Set("Linear-Event", "Issue")
	return h
}

func event(state string, ts time.Time) []byte {
	return []byte(`{"action":"update","type":"Issue","data":{"id":"5b3a5e8a-0000-4000-8000-000000000001","identifier":"ENG-1",` +
		`"updatedAt":"2026-03-10T10:00:00.000Z","state":{"id":"st","name":"Done","type":"` + state + `"}},` +
		`"actor":{"id":"u","name":"Olga Nunez","type":"user"},"webhookTimestamp":` + strconv.FormatInt(ts.UnixMilli(), 10) + `}`)
}

// TestParseWebhook: a delivery is read only when Linear-Signature is the
// HMAC of the body and webhookTimestamp is within a minute of the clock.
func TestParseWebhook(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	c := &linear.Issues{Team: "ENG", WebhookSecret: secret, Now: func() time.Time { return now }}
	body := event("completed", now.Add(-5*time.Second))
	got, err := c.ParseWebhook(signed(body), body)
	if err != nil || len(got) != 1 || got[0].Ref != "ENG-1" || !got[0].Closed || got[0].ByWhom != "Olga Nunez" || got[0].ID == "" {
		t.Fatalf("completed: %+v %v", got, err)
	}
	if got, _ := c.ParseWebhook(signed(event("started", now)), event("started", now)); len(got) != 1 || got[0].Closed {
		t.Errorf("started: %+v", got)
	}
	if got, _ := c.ParseWebhook(signed(event("canceled", now)), event("canceled", now)); len(got) != 1 || !got[0].Closed {
		t.Errorf("canceled: %+v", got)
	}
	for name, tc := range map[string]struct {
		h    http.Header
		body []byte
	}{
		"unsigned":     {http.Header{}, body},
		"other secret": {http.Header{"Linear-Signature": {linear.Sign("other", body)}}, body},
		"tampered":     {signed(body), []byte(strings.Replace(string(body), "completed", "started__", 1))},
		"stale":        {signed(event("completed", now.Add(-2*time.Minute))), event("completed", now.Add(-2*time.Minute))},
		"future":       {signed(event("completed", now.Add(2*time.Minute))), event("completed", now.Add(2*time.Minute))},
		"no timestamp": {signed([]byte(`{"action":"update","type":"Issue","data":{}}`)), []byte(`{"action":"update","type":"Issue","data":{}}`)},
	} {
		if got, err := c.ParseWebhook(tc.h, tc.body); errs.CodeOf(err) != errs.Unauthorized || got != nil {
			t.Errorf("%s: want unauthorized, got %+v %v", name, got, err)
		}
	}
	// The timestamp in the header, when the body has none (as Linear's SDK reads it).
	noTS := []byte(`{"action":"update","type":"Issue","data":{"id":"5b3a5e8a-0000-4000-8000-000000000001","identifier":"ENG-1","state":{"type":"completed"}}}`)
	h := signed(noTS)
	h.Set("Linear-Timestamp", strconv.FormatInt(now.UnixMilli(), 10))
	if got, err := c.ParseWebhook(h, noTS); err != nil || len(got) != 1 {
		t.Errorf("timestamp in the header: %+v %v", got, err)
	}
	off := &linear.Issues{}
	if _, err := off.ParseWebhook(signed(body), body); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("no secret configured must refuse every delivery: %v", err)
	}
	for name, b := range map[string][]byte{
		"comment": []byte(`{"action":"create","type":"Comment","data":{"id":"c"},"webhookTimestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `}`),
		"removed": []byte(strings.Replace(string(event("completed", now)), `"update"`, `"remove"`, 1)),
	} {
		if got, err := c.ParseWebhook(signed(b), b); err != nil || len(got) != 0 {
			t.Errorf("%s: want no change, got %+v %v", name, got, err)
		}
	}
	big := make([]byte, linear.MaxWebhookBytes+1)
	if _, err := c.ParseWebhook(signed(big), big); errs.CodeOf(err) != errs.TooLarge {
		t.Errorf("over the limit: %v", err)
	}
}

const fuzzDeadline = 3 * time.Second

// FuzzParseWebhook: whatever arrives, the parser does not panic, answers
// within the deadline, reads nothing of a delivery not signed with the
// secret, and reports at most one change, of an issue the body names.
func FuzzParseWebhook(f *testing.F) {
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	f.Add(true, "", event("completed", now))
	f.Add(false, "", event("completed", now))
	f.Add(true, "1773136800000", []byte(`{"action":"update","type":"Issue","data":{"id":"a","identifier":"b","state":{"type":"canceled"}}}`))
	f.Add(true, "x", []byte(`{"webhookTimestamp":-9223372036854775808}`))
	f.Add(true, "", []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	c := &linear.Issues{Team: "ENG", WebhookSecret: secret, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, sign bool, ts string, body []byte) {
		h := http.Header{}
		h.Set("Linear-Timestamp", ts)
		if sign {
			h.Set("Linear-Signature", linear.Sign(secret, body))
		} else {
			h.Set("Linear-Signature", linear.Sign("not-"+secret, body))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err := c.ParseWebhook(h, body)
			if !sign && (err == nil || got != nil) {
				t.Errorf("an unsigned delivery was read: %+v %v", got, err)
			}
			if len(got) > 1 || err != nil && got != nil {
				t.Errorf("changes %+v with error %v", got, err)
			}
			for _, ch := range got {
				if ch.Ref == "" || ch.ID == "" || !strings.Contains(string(body), ch.ID) {
					t.Errorf("a change of issue %q (%q), which the body does not name", ch.Ref, ch.ID)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline):
			t.Fatalf("ParseWebhook took over %s", fuzzDeadline)
		}
	})
}
