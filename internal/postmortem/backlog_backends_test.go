package postmortem_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/backlog/github"
	"github.com/sitrep-dev/sitrep/internal/backlog/githubfake"
	"github.com/sitrep-dev/sitrep/internal/backlog/jira"
	"github.com/sitrep-dev/sitrep/internal/backlog/jirafake"
	"github.com/sitrep-dev/sitrep/internal/backlog/linear"
	"github.com/sitrep-dev/sitrep/internal/backlog/linearfake"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// The backlog sync end to end on Jira Cloud and Linear, as
// backlog_test.go does on GitHub: the post-mortem (the real service, on
// the test's database) files its improvements through the backend's
// client into its fake, which checks every request against the
// published description (Jira's OpenAPI document, Linear's GraphQL
// schema). Each backend is an adapter (tracker) over its fake; every test
// runs over both.

// fakeIssue is an issue as a test reads it from a fake.
type fakeIssue struct {
	Ref, Title, Body string
	Assignee, Due    string
	Labels           string // comma-separated
}

// tracker adapts one backend's fake and client to the tests.
type tracker struct {
	name string
	// client is a client of the fake, its HTTP calls bounded by timeout.
	client func(timeout time.Duration) backlog.Tracker
	// refusing is a client that is refused: a revoked token, or a project
	// (team) it cannot see; want is what its refusal must say.
	revoked, elsewhere func() backlog.Tracker
	wantRevoked        []string
	wantElsewhere      []string
	// fail queues a fault for the next create: 429 (Retry-After 7 s or the
	// backend's reset), 502, lost, hang, 401.
	fail func(kind string)
	// limited is the wait the 429 asks for.
	limited time.Duration
	issues  func() []fakeIssue
	creates func() int
	// close and reopen change issue ref there, as a person would.
	close, reopen func(ref string)
	// delivery is the webhook's body for ref's last change and the
	// signature headers for it under secret.
	delivery func(ref string) []byte
	sign     func(secret string, body []byte) http.Header
	// firstRef is the ref of the first issue filed.
	firstRef string
	// failUpdate queues a rate limit for the next change carried to an issue.
	failUpdate func()
	// state, assignee and due read issue ref there ("" none); hasDue:
	// the tracker keeps a due date (GitHub does not).
	closed   func(ref string) bool
	assignee func(ref string) string
	due      func(ref string) string
	hasDue   bool
	// people maps owners to GitHub logins (the harness's directory).
	people github.People
	// olga and cora are the tracker's accounts of the two owners.
	olga, cora string
	// settlesUnanswered: the client itself looks for the issue when its
	// create is not answered (Linear: the issue's id is the marker, read
	// back at once from Linear's database), so that try records it.
	settlesUnanswered bool
}

const hookSecret = "backlog-hook-secret"

