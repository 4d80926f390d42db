package google

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/calendar/googlefake"
	"github.com/sitrep-dev/sitrep/internal/errs"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

func newFakeGoogle(t *testing.T) (*Calendar, *googlefake.Server) {
	t.Helper()
	fake := googlefake.New()
	t.Cleanup(fake.Close)
	fake.Primary = "facilitator@example.test"
	g, err := New(context.Background(),
		option.WithEndpoint(fake.CalendarEndpoint()),
		option.WithHTTPClient(fake.Client()),
		option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return g, fake
}

func TestGoogleEventID(t *testing.T) {
	t.Parallel()
	id := EventID("pm-INC-42@sitrep.example.test")
	if !regexp.MustCompile(`^[a-v0-9]{5,1000}$`).MatchString(id) {
		t.Errorf("id %q is not base32hex lower case, 5-1024 long", id)
	}
	if id != EventID("pm-INC-42@sitrep.example.test") || id == EventID("pm-INC-43@sitrep.example.test") {
		t.Error("ids are not stable per UID, or collide")
	}
}

func TestGoogleBookRescheduleCancel(t *testing.T) {
	t.Parallel()
	g, fake := newFakeGoogle(t)
	ctx := context.Background()
	ev := calendar.SampleEvent()
	ev.Sequence = 0
	ev.CreateMeet = true
	ev.RequestID = "req-1"

	b, err := g.Book(ctx, ev)
	if err != nil {
		t.Fatalf("Book: %v", err)
	}
	if b.ID != EventID(ev.UID) || b.ETag == "" || !strings.HasPrefix(b.MeetLink, "https://meet.google.com/") || b.HTMLLink == "" {
		t.Errorf("booking = %+v", b)
	}
	stored, ok := fake.Event("primary", b.ID)
	if !ok {
		t.Fatal("event not stored")
	}
	if stored["iCalUID"] != ev.UID || stored["summary"] != ev.Summary {
		t.Errorf("stored event: %v", stored)
	}
	var atts []struct {
		Email    string `json:"email"`
		Optional bool   `json:"optional"`
		Resource bool   `json:"resource"`
	}
	raw, _ := json.Marshal(stored["attendees"])
	_ = json.Unmarshal(raw, &atts)
	if len(atts) != 3 {
		t.Fatalf("attendees %s, want Ana, Eve (optional) and the room", raw)
	}
	for _, a := range atts {
		switch a.Email {
		case "exec@example.test":
			if !a.Optional {
				t.Error("exec not optional")
			}
		case "atlas@resource.example.test":
			if !a.Resource {
				t.Error("room not a resource attendee")
			}
		case "ana@example.test":
		default:
			t.Errorf("unexpected attendee %s", a.Email)
		}
	}
	insert := fake.Requests()[0]
	if insert.Query.Get("sendUpdates") != "all" || insert.Query.Get("conferenceDataVersion") != "1" {
		t.Errorf("insert query %v", insert.Query)
	}

	// The job is retried after the first insert got through: same event.
	again, err := g.Book(ctx, ev)
	if err != nil {
		t.Fatalf("Book again: %v", err)
	}
	if again.ID != b.ID || again.MeetLink != b.MeetLink {
		t.Errorf("second Book = %+v, want the first %+v", again, b)
	}

	// Room and people are busy at the booked time now.
	busy, err := g.Busy(ctx, []string{"ana@example.test", "atlas@resource.example.test", "nobody@example.test"}, ev.Start.Add(-time.Hour), ev.End.Add(time.Hour))
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	if len(busy["atlas@resource.example.test"]) != 1 || !busy["atlas@resource.example.test"][0].Start.Equal(ev.Start) {
		t.Errorf("room busy = %v", busy)
	}
	if len(busy["nobody@example.test"]) != 0 {
		t.Errorf("nobody busy = %v", busy["nobody@example.test"])
	}

	moved := ev
	moved.Start, moved.End = ev.Start.Add(24*time.Hour), ev.End.Add(24*time.Hour)
	b2, err := g.Reschedule(ctx, *b, moved)
	if err != nil {
		t.Fatalf("Reschedule: %v", err)
	}
	if b2.Sequence != 1 || b2.ETag == b.ETag {
		t.Errorf("rescheduled = %+v", b2)
	}
	stored, _ = fake.Event("primary", b.ID)
	if start := stored["start"].(map[string]any)["dateTime"]; start != "2026-03-11T14:00:00Z" {
		t.Errorf("stored start %v", start)
	}
	last := fake.Requests()[len(fake.Requests())-1]
	if last.Method != http.MethodPatch || last.Header.Get("If-Match") != b.ETag || last.Query.Get("sendUpdates") != "all" {
		t.Errorf("patch request %s if-match %q query %v", last.Method, last.Header.Get("If-Match"), last.Query)
	}
	// Someone moved it in Calendar Calendar since: the stale booking loses.
	if _, err := g.Reschedule(ctx, *b, ev); !errors.Is(err, calendar.ErrChanged) {
		t.Errorf("Reschedule with a stale ETag: %v, want ErrChanged", err)
	}

	if err := g.Cancel(ctx, *b2); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if last := fake.Requests()[len(fake.Requests())-1]; last.Method != http.MethodDelete || last.Query.Get("sendUpdates") != "all" {
		t.Errorf("cancel request %s %v", last.Method, last.Query)
	}
	if err := g.Cancel(ctx, *b2); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("second Cancel: %v, want ErrGone", err)
	}
	if _, err := g.Reschedule(ctx, *b2, moved); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("Reschedule after cancel: %v, want ErrGone", err)
	}
	if _, err := g.Book(ctx, ev); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("Book with a cancelled UID: %v, want ErrGone", err)
	}
}

