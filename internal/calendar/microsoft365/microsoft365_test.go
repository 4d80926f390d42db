package microsoft365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/graphfake"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
)

const (
	organizer = "postmortems@example.test"
	appID     = "11111111-2222-3333-4444-555555555555"
)

type env struct {
	fake  *graphfake.Server
	cal   *Calendar
	token *oauthfake.Server
}

// setup starts an Entra ID token endpoint and Graph, and a backend that
// gets real tokens for Graph from the one to call the other.
func setup(t *testing.T, mod func(*Config)) env {
	t.Helper()
	tf := oauthfake.New(t, time.Hour)
	tf.AddApp(oauthfake.App{Tenant: "contoso", ClientID: appID, Secret: "s3cret", Consent: true})
	fake := graphfake.New(t, graphfake.Options{Verify: graphfake.JWT(tf.PublicKeyPEM(), tf.Issuer)})
	fake.AddUser(organizer, "Post-mortems")
	for _, p := range []string{"ana@example.test", "exec@example.test", "facilitator@example.test"} {
		fake.AddUser(p, "")
	}
	cfg := Config{BaseURL: fake.BaseURL(), Organizer: organizer, Tokens: tokens(t, tf, Scope), HTTPClient: fake.Client(), AppID: appID}
	if mod != nil {
		mod(&cfg)
	}
	cal, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env{fake: fake, cal: cal, token: tf}
}

func tokens(t *testing.T, tf *oauthfake.Server, scope string) *mailauth.Tokens {
	m, err := mailauth.NewMicrosoft(mailauth.MicrosoftConfig{Tenant: "contoso", ClientID: appID, ClientSecret: "s3cret",
		TokenURL: tf.MicrosoftTokenURL("contoso"), Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return mailauth.NewTokens(m, mailauth.TokensOptions{})
}

func atlas() graphfake.Room {
	return graphfake.Room{Email: "atlas@resource.example.test", DisplayName: "Atlas", Capacity: 8, Building: "HQ", FloorNumber: graphfake.Floor(3), Tags: []string{"Whiteboard", "Video"}}
}

func TestNewChecksTheConfiguration(t *testing.T) {
	t.Parallel()
	static := staticToken("t")
	for name, c := range map[string]struct {
		cfg   Config
		field string
	}{
		"no organizer":          {Config{Tokens: static}, "organizer"},
		"organizer not an addr": {Config{Organizer: "postmortems", Tokens: static}, "organizer"},
		"no tokens":             {Config{Organizer: organizer}, "tokens"},
		"plain http":            {Config{Organizer: organizer, Tokens: static, BaseURL: "http://graph.example.test/v1.0"}, "graph_url"},
		"not a URL":             {Config{Organizer: organizer, Tokens: static, BaseURL: "graph"}, "graph_url"},
		"room list by name":     {Config{Organizer: organizer, Tokens: static, RoomList: "HQ rooms"}, "room_list"},
		"room features by name": {Config{Organizer: organizer, Tokens: static, RoomFeatures: map[string][]string{"Atlas": {"Whiteboard"}}}, "room_features"},
	} {
		_, err := New(c.cfg)
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%s: %v, want an invalid %s", name, err, c.field)
		}
	}
	c, err := New(Config{Organizer: organizer, Tokens: static})
	if err != nil || c.baseStr != DefaultBaseURL {
		t.Errorf("defaults: %v %v", c, err)
	}
	if _, err := New(Config{Organizer: organizer, Tokens: static, BaseURL: "http://127.0.0.1:8080/v1.0/"}); err != nil {
		t.Errorf("http on loopback (tests): %v", err)
	}
}

type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }

