package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// TestPromiseRemindersAndEscalation drives the clock through one promise:
// a reminder to the comms lead 10 minutes before, another when due, an
// escalation to the incident lead and the backup 5 minutes after; each
// once, and delivered.
func TestPromiseRemindersAndEscalation(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, _ := smallOrg(2)
	h := newHarness(t, f.addr, org, false)
	ctx := context.Background()
	inc := h.declare(t)
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Looking.", Next: "30m", Groups: []string{"everyone"}}); err != nil {
		t.Fatal(err)
	}
	due := h.clock.Now().Add(30 * time.Minute)
	if m := due.Truncate(time.Minute); !m.Equal(due) {
		due = m.Add(time.Minute) // promises fall on a whole minute, never early
	}
	check := func(at time.Time, want int) {
		t.Helper()
		h.clock.mu.Lock()
		h.clock.t = at
		h.clock.mu.Unlock()
		for i := 0; i < 2; i++ { // a second check at the same moment sends nothing more
			n, err := h.comms.CheckPromises(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && n != want || i == 1 && n != 0 {
				t.Fatalf("at due%+v check %d: sent %d reminders", at.Sub(due), i, n)
			}
		}
	}
	check(due.Add(-15*time.Minute), 0) // too early
	check(due.Add(-9*time.Minute), 1)  // reminder
	check(due.Add(-1*time.Minute), 0)  // already reminded
	check(due, 1)                      // due now
	check(due.Add(4*time.Minute), 0)   // grace
	check(due.Add(5*time.Minute), 1)   // overdue: escalate
	check(due.Add(60*time.Minute), 0)  // escalated once

	msgs, _ := h.outbox.Messages(ctx, inc.ID)
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind+"/"+m.Audience)
	}
	if got := strings.Join(kinds, " "); got != "status/stakeholders reminder/leads reminder/leads overdue/leads" {
		t.Fatalf("messages: %s", got)
	}
	// The leads' thread is named for what it is, not after its first
	// message ("Update due at 05:17 CET" over an escalation).
	for _, m := range msgs[1:] {
		if want := "[" + inc.Ref + "] For the leads: " + inc.Title; m.Subject != want {
			t.Errorf("%s to the leads: subject %q, want %q", m.Kind, m.Subject, want)
		}
	}
	// Deliver and check who got what.
	for _, m := range msgs {
		for {
			n, err := h.outbox.DeliverBatch(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	if got := f.copies("vp@example.test"); len(got) != 3 {
		t.Errorf("the comms lead gets two reminders and the escalation: %d", len(got))
	}
	if got := f.copies("lead@example.test"); len(got) != 1 || got[0] != msgs[3].MessageID {
		t.Errorf("the incident lead gets the escalation only: %v", got)
	}
	if got := f.copies("backup@example.test"); len(got) != 1 {
		t.Errorf("the backup gets the escalation: %v", got)
	}
	inc, _ = h.incidents.Get(ctx, inc.Ref)
	if inc.Promise.Status != "overdue" {
		t.Errorf("status %s", inc.Promise.Status)
	}
	tl, _ := h.incidents.Timeline(ctx, inc.Ref)
	var overdue int
	for _, ev := range tl {
		if ev.Kind == "overdue" {
			overdue++
		}
	}
	if overdue != 1 {
		t.Errorf("the escalation goes on the timeline once, got %d", overdue)
	}
	// A late update books a broken promise and starts a new one.
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Late, sorry.", Next: "30m", Groups: []string{"everyone"}}); err != nil {
		t.Fatal(err)
	}
	inc, _ = h.incidents.Get(ctx, inc.Ref)
	if inc.Promise.Promised != 1 || inc.Promise.Kept != 0 || inc.Promise.Status != "on_time" {
		t.Errorf("after a late update: %+v", inc.Promise)
	}
}

// A holding update says "no change" once, and a hold sent before any
// update does not speak of a last update.
func TestHoldingUpdateSaysItsSentenceOnce(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, _ := smallOrg(2)
	h := newHarness(t, f.addr, org, false)
	ctx := context.Background()
	inc := h.declare(t)
	text := func() string {
		t.Helper()
		res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Holding: true, Next: "30m", Groups: []string{"everyone"}, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		return res.Previews[0].Text
	}
	if got := text(); strings.Contains(got, "last update") || !strings.Contains(got, "nothing new to report yet") {
		t.Errorf("a hold as the first update:\n%s", got)
	}
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Looking.", Next: "30m", Groups: []string{"everyone"}}); err != nil {
		t.Fatal(err)
	}
	if got := text(); strings.Count(got, "No change since the last update") != 1 {
		t.Errorf("a hold says its sentence once:\n%s", got)
	}
}
