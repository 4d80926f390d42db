package postmortem_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/backlog/github"
	"github.com/sitrep-dev/sitrep/internal/backlog/githubfake"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// The backlog sync end to end: the post-mortem (the real service, on the
// test's database) files its improvements through internal/backlog's
// GitHub client into githubfake, which checks every request against
// GitHub's OpenAPI description. The filing jobs are not worked by a River
// worker here: each test makes the job's tries itself (backlog.Service.File),
// one at a time, so that each fault meets the try it is meant for.

const (
	ghToken  = "github_pat_test"
	ghSecret = "webhook-secret"
)

type backlogRig struct {
	h    *harness
	gh   *githubfake.Server
	sync *backlog.Service
	inc  *incident.Incident
}

func (r *backlogRig) client() *github.Issues {
	return &github.Issues{BaseURL: r.gh.URL, Token: ghToken, Owner: "acme", Repo: "ops", Labels: []string{"post-mortem"},
		WebhookSecret: ghSecret, People: r.h.dir, Client: &http.Client{Timeout: 10 * time.Second}}
}

// instance is one sitrep's backlog sync on the test's database: a second
// one is a second replica, or the process started again after a crash.
func (r *backlogRig) instance(t *testing.T, tracker backlog.Tracker) *backlog.Service {
	t.Helper()
	ins, err := jobs.NewInserter(r.h.db)
	if err != nil {
		t.Fatal(err)
	}
	return &backlog.Service{DB: r.h.db, Jobs: ins, Tracker: tracker, Items: r.h.svc}
}

func newBacklogRig(t *testing.T) *backlogRig {
	t.Helper()
	r := &backlogRig{h: newHarness(t, options{})}
	r.gh = githubfake.New(t, githubfake.Options{Token: ghToken, Owner: "acme", Repo: "ops", Users: []string{"olga-n"}})
	r.sync = r.instance(t, r.client())
	r.h.svc.Tracker = r.sync
	r.inc = r.h.resolved(t)
	return r
}