func TestRoomsFromPlaces(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) {
		c.RoomFeatures = map[string][]string{"Nook@Resource.example.test": {"Whiteboard"}, "atlas@resource.example.test": {"white board"}}
	})
	e.fake.SetPageSize(2) // the rooms come in three pages
	e.fake.AddRoom(atlas())
	e.fake.AddRoom(graphfake.Room{Email: "nook@resource.example.test", DisplayName: "Nook", Capacity: 3, Building: "HQ", FloorLabel: "Mezzanine", FloorNumber: graphfake.Floor(1), CapacityAsString: true})
	e.fake.AddRoom(graphfake.Room{Email: "hall@resource.example.test", DisplayName: "Hall", Capacity: 40, Building: "Annex", FloorNumber: graphfake.Floor(0), RoomList: "annex-rooms@example.test"})
	e.fake.AddRoom(graphfake.Room{Email: "booth1@resource.example.test", DisplayName: "Booth 1", Capacity: 1, RoomList: "annex-rooms@example.test"})
	e.fake.AddRoom(graphfake.Room{Email: "booth2@resource.example.test", DisplayName: "Booth 2", Capacity: 1})
	rooms, err := e.cal.Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 5 {
		t.Fatalf("rooms %+v, want 5 over three pages", rooms)
	}
	byEmail := map[string]calendar.Room{}
	for _, r := range rooms {
		byEmail[r.Email] = r
	}
	a := byEmail["atlas@resource.example.test"]
	if a.Name != "Atlas" || a.Capacity != 8 || a.Building != "HQ" || a.Floor != "3" || !a.Has(calendar.FeatureWhiteboard) || !a.Has("Video") || len(a.Features) != 2 {
		t.Errorf("Atlas (whiteboard from its tags; the config's \"white board\" is the same feature) = %+v", a)
	}
	n := byEmail["nook@resource.example.test"]
	if n.Capacity != 3 || n.Floor != "Mezzanine" || !n.Has(calendar.FeatureWhiteboard) {
		t.Errorf("Nook (capacity sent as a string, floorLabel over floorNumber, whiteboard from the config) = %+v", n)
	}
	if h := byEmail["hall@resource.example.test"]; h.Floor != "0" || h.Has(calendar.FeatureWhiteboard) || h.Capacity != 40 {
		t.Errorf("Hall (ground floor 0, no whiteboard) = %+v", h)
	}
	var pages int
	for _, r := range e.fake.Requests() {
		if r.Path == "/v1.0/places/microsoft.graph.room" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d requests for pages, want 3 (following @odata.nextLink)", pages)
	}

	// A room list: only its rooms.
	e2 := setup(t, func(c *Config) { c.RoomList = "annex-rooms@example.test" })
	e2.fake.AddRoom(atlas())
	e2.fake.AddRoom(graphfake.Room{Email: "hall@resource.example.test", DisplayName: "Hall", Capacity: 40, RoomList: "annex-rooms@example.test"})
	rooms, err = e2.cal.Rooms(context.Background())
	if err != nil || len(rooms) != 1 || rooms[0].Email != "hall@resource.example.test" {
		t.Errorf("rooms of the room list: %+v %v", rooms, err)
	}

	// An unknown room list is named, with the ones there are.
	e3 := setup(t, func(c *Config) { c.RoomList = "hq-rooms@example.test" })
	e3.fake.AddRoom(graphfake.Room{Email: "hall@resource.example.test", DisplayName: "Hall", Capacity: 40, RoomList: "annex-rooms@example.test"})
	_, err = e3.cal.Rooms(context.Background())
	if !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "no room list hq-rooms@example.test") || !strings.Contains(err.Error(), "annex-rooms@example.test") || calendar.IsRetryable(err) {
		t.Errorf("unknown room list: %v", err)
	}
}

