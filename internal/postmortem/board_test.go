package postmortem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// TestBoardPublishRemindExport: the blameless lint refuses a blaming
// Issue; Improvements get owners from the directory (an unowned one is
// flagged); publishing sends the results to every participant and posts a
// signed webhook; the owner is reminded before the due date and once when
// overdue; the export lists what is overdue.
func TestBoardPublishRemindExport(t *testing.T) {
	t.Parallel()
	const secret = "hook-secret"
	var mu sync.Mutex
	var hooks []*http.Request
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		hooks, bodies = append(hooks, r), append(bodies, b)
		if len(hooks) == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable) // retried as a job
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	h := newHarness(t, options{settings: func(s *postmortem.Settings) { s.WebhookURL, s.WebhookSecret = hook.URL, secret }})
	ctx := context.Background()
	inc := h.resolved(t)

	_, err := h.svc.AddIssue(ctx, "vp@example.test", inc.Ref, postmortem.IssueInput{Text: "Lars Eder forgot to run the migration check before deploying."})
	var blocked *blameless.Blocked
	if !errors.As(err, &blocked) || errs.CodeOf(err) != errs.Conflict || len(blocked.Findings) == 0 {
		t.Fatalf("a blaming issue must be refused with the findings: %v", err)
	}
	i1, err := h.svc.AddIssue(ctx, "vp@example.test", inc.Ref, postmortem.IssueInput{Text: "The deploy pipeline does not run the migration check."})
	if err != nil {
		t.Fatal(err)
	}
	if i1.Ref != "I1" {
		t.Errorf("first issue ref %q", i1.Ref)
	}
	i2, err := h.svc.AddIssue(ctx, "vp@example.test", inc.Ref, postmortem.IssueInput{Text: "Ron Stone's alert was routed to an empty pager rota.", Override: true})
	if err != nil || len(i2.Overridden) == 0 {
		t.Fatalf("override: %v %+v", err, i2)
	}

	if _, err := h.svc.AddImprovement(ctx, "vp", inc.Ref, postmortem.ImprovementInput{Text: "x", Owner: "stranger@elsewhere.test"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("owner outside the directory: %v", err)
	}
	if _, err := h.svc.AddImprovement(ctx, "vp", inc.Ref, postmortem.ImprovementInput{Text: "x", Issue: "I9"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("unknown issue: %v", err)
	}
	m1, err := h.svc.AddImprovement(ctx, "vp", inc.Ref, postmortem.ImprovementInput{Text: "Run the migration check in the pipeline", Owner: "Owner@example.test", Due: "2026-03-10", Issue: "I1"})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Ref != "M1" || m1.Owner != "owner@example.test" || m1.OwnerName != "Olga Nunez" || m1.IssueID != i1.ID || m1.Unowned {
		t.Errorf("improvement %+v", m1)
	}
	if _, err := h.svc.AddImprovement(ctx, "vp", inc.Ref, postmortem.ImprovementInput{Text: "Page a second rota when the first is empty"}); err != nil {
		t.Fatal(err)
	}
	b, err := h.svc.Board(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Issues) != 2 || len(b.Improvements) != 2 || b.Unowned != 1 || !b.Improvements[1].Unowned {
		t.Fatalf("board %+v", b)
	}

	res, err := h.svc.Publish(ctx, "vp@example.test", inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Webhook || res.Unowned != 1 || res.Message.Total != 8 { // seven attendees and the owner
		t.Errorf("publish %+v (total %d)", res, res.Message.Total)
	}
	for _, who := range []string{"r1@example.test", "ceo@example.test", "owner@example.test"} {
		waitFor(t, "the results to "+who, func() bool { return len(h.sent.to(who, "Post-mortem results")) == 1 })
	}
	text := string(h.sent.to("pm1@example.test", "Post-mortem results")[0])
	for _, want := range []string{"Run the migration check in the pipeline", "Olga Nunez", "nobody yet", "migration check"} {
		if !strings.Contains(strings.ReplaceAll(text, "=\r\n", ""), want) {
			t.Errorf("results email lacks %q", want)
		}
	}

	// The webhook: refused once, retried, signed.
	waitFor(t, "the webhook's retry", func() bool { mu.Lock(); defer mu.Unlock(); return len(hooks) >= 2 })
	mu.Lock()
	last, body := hooks[len(hooks)-1], bodies[len(bodies)-1]
	mu.Unlock()
	if got := last.Header.Get(postmortem.SignatureHeader); got != postmortem.Sign(secret, body) || !strings.HasPrefix(got, "sha256=") {
		t.Errorf("signature %q does not match the body", got)
	}
	if hooks[0].Header.Get("X-Sitrep-Delivery") != last.Header.Get("X-Sitrep-Delivery") {
		t.Error("a retry must carry the same delivery id")
	}
	var payload postmortem.WebhookPayload
	if err := json.Unmarshal(body, &payload); err != nil || payload.Event != "postmortem.published" || payload.Incident != inc.Ref ||
		len(payload.Improvements) != 2 || payload.Improvements[0].Owner != "owner@example.test" || len(payload.Issues) != 2 {
		t.Errorf("payload %s (%v)", body, err)
	}

	// Reminders: two days before the due date, then once overdue; each once.
	remind := func(at time.Time) {
		t.Helper()
		h.clock.Set(at)
		for range 2 {
			if err := h.svc.CheckImprovements(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	remind(time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)) // too early
	remind(time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC))
	reminders := func() []string {
		var out []string
		for _, raw := range h.sent.to("owner@example.test", "Improvement due") {
			out = append(out, strings.ReplaceAll(string(raw), "=\r\n", ""))
		}
		return out
	}
	waitFor(t, "the reminder", func() bool { return len(reminders()) == 1 })
	if strings.Contains(reminders()[0], "overdue") {
		t.Error("the first reminder is not an overdue one")
	}
	remind(time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)) // the due day itself: not overdue yet
	time.Sleep(300 * time.Millisecond)
	if len(reminders()) != 1 {
		t.Fatalf("reminded again before the due date passed: %d", len(reminders()))
	}
	remind(time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC))
	waitFor(t, "the overdue reminder", func() bool { return len(reminders()) == 2 })
	if !strings.Contains(reminders()[1], "overdue") {
		t.Errorf("second reminder does not say overdue:\n%s", reminders()[1])
	}
	remind(time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC))
	time.Sleep(300 * time.Millisecond)
	if n := len(reminders()); n != 2 {
		t.Errorf("owner reminded %d times; want once before and once overdue", n)
	}

	overdue, err := h.svc.Improvements(ctx, postmortem.ImprovementFilter{Overdue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(overdue) != 1 || overdue[0].ID != m1.ID || !overdue[0].Overdue || overdue[0].Ref != "M1" {
		t.Fatalf("overdue %+v", overdue)
	}
	mine, _ := h.svc.Improvements(ctx, postmortem.ImprovementFilter{Owner: "owner@example.test"})
	if len(mine) != 1 {
		t.Errorf("by owner: %+v", mine)
	}
	var csv bytes.Buffer
	if err := postmortem.WriteCSV(&csv, overdue); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,incident,ref,text,owner") || !strings.Contains(lines[1], "owner@example.test") || !strings.Contains(lines[1], "2026-03-10,true,open") {
		t.Errorf("csv:\n%s", csv.String())
	}

	// Done: no longer overdue.
	done := "done"
	if _, err := h.svc.UpdateImprovement(ctx, "owner@example.test", m1.ID, postmortem.ImprovementPatch{State: &done}); err != nil {
		t.Fatal(err)
	}
	if overdue, _ = h.svc.Improvements(ctx, postmortem.ImprovementFilter{Overdue: true}); len(overdue) != 0 {
		t.Errorf("a done improvement is not overdue: %+v", overdue)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	_ = postmortem.WriteCSV(&b, []postmortem.Improvement{{ID: 1, Incident: "INC-1", Text: "=HYPERLINK(\"http://evil\")", State: "open"}})
	if strings.Contains(b.String(), ",=HYPERLINK") || !strings.Contains(b.String(), "'=HYPERLINK") {
		t.Errorf("csv:\n%s", b.String())
	}
}
