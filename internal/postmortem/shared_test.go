package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The shared timeline retells each kind of event for the attendees; the
// flow test plays the common ones through the real services, this one the
// kinds that are awkward to provoke there.
func TestSharedTimelineRetellsEachKind(t *testing.T) {
	t.Parallel()
	d := &directory.Directory{People: []directory.Person{
		{Email: "lead@example.test", Name: "Lars Eder", Team: "sre"},
		{Email: "vp@example.test", Name: "Vera Price", Team: "engineering"},
		{Email: "r1@example.test", Name: "Rita Weber", Team: "payments"},
	}}
	inc := &incident.Incident{Ref: "INC-1", Roles: incident.Roles{IncidentLead: "lead@example.test", CommsLead: "vp@example.test"}}
	pm := &Postmortem{Facilitator: "vp@example.test", Attendees: []Participant{{Email: "r1@example.test", Source: "responder"}}}
	r := newRedactor(d, inc, pm, []incident.Reporter{{Email: "zed@customer.test", Name: "Zed Quinn"}}, nil, "")
	at := time.Date(2026, 3, 6, 13, 0, 0, 0, time.UTC)
	events := []incident.Event{
		{Kind: incident.EventFieldChanged, Actor: "vp@example.test", Text: "roles: incident lead lead@example.test, comms lead vp@example.test, facilitator -"},
		{Kind: incident.EventFieldChanged, Actor: "vp@example.test", Text: "severity: SEV2 → SEV1"},
		{Kind: incident.EventNote, Actor: "sitrep", Text: "Delivery to zed@customer.test failed: 550", Data: map[string]any{"inbound": 4.0, "bounce": "zed@customer.test"}},
		{Kind: incident.EventReply, Actor: "zed@customer.test", Text: "Reply from zed@customer.test: still spinning"},
		{Kind: incident.EventReminder, Actor: "sitrep", Text: "Reminder to vp@example.test: next update due at 14:00 UTC"},
		{Kind: incident.EventNote, Actor: "lead@example.test", Text: "lead@example.test called Zed Quinn and other@partner.test; Rita restarted the pool"},
		{Kind: "summary_sent", Actor: "vp@example.test", Text: "Blameless summary sent to exec; lint OVERRIDDEN with 1 finding(s): name \"Rita Weber\""},
		{Kind: "confirmation", Actor: "zed@customer.test", Text: "Zed Quinn <zed@customer.test> says it is STILL BROKEN: not for me", Data: map[string]any{"state": "still_broken"}},
		{Kind: "some_future_kind", Actor: "sitrep", Text: "anything at all from zed@customer.test"},
	}
	for i := range events {
		events[i].At = at
	}
	var got []string
	for _, e := range r.timeline(events) {
		got = append(got, e.What+" | "+e.Who)
	}
	want := []string{
		"Incident roles reassigned | comms lead",
		"Severity: SEV2 → SEV1 | comms lead",
		"The incident lead called a reporter and someone; a responder from payments restarted the pool | incident lead",
		"Blameless summary sent to exec | comms lead",
		"A reporter says it is still broken | reporter",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("shared timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
