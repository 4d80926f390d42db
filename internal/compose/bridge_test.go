package compose

import (
	"strings"
	"testing"
)

// TestBridgeTravelsWithHeadsUpAndInvite: the conference bridge is in the
// heads-up and in the post-mortem invitation when configured, and absent
// otherwise.
func TestBridgeTravelsWithHeadsUpAndInvite(t *testing.T) {
	r, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	const bridge = "+1 555 0100, PIN 4711#"
	heads := SampleData(KindHeadsUp).(HeadsUpData)
	invite := SampleData(KindPostmortemInvite).(PostmortemInviteData)
	for name, tc := range map[string]struct {
		kind Kind
		data func(string) any
	}{
		"headsup":    {KindHeadsUp, func(b string) any { d := heads; d.Incident.Bridge = b; return d }},
		"invitation": {KindPostmortemInvite, func(b string) any { d := invite; d.Incident.Bridge = b; return d }},
	} {
		with, err := r.Render(tc.kind, tc.data(bridge))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(with.Text, "4711#") {
			t.Errorf("%s lacks the bridge:\n%s", name, with.Text)
		}
		without, err := r.Render(tc.kind, tc.data(""))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(without.Text), "bridge") {
			t.Errorf("%s mentions a bridge that is not configured:\n%s", name, without.Text)
		}
	}
}
