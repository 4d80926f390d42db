package incident_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Issue 17: the emails showed segments and teams raw ("region: EU,
// region: US-East", "dba, sre"). Read as a responder (the heads-up) and
// an exec (the status email) get them, neither of whom is the lead: the
// segments said together, the teams by the directory's display names.
func TestEmailsSayScopeForPeople(t *testing.T) {
	t.Parallel()
	h := newCommsHarness(t)
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2",
		Scope: incident.Scope{DetectedVia: "monitoring", Extent: "subset", Segments: []string{"region: EU", "region: US-East"},
			Systems: []string{"checkout"}, Teams: []string{"dba", "SRE", "web"}},
		Roles: incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking into it.", Groups: []string{"exec"}}); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, inc)
	heads := h.textTo(t, "ann@x.test", "Heads-up")
	status := h.textTo(t, "exec@x.test", inc.Ref)
	for who, text := range map[string]string{"heads-up": heads, "status": status} {
		if !strings.Contains(text, "Who is affected:* the EU and US-East regions") || strings.Contains(text, "region:") {
			t.Errorf("%s: segments not written for people:\n%s", who, text)
		}
	}
	if !strings.Contains(status, "Teams:* the DBA, SRE and web teams") {
		t.Errorf("status: teams not by their display names:\n%s", status)
	}
	if !strings.Contains(heads, "Hi Ann Responder") {
		t.Errorf("the heads-up greets its recipient:\n%s", heads)
	}
}
