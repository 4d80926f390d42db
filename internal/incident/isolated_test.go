package incident_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Issue 17: "possibly isolated: verify before mobilising" went to execs and
// responders for an incident that monitoring had detected and someone had
// reproduced, and the heads-up said "verified: yes" and "being verified"
// in one list. The flag is for reports nobody has checked: not raised once
// verified or when monitoring saw it, and never beside "verified: yes".
// Read as a responder and an exec get it, neither of whom is the lead.
func TestPossiblyIsolatedOnlyWhileUnverified(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		via      string
		verified bool
		flagged  bool
	}{
		{"monitoring and reproduced", "monitoring", true, false},
		{"monitoring, not yet reproduced", "monitoring", false, false},
		{"a customer, reproduced", "customer", true, false},
		{"a customer, not yet checked", "customer", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newCommsHarness(t)
			ctx := context.Background()
			detail := ""
			if c.verified {
				detail = "reproduced from the office"
			}
			inc, err := h.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2",
				Scope:   incident.Scope{DetectedVia: c.via, Verified: c.verified, VerificationDetail: detail, Systems: []string{"checkout"}},
				Roles:   incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"},
				Reports: []incident.ReportInput{{Email: "cust@y.test", Location: "Berlin", Access: "web", Observed: "spinner"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking into it.", Groups: []string{"exec"}}); err != nil {
				t.Fatal(err)
			}
			h.deliver(t, inc)
			heads := h.textTo(t, "ann@x.test", "Heads-up")
			status := h.textTo(t, "exec@x.test", inc.Ref)
			for who, text := range map[string]string{"the responder's heads-up": heads, "the exec's status email": status} {
				if got := strings.Contains(strings.ToLower(text), "possibly isolated"); got != c.flagged {
					t.Errorf("%s: possibly isolated shown %v, want %v:\n%s", who, got, c.flagged, text)
				}
				if !strings.Contains(text, "1 report from 1 person in berlin via web") {
					t.Errorf("%s: the reports line is missing:\n%s", who, text)
				}
			}
			// One verification statement in the heads-up, and one that agrees.
			if c.verified && (strings.Contains(heads, "being verified") || !strings.Contains(heads, "verified: yes, reproduced from the office")) {
				t.Errorf("verified: the heads-up must say so once and not also 'being verified':\n%s", heads)
			}
			if !c.verified && (strings.Contains(heads, "verified: yes") || !strings.Contains(heads, "verified: not yet")) {
				t.Errorf("not verified: the heads-up must say 'not yet':\n%s", heads)
			}
		})
	}
}
