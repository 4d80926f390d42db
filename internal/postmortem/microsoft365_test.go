package postmortem_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/graphfake"
	"github.com/sitrep-dev/sitrep/internal/calendar/microsoft365"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

var _ postmortem.RoomLister = (*microsoft365.Calendar)(nil)

// TestBookThroughGraphFake runs the post-mortem on Microsoft 365: tokens
// from the Entra ID fake, every Graph request checked against Microsoft's
// CSDL by the Graph fake. Rooms come from the places API; the slot avoids
// every busy block; the first create is throttled (429) and the job's retry
// makes one event through the same transactionId; the booking carries the
// Teams link; an attendee's decline is read back by the poller and filed;
// the meeting is moved (after the answers changed its ETag) and cancelled.
func TestBookThroughGraphFake(t *testing.T) {
	t.Parallel()
	const mailbox = "postmortems@example.test"
	ctx := context.Background()

	entra := oauthfake.New(t, time.Hour)
	entra.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "sitrep-graph", Secret: "s3cret", Consent: true})
	fetcher, err := mailauth.NewMicrosoft(mailauth.MicrosoftConfig{Tenant: "contoso", ClientID: "sitrep-graph", ClientSecret: "s3cret",
		TokenURL: entra.MicrosoftTokenURL("contoso"), Scopes: []string{microsoft365.Scope}})
	if err != nil {
		t.Fatal(err)
	}
	fake := graphfake.New(t, graphfake.Options{Verify: graphfake.JWT(entra.PublicKeyPEM(), entra.Issuer)})
	fake.AddUser(mailbox, "Post-mortems")
	for _, p := range []string{"vp", "lead", "r1", "r2", "pm1", "cs1", "ceo", "owner", "fac"} {
		fake.AddUser(p+"@example.test", "")
	}
	// Atlas: the whiteboard (a tag) and the seats. Hall seats everyone but
	// has no whiteboard; Nook has one and seats three.
	fake.AddRoom(graphfake.Room{Email: "atlas@resource.example.test", DisplayName: "Atlas", Building: "HQ", FloorNumber: graphfake.Floor(3), Capacity: 12, Tags: []string{"Whiteboard"}})
	fake.AddRoom(graphfake.Room{Email: "hall@resource.example.test", DisplayName: "Hall", Building: "HQ", FloorNumber: graphfake.Floor(0), Capacity: 40})
	fake.AddRoom(graphfake.Room{Email: "nook@resource.example.test", DisplayName: "Nook", Building: "HQ", FloorLabel: "1st", Capacity: 3, Tags: []string{"Whiteboard"}})

	// Busy time of every kind getSchedule reports, on the window's two
	// days (Tuesday and Wednesday).
	type busyBlock struct {
		email      string
		start, end time.Time
		status     string
	}
	tue := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	wed := tue.AddDate(0, 0, 1)
	blocks := []busyBlock{
		{"lead@example.test", tue.Add(13 * time.Hour), tue.Add(16 * time.Hour), "busy"},
		{"r1@example.test", tue.Add(16 * time.Hour), tue.Add(18 * time.Hour), "oof"},
		{"pm1@example.test", wed.Add(13 * time.Hour), wed.Add(15 * time.Hour), "tentative"},
		{"atlas@resource.example.test", tue.Add(18 * time.Hour), tue.Add(19 * time.Hour), "busy"},
	}
	for _, b := range blocks {
		fake.SetBusy(b.email, b.start, b.end, b.status)
	}
	// The first create is throttled.
	fake.Inject(graphfake.Fault{Method: http.MethodPost, PathSuffix: "/events", Status: http.StatusTooManyRequests, Code: "ApplicationThrottled", RetryAfter: time.Second})

	var backend *microsoft365.Calendar
	h := newHarness(t, options{
		settings: func(s *postmortem.Settings) { s.CreateMeet = true },
		backend: func(h *harness) (calendar.Backend, string) {
			backend, err = microsoft365.New(microsoft365.Config{BaseURL: fake.BaseURL(), Organizer: mailbox,
				Tokens: mailauth.NewTokens(fetcher, mailauth.TokensOptions{}), HTTPClient: fake.Client(), AppID: "sitrep-graph"})
			if err != nil {
				t.Fatal(err)
			}
			return backend, "microsoft365"
		},
	})
	h.svc.Rooms = backend
	inc := h.resolved(t)

	prop, err := h.svc.Propose(ctx, inc.Ref, postmortem.ProposeInput{})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := h.svc.Get(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	invited := map[string]bool{}
	for _, p := range pm.Attendees {
		invited[p.Email] = !p.Optional
	}
	if len(prop.Slots) == 0 {
		t.Fatal("no slots proposed")
	}
	atlasBusy := blocks[len(blocks)-1]
	for i, s := range prop.Slots {
		t.Logf("proposal %d: %s, %v", i+1, s.Start.UTC().Format(time.RFC3339), s.Reasons)
		switch {
		case s.Room == nil || s.Room.Capacity < len(pm.Attendees):
			t.Errorf("slot %s room %+v: want one that seats %d (not Nook)", s.Start, s.Room, len(pm.Attendees))
		case i == 0 && s.Room.Email != "atlas@resource.example.test":
			t.Errorf("first slot %s in %s: want Atlas, the whiteboard room that seats everyone", s.Start, s.Room.Name)
		case s.Room.Email != "atlas@resource.example.test" && !(s.Start.Before(atlasBusy.end) && s.End.After(atlasBusy.start)):
			t.Errorf("slot %s in %s though Atlas is free then", s.Start, s.Room.Name)
		case s.Room.Email == "atlas@resource.example.test" && !s.Room.Has(calendar.FeatureWhiteboard):
			t.Errorf("Atlas without its whiteboard: %+v", s.Room)
		}
		for _, b := range blocks {
			concerned := invited[b.email] || (s.Room != nil && s.Room.Email == b.email)
			if concerned && s.Start.Before(b.end) && s.End.After(b.start) {
				t.Errorf("slot %s–%s overlaps %s's %s block %s–%s", s.Start, s.End, b.email, b.status, b.start, b.end)
			}
		}
	}

	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Slot: "1"}); err != nil {
		t.Fatal(err)
	}
	pm = h.waitState(t, inc.Ref, postmortem.StateBooked)
	if pm.Booking == nil || pm.Booking.Backend != "microsoft365" || !strings.HasPrefix(pm.Booking.MeetLink, "https://teams.microsoft.com/l/meetup-join/") {
		t.Fatalf("booking %+v", pm.Booking)
	}

	// One event, after the 429: the same transactionId both times.
	var creates []string
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/events") {
			var body struct {
				TransactionID string `json:"transactionId"`
			}
			_ = json.Unmarshal(r.Body, &body)
			creates = append(creates, body.TransactionID)
			if len(creates) == 1 && r.Status != http.StatusTooManyRequests {
				t.Errorf("first create answered %d, want the injected 429", r.Status)
			}
		}
	}
	if len(creates) != 2 || creates[0] == "" || creates[0] != creates[1] {
		t.Errorf("creates with transactionIds %q: want the 429 and its retry, with one id", creates)
	}
	if evs := fake.Events(); len(evs) != 1 || evs[0].ID != pm.Booking.ID || evs[0].Mailbox != mailbox {
		t.Fatalf("events stored: %+v", evs)
	}

	// The event as Exchange holds it: the room, the people, the Teams link.
	stored, _ := fake.Event(pm.Booking.ID)
	ev := stored.JSON
	if om, _ := ev["onlineMeeting"].(map[string]any); om["joinUrl"] != pm.Booking.MeetLink {
		t.Errorf("onlineMeeting %v, booking's link %s", ev["onlineMeeting"], pm.Booking.MeetLink)
	}
	if body := ev["body"].(map[string]any)["content"].(string); !strings.Contains(body, pm.Booking.MeetLink) {
		t.Errorf("the body lacks the Teams link:\n%s", body)
	}
	if loc := ev["location"].(map[string]any); loc["locationEmailAddress"] != "atlas@resource.example.test" || loc["locationType"] != "conferenceRoom" {
		t.Errorf("location %v", loc)
	}
	if start := ev["start"].(map[string]any)["dateTime"].(string); !strings.HasPrefix(start, pm.Start.UTC().Format("2006-01-02T15:04:05")) {
		t.Errorf("event start %s, post-mortem %s", start, pm.Start)
	}
	var people, rooms int
	for _, a := range ev["attendees"].([]any) {
		m := a.(map[string]any)
		addr := m["emailAddress"].(map[string]any)["address"]
		switch m["type"] {
		case "resource":
			rooms++
			if addr != "atlas@resource.example.test" {
				t.Errorf("room attendee %v", m)
			}
		case "optional":
			people++
			if addr != "ceo@example.test" {
				t.Errorf("optional attendee %v", addr)
			}
		default:
			people++
		}
	}
	if people != len(pm.Attendees) || rooms != 1 {
		t.Errorf("attendees %v: want %d people and the room", ev["attendees"], len(pm.Attendees))
	}
	if got := h.sent.to("r1@example.test", "Post-mortem"); len(got) != 0 {
		t.Errorf("iMIP sent beside Microsoft 365: %d", len(got))
	}

	// Rita declines in Outlook, Lars accepts: the poller reads the answers
	// back from the event and files them.
	fake.SetResponse(pm.Booking.ID, "r1@example.test", "declined")
	fake.SetResponse(pm.Booking.ID, "lead@example.test", "accepted")
	if err := h.svc.CheckResponses(ctx); err != nil {
		t.Fatal(err)
	}
	for email, want := range map[string]string{"r1@example.test": "DECLINED", "lead@example.test": "ACCEPTED", "r2@example.test": "NEEDS-ACTION"} {
		if got := partstat(t, h, inc.Ref, email); got != want {
			t.Errorf("%s: %s, want %s", email, got, want)
		}
	}
	if got := rsvps(t, h, inc.Ref); len(got) != 2 {
		t.Errorf("timeline answers %q, want Rita's and Lars's", got)
	}

	// Moved to the second proposal (Hall: Atlas is busy then). The answers
	// changed the event's ETag in Exchange: the move goes through all the
	// same, as the time and room are still those sitrep wrote.
	before := len(fake.Requests())
	if _, err := h.svc.Reschedule(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Slot: "2"}); err != nil {
		t.Fatal(err)
	}
	moved := h.waitState(t, inc.Ref, postmortem.StateBooked)
	if moved.BookingError != "" || moved.Sequence != 1 || moved.Booking.ID != pm.Booking.ID || moved.Start.Equal(*pm.Start) {
		t.Fatalf("after the move: %+v (error %q)", moved.Booking, moved.BookingError)
	}
	stored, _ = fake.Event(pm.Booking.ID)
	if start := stored.JSON["start"].(map[string]any)["dateTime"].(string); !strings.HasPrefix(start, moved.Start.UTC().Format("2006-01-02T15:04:05")) {
		t.Errorf("the event did not move: %s, want %s", start, moved.Start)
	}
	if loc := stored.JSON["location"].(map[string]any); loc["locationEmailAddress"] != moved.Room.Email {
		t.Errorf("location %v, want the new room %s", loc, moved.Room.Email)
	}
	var patches []string
	for _, r := range fake.Requests()[before:] {
		if r.Method == http.MethodPatch {
			patches = append(patches, strconv.Itoa(r.Status))
			if r.Status == http.StatusPreconditionFailed && r.Header.Get("If-Match") != pm.Booking.ETag {
				t.Errorf("the first PATCH's If-Match %q, want the booked ETag", r.Header.Get("If-Match"))
			}
		}
	}
	if strings.Join(patches, ",") != "412,200" {
		t.Errorf("PATCHes answered %v, want the stale ETag refused, then the update", patches)
	}

	// Cancelled: Exchange sends the cancellation to everyone on the event.
	if _, err := h.svc.Cancel(ctx, "vp@example.test", inc.Ref); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, inc.Ref, postmortem.StateCancelled)
	stored, _ = fake.Event(pm.Booking.ID)
	if !stored.Cancelled || len(stored.JSON["attendees"].([]any)) != len(pm.Attendees)+1 {
		t.Errorf("cancelled event: cancelled %v, %d attendees", stored.Cancelled, len(stored.JSON["attendees"].([]any)))
	}
	cancels := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/cancel") && r.Status == http.StatusAccepted {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d cancels, want 1", cancels)
	}
}
