package ui

import (
	"strings"
	"testing"
)

// Issue 17: the incident page says when an overdue update would escalate
// to nobody but the comms lead (no incident lead, no backup), and not
// once the incident has a lead.
func TestIncidentPageWarnsWhenNobodyElseWouldHearOfAnOverdueUpdate(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	lead := e.login("lead@x.test")
	alone := e.declare("Checkout down")
	_, page := lead.get("/incidents/" + alone.Ref)
	if !strings.Contains(page, `class="warn escalation"`) || !strings.Contains(page, "nobody but the comms lead who missed it") {
		t.Fatalf("no warning on an incident without an incident lead:\n%s", page)
	}
	led := e.declareWithLeads("Search slow")
	if _, page = lead.get("/incidents/" + led.Ref); strings.Contains(page, `class="warn escalation"`) {
		t.Fatal("an incident with a lead must not carry the warning")
	}
}
