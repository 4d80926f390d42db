package postmortem_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-ical"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// TestInvitationCarriesTheBridge: a remote post-mortem's iMIP invitation
// has the bridge's video link as its location, the dial-in as CONFERENCE
// and in the description; one moved to a call of its own leaves the
// bridge's numbers out, since they dial into another call.
func TestInvitationCarriesTheBridge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{settings: func(s *postmortem.Settings) {
		s.VideoLink = "https://meet.example.test/ops"
		s.Phones, s.PIN = []string{"+1 555 0100"}, "4711#"
	}})
	ctx := context.Background()
	inc := h.resolved(t)
	remote := true
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true, Remote: &remote}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, inc.Ref, postmortem.StateBooked)
	waitFor(t, "the invitation", func() bool { return len(h.sent.to("r1@example.test", "Post-mortem")) == 1 })
	vev := invitation(t, h.sent.to("r1@example.test", "Post-mortem")[0])
	if loc, _ := vev.Props.Text("LOCATION"); loc != "https://meet.example.test/ops" {
		t.Errorf("LOCATION %q, want the bridge's video link", loc)
	}
	if desc, _ := vev.Props.Text("DESCRIPTION"); !strings.HasSuffix(desc, "Join:\nVideo: https://meet.example.test/ops\nPhone: +1 555 0100\nPIN: 4711#") {
		t.Errorf("DESCRIPTION does not end with the bridge:\n%s", desc)
	}
	var uris []string
	for _, p := range vev.Props.Values("CONFERENCE") {
		uris = append(uris, p.Value)
	}
	if strings.Join(uris, " ") != "https://meet.example.test/ops tel:+1-555-0100,,4711%23" {
		t.Errorf("CONFERENCE %v", uris)
	}

	// Moved, and to a call of its own: the bridge's numbers stay out.
	if _, err := h.svc.Reschedule(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true, VideoLink: "https://video.example.test/pm-1"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, inc.Ref, postmortem.StateBooked)
	waitFor(t, "the update", func() bool { return len(h.sent.to("r1@example.test", "Post-mortem")) == 2 })
	vev = invitation(t, h.sent.to("r1@example.test", "Post-mortem")[1])
	desc, _ := vev.Props.Text("DESCRIPTION")
	if strings.Contains(desc, "555") || !strings.HasSuffix(desc, "Join:\nVideo: https://video.example.test/pm-1") {
		t.Errorf("DESCRIPTION of a post-mortem with its own call:\n%s", desc)
	}
	for _, p := range vev.Props.Values("CONFERENCE") {
		if strings.HasPrefix(p.Value, "tel:") {
			t.Errorf("CONFERENCE %s beside a call of its own", p.Value)
		}
	}
}

func invitation(t *testing.T, raw []byte) *ical.Event {
	t.Helper()
	ics, _ := calendarPart(t, raw)
	cal, err := calendar.Decode(bytes.NewReader(ics))
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, ics)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	return &evs[0]
}