// improvement adds one owned by Olga (GitHub olga-n), due 2026-03-20.
func (r *backlogRig) improvement(t *testing.T, text string) *postmortem.Improvement {
	t.Helper()
	m, err := r.h.svc.AddImprovement(context.Background(), "vp@example.test", r.inc.Ref,
		postmortem.ImprovementInput{Text: text, Owner: "owner@example.test", Due: "2026-03-20"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (r *backlogRig) publish(t *testing.T) {
	t.Helper()
	if _, err := r.h.svc.Publish(context.Background(), "vp@example.test", r.inc.Ref); err != nil {
		t.Fatal(err)
	}
}

func (r *backlogRig) get(t *testing.T, id int64) postmortem.Improvement {
	t.Helper()
	list, err := r.h.svc.Improvements(context.Background(), postmortem.ImprovementFilter{Incident: r.inc.Ref})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no improvement %d", id)
	return postmortem.Improvement{}
}

// try makes one try of the filing job and returns its wait.
func try(t *testing.T, s *backlog.Service, id int64) time.Duration {
	t.Helper()
	wait, err := s.File(context.Background(), id)
	if err != nil {
		t.Fatalf("try: %v", err)
	}
	return wait
}

func creates(gh *githubfake.Server) (n int) {
	for _, r := range gh.Requests() {
		if r.Operation == "issues/create" {
			n++
		}
	}
	return n
}

// TestBacklogFiledOnceAcrossFaults: an improvement is filed once across a
// 429 (its Retry-After kept), a 502, and a call whose answer is lost after
// GitHub made the issue; the issue has the title, the body (the link back,
// the owner, the due date), the owner's GitHub login and the labels; the
// improvement shows its issue; publishing again files nothing again.
func TestBacklogFiledOnceAcrossFaults(t *testing.T) {
	t.Parallel()
	r := newBacklogRig(t)
	m := r.improvement(t, "Run the migration check in the deploy pipeline")
	if st, _ := r.sync.StatusOf(context.Background(), m.ID); st != nil {
		t.Fatalf("filed before the results were published: %+v", st)
	}
	r.publish(t)
	if st, err := r.sync.StatusOf(context.Background(), m.ID); err != nil || st == nil || st.State != backlog.StatePending {
		t.Fatalf("after publishing the intent must be recorded, pending: %+v %v", st, err)
	}
	if n := len(r.gh.Requests()); n != 0 {
		t.Fatalf("publishing called GitHub (%d requests): the call belongs to the job", n)
	}

	r.gh.FailNext("issues/create", githubfake.Fault{Status: 429, RetryAfter: "7"})
	if wait := try(t, r.sync, m.ID); wait != 7*time.Second {
		t.Errorf("after a 429 with Retry-After: 7 the job waits %s, want 7s", wait)
	}
	r.gh.FailNext("issues/create", githubfake.Fault{Status: 502})
	if wait := try(t, r.sync, m.ID); wait <= 0 {
		t.Errorf("after a 502 the job must wait and try again, got %s", wait)
	}
	r.gh.FailNext("issues/create", githubfake.Fault{Lost: true})
	if wait := try(t, r.sync, m.ID); wait <= 0 {
		t.Errorf("after a lost answer the job must try again, got %s", wait)
	}
	if n := len(r.gh.Issues()); n != 1 {
		t.Fatalf("the lost call made the issue: want 1 issue, got %d", n)
	}
	if wait := try(t, r.sync, m.ID); wait != 0 {
		t.Errorf("the try that finds the issue is the last, got wait %s", wait)
	}
	if n := creates(r.gh); n != 3 {
		t.Errorf("create was called %d times, want 3 (429, 502, lost): the try after the lost answer must look, not create", n)
	}
	issues := r.gh.Issues()
	if len(issues) != 1 {
		t.Fatalf("want exactly one issue, got %d", len(issues))
	}
	is := issues[0]
	for _, want := range []string{"Run the migration check in the deploy pipeline", "**Owner:** Olga Nunez", "**Due:** 2026-03-20",
		r.inc.Ref, "<!-- sitrep:improvement:"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("issue body lacks %q:\n%s", want, is.Body)
		}
	}
	if strings.Contains(is.Body, "owner@example.test") {
		t.Errorf("the owner's email is in the issue, which more people may see than the directory:\n%s", is.Body)
	}
	if is.Title != "["+r.inc.Ref+"] Run the migration check in the deploy pipeline" || strings.Join(is.Assignees, ",") != "olga-n" ||
		strings.Join(is.Labels, ",") != "post-mortem" {
		t.Errorf("issue %q assignees %v labels %v", is.Title, is.Assignees, is.Labels)
	}
	got := r.get(t, m.ID)
	if got.TrackerRef != "1" || !strings.HasSuffix(got.TrackerURL, "/acme/ops/issues/1") || got.TrackerProblem != "" {
		t.Errorf("the improvement shows %q %q %q", got.TrackerRef, got.TrackerURL, got.TrackerProblem)
	}

	// Done means done: another try, another publish call nothing.
	before := len(r.gh.Requests())
	try(t, r.sync, m.ID)
	r.publish(t)
	try(t, r.sync, m.ID)
	if n := len(r.gh.Requests()); n != before {
		t.Errorf("a filed improvement made %d more requests", n-before)
	}

	// Added after publishing: filed at once, without an owner nobody is assigned.
	m2, err := r.h.svc.AddImprovement(context.Background(), "vp@example.test", r.inc.Ref, postmortem.ImprovementInput{Text: "Page a second rota"})
	if err != nil {
		t.Fatal(err)
	}
	try(t, r.sync, m2.ID)
	if issues := r.gh.Issues(); len(issues) != 2 || len(issues[1].Assignees) != 0 || r.get(t, m2.ID).TrackerRef != "2" {
		t.Errorf("the second improvement: %+v", issues)
	}
}

// TestBacklogCrashBetweenCallAndRecord: one instance makes the call and
// GitHub makes the issue, but the instance never records the answer (it
// hangs, as a process killed there would leave its row). A second
// instance on the same database, once the first one's lease is over,
// finds the issue by its marker and records it instead of making another;
// the first instance, when its call returns at last, changes nothing.
func TestBacklogCrashBetweenCallAndRecord(t *testing.T) {
	t.Parallel()
	r := newBacklogRig(t)
	m := r.improvement(t, "Alert on an empty pager rota")
	r.publish(t)

	r.gh.FailNext("issues/create", githubfake.Fault{Hang: true})
	first := r.instance(t, r.client())
	ctx, kill := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = first.File(ctx, m.ID)
	}()
	waitFor(t, "the first instance's call to make the issue", func() bool { return len(r.gh.Issues()) == 1 })
	if st, _ := r.sync.StatusOf(context.Background(), m.ID); st.State != backlog.StateSending {
		t.Fatalf("during the call the row must be sending, is %+v", st)
	}

	second := r.instance(t, r.client())
	if wait := try(t, second, m.ID); wait <= 0 {
		t.Errorf("while the first instance's lease runs the second must wait, got %s", wait)
	}
	second.Now = func() time.Time { return time.Now().Add(10 * time.Minute) } // the lease is over
	if wait := try(t, second, m.ID); wait != 0 {
		t.Errorf("the second instance must settle it in one try, wait %s", wait)
	}
	kill()
	wg.Wait()

	if n := len(r.gh.Issues()); n != 1 {
		t.Fatalf("want exactly one issue after the crash, got %d", n)
	}
	if n := creates(r.gh); n != 1 {
		t.Errorf("create was called %d times, want 1", n)
	}
	st, _ := r.sync.StatusOf(context.Background(), m.ID)
	if st.State != backlog.StateFiled || st.Ref != "1" {
		t.Errorf("after the first instance's late return the row must stay filed: %+v", st)
	}
	if got := r.get(t, m.ID); got.TrackerRef != "1" {
		t.Errorf("the improvement shows %q", got.TrackerRef)
	}
}

func hook(t *testing.T, body []byte, sig string) http.Header {
	t.Helper()
	h := http.Header{}
	h.Set("X-GitHub-Event", "issues")
	if sig != "" {
		h.Set("X-Hub-Signature-256", sig)
	}
	return h
}

// TestBacklogWebhookClosesAndReopens: an unsigned delivery, one signed
// with another secret, and one whose body was changed after signing
// change nothing; a signed "closed" makes the improvement done and its
// reminder is not sent; "reopened" opens it and the reminder comes; a
// repeated delivery changes nothing more.
func TestBacklogWebhookClosesAndReopens(t *testing.T) {
	t.Parallel()
	r := newBacklogRig(t)
	ctx := context.Background()
	m := r.improvement(t, "Add a canary stage to checkout deploys")
	r.publish(t)
	try(t, r.sync, m.ID)

	r.gh.SetState(1, "closed")
	closed := r.gh.Event(1, "closed", "olga-n")
	events := func() int {
		tl, err := r.h.incidents.Timeline(ctx, r.inc.Ref)
		if err != nil {
			t.Fatal(err)
		}
		return len(tl)
	}
	before := events()
	tampered := []byte(strings.Replace(string(closed), `"closed"`, `"reopened"`, 1))
	for name, h := range map[string]http.Header{
		"unsigned":     hook(t, closed, ""),
		"other secret": hook(t, closed, github.Sign("not-the-secret", closed)),
		"bad prefix":   hook(t, closed, "sha1="+strings.TrimPrefix(github.Sign(ghSecret, closed), "sha256=")),
	} {
		if _, err := r.sync.Receive(ctx, "github", h, closed); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("%s: want unauthorized, got %v", name, err)
		}
	}
	if _, err := r.sync.Receive(ctx, "github", hook(t, tampered, github.Sign(ghSecret, closed)), tampered); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("a body changed after signing: want unauthorized, got %v", err)
	}
	if got := r.get(t, m.ID); got.State != "open" || events() != before {
		t.Fatalf("refused deliveries changed something: state %s, %d new events", got.State, events()-before)
	}

	rc, err := r.sync.Receive(ctx, "github", hook(t, closed, github.Sign(ghSecret, closed)), closed)
	if err != nil || rc.Changes != 1 {
		t.Fatalf("signed closed: %+v %v", rc, err)
	}
	if got := r.get(t, m.ID); got.State != "done" {
		t.Fatalf("closed on GitHub: state %s, want done", got.State)
	}
	if rc, err := r.sync.Receive(ctx, "github", hook(t, closed, github.Sign(ghSecret, closed)), closed); err != nil || rc.Changes != 0 {
		t.Errorf("a repeated delivery: %+v %v", rc, err)
	}
	// Past the due date: a done improvement is not reminded.
	r.h.clock.Set(time.Date(2026, 3, 23, 9, 0, 0, 0, time.UTC))
	if err := r.h.svc.CheckImprovements(ctx); err != nil {
		t.Fatal(err)
	}
	if n := remindersQueued(t, r, m.ID); n != 0 {
		t.Errorf("a done improvement was reminded %d times", n)
	}

	r.gh.SetState(1, "open")
	reopened := r.gh.Event(1, "reopened", "olga-n")
	if rc, err := r.sync.Receive(ctx, "github", hook(t, reopened, github.Sign(ghSecret, reopened)), reopened); err != nil || rc.Changes != 1 {
		t.Fatalf("signed reopened: %+v %v", rc, err)
	}
	if got := r.get(t, m.ID); got.State != "open" {
		t.Fatalf("reopened on GitHub: state %s, want open", got.State)
	}
	if err := r.h.svc.CheckImprovements(ctx); err != nil {
		t.Fatal(err)
	}
	if n := remindersQueued(t, r, m.ID); n != 1 {
		t.Errorf("the reopened, overdue improvement was reminded %d times, want 1", n)
	}
}

