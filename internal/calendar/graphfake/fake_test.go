package graphfake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
)

const organizer = "postmortems@example.test"

func newFake(t *testing.T) *Server {
	t.Helper()
	s := New(t, Options{})
	s.AddUser(organizer, "Post-mortems")
	s.AddUser("ana@example.test", "Ana")
	s.AddUser("bob@example.test", "Bob")
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (a answer) message() string {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// call sends a request with a bearer token and a JSON body; extra headers
// come as name, value pairs.
func call(t *testing.T, s *Server, method, path, body string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-token")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		v, err := decodeJSON(raw) // numbers as json.Number, as the checks want them
		if a.body, _ = v.(map[string]any); err != nil || a.body == nil {
			t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
		}
	}
	return a
}

const events = "/v1.0/users/" + organizer + "/events"

func eventJSON(extra string) string {
	return `{"subject":"PM","start":{"dateTime":"2026-03-10T14:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-03-10T15:00:00","timeZone":"UTC"}` + extra + `}`
}

func TestBodiesCheckedAgainstCSDL(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	for _, tc := range []struct{ name, body, inMessage string }{
		{"unknown property", eventJSON(`,"colour":"red"`), `The property 'colour' does not exist on type 'microsoft.graph.event'`},
		{"unknown nested property", eventJSON(`,"attendees":[{"emailAddress":{"address":"a@x"},"rsvp":true}]`), `The property 'rsvp' does not exist on type 'microsoft.graph.attendee'`},
		{"property of a derived type on its base", eventJSON(`,"organizer":{"emailAddress":{"address":"a@x"},"type":"required"}`), `The property 'type' does not exist on type 'microsoft.graph.recipient'`},
		{"string for a boolean", eventJSON(`,"isOnlineMeeting":"yes"`), `expected type 'Edm.Boolean'`},
		{"number for a string", `{"subject":42}`, `expected type 'Edm.String'`},
		{"object for a string", `{"subject":{"text":"x"}}`, `An unexpected 'StartObject' node was found for property named 'subject'`},
		{"object for a collection", eventJSON(`,"attendees":{"emailAddress":{"address":"a@x"}}`), `A 'StartArray' node was expected`},
		{"string for a complex type", eventJSON(`,"body":"hello"`), `A 'StartObject' node was expected`},
		{"string for an Int32", eventJSON(`,"reminderMinutesBeforeStart":"15"`), `expected type 'Edm.Int32'`},
		{"fraction for an Int32", eventJSON(`,"reminderMinutesBeforeStart":1.5`), `Cannot convert the literal '1.5' to the expected type 'Edm.Int32'`},
		{"unknown enum member", eventJSON(`,"attendees":[{"emailAddress":{"address":"a@x"},"type":"chair"}]`), `Cannot convert the literal 'chair' to the expected type 'microsoft.graph.attendeeType'`},
		{"enum member in the wrong case", eventJSON(`,"showAs":"Busy"`), `'microsoft.graph.freeBusyStatus'`},
		{"null where Nullable=false", `{"start":{"dateTime":null,"timeZone":"UTC"}}`, `A null value was found for the property named 'dateTime'`},
		{"a property twice", `{"subject":"a","subject":"b"}`, `Duplicate property named 'subject'`},
		{"not JSON", `{"subject":`, `Invalid JSON`},
		{"a foreign @odata.type", eventJSON(`,"location":{"@odata.type":"#microsoft.graph.room","displayName":"x"}`), `not assignable to the expected type 'microsoft.graph.location'`},
		{"a bad DateTimeOffset", eventJSON(`,"attendees":[{"emailAddress":{"address":"a@x"},"status":{"time":"yesterday"}}]`), `Cannot convert the literal 'yesterday' to the expected type 'Edm.DateTimeOffset'`},
	} {
		a := call(t, s, "POST", events, tc.body)
		if a.status != 400 || a.code() != "RequestBodyRead" {
			t.Errorf("%s: %d %s %q, want 400 RequestBodyRead", tc.name, a.status, a.code(), a.message())
			continue
		}
		if !strings.Contains(a.message(), tc.inMessage) {
			t.Errorf("%s: message %q lacks %q", tc.name, a.message(), tc.inMessage)
		}
	}
	if u := s.Uncovered(); len(u) > 0 {
		t.Fatalf("refusals recorded as uncovered: %v", u)
	}
	if a := call(t, s, "POST", events, eventJSON(`,"body":{"contentType":"html","content":"<p>x</p>"},"attendees":[{"emailAddress":{"address":"ana@example.test","name":"Ana"},"type":"required"}],"location":{"displayName":"Atlas","locationEmailAddress":"atlas@example.test","locationType":"conferenceRoom"},"showAs":"busy","@odata.type":"#microsoft.graph.event"`)); a.status != 201 {
		t.Errorf("a valid event: %d %s", a.status, a.raw)
	}
	if got := len(s.Events()); got != 1 {
		t.Errorf("%d events stored, want the valid one only", got)
	}
}

func TestUncoveredCallsRecorded(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	for _, c := range []struct{ method, path, body string }{
		{"DELETE", events + "/AAMkAD1=", ""},
		{"GET", "/v1.0/me/events", ""},
		{"GET", "/v1.0/places/microsoft.graph.room?$filter=capacity%20gt%2010", ""},
		{"POST", events, eventJSON(`,"attachments":[]`)},
		{"POST", events, eventJSON(`,"id":"mine"`)},
		{"POST", events, `{"subject":"x","start":{"dateTime":"2026-03-10T14:00:00","timeZone":"Pacific Standard Time"},"end":{"dateTime":"2026-03-10T15:00:00","timeZone":"UTC"}}`},
		{"GET", events + "/x?$expand=attachments", ""},
	} {
		if a := call(t, s, c.method, c.path, c.body); a.status != 400 || a.code() != "BadRequest" {
			t.Errorf("%s %s: %d %s", c.method, c.path, a.status, a.code())
		}
	}
	a := call(t, s, "POST", events, eventJSON(""), "Prefer", `outlook.body-content-type="text"`)
	if a.status != 400 {
		t.Errorf("an unmodelled preference: %d", a.status)
	}
	got := s.TakeUncovered()
	if len(got) != 8 {
		t.Fatalf("uncovered %d:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, want := range []string{"no such route", "no such route", "query option $filter", "navigation property attachments", "server-set event property id", "Pacific Standard Time", "$expand=attachments", "outlook.body-content-type"} {
		if !strings.Contains(got[i], want) {
			t.Errorf("uncovered[%d] = %q, want %q in it", i, got[i], want)
		}
	}
	if len(s.Uncovered()) != 0 {
		t.Error("TakeUncovered did not forget")
	}
}

func TestTransactionIDDeduplicates(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	a1 := call(t, s, "POST", events, eventJSON(`,"transactionId":"sitrep-1"`))
	// The retry: the same transactionId answers the event already made,
	// not one from this body.
	a2 := call(t, s, "POST", events, strings.Replace(eventJSON(`,"transactionId":"sitrep-1"`), `"PM"`, `"PM again"`, 1))
	if a1.status != 201 || a2.status != 201 || a1.body["id"] != a2.body["id"] || a1.body["transactionId"] != "sitrep-1" || a2.body["subject"] != "PM" {
		t.Fatalf("two POSTs with one transactionId: %d %v / %d %v", a1.status, a1.body["id"], a2.status, a2.body["id"])
	}
	a3 := call(t, s, "POST", events, eventJSON(`,"transactionId":"sitrep-2"`))
	a4 := call(t, s, "POST", events, eventJSON(""))
	if a3.body["id"] == a1.body["id"] || a4.body["id"] == a1.body["id"] || len(s.Events()) != 3 {
		t.Fatalf("different or no transactionId must make new events: %d stored", len(s.Events()))
	}
	if _, has := a4.body["transactionId"]; has {
		t.Error("transactionId answered though never set")
	}
	// A cancelled event's transactionId is not deduplicated against.
	id := a1.body["id"].(string)
	if a := call(t, s, "POST", events+"/"+id+"/cancel", `{"Comment":"off"}`); a.status != 202 {
		t.Fatalf("cancel: %d %s", a.status, a.raw)
	}
	if a := call(t, s, "POST", events, eventJSON(`,"transactionId":"sitrep-1"`)); a.body["id"] == id {
		t.Error("a cancelled event came back for its transactionId")
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	tokens := oauthfake.New(t, time.Hour)
	tokens.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "sitrep", Secret: "s3cret", Consent: true})
	s := New(t, Options{Verify: JWT(tokens.PublicKeyPEM(), tokens.Issuer)})
	s.AddUser(organizer, "Post-mortems")
	token := func(scope string) string {
		m, err := mailauth.NewMicrosoft(mailauth.MicrosoftConfig{Tenant: "contoso", ClientID: "sitrep", ClientSecret: "s3cret",
			TokenURL: tokens.MicrosoftTokenURL("contoso"), Scopes: []string{scope}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := mailauth.NewTokens(m, mailauth.TokensOptions{}).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	path := "/v1.0/users/" + organizer + "/calendar"
	for name, c := range map[string]struct {
		auth, inMessage string
		status          int
	}{
		"no token":            {"", "Access token is empty.", 401},
		"not a JWT":           {"Bearer opaque", "JWT is not well formed", 401},
		"a mail token":        {"Bearer " + token("https://outlook.office365.com/.default"), "Invalid audience", 401},
		"a Graph token":       {"Bearer " + token("https://graph.microsoft.com/.default"), "", 200},
		"another scheme":      {"Basic dXNlcjpwYXNz", "Access token is empty.", 401},
		"lower-case 'bearer'": {"bearer " + token("https://graph.microsoft.com/.default"), "", 200},
	} {
		a := call(t, s, "GET", path, "", "Authorization", c.auth)
		if a.status != c.status || (c.status == 401 && (a.code() != "InvalidAuthenticationToken" || !strings.Contains(a.message(), c.inMessage) || a.header.Get("WWW-Authenticate") == "")) {
			t.Errorf("%s: %d %s %q", name, a.status, a.code(), a.message())
		}
	}
}

func TestErrorsAsGraphSendsThem(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.AddRoom(Room{Email: "atlas@example.test", DisplayName: "Atlas", Capacity: 8})
	a := call(t, s, "GET", "/v1.0/users/nobody@example.test/calendar", "", "client-request-id", "c0ffee00-0000-4000-8000-000000000001")
	inner, _ := a.body["error"].(map[string]any)["innerError"].(map[string]any)
	if a.status != 404 || a.code() != "ErrorInvalidUser" || inner["client-request-id"] != "c0ffee00-0000-4000-8000-000000000001" ||
		inner["request-id"] == "" || inner["date"] == "" || a.header.Get("request-id") != inner["request-id"] ||
		a.header.Get("client-request-id") != "c0ffee00-0000-4000-8000-000000000001" {
		t.Errorf("unknown user: %d %s", a.status, a.raw)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json;") {
		t.Errorf("Content-Type %q", ct)
	}
	s.DenyMailbox(organizer)
	if a := call(t, s, "GET", "/v1.0/users/"+organizer+"/calendar", ""); a.status != 403 || a.code() != "ErrorAccessDenied" || a.message() != RAOPMessage {
		t.Errorf("denied mailbox: %d %s", a.status, a.raw)
	}
	if a := call(t, s, "POST", events, eventJSON("")); a.status != 403 {
		t.Errorf("denied mailbox, create: %d", a.status)
	}
	s.AllowMailbox(organizer)
	if a := call(t, s, "GET", events+"/AAMkADnope=", ""); a.status != 404 || a.code() != "ErrorItemNotFound" {
		t.Errorf("unknown event: %d %s", a.status, a.raw)
	}
	if a := call(t, s, "GET", "/v1.0/places/nolist@example.test/microsoft.graph.roomlist/rooms", ""); a.status != 404 || a.code() != "ResourceNotFound" {
		t.Errorf("unknown room list: %d %s", a.status, a.raw)
	}
	s.FailNext(1, 429, "ApplicationThrottled", 7*time.Second)
	a = call(t, s, "GET", "/v1.0/users/"+organizer+"/calendar", "")
	if a.status != 429 || a.code() != "ApplicationThrottled" || a.header.Get("Retry-After") != "7" {
		t.Errorf("throttled: %d %s %q", a.status, a.code(), a.header.Get("Retry-After"))
	}
	s.Inject(Fault{Method: "POST", PathSuffix: "/events", Status: 503, Code: "ServiceNotAvailable", RetryAfter: 2 * time.Second})
	if a := call(t, s, "GET", "/v1.0/users/"+organizer+"/calendar", ""); a.status != 200 {
		t.Errorf("a fault for POST /events hit a GET: %d", a.status)
	}
	a = call(t, s, "POST", events, eventJSON(""))
	if a.status != 503 || a.code() != "ServiceNotAvailable" || a.header.Get("Retry-After") != "2" {
		t.Errorf("unavailable: %d %s", a.status, a.raw)
	}
	var codes []string
	for _, r := range s.Requests() {
		codes = append(codes, fmt.Sprintf("%s %d %s", r.Method, r.Status, r.Code))
	}
	want := "GET 404 ErrorInvalidUser,GET 403 ErrorAccessDenied,POST 403 ErrorAccessDenied,GET 404 ErrorItemNotFound,GET 404 ResourceNotFound,GET 429 ApplicationThrottled,GET 200 ,POST 503 ServiceNotAvailable"
	if got := strings.Join(codes, ","); got != want {
		t.Errorf("request record:\n got %s\nwant %s", got, want)
	}
}

// Every answer is of the CSDL's types, as Graph's are.
func TestAnswersAreTyped(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.AddRoom(Room{Email: "atlas@example.test", DisplayName: "Atlas", Capacity: 8, Building: "HQ", FloorNumber: Floor(3), FloorLabel: "3rd", Tags: []string{"Whiteboard"}, RoomList: "hq@example.test"})
	a := call(t, s, "POST", events, eventJSON(`,"isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness","attendees":[{"emailAddress":{"address":"ana@example.test"}}]`))
	check := func(v any, typ string) {
		t.Helper()
		if err := s.Model().CheckResponse(v, typ); err != nil {
			t.Errorf("%s answer: %v\n%v", typ, err, v)
		}
	}
	check(a.body, "event")
	id := a.body["id"].(string)
	check(call(t, s, "GET", events+"/"+id, "").body, "event")
	check(call(t, s, "GET", "/v1.0/users/"+organizer+"/calendar", "").body, "calendar")
	for _, p := range []struct{ path, typ string }{
		{"/v1.0/places/microsoft.graph.room", "room"}, {"/v1.0/places/microsoft.graph.roomlist", "roomList"},
		{"/v1.0/places/hq@example.test/microsoft.graph.roomlist/rooms", "room"},
	} {
		a := call(t, s, "GET", p.path, "")
		for _, v := range a.body["value"].([]any) {
			check(v, p.typ)
		}
		if len(a.body["value"].([]any)) != 1 {
			t.Errorf("%s: %v", p.path, a.body)
		}
	}
	a = call(t, s, "POST", "/v1.0/users/"+organizer+"/calendar/getSchedule",
		`{"schedules":["ana@example.test","atlas@example.test","ghost@example.test"],"startTime":{"dateTime":"2026-03-10T00:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-11T00:00:00","timeZone":"UTC"}}`)
	for _, v := range a.body["value"].([]any) {
		check(v, "scheduleInformation")
	}
}

func TestGetSchedule(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.AddRoom(Room{Email: "atlas@example.test", DisplayName: "Atlas", Capacity: 8})
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	s.SetBusy("ana@example.test", day.Add(9*time.Hour), day.Add(10*time.Hour), "busy")
	s.SetBusy("ana@example.test", day.Add(11*time.Hour), day.Add(12*time.Hour), "oof")
	s.SetBusy("ana@example.test", day.Add(12*time.Hour), day.Add(13*time.Hour), "workingElsewhere")
	s.SetBusy("ana@example.test", day.Add(13*time.Hour), day.Add(14*time.Hour), "free")
	s.SetBusy("ana@example.test", day.Add(30*time.Hour), day.Add(31*time.Hour), "busy") // outside the period
	booked := call(t, s, "POST", events, eventJSON(`,"attendees":[{"emailAddress":{"address":"ana@example.test"}},{"emailAddress":{"address":"bob@example.test"}},{"emailAddress":{"address":"atlas@example.test"},"type":"resource"}],"location":{"displayName":"Atlas","locationEmailAddress":"atlas@example.test","locationType":"conferenceRoom"}`))
	id := booked.body["id"].(string)
	s.SetResponse(id, "bob@example.test", "accepted")

	body := `{"Schedules":["ana@example.test","BOB@example.test","atlas@example.test","ghost@example.test"],"StartTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"},"EndTime":{"dateTime":"2026-03-10T16:00:00","timeZone":"UTC"},"availabilityViewInterval":60}`
	a := call(t, s, "POST", "/v1.0/users/"+organizer+"/calendar/getSchedule", body, "Prefer", `outlook.timezone="UTC"`)
	if a.status != 200 {
		t.Fatalf("getSchedule: %d %s", a.status, a.raw)
	}
	got := map[string]string{}
	for _, v := range a.body["value"].([]any) {
		info := v.(map[string]any)
		id := info["scheduleId"].(string)
		if e, ok := info["error"].(map[string]any); ok {
			got[id] = "error " + e["responseCode"].(string)
			continue
		}
		var parts []string
		for _, it := range info["scheduleItems"].([]any) {
			item := it.(map[string]any)
			start := item["start"].(map[string]any)
			if start["timeZone"] != "UTC" {
				t.Errorf("item time zone %v", start["timeZone"])
			}
			parts = append(parts, item["status"].(string)+"@"+start["dateTime"].(string)[11:16])
		}
		got[id] = strings.Join(parts, " ") + " | " + info["availabilityView"].(string)
	}
	want := map[string]string{
		"ana@example.test":   "busy@09:00 oof@11:00 workingElsewhere@12:00 tentative@14:00 | 02030010", // the booked event: tentative until she answers
		"BOB@example.test":   "busy@14:00 | 00000020",
		"atlas@example.test": "busy@14:00 | 00000020",
		"ghost@example.test": "error 5009",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}

	// Another zone asked for: the same instants, in Berlin time.
	a = call(t, s, "POST", "/v1.0/users/"+organizer+"/calendar/getSchedule", body, "Prefer", `outlook.timezone="Europe/Berlin"`)
	item := a.body["value"].([]any)[1].(map[string]any)["scheduleItems"].([]any)[0].(map[string]any)["start"].(map[string]any)
	if item["dateTime"] != "2026-03-10T15:00:00.0000000" || item["timeZone"] != "Europe/Berlin" {
		t.Errorf("Berlin: %v", item)
	}

	// Declining frees the attendee.
	s.SetResponse(id, "ana@example.test", "declined")
	a = call(t, s, "POST", "/v1.0/users/"+organizer+"/calendar/getSchedule", body)
	if items := a.body["value"].([]any)[0].(map[string]any)["scheduleItems"].([]any); len(items) != 3 {
		t.Errorf("after declining, ana has %d items, want 3 (busy, oof, workingElsewhere)", len(items))
	}

	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf(`"p%d@example.test"`, i)
	}
	for name, c := range map[string]string{
		"21 schedules":        `{"schedules":[` + strings.Join(many, ",") + `],"startTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-10T16:00:00","timeZone":"UTC"}}`,
		"62 days":             `{"schedules":["ana@example.test"],"startTime":{"dateTime":"2026-03-01T00:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-05-02T00:00:00","timeZone":"UTC"}}`,
		"interval of 1":       `{"schedules":["ana@example.test"],"startTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-10T16:00:00","timeZone":"UTC"},"availabilityViewInterval":1}`,
		"interval as string":  `{"schedules":["ana@example.test"],"startTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-10T16:00:00","timeZone":"UTC"},"availabilityViewInterval":"15"}`,
		"unknown parameter":   `{"schedules":["ana@example.test"],"attendees":[],"startTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-10T16:00:00","timeZone":"UTC"}}`,
		"one parameter twice": `{"schedules":["ana@example.test"],"Schedules":["bob@example.test"],"startTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-03-10T16:00:00","timeZone":"UTC"}}`,
		"no endTime":          `{"schedules":["ana@example.test"],"startTime":{"dateTime":"2026-03-10T08:00:00","timeZone":"UTC"}}`,
	} {
		if a := call(t, s, "POST", "/v1.0/users/"+organizer+"/calendar/getSchedule", c); a.status != 400 {
			t.Errorf("%s: %d %s", name, a.status, a.raw)
		}
	}
}

func TestRoomsPagedAndListed(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	for i, name := range []string{"A", "B", "C"} {
		s.AddRoom(Room{Email: strings.ToLower(name) + "@example.test", DisplayName: name, Capacity: 4 + i, RoomList: "hq@example.test"})
	}
	s.AddRoom(Room{Email: "d@example.test", DisplayName: "D", Capacity: 2})
	s.SetPageSize(3)
	a := call(t, s, "GET", "/v1.0/places/microsoft.graph.room", "")
	next, _ := a.body["@odata.nextLink"].(string)
	if len(a.body["value"].([]any)) != 3 || !strings.HasPrefix(next, s.URL+"/v1.0/places/microsoft.graph.room?") {
		t.Fatalf("first page: %s", a.raw)
	}
	a = call(t, s, "GET", strings.TrimPrefix(next, s.URL), "")
	if len(a.body["value"].([]any)) != 1 || a.body["@odata.nextLink"] != nil {
		t.Errorf("second page: %s", a.raw)
	}
	a = call(t, s, "GET", "/v1.0/places/HQ@example.test/microsoft.graph.roomlist/rooms?$top=2", "")
	if len(a.body["value"].([]any)) != 2 || a.body["@odata.nextLink"] == nil {
		t.Errorf("room list's rooms, $top=2: %s", a.raw)
	}
	a = call(t, s, "GET", "/v1.0/places/microsoft.graph.roomlist", "")
	if v := a.body["value"].([]any); len(v) != 1 || v[0].(map[string]any)["emailAddress"] != "hq@example.test" {
		t.Errorf("room lists: %s", a.raw)
	}
	if a := call(t, s, "GET", "/v1.0/places/microsoft.graph.room?$top=0", ""); a.status != 400 {
		t.Errorf("$top=0: %d", a.status)
	}
}

func TestEventLifecycle(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	a := call(t, s, "POST", events, eventJSON(`,"body":{"contentType":"html","content":"<p>Agenda</p>"},"isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness","attendees":[{"emailAddress":{"address":"ana@example.test"}},{"emailAddress":{"address":"bob@example.test"},"type":"optional"}]`))
	id, _ := a.body["id"].(string)
	etag, _ := a.body["@odata.etag"].(string)
	join, _ := a.body["onlineMeeting"].(map[string]any)["joinUrl"].(string)
	if a.status != 201 || !strings.HasPrefix(join, "https://teams.microsoft.com/l/meetup-join/") || !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	if body := a.body["body"].(map[string]any)["content"].(string); !strings.Contains(body, join) || !strings.Contains(body, "<p>Agenda</p>") {
		t.Errorf("body lacks the agenda or the join link: %s", body)
	}
	s.SetResponse(id, "ana@example.test", "declined")
	s.SetResponse(id, "bob@example.test", "tentativelyAccepted")
	a = call(t, s, "GET", events+"/"+id+"?$select=attendees", "")
	if len(a.body) != 4 { // id, @odata.etag, @odata.context, attendees
		t.Errorf("$select=attendees answered %v", a.body)
	}
	responses := map[string]string{}
	for _, at := range a.body["attendees"].([]any) {
		m := at.(map[string]any)
		responses[address(m)] = m["status"].(map[string]any)["response"].(string)
	}
	if responses["ana@example.test"] != "declined" || responses["bob@example.test"] != "tentativelyAccepted" {
		t.Errorf("responses %v", responses)
	}
	if a := call(t, s, "GET", events+"/"+id+"?$select=colour", ""); a.status != 400 {
		t.Errorf("$select of an unknown property: %d", a.status)
	}
	// The time moves: If-Match on the first ETag fails (SetResponse changed
	// the item), the current one works, and answers are asked again.
	move := `{"start":{"dateTime":"2026-03-11T14:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-03-11T15:00:00","timeZone":"UTC"}}`
	if a := call(t, s, "PATCH", events+"/"+id, move, "If-Match", etag); a.status != 412 || a.code() != "ErrorIrresolvableConflict" {
		t.Errorf("stale If-Match: %d %s", a.status, a.raw)
	}
	cur := call(t, s, "GET", events+"/"+id, "").body["@odata.etag"].(string)
	a = call(t, s, "PATCH", events+"/"+id, move, "If-Match", cur)
	if a.status != 200 || a.body["start"].(map[string]any)["dateTime"] != "2026-03-11T14:00:00.0000000" || a.body["@odata.etag"] == cur {
		t.Fatalf("patch: %d %s", a.status, a.raw)
	}
	for _, at := range a.body["attendees"].([]any) {
		if r := at.(map[string]any)["status"].(map[string]any)["response"]; r != "none" {
			t.Errorf("after the move, an answer %v stayed", r)
		}
	}
	if a.body["onlineMeeting"].(map[string]any)["joinUrl"] != join {
		t.Error("the Teams link changed on a move")
	}
	if a := call(t, s, "PATCH", events+"/"+id, `{"end":{"dateTime":"2026-03-11T13:00:00","timeZone":"UTC"}}`); a.status != 400 || a.code() != "ErrorCalendarEndDateIsEarlierThanStartDate" {
		t.Errorf("end before start: %d %s", a.status, a.raw)
	}
	if a := call(t, s, "POST", events+"/"+id+"/cancel", `{"comment":"Not needed after all."}`); a.status != 202 || a.raw != "" {
		t.Fatalf("cancel: %d %s", a.status, a.raw)
	}
	if a := call(t, s, "GET", events+"/"+id, ""); a.status != 404 || a.code() != "ErrorItemNotFound" {
		t.Errorf("get after cancel: %d", a.status)
	}
	if a := call(t, s, "POST", events+"/"+id+"/cancel", `{"Comment":"again"}`); a.status != 404 {
		t.Errorf("cancel again: %d", a.status)
	}
	if a := call(t, s, "POST", events+"/"+id+"/cancel", `{"Reason":"x"}`); a.status != 400 || a.code() != "RequestBodyRead" {
		t.Errorf("cancel with an unknown parameter: %d %s", a.status, a.raw)
	}
	ev, ok := s.Event(id)
	if !ok || !ev.Cancelled || ev.CancelComment != "Not needed after all." || len(ev.JSON["attendees"].([]any)) != 2 {
		t.Errorf("stored cancelled event: %+v", ev)
	}
}

func TestExtendedProperties(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	const id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name booked"
	a := call(t, s, "POST", events, eventJSON(`,"singleValueExtendedProperties":[{"id":"`+id+`","value":"one"}]`))
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	if _, shown := a.body["singleValueExtendedProperties"]; shown {
		t.Error("extended properties answered without $expand")
	}
	ev := events + "/" + a.body["id"].(string)
	expand := func(pid string) answer {
		return call(t, s, "GET", ev+"?$expand="+url.QueryEscape("singleValueExtendedProperties($filter=id eq '"+pid+"')"), "")
	}
	got := expand(id)
	if list, _ := got.body["singleValueExtendedProperties"].([]any); len(list) != 1 || list[0].(map[string]any)["value"] != "one" {
		t.Errorf("expanded: %s", got.raw)
	}
	if got := expand(strings.Replace(id, "booked", "Booked", 1)); got.status != 200 || got.body["singleValueExtendedProperties"] != nil {
		t.Errorf("the name is matched with case: %s", got.raw)
	}
	if a := call(t, s, "PATCH", ev, `{"singleValueExtendedProperties":[{"id":"`+id+`","value":"two"}]}`); a.status != 200 {
		t.Fatalf("patch: %d %s", a.status, a.raw)
	}
	if list, _ := expand(id).body["singleValueExtendedProperties"].([]any); len(list) != 1 || list[0].(map[string]any)["value"] != "two" {
		t.Errorf("after the patch: %v", list)
	}
	for body, status := range map[string]int{
		`{"singleValueExtendedProperties":[{"id":"booked","value":"x"}]}`:                                                400,
		`{"singleValueExtendedProperties":[{"id":"` + id + `","value":3}]}`:                                              400,
		`{"singleValueExtendedProperties":[{"id":"` + id + `","colour":"red"}]}`:                                         400,
		`{"singleValueExtendedProperties":{"id":"` + id + `"}}`:                                                          400,
		`{"singleValueExtendedProperties":[{"id":"Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Name n","value":"1"}]}`: 400,
	} {
		if a := call(t, s, "PATCH", ev, body); a.status != status {
			t.Errorf("%s: %d %s", body, a.status, a.raw)
		}
	}
	if u := s.TakeUncovered(); len(u) != 1 || !strings.Contains(u[0], "Integer {") {
		t.Errorf("uncovered %v, want the Integer property", u)
	}
}
