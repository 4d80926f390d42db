package postmortem_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/google"
	"github.com/sitrep-dev/sitrep/internal/calendar/googlefake"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// googleHarness books through googlefake, with the bridge configured;
// client, when given, carries the calls (to see or delay them).
func googleHarness(t *testing.T, fake *googlefake.Server, client *http.Client) *harness {
	t.Helper()
	fake.Primary = "vp@example.test"
	if client == nil {
		client = fake.Client()
	}
	return newHarness(t, options{
		settings: func(s *postmortem.Settings) {
			s.VideoLink = "https://meet.example.test/ops"
			s.Phones, s.PIN = []string{"+1 555 0100", "+44 20 7946 0000"}, "4711#"
		},
		backend: func(h *harness) (calendar.Backend, string) {
			g, err := google.New(context.Background(), option.WithHTTPClient(client), option.WithoutAuthentication(),
				option.WithEndpoint(fake.CalendarEndpoint()))
			if err != nil {
				t.Fatal(err)
			}
			return g, "google"
		},
	})
}

// eventGets counts events.get calls: how often the calendar was asked.
func eventGets(fake *googlefake.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/events/") {
			n++
		}
	}
	return n
}

func rsvps(t *testing.T, h *harness, ref string) []string {
	t.Helper()
	tl, err := h.incidents.Timeline(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		if e.Kind == "postmortem_rsvp" {
			out = append(out, e.Text)
		}
	}
	return out
}

func partstat(t *testing.T, h *harness, ref, email string) string {
	t.Helper()
	pm, err := h.svc.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pm.Attendees {
		if p.Email == email {
			return p.PartStat
		}
	}
	t.Fatalf("%s not on the list", email)
	return ""
}

// TestAnswersReadBackFromGoogle: an attendee declines in Google Calendar;
// one read of the answers puts DECLINED on the list and one line on the
// timeline; reading again adds nothing, and the calendar is asked at most
// once per interval and not after the meeting is a day past.
func TestAnswersReadBackFromGoogle(t *testing.T) {
	t.Parallel()
	fake := googlefake.New()
	t.Cleanup(fake.Close)
	h := googleHarness(t, fake, nil)
	ctx := context.Background()
	inc := h.resolved(t)
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	pm := h.waitState(t, inc.Ref, postmortem.StateBooked)

	// The bridge is in the event: dial-in and PIN in the description.
	ev, _ := fake.Event("primary", pm.Booking.ID)
	desc, _ := ev["description"].(string)
	if !strings.Contains(desc, "Video: https://meet.example.test/ops\nPhone: +1 555 0100\nPhone: +44 20 7946 0000\nPIN: 4711#") {
		t.Errorf("description without the bridge:\n%s", desc)
	}

	if err := fake.SetResponse("primary", pm.Booking.ID, "r1@example.test", "declined"); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetResponse("primary", pm.Booking.ID, "lead@example.test", "accepted"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.CheckResponses(ctx); err != nil {
		t.Fatal(err)
	}
	if got := partstat(t, h, inc.Ref, "r1@example.test"); got != "DECLINED" {
		t.Errorf("r1 %s, want DECLINED", got)
	}
	if got := partstat(t, h, inc.Ref, "lead@example.test"); got != "ACCEPTED" {
		t.Errorf("lead %s, want ACCEPTED", got)
	}
	if got := partstat(t, h, inc.Ref, "r2@example.test"); got != "NEEDS-ACTION" {
		t.Errorf("r2 %s, want NEEDS-ACTION (no answer yet)", got)
	}
	want := []string{"lead@example.test accepted the post-mortem invitation", "r1@example.test declined the post-mortem invitation"}
	got := rsvps(t, h, inc.Ref)
	if len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
		t.Fatalf("timeline answers %q, want %q", got, want)
	}

	// Within the interval the calendar is not asked again.
	asked := eventGets(fake)
	if err := h.svc.CheckResponses(ctx); err != nil {
		t.Fatal(err)
	}
	if n := eventGets(fake); n != asked {
		t.Errorf("asked the calendar %d more times within the interval", n-asked)
	}
	// After it, it is; nothing changed, nothing is added.
	h.clock.Set(h.clock.Now().Add(6 * time.Minute))
	if err := h.svc.CheckResponses(ctx); err != nil {
		t.Fatal(err)
	}
	if n := eventGets(fake); n != asked+1 {
		t.Errorf("asked the calendar %d times after the interval, want once", n-asked)
	}
	if got := rsvps(t, h, inc.Ref); len(got) != 2 {
		t.Errorf("a second read added to the timeline: %q", got)
	}

	// A changed mind is news once.
	if err := fake.SetResponse("primary", pm.Booking.ID, "r1@example.test", "tentative"); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(h.clock.Now().Add(6 * time.Minute))
	if err := h.svc.CheckResponses(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rsvps(t, h, inc.Ref); len(got) != 3 || got[2] != "r1@example.test tentatively accepted the post-mortem invitation" {
		t.Errorf("timeline answers %q, want r1's change last", got)
	}

	// Answered events can still be moved (each answer changed the event's
	// ETag at Google).
	if _, err := h.svc.Reschedule(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	if moved := h.waitState(t, inc.Ref, postmortem.StateBooked); moved.BookingError != "" {
		t.Errorf("move after answers: %s", moved.BookingError)
	}
	pm, _ = h.svc.Get(ctx, inc.Ref)

	// A day after the meeting the calendar is left alone.
	h.clock.Set(pm.End.Add(25 * time.Hour))
	asked = eventGets(fake)
	if err := h.svc.CheckResponses(ctx); err != nil {
		t.Fatal(err)
	}
	if n := eventGets(fake); n != asked {
		t.Errorf("asked the calendar %d times a day after the meeting", n-asked)
	}
}

// TestBookingKeepsGooglesRetryAfter: a 429 that names a wait is retried
// after that wait, not at River's first backoff (about a second).
func TestBookingKeepsGooglesRetryAfter(t *testing.T) {
	t.Parallel()
	fake := googlefake.New()
	t.Cleanup(fake.Close)
	const wait = 3 * time.Second
	var (
		mu      sync.Mutex
		once    sync.Once
		inserts []time.Time
	)
	inner := fake.Client().Transport
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			once.Do(func() { fake.FailNextRetryAfter(1, http.StatusTooManyRequests, "rateLimitExceeded", wait) })
			mu.Lock()
			inserts = append(inserts, time.Now())
			mu.Unlock()
		}
		return inner.RoundTrip(r)
	})}
	h := googleHarness(t, fake, client)
	inc := h.resolved(t)
	if _, err := h.svc.Book(context.Background(), "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, inc.Ref, postmortem.StateBooked)
	mu.Lock()
	defer mu.Unlock()
	if len(inserts) != 2 {
		t.Fatalf("%d inserts, want the refused one and the retry", len(inserts))
	}
	if gap := inserts[1].Sub(inserts[0]); gap < wait {
		t.Errorf("retried after %s, want at least the %s Google asked for", gap, wait)
	}
}
