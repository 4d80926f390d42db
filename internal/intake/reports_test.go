package intake_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

// Reports filed on a draft are summarised for the decision, go onto the
// incident with their own times when it is declared (inside the declaring
// transaction, so the heads-up sees them), and later reports on the
// declared draft go to its incident.
func TestReportsOnADraftFollowItToTheIncident(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	var seenByHeadsUp int
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, incident.DeclareHook(func(ctx context.Context, tx *sql.Tx, inc *incident.Incident) error {
		reps, err := incident.ReportsOf(ctx, tx, inc.ID)
		seenByHeadsUp = len(reps)
		return err
	}))
	id := intake.FormatID(h.post(t, intake.Pingdom, "pingdom_down.json").Created[0])

	earlier := now.Add(-10 * time.Minute)
	if _, err := h.svc.AddReport(ctx, "cs@example.com", id, incident.ReportInput{Email: "Ana@Customer.test", Location: "EU", Access: "web",
		Observed: "card declined", ReportedAt: &earlier}); err != nil {
		t.Fatal(err)
	}
	filed, err := h.svc.AddReport(ctx, "cs@example.com", id, incident.ReportInput{Email: "bo@customer.test", Location: "EU", Access: "web", Observed: "spinner"})
	if err != nil || filed.Draft != id || filed.Incident != "" || filed.Report.Channel != "api" {
		t.Fatalf("second report: %+v %v", filed, err)
	}
	list, err := h.svc.Reports(ctx, id)
	if err != nil || len(list) != 2 || list[0].Email != "ana@customer.test" {
		t.Fatalf("draft reports: %+v %v", list, err)
	}
	if sum := incident.SummarizeReports(list); sum.Reporters != 2 || !sum.PossiblyIsolated || sum.Why != "every report comes from eu" {
		t.Errorf("two reports from one region and one way in are possibly isolated: %+v", sum)
	}

	// Bad input changes nothing.
	if _, err := h.svc.AddReport(ctx, "cs@example.com", id, incident.ReportInput{Email: "not an address"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("bad email: %v", err)
	}
	if _, err := h.svc.AddReport(ctx, "cs@example.com", "DRAFT-999", incident.ReportInput{Email: "x@example.com"}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("unknown draft: %v", err)
	}
	if list, _ := h.svc.Reports(ctx, id); len(list) != 2 {
		t.Errorf("refused reports were stored: %d", len(list))
	}

	inc, _, err := h.svc.Declare(ctx, "comms@example.com", id, intake.DeclareInput{})
	if err != nil {
		t.Fatal(err)
	}
	if seenByHeadsUp != 2 {
		t.Errorf("the declare hooks saw %d reports, want 2: the heads-up must carry them", seenByHeadsUp)
	}
	reps, err := h.incidents.Reports(ctx, inc.Ref)
	if err != nil || len(reps) != 2 || !reps[0].ReportedAt.Equal(earlier) || reps[0].Observed != "card declined" {
		t.Fatalf("incident reports: %+v %v", reps, err)
	}
	tl, _ := h.incidents.Timeline(ctx, inc.Ref)
	if n := countEvents(tl, "report"); n != 2 {
		t.Errorf("timeline has %d report events, want 2", n)
	}

	filed, err = h.svc.AddReport(ctx, "cs@example.com", id, incident.ReportInput{Email: "cy@customer.test", Location: "US", Access: "mobile app"})
	if err != nil || filed.Incident != inc.Ref {
		t.Fatalf("a report on the declared draft goes to %s: %+v %v", inc.Ref, filed, err)
	}
	if reps, _ := h.incidents.Reports(ctx, inc.Ref); len(reps) != 3 || incident.SummarizeReports(reps).PossiblyIsolated {
		t.Errorf("after a report from the US: %+v", reps)
	}
	if list, _ := h.svc.Reports(ctx, id); len(list) != 2 {
		t.Errorf("the forwarded report must not be kept on the draft too: %d", len(list))
	}
}

func TestAReportOnADismissedDraftIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	id := intake.FormatID(h.post(t, intake.Pingdom, "pingdom_down.json").Created[0])
	if _, err := h.svc.Dismiss(ctx, "comms@example.com", id, "maintenance"); err != nil {
		t.Fatal(err)
	}
	_, err := h.svc.AddReport(ctx, "cs@example.com", id, incident.ReportInput{Email: "ana@customer.test"})
	if errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("want 409, got %v", err)
	}
	if list, _ := h.svc.Reports(ctx, id); len(list) != 0 {
		t.Errorf("a refused report was stored: %+v", list)
	}
}

// Reports filed while the draft is being declared: each lands on the
// incident exactly once, either copied with the draft's or passed on
// after the declaration. None is left behind on the draft alone.
func TestReportsRacingTheDeclarationAreNeverLeftBehind(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	for round := 0; round < 8; round++ {
		r, err := h.svc.Receive(ctx, intake.Generic, bearer(), nil, []byte(fmt.Sprintf(
			`{"key":"race-%d","status":"firing","title":"Race %d","system":"checkout","started_at":"2026-11-24T14:30:00Z"}`, round, round)))
		if err != nil {
			t.Fatal(err)
		}
		id := intake.FormatID(r.Created[0])
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := h.svc.AddReport(ctx, "cs@example.com", id, incident.ReportInput{Email: fmt.Sprintf("r%d@customer.test", i)})
				if err != nil {
					t.Errorf("round %d report %d: %v", round, i, err)
					return
				}
				mu.Lock()
				ok++
				mu.Unlock()
			}(i)
		}
		inc, _, err := h.svc.Declare(ctx, "comms@example.com", id, intake.DeclareInput{})
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		reps, err := h.incidents.Reports(ctx, inc.Ref)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, r := range reps {
			seen[r.Email]++
		}
		if len(reps) != ok || len(seen) != ok {
			t.Fatalf("round %d: %d reports filed, the incident has %d (%v)", round, ok, len(reps), seen)
		}
	}
}

func countEvents(tl []incident.Event, kind string) int {
	n := 0
	for _, ev := range tl {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}