func jiraTracker(t *testing.T) *tracker {
	const email, token = "sitrep-bot@example.test", "ATATT3x-test"
	fake := jirafake.New(t, jirafake.Options{Email: email, Token: token, Project: "OPS",
		Users: []jirafake.User{{AccountID: "5b10a2844c20165700ede21g", Email: "owner@example.test", DisplayName: "Olga Nunez"},
			{AccountID: "712020:cora", Email: "ceo@example.test", DisplayName: "Cora Ellis", HideEmail: true}}})
	find := func(ref string) jirafake.Issue {
		for _, is := range fake.Issues() {
			if is.Key == ref {
				return is
			}
		}
		t.Fatalf("no issue %s", ref)
		return jirafake.Issue{}
	}
	client := func(timeout time.Duration) *jira.Issues {
		return &jira.Issues{BaseURL: fake.URL, Email: email, Token: token, Project: "OPS", Labels: []string{"post-mortem"},
			WebhookSecret: hookSecret, Client: &http.Client{Timeout: timeout}}
	}
	return &tracker{name: "jira", firstRef: "OPS-1", hasDue: true, olga: "5b10a2844c20165700ede21g", cora: "712020:cora",
		failUpdate: func() { fake.FailNext("editIssue", jirafake.Fault{Status: 429, RetryAfter: "9"}) },
		closed:     func(ref string) bool { return find(ref).Status == "Done" },
		assignee:   func(ref string) string { return find(ref).Assignee },
		due:        func(ref string) string { return find(ref).Due },
		client:     func(d time.Duration) backlog.Tracker { return client(d) },
		revoked: func() backlog.Tracker {
			c := client(10 * time.Second)
			c.Token = "ATATT3x-stale-token"
			return c
		},
		elsewhere: func() backlog.Tracker {
			c := client(10 * time.Second)
			c.Project = "NOPE"
			return c
		},
		wantRevoked:   []string{"401", "backlog.jira.api_token"},
		wantElsewhere: []string{"400", "project"},
		fail: func(kind string) {
			f := map[string]jirafake.Fault{"429": {Status: 429, RetryAfter: "7"}, "502": {Status: 502}, "lost": {Lost: true},
				"hang": {Hang: true}, "401": {Status: 401}}[kind]
			fake.FailNext("createIssue", f)
		},
		limited: jira.SearchLag, // 7 s asked, but a look waits for the search index
		issues: func() []fakeIssue {
			var out []fakeIssue
			for _, is := range fake.Issues() {
				out = append(out, fakeIssue{Ref: is.Key, Title: is.Summary, Body: adfText(is.Description), Assignee: is.Assignee, Due: is.Due,
					Labels: strings.Join(is.Labels, ",")})
			}
			return out
		},
		creates: func() int { return fake.Count("createIssue") },
		close:   func(ref string) { fake.Transition(ref, "Done", "Olga Nunez") },
		reopen:  func(ref string) { fake.Transition(ref, "In Progress", "Olga Nunez") },
		delivery: func(ref string) []byte {
			return fake.Event(ref, "jira:issue_updated", "Olga Nunez")
		},
		sign: func(secret string, body []byte) http.Header {
			return http.Header{"X-Hub-Signature": {jira.Sign(secret, body)}}
		},
	}
}

