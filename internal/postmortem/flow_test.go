package postmortem_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/caldav"
	"github.com/sitrep-dev/sitrep/internal/calendar/google"
	"github.com/sitrep-dev/sitrep/internal/calendar/googlefake"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

func TestAttendeesAndProposalsFromAResolvedIncident(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx := context.Background()
	inc := h.resolved(t)

	pm, err := h.svc.Get(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // email → source; ceo optional
		"vp@example.test": "facilitator", "lead@example.test": "lead", "r1@example.test": "responder", "r2@example.test": "responder",
		"pm1@example.test": "group:product", "cs1@example.test": "group:customer-service", "ceo@example.test": "optional_group:exec",
	}
	if len(pm.Attendees) != len(want) {
		t.Fatalf("attendees %+v, want %v", pm.Attendees, want)
	}
	for _, a := range pm.Attendees {
		if want[a.Email] != a.Source || a.Optional != (a.Email == "ceo@example.test") || a.PartStat != "NEEDS-ACTION" {
			t.Errorf("attendee %+v, want source %q", a, want[a.Email])
		}
		if a.Email == "cs1@example.test" && a.TimeZone != "Europe/Berlin" {
			t.Errorf("cs1 has no zone of their own: the group's, Europe/Berlin, applies; got %q", a.TimeZone)
		}
	}
	if pm.Facilitator != "vp@example.test" || pm.State != postmortem.StateDraft {
		t.Errorf("facilitator %q state %q", pm.Facilitator, pm.State)
	}

	prop, err := h.svc.Propose(ctx, inc.Ref, postmortem.ProposeInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(prop.Slots) != 3 {
		t.Fatalf("want 3 slots, got %+v", prop.Slots)
	}
	ny, _ := time.LoadLocation("America/New_York")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for i, s := range prop.Slots {
		local := s.Start.In(ny)
		// Friday resolved, the weekend and Monday's holiday skipped: 1–2 business days are Tue 10 and Wed 11.
		if d := local.Format("2006-01-02"); d != "2026-03-10" && d != "2026-03-11" {
			t.Errorf("slot %d on %s, outside the window", i, d)
		}
		if local.Hour() < 9 || s.End.In(ny).After(time.Date(local.Year(), local.Month(), local.Day(), 17, 0, 0, 0, ny)) {
			t.Errorf("slot %d at %s, outside the organizer's working hours", i, local)
		}
		if s.Room == nil || s.Room.Name != "Atlas" || !s.Room.Has(calendar.FeatureWhiteboard) || s.Room.Capacity < len(pm.Attendees) {
			t.Errorf("slot %d room %+v: want Atlas, the smallest whiteboard room seating %d", i, s.Room, len(pm.Attendees))
		}
	}
	// The best slot also suits Berlin: inside 09:00–17:00 there too.
	best := prop.Slots[0]
	if b := best.End.In(berlin); b.Hour() > 17 || (b.Hour() == 17 && b.Minute() > 0) {
		t.Errorf("best slot ends %s in Berlin", b)
	}
	for _, r := range best.Reasons {
		if strings.Contains(r, "outside working hours") && !strings.HasPrefix(r, "optional") {
			t.Errorf("best slot has a required attendee outside working hours: %v", best.Reasons)
		}
	}
	stored, _ := h.svc.Get(ctx, inc.Ref)
	if len(stored.Proposals) != 3 || !stored.Proposals[0].Start.Equal(best.Start) {
		t.Errorf("proposals not stored: %+v", stored.Proposals)
	}

	// An unresolved incident has no post-mortem yet.
	other, err := h.incidents.Declare(ctx, "vp@example.test", incident.DeclareInput{Title: "Search slow", Severity: "SEV3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Propose(ctx, other.Ref, postmortem.ProposeInput{}); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("propose before resolution: %v, want a conflict", err)
	}
}

func TestAttendeesEditableBeforeBooking(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx := context.Background()
	inc := h.resolved(t)
	if _, err := h.svc.SetAttendee(ctx, "vp", inc.Ref, postmortem.AttendeeInput{Email: "owner@example.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetAttendee(ctx, "vp", inc.Ref, postmortem.AttendeeInput{Email: "pm1@example.test", Optional: true}); err != nil {
		t.Fatal(err)
	}
	pm, err := h.svc.RemoveAttendee(ctx, "vp", inc.Ref, "r2@example.test")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]postmortem.Participant{}
	for _, a := range pm.Attendees {
		got[a.Email] = a
	}
	if a, ok := got["owner@example.test"]; !ok || a.Name != "Olga Nunez" || a.Source != "added" || a.Optional {
		t.Errorf("added: %+v", a)
	}
	if !got["pm1@example.test"].Optional {
		t.Error("pm1 not optional")
	}
	if _, ok := got["r2@example.test"]; ok {
		t.Error("r2 not removed")
	}
	if _, err := h.svc.RemoveAttendee(ctx, "vp", inc.Ref, "vp@example.test"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("removing the facilitator: %v", err)
	}
	if _, err := h.svc.SetAttendee(ctx, "vp", inc.Ref, postmortem.AttendeeInput{Email: "not an address"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("bad address: %v", err)
	}

	// Booked: the list is frozen.
	if _, err := h.svc.Book(ctx, "vp", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, inc.Ref, postmortem.StateBooked)
	if _, err := h.svc.SetAttendee(ctx, "vp", inc.Ref, postmortem.AttendeeInput{Email: "r2@example.test"}); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("editing after booking: %v", err)
	}
}

// TestBookIMIPThroughPostfixAndDovecot is the embedded default's path on
// real mail servers: the invitation arrives in every mailbox, room
// included, as a text/calendar REQUEST an independent parser reads; a
// REPLY is recorded; the timeline goes out the day before, once; a move
// is SEQUENCE 1 and a cancellation a CANCEL.
func TestBookIMIPThroughPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "vp", "lead", "r1", "r2", "pm1", "cs1", "ceo", "atlas")
	h := newHarness(t, options{smtpAddr: ms.SMTPAddr})
	ctx := context.Background()
	inc := h.resolved(t)
	if _, err := h.svc.Propose(ctx, inc.Ref, postmortem.ProposeInput{}); err != nil {
		t.Fatal(err)
	}
	pm, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Slot: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if pm.State != postmortem.StateBooking {
		t.Errorf("state right after Book = %s", pm.State)
	}
	if got, _ := h.incidents.Get(ctx, inc.Ref); got.State != incident.Postmortem {
		t.Errorf("incident state %s, want postmortem", got.State)
	}
	pm = h.waitState(t, inc.Ref, postmortem.StateBooked)
	if pm.Booking == nil || pm.Booking.Backend != "imip" || pm.Room == nil || pm.Room.Name != "Atlas" {
		t.Fatalf("booked %+v", pm)
	}

	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	invite := func(user, method string, seq int) pyInvite {
		t.Helper()
		for {
			raws, err := ms.Messages(wait, user)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range raws {
				if !strings.Contains(string(raw), "text/calendar") {
					continue
				}
				ics, m := calendarPart(t, raw)
				inv := parseWithPython(t, ics)
				if m == method && inv.Method == method && inv.Sequence == seq {
					return inv
				}
			}
			if wait.Err() != nil {
				t.Fatalf("%s: no %s invitation with SEQUENCE %d over IMAP\n%s", user, method, seq, ms.LogTail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, user := range []string{"vp", "r1", "ceo", "atlas"} {
		inv := invite(user, "REQUEST", 0)
		if inv.UID != pm.UID || inv.Status != "CONFIRMED" || !strings.Contains(inv.Description, "Agenda") || !strings.Contains(inv.Description, "Declared INC-1") {
			t.Errorf("%s: invitation %+v", user, inv)
		}
		start, err := time.Parse(time.RFC3339, inv.DTStart)
		if err != nil || !start.Equal(*pm.Start) {
			t.Errorf("%s: DTSTART %s, booked %s", user, inv.DTStart, pm.Start)
		}
		if !strings.EqualFold(inv.Organizer.Value, "mailto:"+h.comms.ReplyTo(inc)) || inv.Organizer.Params["CN"] != "Vera Price" {
			t.Errorf("%s: ORGANIZER %+v: want the hub's reply address with the facilitator's name", user, inv.Organizer)
		}
		if p, ok := inv.attendee("ceo@example.test"); !ok || p["ROLE"] != "OPT-PARTICIPANT" {
			t.Errorf("%s: exec not optional: %v", user, p)
		}
		if p, ok := inv.attendee("r1@example.test"); !ok || p["ROLE"] != "REQ-PARTICIPANT" || p["RSVP"] != "TRUE" {
			t.Errorf("%s: r1 %v", user, p)
		}
		if p, ok := inv.attendee("atlas@example.test"); !ok || p["CUTYPE"] != "ROOM" {
			t.Errorf("%s: room %v", user, p)
		}
		if !strings.Contains(inv.Location, "Atlas") {
			t.Errorf("%s: location %q", user, inv.Location)
		}
	}

	// r1 accepts: the REPLY their client sends (RFC 5546 3.2.3).
	reply := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Mail client//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:" + pm.UID +
		"\r\nSEQUENCE:0\r\nDTSTAMP:20260306T160000Z\r\nATTENDEE;PARTSTAT=ACCEPTED;CN=Rita Weber:mailto:R1@example.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	h.inTx(t, func(tx *sql.Tx) error { return h.svc.RecordCalendarReply(ctx, tx, []byte(reply)) })
	pm, _ = h.svc.Get(ctx, inc.Ref)
	for _, a := range pm.Attendees {
		if a.Email == "r1@example.test" && (a.PartStat != "ACCEPTED" || a.RepliedAt == nil) {
			t.Errorf("r1 after REPLY: %+v", a)
		}
	}
	// A reply to someone else's invitation is not ours.
	other := strings.Replace(reply, pm.UID, "meeting-42@elsewhere.test", 1)
	h.inTx(t, func(tx *sql.Tx) error { return h.svc.RecordCalendarReply(ctx, tx, []byte(other)) })

	// The timeline goes out the day before, once.
	if err := h.svc.CheckTimelines(ctx); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(pm.Start.Add(-20 * time.Hour))
	for range 2 {
		if err := h.svc.CheckTimelines(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	timelines := 0
	for _, m := range msgs {
		if m.Kind == "timeline" {
			timelines++
			if m.Total != len(pm.Attendees) {
				t.Errorf("timeline to %d people, want %d", m.Total, len(pm.Attendees))
			}
		}
	}
	if timelines != 1 {
		t.Fatalf("%d timeline emails, want 1", timelines)
	}
	waitMailWith(t, wait, ms, "cs1", "Post-mortem timeline", "reply with corrections")

	// Moved to the second proposal: a REQUEST with SEQUENCE 1.
	h.clock.Set(resolvedAt.Add(time.Hour))
	if _, err := h.svc.Reschedule(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Slot: "2"}); err != nil {
		t.Fatal(err)
	}
	pm2 := h.waitState(t, inc.Ref, postmortem.StateBooked)
	if pm2.Sequence != 1 || pm2.Start.Equal(*pm.Start) || pm2.UID != pm.UID {
		t.Errorf("moved: %+v", pm2)
	}
	if inv := invite("r1", "REQUEST", 1); !strings.HasPrefix(inv.DTStart, pm2.Start.UTC().Format("2006-01-02T15:04")) {
		t.Errorf("moved invitation at %s, want %s", inv.DTStart, pm2.Start)
	}
	// Cancelled: METHOD:CANCEL, SEQUENCE 2, to everyone.
	if _, err := h.svc.Cancel(ctx, "vp@example.test", inc.Ref); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, inc.Ref, postmortem.StateCancelled)
	for _, user := range []string{"r1", "ceo"} {
		if inv := invite(user, "CANCEL", 2); inv.Status != "CANCELLED" || inv.UID != pm.UID {
			t.Errorf("%s: cancel %+v", user, inv)
		}
	}
	// Booking again after a cancellation uses a new UID.
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	if again := h.waitState(t, inc.Ref, postmortem.StateBooked); again.UID == pm.UID || again.Sequence != 0 {
		t.Errorf("re-booked with UID %s sequence %d", again.UID, again.Sequence)
	}
}

func waitMailWith(t *testing.T, ctx context.Context, ms *testenv.MailStack, user, subject, text string) {
	t.Helper()
	for {
		raws, _ := ms.Messages(ctx, user)
		for _, raw := range raws {
			if strings.Contains(subjectOf(raw), subject) && strings.Contains(strings.ReplaceAll(string(raw), "=\r\n", ""), text) {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: no %q mail containing %q", user, subject, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBookThroughGoogleFake books through the Calendar API fake, which
// checks every request against Google's discovery document; rooms come
// from the Directory API; the first insert is refused with 429 and the
// job's retry books it, once.
func TestBookThroughGoogleFake(t *testing.T) {
	t.Parallel()
	fake := googlefake.New()
	t.Cleanup(fake.Close)
	fake.Primary = "vp@example.test"
	fake.AddRoom(googlefake.Room{Email: "atlas@resource.example.test", Name: "Atlas", BuildingID: "HQ", Floor: "3", Capacity: 12, Features: []string{"Whiteboard"}})
	fake.AddRoom(googlefake.Room{Email: "nook@resource.example.test", Name: "Nook", BuildingID: "HQ", Floor: "1", Capacity: 3, Features: []string{"Whiteboard"}})
	var once sync.Once
	inner := fake.Client().Transport
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			once.Do(func() { fake.FailNext(1, http.StatusTooManyRequests, "rateLimitExceeded") })
		}
		return inner.RoundTrip(r)
	})}
	opts := []option.ClientOption{option.WithHTTPClient(client), option.WithoutAuthentication()}
	h := newHarness(t, options{
		settings: func(s *postmortem.Settings) { s.CreateMeet = true },
		backend: func(h *harness) (calendar.Backend, string) {
			g, err := google.New(context.Background(), append(opts, option.WithEndpoint(fake.CalendarEndpoint()))...)
			if err != nil {
				t.Fatal(err)
			}
			return g, "google"
		},
	})
	gr, err := google.NewRooms(context.Background(), append(opts, option.WithEndpoint(fake.AdminEndpoint()))...)
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Rooms = gr
	ctx := context.Background()
	inc := h.resolved(t)
	// Lars is busy Tuesday morning New York time: the slots avoid it.
	busyFrom := time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)
	fake.SetBusy("lead@example.test", busyFrom, busyFrom.Add(3*time.Hour))

	prop, err := h.svc.Propose(ctx, inc.Ref, postmortem.ProposeInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range prop.Slots {
		if s.Start.Before(busyFrom.Add(3*time.Hour)) && s.End.After(busyFrom) {
			t.Errorf("slot %s overlaps the lead's busy time", s.Start)
		}
		if s.Room == nil || s.Room.Email != "atlas@resource.example.test" {
			t.Errorf("slot room %+v: want Atlas from the Directory", s.Room)
		}
	}
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Slot: "1"}); err != nil {
		t.Fatal(err)
	}
	pm := h.waitState(t, inc.Ref, postmortem.StateBooked)
	if pm.Booking == nil || pm.Booking.ID != google.EventID(pm.UID) || !strings.HasPrefix(pm.Booking.MeetLink, "https://meet.google.com/") {
		t.Fatalf("booking %+v", pm.Booking)
	}
	var inserts, refused int
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/events") {
			inserts++
			if r.Status == http.StatusTooManyRequests {
				refused++
			}
			if r.Query.Get("sendUpdates") != "all" || r.Query.Get("conferenceDataVersion") != "1" {
				t.Errorf("insert query %v", r.Query)
			}
		}
	}
	if inserts != 2 || refused != 1 {
		t.Errorf("%d inserts (%d refused): want the 429 then one booking", inserts, refused)
	}
	ev, ok := fake.Event("primary", pm.Booking.ID)
	if !ok || ev["iCalUID"] != pm.UID {
		t.Fatalf("event not stored: %v", ev)
	}
	atts, _ := ev["attendees"].([]any)
	var people, resources int
	for _, a := range atts {
		m := a.(map[string]any)
		if m["resource"] == true {
			resources++
			if m["email"] != "atlas@resource.example.test" {
				t.Errorf("room %v", m)
			}
		} else {
			people++
		}
		if m["email"] == "ceo@example.test" && m["optional"] != true {
			t.Errorf("exec not optional: %v", m)
		}
	}
	if people != len(pm.Attendees) || resources != 1 {
		t.Errorf("stored attendees %v: want %d people and the room", atts, len(pm.Attendees))
	}
	if _, ok := ev["conferenceData"]; !ok {
		t.Error("no conference data: the Meet link was not asked for")
	}
	// No iMIP mail: Google sends the invitations.
	if got := h.sent.to("r1@example.test", "Post-mortem"); len(got) != 0 {
		t.Errorf("iMIP sent beside Google: %d", len(got))
	}
}

