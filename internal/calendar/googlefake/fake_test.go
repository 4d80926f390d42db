package googlefake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The embedded discovery document must be the one the Go client in go.mod
// was generated from; after upgrading google.golang.org/api, copy it again:
// cp "$(go list -m -f '{{.Dir}}' google.golang.org/api)/calendar/v3/calendar-api.json" internal/calendar/googlefake/discovery/
func TestDiscoveryDocumentMatchesModule(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
	if err != nil {
		t.Fatalf("go list google.golang.org/api: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "calendar", "v3", "calendar-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, calendarDiscovery) {
		t.Fatal("discovery/calendar-api.json differs from the google.golang.org/api module's; copy it again")
	}
}

type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Domain, Reason, Message string
		} `json:"errors"`
	} `json:"error"`
}

func call(t *testing.T, method, url, body string) (int, apiError, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e apiError
	var m map[string]any
	_ = json.Unmarshal(b, &e)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, e, m
}

const okEvent = `{"id":"abcdefgh0123","summary":"PM","start":{"dateTime":"2026-03-10T14:00:00Z"},"end":{"dateTime":"2026-03-10T15:00:00Z"}`

func TestBodiesValidatedAgainstDiscovery(t *testing.T) {
	s := New()
	defer s.Close()
	events := s.CalendarEndpoint() + "calendars/primary/events"
	for _, tc := range []struct {
		name, body, inMessage string
	}{
		{"unknown top-level field", okEvent + `,"colour":"red"}`, `Unknown name "colour" at 'resource'`},
		{"unknown nested field", okEvent + `,"attendees":[{"email":"a@x","rsvp":true}]}`, `Unknown name "rsvp" at 'resource.attendees[0]'`},
		{"string for a boolean", okEvent + `,"attendees":[{"email":"a@x","optional":"yes"}]}`, `'resource.attendees[0].optional' (TYPE_BOOL)`},
		{"object for a string", okEvent + `,"description":{"text":"x"}}`, `'resource.description' (TYPE_STRING)`},
		{"text for an integer", okEvent + `,"sequence":"two"}`, `'resource.sequence' (TYPE_INT32)`},
		{"bad date-time", `{"start":{"dateTime":"tomorrow"},"end":{"dateTime":"2026-03-10T15:00:00Z"}}`, `not an RFC 3339 date-time`},
		{"not JSON", `{"summary":`, `Invalid JSON payload`},
		{"bad id", `{"id":"UPPER_case!","start":{"dateTime":"2026-03-10T14:00:00Z"},"end":{"dateTime":"2026-03-10T15:00:00Z"}}`, `Invalid resource id value.`},
		{"end before start", `{"start":{"dateTime":"2026-03-10T14:00:00Z"},"end":{"dateTime":"2026-03-10T13:00:00Z"}}`, `time range is empty`},
	} {
		status, e, _ := call(t, "POST", events, tc.body)
		if status != 400 || e.Error.Code != 400 || e.Error.Status != "INVALID_ARGUMENT" || len(e.Error.Errors) != 1 {
			t.Errorf("%s: status %d, error %+v", tc.name, status, e.Error)
			continue
		}
		if !strings.Contains(e.Error.Message, tc.inMessage) {
			t.Errorf("%s: message %q lacks %q", tc.name, e.Error.Message, tc.inMessage)
		}
	}
	if status, _, _ := call(t, "POST", events, okEvent+`,"sequence":2,"extendedProperties":{"private":{"incident":"INC-42"}}}`); status != 200 {
		t.Errorf("a valid event with a map field: status %d", status)
	}
	if reqs := s.Requests(); len(reqs) != 10 {
		t.Errorf("recorded %d requests, want 10", len(reqs))
	}
}

func TestQueryParametersValidated(t *testing.T) {
	s := New()
	defer s.Close()
	events := s.CalendarEndpoint() + "calendars/primary/events"
	for q, want := range map[string]int{
		"?sendUpdates=all&conferenceDataVersion=1": 200,
		"?sendUpdates=everyone":                    400, // not in the enum
		"?conferenceDataVersion=2":                 400, // over the maximum
		"?sendUpdate=all":                          400, // no such parameter
		"?prettyPrint=maybe":                       400,
	} {
		body := strings.Replace(okEvent, "abcdefgh0123", "", 1)
		body = strings.Replace(body, `"id":"",`, "", 1) + "}"
		status, e, _ := call(t, "POST", events+q, body)
		if status != want {
			t.Errorf("%s: status %d (%s), want %d", q, status, e.Error.Message, want)
		}
	}
}

