package intake_test

import (
	"reflect"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

// systems stands in for the directory's escalation lists.
type systems []string

func (s systems) Systems() []string { return s }

// org stands in for the directory's people, of whom the comms leads are told.
type org []directory.Person

func (o org) CommsLeads() []string {
	var out []string
	for _, p := range o {
		if p.HasRole(directory.RoleCommsLead) {
			out = append(out, p.Email)
		}
	}
	return out
}

// intake.notify names who is told of a new draft; without it, the comms
// leads are.
func TestDraftNoteGoesToNotifyElseTheCommsLeads(t *testing.T) {
	t.Parallel()
	people := org{{Email: "ann@example.com", Name: "Ann Lee", TimeZone: "Asia/Tokyo", Roles: []string{directory.RoleCommsLead}},
		{Email: "bob@example.com", Name: "Bob"}, {Email: "cy@example.com", Roles: []string{directory.RoleCommsLead}}}
	h := newHarness(t)
	h.svc.Notify, h.svc.CommsLeads = nil, people
	h.post(t, intake.Pingdom, "pingdom_down.json")
	var to []string
	for _, j := range h.notes.jobs {
		to = append(to, j.To)
	}
	if want := []string{"ann@example.com", "cy@example.com"}; !reflect.DeepEqual(to, want) {
		t.Fatalf("notes to %v, want the comms leads %v", to, want)
	}
	h.svc.Notify = []string{"bob@example.com"}
	h.notes.jobs = nil
	h.post(t, intake.Generic, "generic_firing.json")
	if len(h.notes.jobs) != 1 || h.notes.jobs[0].To != "bob@example.com" {
		t.Fatalf("with intake.notify: notes %+v, want bob's only", h.notes.jobs)
	}
}
