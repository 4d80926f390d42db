package jira_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/backlog/jira"
	"github.com/sitrep-dev/sitrep/internal/backlog/jirafake"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

const (
	email  = "sitrep-bot@example.com"
	token  = "ATATT3x-test-token"
	secret = "jira-hook-secret"
	marker = "sitrep:improvement:3:0a1b2c3d4e5f"
)

var olga = jirafake.User{AccountID: "5b10a2844c20165700ede21g", Email: "olga@example.test", DisplayName: "Olga Nunez"}

func rig(t *testing.T, o jirafake.Options) (*jirafake.Server, *jira.Issues) {
	t.Helper()
	o.Email, o.Token, o.Project = email, token, "OPS"
	fake := jirafake.New(t, o)
	return fake, &jira.Issues{BaseURL: fake.URL, Email: email, Token: token, Project: "OPS", Labels: []string{"post-mortem"},
		WebhookSecret: secret, Client: &http.Client{Timeout: 5 * time.Second}}
}

var item = backlog.Item{ID: 3, Title: "[INC-1] Gate config pushes", Assignee: "olga@example.test", Due: "2026-03-20",
	Body: "Gate config pushes on the staging check\n\n**Owner:** Olga Nunez\n**Due:** 2026-03-20\n**Incident:** [INC-1: Checkout down](https://sitrep.example/incidents/INC-1) (SEV1)\n\nFiled by sitrep."}

// TestCreateFindChanges: an issue is filed with the fields Jira's document
// and field reference allow (the fake checks every one), found by its
// marker label, and read back by the poll with its status category and
// who moved it.
func TestCreateFindChanges(t *testing.T) {
	t.Parallel()
	fake, c := rig(t, jirafake.Options{Users: []jirafake.User{olga}})
	ctx := context.Background()
	is, err := c.Create(ctx, item, marker)
	if err != nil {
		t.Fatal(err)
	}
	if is.Ref != "OPS-1" || is.ID != "10001" || is.URL != fake.URL+"/browse/OPS-1" || is.Closed {
		t.Fatalf("created %+v", is)
	}
	got := fake.Issues()[0]
	if got.Assignee != olga.AccountID || got.Due != "2026-03-20" || strings.Join(got.Labels, ",") != "post-mortem,sitrep-improvement-3-0a1b2c3d4e5f" ||
		got.Summary != item.Title || got.IssueType != "Task" {
		t.Errorf("issue %+v", got)
	}
	if err := jirafake.CheckADF(got.Description); err != nil {
		t.Errorf("description: %v", err)
	}
	found, ok, err := c.Find(ctx, marker, time.Now().Add(-time.Hour))
	if err != nil || !ok || found.Ref != "OPS-1" || found.ID != "10001" {
		t.Fatalf("find: %+v %v %v", found, ok, err)
	}
	if _, ok, err := c.Find(ctx, "sitrep:improvement:4:ffffffffffff", time.Time{}); ok || err != nil {
		t.Errorf("another marker found: %v %v", ok, err)
	}
	fake.Transition("OPS-1", "Done", "Olga Nunez")
	changes, next, err := c.Changes(ctx, time.Now().Add(-time.Minute))
	if err != nil || len(changes) != 1 {
		t.Fatalf("changes: %+v %v", changes, err)
	}
	ch := changes[0]
	if !ch.Closed || ch.Ref != "OPS-1" || ch.ID != "10001" || ch.Marker != marker || ch.ByWhom != "Olga Nunez" || !next.Equal(ch.At) {
		t.Errorf("change %+v next %s", ch, next)
	}
	fake.Transition("OPS-1", "In Progress", "Olga Nunez")
	if changes, _, _ := c.Changes(ctx, next); len(changes) != 1 || changes[0].Closed {
		t.Errorf("in progress is open: %+v", changes)
	}
}

// TestCreateAssigneeAndScreens: an owner whose address the site hides is
// still found (the only account the search gives); one with no account,
// or one who cannot be assigned, files the issue unassigned; a due date
// not on the create screen is dropped rather than the issue.
func TestCreateAssigneeAndScreens(t *testing.T) {
	t.Parallel()
	hidden := olga
	hidden.HideEmail = true
	fake, c := rig(t, jirafake.Options{Users: []jirafake.User{hidden}, NoDueDate: true})
	ctx := context.Background()
	if _, err := c.Create(ctx, item, marker); err != nil {
		t.Fatal(err)
	}
	if got := fake.Issues()[0]; got.Assignee != olga.AccountID || got.Due != "" {
		t.Errorf("hidden address, no due date on the screen: %+v", got)
	}
	if n := fake.Count("createIssue"); n != 2 {
		t.Errorf("%d creates: a 400 naming duedate is tried once more without it", n)
	}
	other := item
	other.Assignee = "nobody@example.test"
	if _, err := c.Create(ctx, other, "sitrep:improvement:5:aaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Issues()[1]; got.Assignee != "" {
		t.Errorf("an owner without an account: %+v", got)
	}

	stuck := olga
	stuck.NotAssignable = true
	fake2, c2 := rig(t, jirafake.Options{Users: []jirafake.User{stuck}})
	if _, err := c2.Create(ctx, item, marker); err != nil {
		t.Fatal(err)
	}
	if got := fake2.Issues()[0]; got.Assignee != "" || got.Due != "2026-03-20" || len(fake2.Issues()) != 1 {
		t.Errorf("not assignable: %+v", fake2.Issues())
	}
}