func TestGoogleErrors(t *testing.T) {
	t.Parallel()
	g, fake := newFakeGoogle(t)
	ctx := context.Background()
	ev := calendar.SampleEvent()

	for _, tc := range []struct {
		status int
		reason string
	}{{429, "rateLimitExceeded"}, {403, "rateLimitExceeded"}, {403, "userRateLimitExceeded"}, {503, "backendError"}} {
		fake.FailNext(1, tc.status, tc.reason)
		_, err := g.Book(ctx, ev)
		var r *calendar.RetryableError
		if !errors.As(err, &r) || r.Status != tc.status || r.Reason != tc.reason {
			t.Errorf("%d %s: %v, want retryable", tc.status, tc.reason, err)
		}
	}
	fake.FailNext(1, 429, "rateLimitExceeded")
	if _, err := g.Busy(ctx, []string{"ana@example.test"}, ev.Start, ev.End); !calendar.IsRetryable(err) {
		t.Errorf("free/busy rate limited: %v, want retryable", err)
	}

	fake.NoDelegation = true
	_, err := g.Book(ctx, ev)
	if !errs.Is(err, errs.Forbidden) || calendar.IsRetryable(err) || !strings.Contains(err.Error(), "domain-wide delegation") {
		t.Errorf("no delegation: %v, want a forbidden error that says what to do", err)
	}
}