// adfText is the text of an ADF document, a line per paragraph.
func adfText(v any) string {
	var b strings.Builder
	doc, _ := v.(map[string]any)
	blocks, _ := doc["content"].([]any)
	for _, p := range blocks {
		inline, _ := p.(map[string]any)["content"].([]any)
		for _, n := range inline {
			m := n.(map[string]any)
			if m["type"] == "hardBreak" {
				b.WriteString("\n")
				continue
			}
			text, _ := m["text"].(string)
			marks, _ := m["marks"].([]any)
			for _, mk := range marks {
				if mk.(map[string]any)["type"] == "strong" {
					text = "**" + text + "**"
				}
			}
			b.WriteString(text)
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

func linearTracker(t *testing.T) *tracker {
	const key = "lin_api_test"
	fake := linearfake.New(t, linearfake.Options{APIKey: key, Team: "ENG",
		Users: []linearfake.User{{ID: "user-olga", Name: "Olga Nunez", Email: "owner@example.test"},
			{ID: "user-cora", Name: "Cora Ellis", Email: "ceo@example.test"}},
		Labels: []linearfake.Label{{ID: "label-pm", Name: "post-mortem", Team: "ENG"}}})
	find := func(ref string) linearfake.Issue {
		for _, is := range fake.Issues() {
			if is.Identifier == ref {
				return is
			}
		}
		t.Fatalf("no issue %s", ref)
		return linearfake.Issue{}
	}
	client := func(timeout time.Duration) *linear.Issues {
		return &linear.Issues{URL: fake.GraphQLURL(), APIKey: key, Team: "ENG", Labels: []string{"post-mortem"}, WebhookSecret: hookSecret,
			Client: &http.Client{Timeout: timeout}}
	}
	return &tracker{name: "linear", firstRef: "ENG-1", settlesUnanswered: true, hasDue: true, olga: "user-olga", cora: "user-cora",
		failUpdate: func() {
			fake.FailNext("issueUpdate", linearfake.Fault{Status: 400, Code: "RATELIMITED", ResetIn: 9 * time.Second})
		},
		closed: func(ref string) bool {
			st := find(ref).StateID
			return st == "st-done" || st == "st-canceled"
		},
		assignee: func(ref string) string { return find(ref).Assignee },
		due:      func(ref string) string { return find(ref).DueDate },
		client:   func(d time.Duration) backlog.Tracker { return client(d) },
		revoked: func() backlog.Tracker {
			c := client(10 * time.Second)
			c.APIKey = "lin_api_stale_key"
			return c
		},
		elsewhere: func() backlog.Tracker {
			c := client(10 * time.Second)
			c.Team = "NOPE"
			return c
		},
		wantRevoked:   []string{"401", "backlog.linear.api_key"},
		wantElsewhere: []string{"no team", "backlog.linear.team"},
		fail: func(kind string) {
			f := map[string]linearfake.Fault{"429": {Status: 400, Code: "RATELIMITED", ResetIn: 7 * time.Second},
				"502": {Status: 502}, "lost": {Lost: true}, "hang": {Hang: true}, "401": {Status: 400, Code: "AUTHENTICATION_ERROR"}}[kind]
			fake.FailNext("issueCreate", f)
		},
		limited: 7 * time.Second,
		issues: func() []fakeIssue {
			var out []fakeIssue
			for _, is := range fake.Issues() {
				out = append(out, fakeIssue{Ref: is.Identifier, Title: is.Title, Body: is.Description, Assignee: is.Assignee, Due: is.DueDate,
					Labels: strings.Join(is.LabelIDs, ",")})
			}
			return out
		},
		creates: func() int { return fake.Count("issueCreate") },
		close:   func(ref string) { fake.SetState(ref, "Done") },
		reopen:  func(ref string) { fake.SetState(ref, "In Progress") },
		delivery: func(ref string) []byte {
			return fake.Event(ref, "update", "Olga Nunez", time.Time{})
		},
		sign: func(secret string, body []byte) http.Header {
			return http.Header{"Linear-Signature": {linear.Sign(secret, body)}}
		},
	}
}

// githubTracker is GitHub as an adapter, for the tests of changes carried
// from here to there (backlog_test.go covers the rest of GitHub).
func githubTracker(t *testing.T) *tracker {
	gh := githubfake.New(t, githubfake.Options{Token: ghToken, Owner: "acme", Repo: "ops", Users: []string{"olga-n"}})
	find := func(ref string) githubfake.Issue {
		for _, is := range gh.Issues() {
			if strconv.FormatInt(is.Number, 10) == ref {
				return is
			}
		}
		t.Fatalf("no issue %s", ref)
		return githubfake.Issue{}
	}
	tr := &tracker{name: "github", firstRef: "1", olga: "olga-n", cora: ""}
	tr.client = func(d time.Duration) backlog.Tracker {
		return &github.Issues{BaseURL: gh.URL, Token: ghToken, Owner: "acme", Repo: "ops", WebhookSecret: hookSecret,
			People: tr.people, Client: &http.Client{Timeout: d}}
	}
	*tr = tracker{name: tr.name, firstRef: tr.firstRef, olga: tr.olga, client: tr.client,
		failUpdate: func() { gh.FailNext("issues/update", githubfake.Fault{Status: 429, RetryAfter: "9"}) },
		closed:     func(ref string) bool { return find(ref).State == "closed" },
		assignee:   func(ref string) string { return strings.Join(find(ref).Assignees, ",") },
		due:        func(string) string { return "" },
		issues: func() []fakeIssue {
			var out []fakeIssue
			for _, is := range gh.Issues() {
				out = append(out, fakeIssue{Ref: strconv.FormatInt(is.Number, 10), Title: is.Title, Body: is.Body})
			}
			return out
		},
		creates: func() int { return creates(gh) },
	}
	return tr
}

// backend is a tracker by name, made inside its subtest, so that a
// subtest's harness lives only while it runs.
type backend struct {
	name string
	mk   func(*testing.T) *tracker
}

// backends are the trackers every test below runs over.
var backends = []backend{{"jira", jiraTracker}, {"linear", linearTracker}}

type trackerRig struct {
	*backlogRig
	tr *tracker
}

func newTrackerRig(t *testing.T, mk func(*testing.T) *tracker) *trackerRig {
	t.Helper()
	r := &trackerRig{backlogRig: &backlogRig{h: newHarness(t, options{})}}
	r.tr = mk(t)
	r.tr.people = r.h.dir
	r.sync = r.instance(t, r.tr.client(10*time.Second))
	r.h.svc.Tracker = r.sync
	r.inc = r.h.resolved(t)
	return r
}

func eachBackend(t *testing.T, list []backend, test func(t *testing.T, r *trackerRig)) {
	for _, b := range list {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, newTrackerRig(t, b.mk))
		})
	}
}