// TestErrors: each failure is classified as the sync needs it, with the
// fix named and the token nowhere.
func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := rig(t, jirafake.Options{})
	fake.FailNext("createIssue", jirafake.Fault{Status: 429, RetryAfter: "7"})
	if _, err := c.Create(ctx, backlog.Item{Title: "x"}, marker); err == nil {
		t.Fatal("429 passed")
	} else if d, ok := backlog.RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("429: %v %s", err, d)
	}
	fake.FailNext("createIssue", jirafake.Fault{Status: 429})
	if _, err := c.Create(ctx, backlog.Item{Title: "x"}, marker); err == nil {
		t.Fatal("429 passed")
	} else if d, ok := backlog.RetryAfter(err); !ok || d != time.Minute {
		t.Errorf("429 without Retry-After: %v %s", err, d)
	}
	for _, st := range []int{500, 502, 503} {
		fake.FailNext("createIssue", jirafake.Fault{Status: st})
		_, err := c.Create(ctx, backlog.Item{Title: "x"}, marker)
		if err == nil || backlog.Refused(err) {
			t.Errorf("%d must be tried again: %v", st, err)
		}
		if _, limited := backlog.RetryAfter(err); limited {
			t.Errorf("%d without Retry-After is not a rate limit: %v", st, err)
		}
	}
	for st, want := range map[int]string{401: "backlog.jira.api_token", 403: "Create issues", 404: "backlog.jira.project"} {
		fake.FailNext("createIssue", jirafake.Fault{Status: st})
		_, err := c.Create(ctx, backlog.Item{Title: "x"}, marker)
		if !backlog.Refused(err) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), token) {
			t.Errorf("%d: %v", st, err)
		}
	}
	bad := *c
	bad.Token = "ATATT-stale-9x"
	if err := bad.Verify(ctx); !backlog.Refused(err) || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "ATATT-stale-9x") {
		t.Errorf("verify with a revoked token: %v", err)
	}
	wrong := *c
	wrong.Project = "NOPE"
	if err := wrong.Verify(ctx); !backlog.Refused(err) || !strings.Contains(err.Error(), "No project could be found with key 'NOPE'") {
		t.Errorf("verify an unknown project: %v", err)
	}
	story := *c
	story.IssueType = "Story"
	if err := story.Verify(ctx); !backlog.Refused(err) || !strings.Contains(err.Error(), "issue_type") || !strings.Contains(err.Error(), "Bug, Task") {
		t.Errorf("verify an issue type the project lacks: %v", err)
	}
	if err := c.Verify(ctx); err != nil {
		t.Errorf("verify: %v", err)
	}
	if _, err := story.Create(ctx, backlog.Item{Title: "x"}, marker); !backlog.Refused(err) || !strings.Contains(err.Error(), "issuetype") {
		t.Errorf("create with an issue type the project lacks: %v", err)
	}
}

// TestSearchLag: Jira's search does not see an issue just created; the
// client says how long the sync must wait before it looks.
func TestSearchLag(t *testing.T) {
	t.Parallel()
	_, c := rig(t, jirafake.Options{SearchLag: 300 * time.Millisecond})
	ctx := context.Background()
	if _, err := c.Create(ctx, backlog.Item{Title: "x"}, marker); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Find(ctx, marker, time.Time{}); ok {
		t.Fatal("the fake's index shows an issue at once")
	}
	time.Sleep(350 * time.Millisecond)
	if _, ok, _ := c.Find(ctx, marker, time.Time{}); !ok {
		t.Fatal("not found after the lag")
	}
	var l backlog.Tracker = c
	if lag, ok := l.(backlog.Lagging); !ok || lag.SearchLag() < 10*time.Second {
		t.Errorf("the Jira client must be Lagging, by more than the index's seconds")
	}
}