// remindersQueued counts the reminders on the incident's timeline for
// improvement id.
func remindersQueued(t *testing.T, r *backlogRig, id int64) int {
	t.Helper()
	tl, err := r.h.incidents.Timeline(context.Background(), r.inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range tl {
		if ev.Kind == "postmortem_reminder" {
			if v, ok := ev.Data["improvement"].(float64); ok && int64(v) == id {
				n++
			}
		}
	}
	return n
}

// TestBacklogPollFallback: without a webhook delivery, the poll reads the
// issues changed since it last looked: closed there is done here,
// reopened open again; a poll with nothing new changes nothing.
func TestBacklogPollFallback(t *testing.T) {
	t.Parallel()
	r := newBacklogRig(t)
	ctx := context.Background()
	m := r.improvement(t, "Document the rollback")
	r.publish(t)
	try(t, r.sync, m.ID)
	other := r.gh.AddIssue("Someone else's issue", "no marker here") // not ours: ignored
	r.gh.SetState(other, "closed")

	if err := r.sync.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.get(t, m.ID); got.State != "open" {
		t.Fatalf("nothing closed yet: %s", got.State)
	}
	r.gh.SetState(1, "closed")
	if err := r.sync.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.get(t, m.ID); got.State != "done" {
		t.Fatalf("closed on GitHub, polled: %s", got.State)
	}
	r.gh.SetState(1, "open")
	if err := r.sync.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.get(t, m.ID); got.State != "open" {
		t.Fatalf("reopened on GitHub, polled: %s", got.State)
	}
	for _, q := range r.gh.Requests() {
		if q.Operation == "issues/list-for-repo" && !strings.Contains(q.Query, "since=") {
			t.Errorf("a poll without since reads the whole repository: %s", q.Query)
		}
	}
}

// TestBacklogRefusals: a bad token (401) and a repository the token cannot
// see (404) are recorded on the improvement, shown on the board, and not
// retried; sitrep doctor's check says what is wrong.
func TestBacklogRefusals(t *testing.T) {
	t.Parallel()
	r := newBacklogRig(t)
	ctx := context.Background()
	m1 := r.improvement(t, "Rotate the on-call calendar")
	m2 := r.improvement(t, "Split the payments deploy")
	r.publish(t)

	r.gh.FailNext("issues/create", githubfake.Fault{Status: 401})
	if wait := try(t, r.sync, m1.ID); wait != 0 {
		t.Errorf("a refusal is not retried, got wait %s", wait)
	}
	wrongRepo := r.client()
	wrongRepo.Repo = "no-such-repo"
	other := r.instance(t, wrongRepo)
	if wait := try(t, other, m2.ID); wait != 0 {
		t.Errorf("a 404 is not retried, got wait %s", wait)
	}
	before := len(r.gh.Requests())
	try(t, r.sync, m1.ID)
	try(t, r.sync, m2.ID)
	if n := len(r.gh.Requests()); n != before || len(r.gh.Issues()) != 0 {
		t.Errorf("refused items were tried again (%d requests) or filed (%d)", n-before, len(r.gh.Issues()))
	}
	if got := r.get(t, m1.ID); !strings.Contains(got.TrackerProblem, "401") || !strings.Contains(got.TrackerProblem, "token") {
		t.Errorf("the 401 on the improvement: %q", got.TrackerProblem)
	}
	if got := r.get(t, m2.ID); !strings.Contains(got.TrackerProblem, "404") || !strings.Contains(got.TrackerProblem, "acme/no-such-repo") {
		t.Errorf("the 404 on the improvement: %q", got.TrackerProblem)
	}
	if st, _ := r.sync.StatusOf(ctx, m1.ID); st.State != backlog.StateRefused {
		t.Errorf("row %+v", st)
	}

	// The configuration fixed, publishing again tries the refused ones again.
	r.publish(t)
	try(t, r.sync, m1.ID)
	try(t, r.sync, m2.ID)
	if n := len(r.gh.Issues()); n != 2 {
		t.Fatalf("after publishing again: %d issues, want 2", n)
	}
	for _, id := range []int64{m1.ID, m2.ID} {
		if got := r.get(t, id); got.TrackerRef == "" || got.TrackerProblem != "" {
			t.Errorf("improvement %d after the retry: ref %q, problem %q", id, got.TrackerRef, got.TrackerProblem)
		}
	}
	r.publish(t)
	try(t, r.sync, m1.ID)
	if n := len(r.gh.Issues()); n != 2 {
		t.Errorf("a third publish filed again: %d issues", n)
	}

	if err := (backlog.Check{Tracker: r.client()}).Verify(ctx); err != nil {
		t.Errorf("doctor with a good token: %v", err)
	}
	bad := r.client()
	bad.Token = "github_pat_revoked"
	if err := (backlog.Check{Tracker: bad}).Verify(ctx); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), bad.Token) {
		t.Errorf("doctor with a revoked token: %v", err)
	}
	if err := (backlog.Check{Tracker: wrongRepo}).Verify(ctx); err == nil || !strings.Contains(err.Error(), "no repository acme/no-such-repo") {
		t.Errorf("doctor with an unknown repository: %v", err)
	}
}

// TestBacklogHangTimesOut: a call that is never answered ends at the
// client's timeout, as a try to look after, not as a refusal; the next
// try finds the issue the hung call made.
func TestBacklogHangTimesOut(t *testing.T) {
	t.Parallel()
	r := newBacklogRig(t)
	m := r.improvement(t, "Cap the retry storm")
	r.publish(t)
	c := r.client()
	c.Client = &http.Client{Timeout: 200 * time.Millisecond} // the fake never answers: the outcome does not depend on the time
	s := r.instance(t, c)
	r.gh.FailNext("issues/create", githubfake.Fault{Hang: true})
	if wait := try(t, s, m.ID); wait <= 0 {
		t.Fatalf("a timed-out call must be tried again, got wait %s", wait)
	}
	if st, _ := s.StatusOf(context.Background(), m.ID); st.State != backlog.StatePending || st.LastError == "" {
		t.Errorf("after the timeout: %+v", st)
	}
	try(t, s, m.ID)
	if n, c := len(r.gh.Issues()), creates(r.gh); n != 1 || c != 1 {
		t.Errorf("after a hang: %d issues, %d creates; want 1 and 1", n, c)
	}
}
