package incident_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// overdueText is in the text of the overdue escalation, and of no other
// message to the leads.
const overdueText = "and nothing has gone out"

// overdue declares an incident with no incident lead, sends an update
// promising the next in 30 minutes, and lets it go 5 minutes overdue.
func overdue(t *testing.T, h *commsHarness) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2",
		Roles: incident.Roles{CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking into it.", Next: "30m", Groups: []string{"exec"}}); err != nil {
		t.Fatal(err)
	}
	h.clock.t = h.clock.t.Add(35 * time.Minute)
	if n, err := h.comms.CheckPromises(ctx); err != nil || n != 1 {
		t.Fatalf("the overdue check sent %d, %v", n, err)
	}
	h.deliver(t, inc)
	return inc
}

// Issue 17: an incident with no incident lead and no backup escalated an
// overdue update to nobody but the comms lead who missed it, and nobody
// was told at declare. With escalation.fallback_group the escalation also
// goes to that group, read here by one of its members (not a lead); the
// warning says who will hear.
func TestOverdueWithoutIncidentLeadEscalatesToTheFallbackGroup(t *testing.T) {
	t.Parallel()
	h := newCommsHarness(t)
	h.comms.FallbackGroup = "oncall-managers"
	if err := h.comms.CheckConfig(); err != nil {
		t.Fatal(err)
	}
	inc := overdue(t, h)
	got := h.recipients(t, overdueText)
	slices.Sort(got)
	if strings.Join(got, " ") != "mgr@x.test vp@x.test" {
		t.Fatalf("the escalation went to %v, want the fallback group's manager and the comms lead", got)
	}
	text := h.textTo(t, "mgr@x.test", overdueText)
	if !strings.Contains(text, "was due at") || !strings.Contains(text, "Vera Price, the comms lead, was reminded") {
		t.Errorf("the fallback group's copy:\n%s", text)
	}
	w := h.comms.Warnings(inc)
	if len(w) != 1 || !strings.Contains(w[0], "No incident lead and no backup") || !strings.Contains(w[0], "On-call managers group") {
		t.Errorf("warnings %q", w)
	}
}

// Without a fallback group the escalation cannot reach anyone else, and
// the warning says so; with an incident lead there is nothing to warn of
// and the fallback group is not troubled.
func TestNoIncidentLeadIsWarnedOfAndALeadIsEscalatedTo(t *testing.T) {
	t.Parallel()
	h := newCommsHarness(t)
	inc := overdue(t, h)
	if got := h.recipients(t, overdueText); strings.Join(got, " ") != "vp@x.test" {
		t.Fatalf("without a fallback group: %v", got)
	}
	w := h.comms.Warnings(inc)
	if len(w) != 1 || !strings.Contains(w[0], "nobody but the comms lead who missed it") || !strings.Contains(w[0], "escalation.fallback_group") {
		t.Errorf("warnings %q", w)
	}

	h2 := newCommsHarness(t)
	h2.comms.FallbackGroup = "oncall-managers"
	ctx := context.Background()
	led, err := h2.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Search slow", Severity: "SEV3",
		Roles: incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := h2.comms.Warnings(led); len(w) != 0 {
		t.Errorf("an incident with a lead: warnings %q", w)
	}
	if _, err := h2.comms.SendUpdate(ctx, "vp@x.test", led.Ref, incident.UpdateInput{Status: "Looking.", Next: "30m", Groups: []string{"exec"}}); err != nil {
		t.Fatal(err)
	}
	h2.clock.t = h2.clock.t.Add(35 * time.Minute)
	if _, err := h2.comms.CheckPromises(ctx); err != nil {
		t.Fatal(err)
	}
	h2.deliver(t, led)
	got := h2.recipients(t, overdueText)
	slices.Sort(got)
	if strings.Join(got, " ") != "lead@x.test vp@x.test" {
		t.Errorf("with a lead the escalation goes to the lead and the comms lead: %v", got)
	}
}

// The fallback group is checked against the directory at start.
func TestFallbackGroupMustBeInTheDirectory(t *testing.T) {
	t.Parallel()
	h := newCommsHarness(t)
	h.comms.FallbackGroup = "oncall-manager"
	err := h.comms.CheckConfig()
	if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "escalation.fallback_group") || !strings.Contains(err.Error(), `did you mean "oncall-managers"`) {
		t.Fatalf("an unknown fallback group: %v", err)
	}
}