// TestTrackerFiledOnceAcrossFaults: on each backend, an improvement is
// filed once across a rate limit (its wait kept), a 502, and a call whose
// answer is lost after the tracker made the issue; the issue has the
// title, the description (owner, due date, incident), the owner as
// assignee, the due date and the labels.
func TestTrackerFiledOnceAcrossFaults(t *testing.T) {
	t.Parallel()
	eachBackend(t, backends, func(t *testing.T, r *trackerRig) {
		m := r.improvement(t, "Run the migration check in the deploy pipeline")
		r.publish(t)
		if st, _ := r.sync.StatusOf(context.Background(), m.ID); st == nil || st.State != backlog.StatePending || r.tr.creates() != 0 {
			t.Fatalf("after publishing the intent must be recorded, pending, nothing called: %+v", st)
		}
		r.tr.fail("429")
		if wait := try(t, r.sync, m.ID); wait < r.tr.limited-time.Second || wait > r.tr.limited+time.Second {
			t.Errorf("after a rate limit the job waits %s, want %s", wait, r.tr.limited)
		}
		r.tr.fail("502")
		if wait := try(t, r.sync, m.ID); wait <= 0 {
			t.Errorf("after a 502 the job must wait and try again, got %s", wait)
		}
		r.tr.fail("lost")
		if wait := try(t, r.sync, m.ID); wait <= 0 && !r.tr.settlesUnanswered || wait != 0 && r.tr.settlesUnanswered {
			t.Errorf("after a lost answer the job waits %s (the client settles it itself: %v)", wait, r.tr.settlesUnanswered)
		}
		if n := len(r.tr.issues()); n != 1 {
			t.Fatalf("the lost call made the issue: want 1, got %d", n)
		}
		if wait := try(t, r.sync, m.ID); wait != 0 {
			t.Errorf("the try that finds the issue is the last, got wait %s", wait)
		}
		if n := r.tr.creates(); n != 3 {
			t.Errorf("create was called %d times, want 3 (rate limit, 502, lost): the try after the lost answer must look, not create", n)
		}
		issues := r.tr.issues()
		if len(issues) != 1 {
			t.Fatalf("want exactly one issue, got %d", len(issues))
		}
		is := issues[0]
		for _, want := range []string{"Run the migration check in the deploy pipeline", "**Owner:** Olga Nunez", "**Due:** 2026-03-20", r.inc.Ref} {
			if !strings.Contains(is.Body, want) {
				t.Errorf("description lacks %q:\n%s", want, is.Body)
			}
		}
		if strings.Contains(is.Body, "owner@example.test") {
			t.Errorf("the owner's email is in the issue:\n%s", is.Body)
		}
		if is.Title != "["+r.inc.Ref+"] Run the migration check in the deploy pipeline" || is.Assignee == "" || is.Due != "2026-03-20" || is.Labels == "" {
			t.Errorf("issue %+v", is)
		}
		got := r.get(t, m.ID)
		if got.TrackerRef != r.tr.firstRef || got.TrackerURL == "" || got.TrackerProblem != "" {
			t.Errorf("the improvement shows %q %q %q", got.TrackerRef, got.TrackerURL, got.TrackerProblem)
		}
		before := r.tr.creates()
		try(t, r.sync, m.ID)
		r.publish(t)
		try(t, r.sync, m.ID)
		if n := r.tr.creates(); n != before || len(r.tr.issues()) != 1 {
			t.Errorf("a filed improvement was filed again (%d creates)", n-before)
		}
	})
}