func TestErrorsAsGoogleSendsThem(t *testing.T) {
	s := New()
	defer s.Close()
	events := s.CalendarEndpoint() + "calendars/primary/events"
	if status, _, _ := call(t, "POST", events, okEvent+"}"); status != 200 {
		t.Fatalf("insert: %d", status)
	}
	status, e, _ := call(t, "POST", events, okEvent+"}")
	if status != 409 || e.Error.Errors[0].Reason != "duplicate" || e.Error.Errors[0].Domain != "global" {
		t.Errorf("duplicate id: %d %+v", status, e.Error)
	}
	if status, _, _ := call(t, "DELETE", events+"/abcdefgh0123?sendUpdates=all", ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	status, e, _ = call(t, "DELETE", events+"/abcdefgh0123", "")
	if status != 410 || e.Error.Errors[0].Reason != "deleted" {
		t.Errorf("delete again: %d %+v", status, e.Error)
	}
	status, e, _ = call(t, "PATCH", events+"/abcdefgh0123", `{"summary":"x"}`)
	if status != 410 {
		t.Errorf("patch deleted: %d %+v", status, e.Error)
	}
	status, _, m := call(t, "GET", events+"/abcdefgh0123", "")
	if status != 200 || m["status"] != "cancelled" {
		t.Errorf("get deleted: %d %v", status, m["status"])
	}
	status, e, _ = call(t, "POST", events, okEvent+"}")
	if status != 409 {
		t.Errorf("insert over a deleted id: %d, want 409 (ids are not reused)", status)
	}
	status, e, _ = call(t, "GET", events+"/nosuchevent1", "")
	if status != 404 || e.Error.Errors[0].Reason != "notFound" {
		t.Errorf("get unknown: %d %+v", status, e.Error)
	}

	s.NoDelegation = true
	status, e, _ = call(t, "POST", events, strings.Replace(okEvent, "abcdefgh0123", "abcdefgh0124", 1)+`,"attendees":[{"email":"a@example.test"}]}`)
	if status != 403 || e.Error.Errors[0].Reason != "forbiddenForServiceAccounts" {
		t.Errorf("attendees without delegation: %d %+v", status, e.Error)
	}
	s.NoDelegation = false

	s.FailNext(1, 429, "rateLimitExceeded")
	status, e, _ = call(t, "GET", events+"/abcdefgh0123", "")
	if status != 429 || e.Error.Errors[0].Reason != "rateLimitExceeded" || e.Error.Errors[0].Domain != "usageLimits" {
		t.Errorf("injected: %d %+v", status, e.Error)
	}
	if status, _, _ = call(t, "GET", events+"/abcdefgh0123", ""); status != 200 {
		t.Errorf("after the injected failure: %d", status)
	}
}

func TestConferenceOnlyWithVersion1(t *testing.T) {
	s := New()
	defer s.Close()
	events := s.CalendarEndpoint() + "calendars/primary/events"
	conf := `,"conferenceData":{"createRequest":{"requestId":"r1","conferenceSolutionKey":{"type":"hangoutsMeet"}}}}`
	_, _, m := call(t, "POST", events, okEvent+conf)
	if _, ok := m["conferenceData"]; ok {
		t.Errorf("conference created without conferenceDataVersion=1: %v", m["conferenceData"])
	}
	_, _, m = call(t, "POST", events+"?conferenceDataVersion=1", strings.Replace(okEvent, "abcdefgh0123", "abcdefgh0125", 1)+conf)
	if link, _ := m["hangoutLink"].(string); !strings.HasPrefix(link, "https://meet.google.com/") {
		t.Errorf("no Meet link: %v", m)
	}
}

func TestRoomsPaged(t *testing.T) {
	s := New()
	defer s.Close()
	for _, n := range []string{"A", "B", "C"} {
		s.AddRoom(Room{Email: n + "@resource.example.test", Name: n, Capacity: 4})
	}
	u := s.AdminEndpoint() + "admin/directory/v1/customer/my_customer/resources/calendars?maxResults=2"
	_, _, m := call(t, "GET", u, "")
	if items, _ := m["items"].([]any); len(items) != 2 || m["nextPageToken"] == nil {
		t.Fatalf("first page: %v", m)
	}
	_, _, m = call(t, "GET", u+"&pageToken="+m["nextPageToken"].(string), "")
	if items, _ := m["items"].([]any); len(items) != 1 || m["nextPageToken"] != nil {
		t.Errorf("second page: %v", m)
	}
}

// events.list: the time range (an event counts when it ends after timeMin
// and starts before timeMax), start-time order only with singleEvents,
// pages, and the errors Google answers for a bad query.
func TestEventsListed(t *testing.T) {
	s := New()
	defer s.Close()
	base := s.CalendarEndpoint() + "calendars/ops%40example.test/events"
	for i, start := range []string{"2026-03-10T12:00:00Z", "2026-03-10T09:00:00Z", "2026-03-10T10:30:00Z", "2026-03-12T09:00:00Z"} {
		st, _ := time.Parse(time.RFC3339, start)
		body := fmt.Sprintf(`{"id":"maint%04d","summary":"W%d","start":{"dateTime":%q},"end":{"dateTime":%q}}`, i, i, start, st.Add(time.Hour).Format(time.RFC3339))
		if code, e, _ := call(t, "POST", base, body); code != 200 {
			t.Fatalf("insert: %d %+v", code, e)
		}
	}
	q := "?singleEvents=true&orderBy=startTime&timeMin=2026-03-10T09:30:00Z&timeMax=2026-03-10T12:00:00Z"
	code, e, m := call(t, "GET", base+q, "")
	var got []string
	for _, it := range m["items"].([]any) {
		got = append(got, it.(map[string]any)["summary"].(string))
	}
	// W1 (09:00-10:00) overlaps 09:30; W0 starts at timeMax: out; W3 is days later.
	if code != 200 || strings.Join(got, ",") != "W1,W2" || m["kind"] != "calendar#events" {
		t.Fatalf("list: %d %+v %v", code, e, got)
	}
	_, _, m = call(t, "GET", base+"?singleEvents=true&orderBy=startTime&maxResults=3", "")
	if items := m["items"].([]any); len(items) != 3 || m["nextPageToken"] == nil || items[0].(map[string]any)["summary"] != "W1" {
		t.Fatalf("first page: %v", m)
	}
	_, _, m = call(t, "GET", base+"?singleEvents=true&orderBy=startTime&maxResults=3&pageToken="+m["nextPageToken"].(string), "")
	if items := m["items"].([]any); len(items) != 1 || m["nextPageToken"] != nil || items[0].(map[string]any)["summary"] != "W3" {
		t.Fatalf("second page: %v", m)
	}

	for name, c := range map[string]struct {
		query  string
		status int
		reason string
	}{
		"startTime order without singleEvents": {"?orderBy=startTime", 400, "badRequest"},
		"a timeMin that is no date-time":       {"?timeMin=yesterday", 400, "invalid"},
		"an unknown parameter":                 {"?since=2026-03-10", 400, "invalid"},
		"a bad page token":                     {"?pageToken=nope", 400, "invalid"},
	} {
		code, e, _ := call(t, "GET", base+c.query, "")
		if code != c.status || len(e.Error.Errors) == 0 || e.Error.Errors[0].Reason != c.reason {
			t.Errorf("%s: %d %+v", name, code, e)
		}
	}
	if code, _, _ := call(t, "GET", s.CalendarEndpoint()+"calendars/nobody%40example.test/events", ""); code != 404 {
		t.Errorf("unknown calendar: %d", code)
	}
	rec := `{"id":"recur00001","summary":"Weekly patching","recurrence":["RRULE:FREQ=WEEKLY"],"start":{"dateTime":"2026-03-09T02:00:00Z"},"end":{"dateTime":"2026-03-09T03:00:00Z"}}`
	if code, e, _ := call(t, "POST", base, rec); code != 200 {
		t.Fatalf("insert recurring: %d %+v", code, e)
	}
	if code, _, _ := call(t, "GET", base+"?singleEvents=true", ""); code != http.StatusNotImplemented {
		t.Errorf("the fake must refuse to pretend it expands a recurring event: %d", code)
	}
}

// The response statuses SetResponse takes are read from the discovery
// document's description of EventAttendee.responseStatus.
func TestResponseStatusesFromDiscovery(t *testing.T) {
	t.Parallel()
	d, err := loadDiscovery(calendarDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	got := d.values("EventAttendee", "responseStatus")
	if strings.Join(got, ",") != "needsAction,declined,tentative,accepted" {
		t.Errorf("responseStatus values %v", got)
	}
}