func TestADF(t *testing.T) {
	t.Parallel()
	doc := jira.ADF(item.Body)
	if err := jirafake.CheckADF(doc); err != nil {
		t.Fatal(err)
	}
	blocks := doc["content"].([]any)
	if len(blocks) != 3 {
		t.Fatalf("%d paragraphs: %v", len(blocks), doc)
	}
	facts := blocks[1].(map[string]any)["content"].([]any)
	first := facts[0].(map[string]any)
	if first["text"] != "Owner:" || first["marks"].([]any)[0].(map[string]any)["type"] != "strong" {
		t.Errorf("bold: %v", first)
	}
	var link map[string]any
	for _, n := range facts {
		if m, _ := n.(map[string]any)["marks"].([]any); len(m) > 0 && m[0].(map[string]any)["type"] == "link" {
			link = n.(map[string]any)
		}
	}
	if link == nil || link["text"] != "INC-1: Checkout down" ||
		link["marks"].([]any)[0].(map[string]any)["attrs"].(map[string]any)["href"] != "https://sitrep.example/incidents/INC-1" {
		t.Errorf("link: %v", facts)
	}
	for _, s := range []string{"", "**", "[x](javascript:alert(1))", "[](https://a)", "a\n\n\n\nb", "**[a](https://b)**"} {
		if err := jirafake.CheckADF(jira.ADF(s)); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func signed(body []byte) http.Header {
	h := http.Header{}
	h.Set("X-Hub-Signature", jira.Sign(secret, body))
	return h
}

const updatedEvent = `{"timestamp":1773136800000,"webhookEvent":"jira:issue_updated","user":{"displayName":"Olga Nunez"},` +
	`"issue":{"id":"10001","key":"OPS-1","fields":{"status":{"name":"Done","statusCategory":{"key":"done"}},` +
	`"labels":["post-mortem","sitrep-improvement-3-0a1b2c3d4e5f"],"updated":"2026-03-10T10:00:00.000+0000"}},` +
	`"changelog":{"items":[{"field":"status","fromString":"To Do","toString":"Done"}]}}`

// TestParseWebhook: only a delivery signed with the secret is read; of
// those, only issue created and updated events are changes.
func TestParseWebhook(t *testing.T) {
	t.Parallel()
	c := &jira.Issues{Project: "OPS", WebhookSecret: secret}
	body := []byte(updatedEvent)
	got, err := c.ParseWebhook(signed(body), body)
	if err != nil || len(got) != 1 || got[0].Ref != "OPS-1" || got[0].ID != "10001" || !got[0].Closed || got[0].Marker != marker ||
		got[0].ByWhom != "Olga Nunez" || got[0].At.IsZero() {
		t.Fatalf("updated: %+v %v", got, err)
	}
	for name, h := range map[string]http.Header{
		"unsigned":     {},
		"other secret": {"X-Hub-Signature": {jira.Sign("other", body)}},
		"no prefix":    {"X-Hub-Signature": {strings.TrimPrefix(jira.Sign(secret, body), "sha256=")}},
		"sha1":         {"X-Hub-Signature": {"sha1=" + strings.TrimPrefix(jira.Sign(secret, body), "sha256=")}},
	} {
		if got, err := c.ParseWebhook(h, body); errs.CodeOf(err) != errs.Unauthorized || got != nil {
			t.Errorf("%s: %+v %v", name, got, err)
		}
	}
	tampered := []byte(strings.Replace(updatedEvent, `"done"`, `"new"`, 1))
	if _, err := c.ParseWebhook(signed(body), tampered); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("tampered: %v", err)
	}
	off := &jira.Issues{}
	if _, err := off.ParseWebhook(signed(body), body); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("no secret configured must refuse every delivery: %v", err)
	}
	for name, b := range map[string]string{
		"deleted":   strings.Replace(updatedEvent, "jira:issue_updated", "jira:issue_deleted", 1),
		"comment":   `{"webhookEvent":"comment_created","comment":{"id":"1"}}`,
		"no status": strings.Replace(updatedEvent, `"status":{"name":"Done","statusCategory":{"key":"done"}},`, "", 1),
	} {
		if got, err := c.ParseWebhook(signed([]byte(b)), []byte(b)); err != nil || len(got) != 0 {
			t.Errorf("%s: want no change, got %+v %v", name, got, err)
		}
	}
	broken := []byte(`{"webhookEvent":`)
	if _, err := c.ParseWebhook(signed(broken), broken); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("signed but broken: %v", err)
	}
	big := make([]byte, jira.MaxWebhookBytes+1)
	if _, err := c.ParseWebhook(signed(big), big); errs.CodeOf(err) != errs.TooLarge {
		t.Errorf("over the limit: %v", err)
	}
}

// fuzzDeadline: as FuzzParseWebhook of the GitHub client (docs/reliability.md).
const fuzzDeadline = 3 * time.Second

// FuzzParseWebhook: whatever arrives, the parser does not panic, answers
// within the deadline, reads nothing of a delivery not signed with the
// secret, and reports at most one change, of an issue the body names.
func FuzzParseWebhook(f *testing.F) {
	f.Add(true, []byte(updatedEvent))
	f.Add(false, []byte(updatedEvent))
	f.Add(true, []byte(`{"webhookEvent":"jira:issue_created","issue":{"id":"1","key":"A-1","fields":{"status":{"statusCategory":{"key":"done"}},"labels":null,"updated":"x"}}}`))
	f.Add(true, []byte(`{"webhookEvent":"jira:issue_updated","issue":{"fields":{"labels":["sitrep-improvement-1-zz"]}}}`))
	f.Add(true, []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	c := &jira.Issues{Project: "OPS", WebhookSecret: secret}
	f.Fuzz(func(t *testing.T, sign bool, body []byte) {
		h := http.Header{}
		if sign {
			h.Set("X-Hub-Signature", jira.Sign(secret, body))
		} else {
			h.Set("X-Hub-Signature", jira.Sign("not-"+secret, body))
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
				if ch.Ref == "" || ch.ID == "" || !strings.Contains(string(body), ch.Ref) || !strings.Contains(string(body), ch.ID) {
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