// TestTrackerCrashBetweenCallAndRecord: one instance's call makes the
// issue but the instance never records the answer; a second instance, once
// the lease is over, finds the issue instead of making another.
func TestTrackerCrashBetweenCallAndRecord(t *testing.T) {
	t.Parallel()
	eachBackend(t, backends, func(t *testing.T, r *trackerRig) {
		m := r.improvement(t, "Alert on an empty pager rota")
		r.publish(t)
		r.tr.fail("hang")
		first := r.instance(t, r.tr.client(time.Minute))
		ctx, kill := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = first.File(ctx, m.ID)
		}()
		waitFor(t, "the first instance's call to make the issue", func() bool { return len(r.tr.issues()) == 1 })
		second := r.instance(t, r.tr.client(10*time.Second))
		if wait := try(t, second, m.ID); wait <= 0 {
			t.Errorf("while the first instance's lease runs the second must wait, got %s", wait)
		}
		second.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
		if wait := try(t, second, m.ID); wait != 0 {
			t.Errorf("the second instance must settle it in one try, wait %s", wait)
		}
		kill()
		wg.Wait()
		if n, c := len(r.tr.issues()), r.tr.creates(); n != 1 || c != 1 {
			t.Errorf("after the crash: %d issues, %d creates; want 1 and 1", n, c)
		}
		if st, _ := r.sync.StatusOf(context.Background(), m.ID); st.State != backlog.StateFiled || st.Ref != r.tr.firstRef {
			t.Errorf("row %+v", st)
		}
	})
}

// TestTrackerHangTimesOut: a call never answered ends at the client's
// timeout, as a try to look after; the next try finds the issue.
func TestTrackerHangTimesOut(t *testing.T) {
	t.Parallel()
	eachBackend(t, backends, func(t *testing.T, r *trackerRig) {
		m := r.improvement(t, "Cap the retry storm")
		r.publish(t)
		s := r.instance(t, r.tr.client(200*time.Millisecond))
		r.tr.fail("hang")
		wait := try(t, s, m.ID)
		st, _ := s.StatusOf(context.Background(), m.ID)
		switch {
		case r.tr.settlesUnanswered:
			if wait != 0 || st.State != backlog.StateFiled {
				t.Errorf("the client looks its id up after the timeout and settles it: wait %s, %+v", wait, st)
			}
		case wait <= 0 || st.State != backlog.StatePending || st.LastError == "":
			t.Errorf("a timed-out call must be tried again: wait %s, %+v", wait, st)
		}
		try(t, s, m.ID)
		if n, c := len(r.tr.issues()), r.tr.creates(); n != 1 || c != 1 {
			t.Errorf("after a hang: %d issues, %d creates; want 1 and 1", n, c)
		}
	})
}