func TestGoogleRoomsFromDirectory(t *testing.T) {
	t.Parallel()
	fake := googlefake.New()
	defer fake.Close()
	fake.AddRoom(googlefake.Room{Email: "atlas@resource.example.test", Name: "Atlas", BuildingID: "hq", Floor: "3", Capacity: 8, Features: []string{"Whiteboard", "Video"}})
	fake.AddRoom(googlefake.Room{Email: "proj@resource.example.test", Name: "Projector 1", Category: "OTHER", Capacity: 0})
	for i := range 3 {
		fake.AddRoom(googlefake.Room{Email: "booth" + string(rune('a'+i)) + "@resource.example.test", Name: "Booth", BuildingID: "hq", Capacity: 1})
	}
	r, err := NewRooms(context.Background(),
		option.WithEndpoint(fake.AdminEndpoint()), option.WithHTTPClient(fake.Client()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := r.Rooms(context.Background())
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	if len(rooms) != 4 {
		t.Fatalf("rooms = %+v, want Atlas and 3 booths (not the projector)", rooms)
	}
	a := rooms[0]
	if a.Email != "atlas@resource.example.test" || a.Capacity != 8 || a.Building != "hq" || a.Floor != "3" || !a.Has("whiteboard") || !a.Has("Video") {
		t.Errorf("Atlas = %+v", a)
	}
}

// A Retry-After on a rate-limited answer is the wait the caller keeps.
func TestGoogleRetryAfter(t *testing.T) {
	t.Parallel()
	g, fake := newFakeGoogle(t)
	ev := calendar.SampleEvent()
	fake.FailNextRetryAfter(1, http.StatusTooManyRequests, "rateLimitExceeded", 7*time.Second)
	_, err := g.Book(context.Background(), ev)
	var r *calendar.RetryableError
	if !errors.As(err, &r) || r.RetryAfter != 7*time.Second {
		t.Fatalf("Book: %v (%+v), want retryable after 7s", err, r)
	}
	fake.FailNext(1, http.StatusServiceUnavailable, "backendError")
	if _, err := g.Book(context.Background(), ev); !errors.As(err, &r) || r.RetryAfter != 0 {
		t.Errorf("503 without Retry-After: %v (%+v), want retryable with no wait named", err, r)
	}
}

// The dial-in numbers and PIN travel in the description; the location is
// the room, else the video link.
func TestGoogleEventCarriesTheBridge(t *testing.T) {
	t.Parallel()
	g, fake := newFakeGoogle(t)
	ctx := context.Background()
	ev := calendar.SampleEvent()
	ev.Phones, ev.PIN = []string{"+1 555 0100", "+44 20 7946 0000"}, "4711#"
	b, err := g.Book(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := fake.Event("primary", b.ID)
	desc, _ := stored["description"].(string)
	for _, want := range []string{ev.Description, "Join:\nVideo: " + ev.VideoLink, "Phone: +1 555 0100\nPhone: +44 20 7946 0000\nPIN: 4711#"} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q:\n%s", want, desc)
		}
	}
	if stored["location"] != "Atlas, HQ, floor 3" {
		t.Errorf("location %v, want the room", stored["location"])
	}
	remote := ev
	remote.Room = nil
	remote.Start, remote.End = ev.Start.Add(time.Hour), ev.End.Add(time.Hour)
	if _, err := g.Reschedule(ctx, *b, remote); err != nil {
		t.Fatal(err)
	}
	stored, _ = fake.Event("primary", b.ID)
	if stored["location"] != ev.VideoLink {
		t.Errorf("remote location %v, want the video link", stored["location"])
	}
}

// Answers given in Google Calendar come back as PARTSTATs; rooms do not.
func TestGoogleResponses(t *testing.T) {
	t.Parallel()
	g, fake := newFakeGoogle(t)
	ctx := context.Background()
	ev := calendar.SampleEvent()
	b, err := g.Book(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	for email, status := range map[string]string{"Ana@example.test": "declined", "exec@example.test": "tentative", "atlas@resource.example.test": "accepted"} {
		if err := fake.SetResponse("primary", b.ID, email, status); err != nil {
			t.Fatal(err)
		}
	}
	if err := fake.SetResponse("primary", b.ID, "ana@example.test", "maybe"); err == nil {
		t.Error("the fake took a responseStatus Google does not list")
	}
	got, err := g.Responses(ctx, *b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ana@example.test": "DECLINED", "exec@example.test": "TENTATIVE"}
	if len(got) != len(want) {
		t.Errorf("responses %+v, want %v (no room)", got, want)
	}
	for _, r := range got {
		if want[r.Email] != r.PartStat {
			t.Errorf("%s: %s, want %s", r.Email, r.PartStat, want[r.Email])
		}
	}
	// The answers changed the event's ETag; the post-mortem can still be
	// moved: an answer is not the organizer's change.
	moved := ev
	moved.Start, moved.End = ev.Start.Add(time.Hour), ev.End.Add(time.Hour)
	b2, err := g.Reschedule(ctx, *b, moved)
	if err != nil {
		t.Fatalf("Reschedule after answers: %v", err)
	}
	stored, _ := fake.Event("primary", b.ID)
	if start := stored["start"].(map[string]any)["dateTime"]; start != "2026-03-10T15:00:00Z" || b2.ETag == b.ETag {
		t.Errorf("after the move: start %v, booking %+v", start, b2)
	}
	if err := g.Cancel(ctx, *b); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Responses(ctx, *b); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("responses of a cancelled event: %v, want ErrGone", err)
	}
}