func TestBusyInChunksOfTwenty(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.fake.AddRoom(atlas())
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	var emails []string
	for i := range 43 {
		email := fmt.Sprintf("p%02d@example.test", i)
		e.fake.AddUser(email, "")
		emails = append(emails, email)
	}
	e.fake.SetBusy("p00@example.test", day.Add(9*time.Hour), day.Add(10*time.Hour), "busy")
	e.fake.SetBusy("p21@example.test", day.Add(10*time.Hour), day.Add(11*time.Hour), "oof")
	e.fake.SetBusy("p42@example.test", day.Add(11*time.Hour), day.Add(12*time.Hour), "tentative")
	e.fake.SetBusy("p42@example.test", day.Add(13*time.Hour), day.Add(14*time.Hour), "workingElsewhere")
	e.fake.SetBusy("p42@example.test", day.Add(14*time.Hour), day.Add(15*time.Hour), "free")
	e.fake.SetBusy("atlas@resource.example.test", day.Add(15*time.Hour), day.Add(16*time.Hour), "busy")
	asked := append(slices.Clone(emails), "P00@Example.test", "ATLAS@resource.example.test", "ghost@example.test")
	asked[0] = "P00@example.test" // as the caller spells it; the duplicate is asked once
	busy, err := e.cal.Busy(context.Background(), asked, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"P00@example.test":            "09:00-10:00",
		"p21@example.test":            "10:00-11:00",
		"p42@example.test":            "11:00-12:00", // tentative counts, working elsewhere and free do not
		"ATLAS@resource.example.test": "15:00-16:00",
	}
	if len(busy) != len(want) {
		t.Errorf("busy for %d addresses: %v", len(busy), busy)
	}
	for k, w := range want {
		var got []string
		for _, iv := range busy[k] {
			got = append(got, iv.Start.Format("15:04")+"-"+iv.End.Format("15:04"))
		}
		if strings.Join(got, ",") != w {
			t.Errorf("%s busy %v, want %s", k, got, w)
		}
	}
	var batches []int
	for _, r := range e.fake.Requests() {
		if !strings.HasSuffix(r.Path, "/calendar/getSchedule") {
			continue
		}
		if r.Header.Get("Prefer") != `outlook.timezone="UTC"` || r.Path != "/v1.0/users/"+organizer+"/calendar/getSchedule" {
			t.Errorf("getSchedule %s Prefer %q", r.Path, r.Header.Get("Prefer"))
		}
		var body struct {
			Schedules []string `json:"schedules"`
			Interval  int      `json:"availabilityViewInterval"`
		}
		_ = json.Unmarshal(r.Body, &body)
		batches = append(batches, len(body.Schedules))
		if body.Interval != 30 {
			t.Errorf("availabilityViewInterval %d", body.Interval)
		}
	}
	if fmt.Sprint(batches) != "[20 20 5]" {
		t.Errorf("batches %v, want [20 20 5] (43 people, the room and the unknown address)", batches)
	}

	// A period of 70 days goes in two: getSchedule takes less than 62.
	before := len(e.fake.Requests())
	if _, err := e.cal.Busy(context.Background(), []string{"p00@example.test"}, day, day.Add(70*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Requests()) - before; n != 2 {
		t.Errorf("70 days in %d requests, want 2", n)
	}
}

func bridgeEvent() calendar.Event {
	ev := calendar.SampleEvent()
	ev.Sequence = 0
	ev.CreateMeet = true
	ev.Phones = []string{"+1 555 0100", "+49 30 1234567"}
	ev.PIN = "246810"
	ev.Attendees = append(ev.Attendees, calendar.Attendee{Email: organizer, Name: "the organizer mailbox"})
	return ev
}

func TestBook(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.fake.AddRoom(atlas())
	ev := bridgeEvent()
	b, err := e.cal.Book(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if b.Backend != "microsoft365" || b.ID == "" || !strings.HasPrefix(b.MeetLink, "https://teams.microsoft.com/l/meetup-join/") ||
		!strings.HasPrefix(b.ETag, `W/"`) || !strings.HasPrefix(b.HTMLLink, "https://outlook.office365.com/owa/") || b.Sequence != 0 {
		t.Errorf("booking %+v", b)
	}
	stored, ok := e.fake.Event(b.ID)
	if !ok {
		t.Fatal("no event stored")
	}
	ej := stored.JSON
	if ej["subject"] != ev.Summary || ej["transactionId"] != TransactionID(ev) || ej["isOnlineMeeting"] != true || ej["onlineMeetingProvider"] != "teamsForBusiness" {
		t.Errorf("stored %v", ej)
	}
	var create struct {
		Written []struct{ ID, Value string } `json:"singleValueExtendedProperties"`
	}
	_ = json.Unmarshal(e.fake.Requests()[len(e.fake.Requests())-1].Body, &create)
	if len(create.Written) != 1 || create.Written[0].ID != writtenProperty || create.Written[0].Value != "2026-03-10T14:00:00Z/2026-03-10T15:00:00Z atlas@resource.example.test" {
		t.Errorf("the time and room written: %+v", create.Written)
	}
	if s := ej["start"].(map[string]any); s["dateTime"] != "2026-03-10T14:00:00.0000000" || s["timeZone"] != "UTC" {
		t.Errorf("start %v", s)
	}
	loc := ej["location"].(map[string]any)
	if loc["locationEmailAddress"] != "atlas@resource.example.test" || loc["locationType"] != "conferenceRoom" || loc["displayName"] != "Atlas, HQ, floor 3" {
		t.Errorf("location %v", loc)
	}
	types := map[string]string{}
	for _, a := range ej["attendees"].([]any) {
		m := a.(map[string]any)
		types[m["emailAddress"].(map[string]any)["address"].(string)] = m["type"].(string)
	}
	if fmt.Sprint(types) != "map[ana@example.test:required atlas@resource.example.test:resource exec@example.test:optional facilitator@example.test:required]" {
		t.Errorf("attendees %v (the organizer mailbox is not invited to its own meeting)", types)
	}
	body := ej["body"].(map[string]any)["content"].(string)
	for _, want := range []string{
		"Root cause \\ contributing factors",                                       // the description, escaped for HTML
		`Zeitleiste über Überlast`,                                                 // non-ASCII kept
		"<p>Join:<br>\nVideo: <a href=\"https://meet.example.test/abc-defg-hij\">", // the bridge's video link, with calendar.Join's labels
		`Phone: <a href="tel:+1-555-0100,,246810">+1 555 0100</a>`,                 // one tap dials the PIN too (calendar.TelURI)
		`Phone: <a href="tel:+49-30-1234567,,246810">+49 30 1234567</a>`,           // every number
		"PIN: 246810",
		b.MeetLink, // Exchange's Teams block
		"1. Timeline; what happened, when<br>\n2. Root cause", // lines kept
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// A 429 on create, then the retry: Graph's transactionId makes it one
// event, and so does a second Book after an answer that was lost.
func TestBookRetriedIsOneEvent(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.fake.AddRoom(atlas())
	ev := bridgeEvent()
	e.fake.Inject(graphfake.Fault{Method: "POST", PathSuffix: "/events", Status: 429, Code: "ApplicationThrottled", RetryAfter: 3 * time.Second})
	_, err := e.cal.Book(context.Background(), ev)
	var re *calendar.RetryableError
	if !errors.As(err, &re) || re.Status != 429 || re.Reason != "ApplicationThrottled" || re.RetryAfter != 3*time.Second || re.Backend != "microsoft365" {
		t.Fatalf("throttled create: %v, want retryable after 3 s", err)
	}
	b1, err := e.cal.Book(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := e.cal.Book(context.Background(), ev) // the answer to b1 was lost: the job runs again
	if err != nil || b2.ID != b1.ID || b2.MeetLink != b1.MeetLink {
		t.Fatalf("second Book: %+v %v, want %+v", b2, err, b1)
	}
	var tids []string
	for _, r := range e.fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/events") {
			var body struct {
				TransactionID string `json:"transactionId"`
			}
			_ = json.Unmarshal(r.Body, &body)
			tids = append(tids, fmt.Sprintf("%d %s", r.Status, body.TransactionID))
		}
	}
	tid := TransactionID(ev)
	if want := []string{"429 " + tid, "201 " + tid, "201 " + tid}; !slices.Equal(tids, want) {
		t.Errorf("creates %v, want %v", tids, want)
	}
	if n := len(e.fake.Events()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
	// A later sequence (booking anew after the event was deleted) is another transaction.
	next := ev
	next.Sequence = 3
	if TransactionID(next) == tid || len(tid) > 50 || TransactionID(ev) != tid {
		t.Errorf("transaction ids %q / %q", tid, TransactionID(next))
	}
}

func TestUnavailableAndThrottledAreRetryable(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	from := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status int
		code   string
		after  time.Duration
	}{{503, "ServiceNotAvailable", 120 * time.Second}, {504, "GatewayTimeout", 0}, {429, "TooManyRequests", 10 * time.Second}} {
		e.fake.FailNext(1, c.status, c.code, c.after)
		_, err := e.cal.Busy(context.Background(), []string{"ana@example.test"}, from, from.Add(time.Hour))
		var re *calendar.RetryableError
		if !errors.As(err, &re) || re.Status != c.status || re.RetryAfter != c.after || re.Reason != c.code {
			t.Errorf("%d %s: %v (%+v)", c.status, c.code, err, re)
		}
	}
	// No answer at all: the network.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, _ := New(Config{Organizer: organizer, Tokens: staticToken("t"), BaseURL: dead.URL + "/v1.0"})
	if _, err := c.Book(context.Background(), calendar.SampleEvent()); !calendar.IsRetryable(err) {
		t.Errorf("connection refused: %v, want retryable", err)
	}
}

func TestAccessPolicyRefusal(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.fake.DenyMailbox(organizer)
	_, err := e.cal.Book(context.Background(), bridgeEvent())
	if !errs.Is(err, errs.Forbidden) || calendar.IsRetryable(err) {
		t.Fatalf("Book in a mailbox outside the policy: %v, want a forbidden error that is not retried", err)
	}
	for _, want := range []string{organizer, "application access policy", "New-ApplicationAccessPolicy -AppId " + appID, "Test-ApplicationAccessPolicy -Identity " + organizer + " -AppId " + appID, "[RAOP]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if err := e.cal.Verify(context.Background()); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "New-ApplicationAccessPolicy") {
		t.Errorf("Check: %v", err)
	}
}

func TestTokenForAnotherResource(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	c, err := New(Config{BaseURL: e.fake.BaseURL(), Organizer: organizer, HTTPClient: e.fake.Client(),
		Tokens: tokens(t, e.token, "https://outlook.office365.com/.default")}) // the mail scope, by mistake
	if err != nil {
		t.Fatal(err)
	}
	err = c.Verify(context.Background())
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), Scope) || !strings.Contains(err.Error(), "Invalid audience") || calendar.IsRetryable(err) {
		t.Errorf("a mail token at Graph: %v", err)
	}
}

func TestUnknownOrganizer(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.Organizer = "nobody@example.test" })
	_, err := e.cal.Book(context.Background(), bridgeEvent())
	if !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "no mailbox nobody@example.test") || !strings.Contains(err.Error(), "ErrorInvalidUser") {
		t.Errorf("unknown organizer: %v", err)
	}
}