// TestTrackerWebhookClosesAndReopens: deliveries unsigned, signed with
// another secret, or changed after signing change nothing; a signed close
// makes the improvement done and its reminder is not sent; a reopen opens
// it and the reminder comes; a repeated delivery changes nothing more.
func TestTrackerWebhookClosesAndReopens(t *testing.T) {
	t.Parallel()
	eachBackend(t, backends, func(t *testing.T, r *trackerRig) {
		ctx := context.Background()
		m := r.improvement(t, "Add a canary stage to checkout deploys")
		r.publish(t)
		try(t, r.sync, m.ID)
		ref := r.tr.firstRef

		r.tr.close(ref)
		closed := r.tr.delivery(ref)
		tampered := []byte(strings.Replace(string(closed), ref, ref+"0", 1))
		for name, tc := range map[string]struct {
			h    http.Header
			body []byte
		}{
			"unsigned":     {http.Header{}, closed},
			"other secret": {r.tr.sign("not-the-secret", closed), closed},
			"tampered":     {r.tr.sign(hookSecret, closed), tampered},
		} {
			if _, err := r.sync.Receive(ctx, r.tr.name, tc.h, tc.body); errs.CodeOf(err) != errs.Unauthorized {
				t.Errorf("%s: want unauthorized, got %v", name, err)
			}
		}
		if _, err := r.sync.Receive(ctx, "github", r.tr.sign(hookSecret, closed), closed); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("the GitHub route while the tracker is %s: %v", r.tr.name, err)
		}
		if got := r.get(t, m.ID); got.State != "open" {
			t.Fatalf("refused deliveries changed the state: %s", got.State)
		}
		rc, err := r.sync.Receive(ctx, r.tr.name, r.tr.sign(hookSecret, closed), closed)
		if err != nil || rc.Changes != 1 {
			t.Fatalf("signed close: %+v %v", rc, err)
		}
		if got := r.get(t, m.ID); got.State != "done" {
			t.Fatalf("closed in %s: state %s, want done", r.tr.name, got.State)
		}
		if rc, err := r.sync.Receive(ctx, r.tr.name, r.tr.sign(hookSecret, closed), closed); err != nil || rc.Changes != 0 {
			t.Errorf("a repeated delivery: %+v %v", rc, err)
		}
		r.h.clock.Set(time.Date(2026, 3, 23, 9, 0, 0, 0, time.UTC))
		if err := r.h.svc.CheckImprovements(ctx); err != nil {
			t.Fatal(err)
		}
		if n := remindersQueued(t, r.backlogRig, m.ID); n != 0 {
			t.Errorf("a done improvement was reminded %d times", n)
		}
		r.tr.reopen(ref)
		reopened := r.tr.delivery(ref)
		if rc, err := r.sync.Receive(ctx, r.tr.name, r.tr.sign(hookSecret, reopened), reopened); err != nil || rc.Changes != 1 {
			t.Fatalf("signed reopen: %+v %v", rc, err)
		}
		if got := r.get(t, m.ID); got.State != "open" {
			t.Fatalf("reopened: state %s, want open", got.State)
		}
		if err := r.h.svc.CheckImprovements(ctx); err != nil {
			t.Fatal(err)
		}
		if n := remindersQueued(t, r.backlogRig, m.ID); n != 1 {
			t.Errorf("the reopened, overdue improvement was reminded %d times, want 1", n)
		}
	})
}

// TestTrackerPollFallback: without a webhook delivery the poll reads what
// changed: closed there is done here, reopened open again; an issue that
// is not sitrep's changes nothing.
func TestTrackerPollFallback(t *testing.T) {
	t.Parallel()
	eachBackend(t, backends, func(t *testing.T, r *trackerRig) {
		ctx := context.Background()
		m := r.improvement(t, "Document the rollback")
		r.publish(t)
		try(t, r.sync, m.ID)
		if err := r.sync.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(t, m.ID); got.State != "open" {
			t.Fatalf("nothing closed yet: %s", got.State)
		}
		r.tr.close(r.tr.firstRef)
		if err := r.sync.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(t, m.ID); got.State != "done" {
			t.Fatalf("closed, polled: %s", got.State)
		}
		r.tr.reopen(r.tr.firstRef)
		if err := r.sync.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(t, m.ID); got.State != "open" {
			t.Fatalf("reopened, polled: %s", got.State)
		}
	})
}

