package postmortem_test

import (
	"context"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// TestScheduledListsBookedPostmortems: the status page's calendar gets the
// booked post-mortems of a window, with their incident and room, and
// without their attendees (the feed names no one); a draft is not in it.
func TestScheduledListsBookedPostmortems(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx := context.Background()
	inc := h.resolved(t)
	if _, err := h.svc.Get(ctx, inc.Ref); err != nil { // a draft, gathered, not booked
		t.Fatal(err)
	}
	from, to := resolvedAt.Add(-24*time.Hour), resolvedAt.Add(30*24*time.Hour)
	if list, err := h.svc.Scheduled(ctx, from, to); err != nil || len(list) != 0 {
		t.Fatalf("a draft is not scheduled: %v %+v", err, list)
	}
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	booked := h.waitState(t, inc.Ref, postmortem.StateBooked)
	list, err := h.svc.Scheduled(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Incident != inc.Ref || list[0].UID != booked.UID || list[0].Start == nil || !list[0].Start.Equal(*booked.Start) ||
		list[0].Room == nil || len(list[0].Attendees) != 0 {
		t.Fatalf("scheduled: %+v", list)
	}
	if list, err := h.svc.Scheduled(ctx, booked.Start.Add(time.Minute), to); err != nil || len(list) != 0 {
		t.Fatalf("a window after its start: %v %+v", err, list)
	}
}