func TestRescheduleCancelAndResponses(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.fake.AddRoom(atlas())
	ctx := context.Background()
	ev := bridgeEvent()
	b, err := e.cal.Book(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}

	e.fake.SetResponse(b.ID, "ana@example.test", "declined")
	e.fake.SetResponse(b.ID, "exec@example.test", "tentativelyAccepted")
	e.fake.SetResponse(b.ID, "atlas@resource.example.test", "accepted")
	resp, err := e.cal.Responses(ctx, *b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range resp {
		got[r.Email] = r.PartStat
	}
	if fmt.Sprint(got) != "map[ana@example.test:DECLINED exec@example.test:TENTATIVE facilitator@example.test:NEEDS-ACTION]" {
		t.Errorf("responses %v (the room left out)", got)
	}
	if last := e.fake.Requests()[len(e.fake.Requests())-1]; last.Query.Get("$select") != "attendees" {
		t.Errorf("responses read with %v", last.Query)
	}

	// The answers changed the item, and its ETag: the move is sent again on
	// the new one, as the time and room are still those sitrep wrote.
	moved := ev
	moved.Sequence = 1
	moved.Start, moved.End = ev.Start.Add(24*time.Hour), ev.End.Add(24*time.Hour)
	before := len(e.fake.Requests())
	b2, err := e.cal.Reschedule(ctx, *b, moved)
	if err != nil {
		t.Fatalf("Reschedule after answers: %v", err)
	}
	var calls []string
	for _, r := range e.fake.Requests()[before:] {
		calls = append(calls, fmt.Sprintf("%s %d", r.Method, r.Status))
	}
	if fmt.Sprint(calls) != "[PATCH 412 GET 200 PATCH 200]" {
		t.Errorf("calls %v, want the refused PATCH, a read, the PATCH again", calls)
	}
	if b2.ID != b.ID || b2.Sequence != 1 || b2.ETag == b.ETag || b2.MeetLink != b.MeetLink {
		t.Errorf("rescheduled %+v", b2)
	}
	stored, _ := e.fake.Event(b.ID)
	if s := stored.JSON["start"].(map[string]any)["dateTime"]; s != "2026-03-11T14:00:00.0000000" {
		t.Errorf("stored start %v", s)
	}

	// Someone moves it in Outlook: that change is not overwritten.
	e.fake.MoveEvent(b.ID, moved.Start.Add(2*time.Hour), moved.End.Add(2*time.Hour))
	again := moved
	again.Sequence = 2
	again.Start, again.End = moved.Start.Add(time.Hour), moved.End.Add(time.Hour)
	if _, err := e.cal.Reschedule(ctx, *b2, again); !errors.Is(err, calendar.ErrChanged) {
		t.Fatalf("Reschedule over a move in Outlook: %v, want ErrChanged", err)
	}
	// Without an ETag the update is unconditional; remote, the room goes.
	b2.ETag = ""
	again.Room = nil
	b3, err := e.cal.Reschedule(ctx, *b2, again)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = e.fake.Event(b.ID)
	if loc := stored.JSON["location"].(map[string]any); loc["locationEmailAddress"] != nil && loc["locationEmailAddress"] != "" {
		t.Errorf("the room stayed: %v", loc)
	}
	if patch := e.fake.Requests()[len(e.fake.Requests())-1]; patch.Method != "PATCH" || patch.Header.Get("If-Match") != "" || b3.Sequence != 2 {
		t.Errorf("last request %s If-Match %q, sequence %d", patch.Method, patch.Header.Get("If-Match"), b3.Sequence)
	}
	if _, err := e.cal.Reschedule(ctx, *b3, again); err != nil {
		t.Errorf("Reschedule with the current ETag: %v", err)
	}

	if err := e.cal.Cancel(ctx, *b2); err != nil {
		t.Fatal(err)
	}
	stored, _ = e.fake.Event(b.ID)
	if !stored.Cancelled || stored.CancelComment != "This post-mortem has been cancelled." || len(stored.JSON["attendees"].([]any)) != 3 {
		t.Errorf("cancelled event %+v", stored)
	}
	if err := e.cal.Cancel(ctx, *b2); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("second Cancel: %v, want ErrGone", err)
	}
	if _, err := e.cal.Reschedule(ctx, *b2, moved); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("Reschedule after cancel: %v, want ErrGone", err)
	}
	if _, err := e.cal.Responses(ctx, *b2); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("Responses after cancel: %v, want ErrGone", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	if err := e.cal.Verify(context.Background()); err != nil {
		t.Errorf("no rooms in the tenant: %v, want nil (rooms from the configuration)", err)
	}
	e.fake.AddRoom(atlas())
	if err := e.cal.Verify(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var paths []string
	for _, r := range e.fake.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if !slices.Contains(paths, "GET /v1.0/users/"+organizer+"/calendar") || !slices.Contains(paths, "POST /v1.0/users/"+organizer+"/calendar/getSchedule") {
		t.Errorf("Check called %v", paths)
	}

	// A room the places directory lists and Exchange cannot resolve.
	e2 := setup(t, nil)
	e2.fake.AddRoom(graphfake.Room{Email: "gone@resource.example.test", DisplayName: "Gone", Capacity: 8, NoMailbox: true})
	err := e2.cal.Verify(context.Background())
	if !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "room gone@resource.example.test") || !strings.Contains(err.Error(), "5009") {
		t.Errorf("unresolvable room: %v", err)
	}
	// Busy takes it as free, as calendar.FreeBusy says, and logs it.
	busy, err := e2.cal.Busy(context.Background(), []string{"gone@resource.example.test"}, time.Now(), time.Now().Add(time.Hour))
	if err != nil || len(busy) != 0 {
		t.Errorf("Busy of an unresolvable room: %v %v", busy, err)
	}

	e3 := setup(t, func(c *Config) { c.RoomList = "empty@example.test" })
	e3.fake.AddRoomList("empty@example.test", "Empty")
	if err := e3.cal.Verify(context.Background()); !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "has no rooms") {
		t.Errorf("empty room list: %v", err)
	}
}

// Answers are read with a bound; a next link elsewhere is not followed
// with the token; a proxy's page is named as such.
func TestAnswersHandledWithCare(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		handler http.HandlerFunc
		want    string
	}{
		"a huge answer": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"value":"`))
			_, _ = w.Write([]byte(strings.Repeat("x", maxAnswer)))
			_, _ = w.Write([]byte(`"}`))
		}, "larger than"},
		"a next link elsewhere": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"value":[],"@odata.nextLink":"https://evil.example.test/v1.0/places/microsoft.graph.room?$skip=1"}`))
		}, "not following it"},
		"an HTML page": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<html>Sign in</html>`))
		}, "not JSON"},
		"an HTML error": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`<html>Bad gateway</html>`))
		}, "HTTP 502: <html>Bad gateway</html>"},
	} {
		srv := httptest.NewServer(c.handler)
		cal, err := New(Config{Organizer: organizer, Tokens: staticToken("t"), BaseURL: srv.URL + "/v1.0", HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cal.Rooms(context.Background())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		srv.Close()
	}
}