// TestBookThroughRadicale puts the event on the hub's CalDAV calendar and
// invites by iMIP beside it.
func TestBookThroughRadicale(t *testing.T) {
	t.Parallel()
	const hub = "hub@example.test"
	r := testenv.StartRadicale(t, hub)
	var dav *caldav.Calendar
	h := newHarness(t, options{backend: func(h *harness) (calendar.Backend, string) {
		var err error
		if dav, err = caldav.New(r.URL, hub, r.Password(hub), "/"+hub+"/postmortems/"); err != nil {
			t.Fatal(err)
		}
		if err := dav.EnsureCalendar(context.Background(), "Post-mortems"); err != nil {
			t.Fatalf("%v\n%s", err, r.LogTail())
		}
		h.svc.Invites = h.svc.IMIP()
		return dav, "caldav"
	}})
	ctx := context.Background()
	inc := h.resolved(t)
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	pm := h.waitState(t, inc.Ref, postmortem.StateBooked)
	if pm.Booking == nil || pm.Booking.Backend != "caldav" {
		t.Fatalf("booking %+v", pm.Booking)
	}
	u := url.URL{Path: pm.Booking.ID}
	req, _ := http.NewRequest(http.MethodGet, r.URL+u.EscapedPath(), nil)
	req.SetBasicAuth(hub, r.Password(hub))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	obj := strings.ReplaceAll(string(body), "\r\n ", "")
	if resp.StatusCode != 200 || !strings.Contains(obj, "UID:"+pm.UID) || !strings.Contains(obj, "mailto:r1@example.test") ||
		!strings.Contains(obj, "DTSTART:"+pm.Start.UTC().Format("20060102T150405Z")) || strings.Contains(obj, "METHOD:") {
		t.Fatalf("Radicale has %d:\n%s", resp.StatusCode, obj)
	}
	// And the invitations went by iMIP.
	waitFor(t, "the iMIP invitation beside CalDAV", func() bool { return len(h.sent.to("r1@example.test", "Post-mortem")) == 1 })
	ics, method := calendarPart(t, h.sent.to("r1@example.test", "Post-mortem")[0])
	if inv := parseWithPython(t, ics); method != "REQUEST" || inv.UID != pm.UID {
		t.Errorf("invitation %s %+v", method, inv)
	}
}

// A backend that refuses outright fails the booking, on the record.
func TestBookingRefusedIsReported(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{backend: func(h *harness) (calendar.Backend, string) {
		return refusing{h.svc.IMIP()}, "refusing"
	}})
	ctx := context.Background()
	inc := h.resolved(t)
	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	pm := h.waitState(t, inc.Ref, postmortem.StateFailed)
	if !strings.Contains(pm.BookingError, "forbidden") {
		t.Errorf("booking error %q", pm.BookingError)
	}
	tl, _ := h.incidents.Timeline(ctx, inc.Ref)
	if last := tl[len(tl)-1]; last.Kind != "postmortem_failed" {
		t.Errorf("last timeline event %+v", last)
	}
}

type refusing struct{ *calendar.IMIP }

func (refusing) Book(context.Context, calendar.Event) (*calendar.Booking, error) {
	return nil, errors.New("calendar: test: forbidden")
}