// TestTrackerRefusals: a revoked credential and a project (team) the
// credential cannot see are recorded on the improvement, not retried, and
// named by the doctor's check; publishing again after the fix files them.
func TestTrackerRefusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, backends, func(t *testing.T, r *trackerRig) {
		ctx := context.Background()
		m1 := r.improvement(t, "Rotate the on-call calendar")
		m2 := r.improvement(t, "Split the payments deploy")
		r.publish(t)
		r.tr.fail("401")
		if wait := try(t, r.sync, m1.ID); wait != 0 {
			t.Errorf("a refusal is not retried, got wait %s", wait)
		}
		if wait := try(t, r.instance(t, r.tr.elsewhere()), m2.ID); wait != 0 {
			t.Errorf("an unknown project is not retried, got wait %s", wait)
		}
		try(t, r.sync, m1.ID)
		try(t, r.sync, m2.ID)
		if len(r.tr.issues()) != 0 {
			t.Errorf("refused items were filed")
		}
		if got := r.get(t, m1.ID); !strings.Contains(got.TrackerProblem, "401") && !strings.Contains(got.TrackerProblem, "api_key") {
			t.Errorf("the refusal on the improvement: %q", got.TrackerProblem)
		}
		for _, w := range r.tr.wantElsewhere {
			if got := r.get(t, m2.ID); !strings.Contains(got.TrackerProblem, w) {
				t.Errorf("the unknown project on the improvement lacks %q: %q", w, got.TrackerProblem)
			}
		}
		r.publish(t)
		try(t, r.sync, m1.ID)
		try(t, r.sync, m2.ID)
		if n := len(r.tr.issues()); n != 2 {
			t.Fatalf("after publishing again: %d issues, want 2", n)
		}
		if err := (backlog.Check{Tracker: r.tr.client(10 * time.Second)}).Verify(ctx); err != nil {
			t.Errorf("doctor with good credentials: %v", err)
		}
		err := (backlog.Check{Tracker: r.tr.revoked()}).Verify(ctx)
		for _, w := range r.tr.wantRevoked {
			if err == nil || !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "stale") {
				t.Errorf("doctor with a revoked credential, want %q: %v", w, err)
			}
		}
	})
}

