package incident_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// commsLeads is the directory's comms leads, in order.
type commsLeads []string

func (c commsLeads) DefaultCommsLead(declarer string) string {
	if slices.Contains(c, declarer) {
		return declarer
	}
	if len(c) > 0 {
		return c[0]
	}
	return ""
}

// Every incident gets a comms lead, whom the reminders go to: the one
// named, else the declarer when a comms lead, else the first comms lead.
// Without CommsLeads the declaration keeps what it says.
func TestDeclareGivesEveryIncidentACommsLead(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	s.CommsLeads = commsLeads{"vp@x.test", "lead@x.test"}
	for _, c := range []struct {
		declarer, named, want string
	}{
		{"sre@x.test", "", "vp@x.test"},
		{"lead@x.test", "", "lead@x.test"},
		{"sre@x.test", "lead@x.test", "lead@x.test"},
	} {
		inc, err := s.Declare(context.Background(), c.declarer, incident.DeclareInput{Title: "Checkout down", Severity: "SEV2",
			Roles: incident.Roles{CommsLead: c.named}})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Roles.CommsLead != c.want {
			t.Errorf("declared by %s naming %q: comms lead %q, want %q", c.declarer, c.named, inc.Roles.CommsLead, c.want)
		}
	}
	s.CommsLeads = nil
	inc, err := s.Declare(context.Background(), "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Roles.CommsLead != "" {
		t.Errorf("without CommsLeads: comms lead %q, want none", inc.Roles.CommsLead)
	}
}
