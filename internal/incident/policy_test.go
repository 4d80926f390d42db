package incident_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// failingMail is the outbox failing to queue.
type failingMail struct{ incident.Mailer }

func (failingMail) Queue(context.Context, *sql.Tx, compose.Outgoing) (*compose.Message, error) {
	return nil, errors.New("the database went away")
}

// issue21 is the default SEV1 policy of issue 21 (config.DefaultPolicy).
var issue21 = incident.Policy{FirstUpdateWithin: 5 * time.Minute, Every: 20 * time.Minute, For: 2 * time.Hour, ThenEvery: time.Hour, AnswerWithin: 15 * time.Minute}

func newPolicyHarness(t *testing.T) *commsHarness {
	t.Helper()
	h := newCommsHarness(t)
	h.comms.Policy = map[incident.Severity]incident.Policy{"SEV1": issue21,
		"SEV3": {FirstUpdateWithin: time.Hour, Every: 4 * time.Hour}}
	return h
}

func (h *commsHarness) declareSEV1(t *testing.T, title string) *incident.Incident {
	t.Helper()
	inc, err := h.incidents.Declare(context.Background(), "vp@x.test", incident.DeclareInput{Title: title, Severity: "SEV1",
		Roles: incident.Roles{CommsLead: "vp@x.test", IncidentLead: "lead@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// The default next update follows the policy's phase: at minute 30 of a
// SEV1, 20 minutes; from hour 2 on (the boundary included), an hour. The
// compose form's "Default" says the same.
func TestDefaultNextUpdateFollowsThePolicysPhase(t *testing.T) {
	t.Parallel()
	h := newPolicyHarness(t)
	ctx := context.Background()
	inc := h.declareSEV1(t, "Checkout down")
	declared := h.clock.t
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration
		says string
	}{
		{30 * time.Minute, 20 * time.Minute, "first 2 h: every 20 min"},
		{2*time.Hour - time.Minute, 20 * time.Minute, "first 2 h: every 20 min"},
		{2 * time.Hour, time.Hour, "after 2 h: every 1 h"},
		{3 * time.Hour, time.Hour, "after 2 h: every 1 h"},
	} {
		h.clock.t = declared.Add(tc.at)
		cur, err := h.incidents.Get(ctx, inc.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.comms.NextInterval(cur, h.clock.t); got != tc.want {
			t.Errorf("at %s: default interval %s, want %s", tc.at, got, tc.want)
		}
		if got := h.comms.PolicyPhase(cur, h.clock.t); got != tc.says {
			t.Errorf("at %s: phase %q, want %q", tc.at, got, tc.says)
		}
		res, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Still on it.", Groups: []string{"exec"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.NextUpdateAt.Sub(h.clock.t); got != tc.want {
			t.Errorf("at %s: an update without next promised %s ahead, want %s", tc.at, got, tc.want)
		}
		if res.PolicyWarning != "" {
			t.Errorf("at %s: the default drew a warning: %s", tc.at, res.PolicyWarning)
		}
	}
	// A severity the policy does not name keeps its cadence (or 30m).
	h.comms.Cadence = map[incident.Severity]time.Duration{"SEV2": 45 * time.Minute}
	if got := h.comms.PolicyOf("SEV2"); got != (incident.Policy{Every: 45 * time.Minute}) {
		t.Errorf("SEV2 without a policy: %+v", got)
	}
	if got := h.comms.PolicyOf("SEV4").Every; got != incident.DefaultCadence {
		t.Errorf("SEV4 with nothing: %s", got)
	}
}

// A longer next update than the policy allows is sent, with a warning in
// the result (which the form, the CLI and the API show); a shorter one or
// one a minute over (promises round up to the minute) draws none.
func TestALongerNextUpdateIsAllowedButWarned(t *testing.T) {
	t.Parallel()
	h := newPolicyHarness(t)
	ctx := context.Background()
	inc := h.declareSEV1(t, "Checkout down")
	h.clock.t = h.clock.t.Add(30*time.Minute + 20*time.Second)
	dry, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Failing over.", Next: "1h", Groups: []string{"exec"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dry.PolicyWarning, "1 h is later than the SEV1 policy asks (first 2 h: every 20 min)") {
		t.Errorf("the preview's warning: %q", dry.PolicyWarning)
	}
	sent, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Failing over.", Next: "1h", Groups: []string{"exec"}})
	if err != nil {
		t.Fatalf("a longer promise must be allowed: %v", err)
	}
	if sent.Message == nil || sent.PolicyWarning == "" {
		t.Errorf("sent %+v without its warning", sent)
	}
	for _, next := range []string{"15m", "20m"} {
		res, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Failing over.", Next: next, Groups: []string{"exec"}, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.PolicyWarning != "" {
			t.Errorf("next %s (within the policy) warned: %s", next, res.PolicyWarning)
		}
	}
}

// The first status update: the comms lead is reminded as its deadline
// nears (half the 5 minutes before it, not the 10 of reminder_before,
// which would be at the declaration), the incident lead alerted when it
// is overdue; each once, however many checks run; nothing for an
// incident whose first update went out in time.
func TestFirstUpdateReminderAndEscalation(t *testing.T) {
	t.Parallel()
	h := newPolicyHarness(t)
	ctx := context.Background()
	declared := h.clock.t
	inc := h.declareSEV1(t, "Checkout down")
	prompt := h.declareSEV1(t, "Search down")
	quiet, err := h.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Reports slow", Severity: "SEV2",
		Roles: incident.Roles{CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.t = declared.Add(time.Minute)
	// Its next promise is far enough not to remind in this test's hours.
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", prompt.Ref, incident.UpdateInput{Status: "Looking.", Next: "3h", Groups: []string{"exec"}}); err != nil {
		t.Fatal(err)
	}
	check := func(at time.Duration, want int) {
		t.Helper()
		h.clock.t = declared.Add(at)
		if n, err := h.comms.CheckPromises(ctx); err != nil || n != want {
			t.Fatalf("at %s: sent %d (%v), want %d", at, n, err, want)
		}
	}
	check(2*time.Minute, 0)
	// The outbox fails as the reminder is queued: the stage is not won,
	// and the next check sends it.
	h.comms.Mail = failingMail{h.outbox}
	check(2*time.Minute+30*time.Second, 0)
	h.comms.Mail = h.outbox
	check(2*time.Minute+30*time.Second, 1) // reminder
	check(4*time.Minute, 0)
	check(9*time.Minute+59*time.Second, 0)
	check(10*time.Minute, 1) // 5 minutes past the deadline: escalation
	for i := 0; i < 100; i++ {
		check(10*time.Minute+time.Duration(i)*time.Minute, 0)
	}
	h.deliver(t, inc)
	reminder := h.textTo(t, "vp@x.test", "First update due in 3 minutes")
	if !strings.Contains(reminder, "Nothing has been sent to the stakeholders of *INC-1*") || !strings.Contains(reminder, "first status update by *14:05 UTC*") || !strings.Contains(reminder, "5 min after the declaration") {
		t.Errorf("the reminder:\n%s", reminder)
	}
	got := h.recipients(t, "no first update sent")
	slices.Sort(got)
	if strings.Join(got, " ") != "lead@x.test vp@x.test" {
		t.Errorf("the escalation went to %v", got)
	}
	for _, r := range []*incident.Incident{prompt, quiet} {
		msgs, _ := h.outbox.Messages(ctx, r.ID)
		for _, m := range msgs {
			if m.Audience == "leads" {
				t.Errorf("%s (%s) got %s to the leads", r.Ref, r.Severity, m.Kind)
			}
		}
	}
	tl, err := h.incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range tl {
		if e.Data["first_update"] == true {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d first-update entries on the timeline, want the reminder and the escalation", n)
	}
}

// An update sent between the reminder and the deadline stops the
// escalation; the ordinary promise takes over.
func TestFirstUpdateSentStopsItsEscalation(t *testing.T) {
	t.Parallel()
	h := newPolicyHarness(t)
	ctx := context.Background()
	declared := h.clock.t
	inc := h.declareSEV1(t, "Checkout down")
	h.clock.t = declared.Add(3 * time.Minute)
	if n, err := h.comms.CheckPromises(ctx); err != nil || n != 1 {
		t.Fatalf("reminder: %d %v", n, err)
	}
	h.clock.t = declared.Add(4 * time.Minute)
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking.", Groups: []string{"exec"}}); err != nil {
		t.Fatal(err)
	}
	h.clock.t = declared.Add(11 * time.Minute)
	if n, err := h.comms.CheckPromises(ctx); err != nil || n != 0 {
		t.Fatalf("after the first update: %d %v", n, err)
	}
}