// TestJiraMovedIssue: an issue moved to another project (a new key, the
// same id) is still the improvement's: its webhook closes it.
func TestJiraMovedIssue(t *testing.T) {
	t.Parallel()
	const email, token = "bot@example.test", "tok"
	fake := jirafake.New(t, jirafake.Options{Email: email, Token: token, Project: "OPS"})
	c := &jira.Issues{BaseURL: fake.URL, Email: email, Token: token, Project: "OPS", WebhookSecret: hookSecret}
	r := &backlogRig{h: newHarness(t, options{})}
	r.sync = r.instance(t, c)
	r.h.svc.Tracker = r.sync
	r.inc = r.h.resolved(t)
	m, err := r.h.svc.AddImprovement(context.Background(), "vp@example.test", r.inc.Ref, postmortem.ImprovementInput{Text: "Move me"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(t)
	try(t, r.sync, m.ID)
	key := fake.Move("OPS-1", "PLAT")
	fake.Transition(key, "Done", "Olga Nunez")
	body := fake.Event(key, "jira:issue_updated", "Olga Nunez")
	if rc, err := r.sync.Receive(context.Background(), "jira", http.Header{"X-Hub-Signature": {jira.Sign(hookSecret, body)}}, body); err != nil || rc.Changes != 1 {
		t.Fatalf("the moved issue's delivery: %+v %v", rc, err)
	}
	if got := r.get(t, m.ID); got.State != "done" {
		t.Errorf("the moved issue closed: %s", got.State)
	}
}

// TestChangesCarriedToTheTracker: from here to there, on each of the three
// trackers. An improvement marked done in sitrep closes its issue, by a
// job on the backlog queue (not in the request); reopened here, the issue
// is reopened; a new owner and due date are carried (GitHub keeps no due
// date); a rate limit on the change is waited for and the change carried
// after; the tracker's echo of the change (a poll) adds nothing; a change
// made before the issue is filed waits for it and is then carried.
func TestChangesCarriedToTheTracker(t *testing.T) {
	t.Parallel()
	eachBackend(t, append([]backend{{"github", githubTracker}}, backends...), func(t *testing.T, r *trackerRig) {
		{
			ctx := context.Background()
			m := r.improvement(t, "Add a canary stage to checkout deploys")
			r.publish(t)
			try(t, r.sync, m.ID)
			ref := r.tr.firstRef
			if r.tr.closed(ref) || r.tr.assignee(ref) != r.tr.olga {
				t.Fatalf("filed closed, or not assigned to Olga: %q", r.tr.assignee(ref))
			}
			set := func(p postmortem.ImprovementPatch) {
				t.Helper()
				if _, err := r.h.svc.UpdateImprovement(ctx, "vp@example.test", m.ID, p); err != nil {
					t.Fatal(err)
				}
			}
			push := func() time.Duration {
				t.Helper()
				wait, err := r.sync.Push(ctx, m.ID)
				if err != nil {
					t.Fatalf("push: %v", err)
				}
				return wait
			}
			done, open := "done", "open"
			set(postmortem.ImprovementPatch{State: &done})
			if r.tr.closed(ref) {
				t.Fatal("closed in the request: the call belongs to the job")
			}
			if st, _ := r.sync.StatusOf(ctx, m.ID); st.PushSeq != 1 || st.PushedSeq != 0 {
				t.Fatalf("the change must be recorded before the call: %+v", st)
			}
			if wait := push(); wait != 0 || !r.tr.closed(ref) {
				t.Fatalf("done here: closed there %v, wait %s", r.tr.closed(ref), wait)
			}
			before := timelineLen(t, r.backlogRig)
			if err := r.sync.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if got := r.get(t, m.ID); got.State != "done" || timelineLen(t, r.backlogRig) != before {
				t.Errorf("the tracker's echo changed something: %s, %d new events", got.State, timelineLen(t, r.backlogRig)-before)
			}
			if wait := push(); wait != 0 {
				t.Errorf("a change carried is not carried again: wait %s", wait)
			}

			set(postmortem.ImprovementPatch{State: &open})
			if push(); r.tr.closed(ref) {
				t.Fatal("reopened here: still closed there")
			}

			cora, due := "ceo@example.test", "2026-04-01"
			set(postmortem.ImprovementPatch{Owner: &cora, Due: &due})
			r.tr.failUpdate()
			if wait := push(); wait < 8*time.Second || wait > 10*time.Second {
				t.Errorf("a rate-limited change waits as asked: %s", wait)
			}
			if st, _ := r.sync.StatusOf(ctx, m.ID); st.PushError == "" || st.PushedSeq == st.PushSeq {
				t.Errorf("after the rate limit: %+v", st)
			}
			if wait := push(); wait != 0 {
				t.Errorf("the change carried after the wait: %s", wait)
			}
			if got := r.tr.assignee(ref); got != r.tr.cora {
				t.Errorf("the new owner there: %q, want %q", got, r.tr.cora)
			}
			if r.tr.hasDue && r.tr.due(ref) != due {
				t.Errorf("the new due date there: %q", r.tr.due(ref))
			}
			if st, _ := r.sync.StatusOf(ctx, m.ID); st.PushError != "" || st.PushedSeq != st.PushSeq {
				t.Errorf("after carrying: %+v", st)
			}

			// Done before its issue is filed: the change waits for it.
			m2 := r.improvement(t, "Page a second rota")
			if _, err := r.h.svc.UpdateImprovement(ctx, "vp@example.test", m2.ID, postmortem.ImprovementPatch{State: &done}); err != nil {
				t.Fatal(err)
			}
			if wait, err := r.sync.Push(ctx, m2.ID); err != nil || wait <= 0 {
				t.Errorf("a change of an issue not filed yet must wait: %s %v", wait, err)
			}
			try(t, r.sync, m2.ID)
			if wait, err := r.sync.Push(ctx, m2.ID); err != nil || wait != 0 {
				t.Errorf("after filing: %s %v", wait, err)
			}
			issues := r.tr.issues()
			if n := len(issues); n != 2 || !r.tr.closed(issues[1].Ref) {
				t.Errorf("the second improvement, done before it was filed: %d issues", n)
			}
		}
	})
}

func timelineLen(t *testing.T, r *backlogRig) int {
	t.Helper()
	tl, err := r.h.incidents.Timeline(context.Background(), r.inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	return len(tl)
}
