// Package googlefake is an in-process stand-in for the parts of Google
// Calendar v3 and the Admin SDK Directory API that sitrep calls, for tests.
//
// What it takes from Google's published material, and so checks:
//   - paths, HTTP methods, and query parameters (names, enum values, types,
//     ranges) of calendar.events.insert/list/get/patch/delete and
//     calendar.freebusy.query, from the discovery document shipped in
//     google.golang.org/api (embedded here; a test keeps the copy in step);
//   - every request body against that document's schemas: an undeclared
//     field or a value of the wrong JSON type is a 400, as Google's
//     JSON-to-proto layer answers;
//   - event ids as documented for events.insert: base32hex characters
//     (a-v, 0-9), 5 to 1024 of them;
//   - the error body {"error": {"code", "message", "errors": [{"domain",
//     "reason", "message"}], "status"}} and the statuses and reasons of the
//     Calendar API's error guide: 409 duplicate, 410 deleted, 404 notFound,
//     412 conditionNotMet, 403 forbiddenForServiceAccounts, 403/429
//     rateLimitExceeded;
//   - conferenceData being ignored unless conferenceDataVersion=1;
//   - attendees' responseStatus values, as EventAttendee's description
//     lists them (SetResponse takes only those).
//
// What it does not know, and a test against it cannot show: the exact
// wording of Google's messages (modelled, not copied); server-side
// behaviour not in the documents, such as how sequence numbers are bumped
// on patch, how long a Meet link takes to be created (here at once, status
// "success"), which calendars free/busy may see (here every address), how
// rooms accept (here attendees stay needsAction until SetResponse, and a
// booked room is busy); when Google sends Retry-After (here only with
// FailNextRetryAfter);
// recurring events (events.list with singleEvents=true answers 501 for a
// calendar holding one, rather than pretend to expand it; all-day events
// are read in UTC, the calendar's time zone here);
// authentication (any or no token is accepted; domain-wide delegation is the
// NoDelegation flag); and the Directory API's parameters and body shapes
// beyond the CalendarResource fields sitrep reads (no discovery document of
// it is embedded: it is 380 KB for one list call).
package googlefake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Google API server on loopback.
type Server struct {
	*httptest.Server
	disc *discovery

	mu sync.Mutex
	// Primary is the address "primary" stands for: the user the client
	// authenticates as (impersonates).
	Primary string
	// NoDelegation makes the caller a service account without domain-wide
	// delegation: events with attendees are refused with 403
	// forbiddenForServiceAccounts, as Google does.
	NoDelegation bool
	events       map[string]map[string]*stored // calendar → id → event
	busy         map[string][]period
	rooms        []map[string]any
	fail         []injected
	requests     []Request
	etagSeq      int
}

type stored struct {
	ev      map[string]any
	deleted bool
}

type period struct{ start, end time.Time }

type injected struct {
	status     int
	reason     string
	message    string
	retryAfter time.Duration
}

// Request is one call the fake answered, for tests to inspect.
type Request struct {
	Method  string
	Path    string // unescaped
	Query   url.Values
	Header  http.Header
	Body    []byte
	Status  int
	Reason  string // of an error answer
	Summary string // of the event, where there is one
}

// New starts the fake. Close it when done.
func New() *Server {
	d, err := loadDiscovery(calendarDiscovery)
	if err != nil {
		panic(err) // the embedded document is part of the build
	}
	s := &Server{disc: d, Primary: "organizer@example.test", events: map[string]map[string]*stored{}, busy: map[string][]period{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /calendar/v3/calendars/{calendarId}/events", s.insert)
	mux.HandleFunc("GET /calendar/v3/calendars/{calendarId}/events", s.list)
	mux.HandleFunc("GET /calendar/v3/calendars/{calendarId}/events/{eventId}", s.get)
	mux.HandleFunc("PATCH /calendar/v3/calendars/{calendarId}/events/{eventId}", s.patch)
	mux.HandleFunc("DELETE /calendar/v3/calendars/{calendarId}/events/{eventId}", s.delete)
	mux.HandleFunc("POST /calendar/v3/freeBusy", s.freeBusy)
	mux.HandleFunc("GET /admin/directory/v1/customer/{customer}/resources/calendars", s.listRooms)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fault(w, r, http.StatusNotFound, "global", "notFound", "Not Found")
	})
	s.Server = httptest.NewServer(s.record(mux))
	return s
}

// CalendarEndpoint is the base URL for option.WithEndpoint of a Calendar
// client (the real one is https://www.googleapis.com/calendar/v3/).
func (s *Server) CalendarEndpoint() string { return s.URL + "/calendar/v3/" }

// AdminEndpoint is the base URL for option.WithEndpoint of an Admin SDK
// client (the real one is https://admin.googleapis.com/).
func (s *Server) AdminEndpoint() string { return s.URL + "/" }

// FailNext makes the next n API calls fail with status and reason, as
// Google's quota errors do: (429, "rateLimitExceeded"), (403,
// "userRateLimitExceeded"), (503, "backendError").
func (s *Server) FailNext(n, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, injected{status: status, reason: reason, message: http.StatusText(status)})
	}
}

// FailNextRetryAfter is FailNext with a Retry-After header of whole
// seconds on each answer, as Google's front ends send with some 429 and
// 503 answers: the wait the client is asked to keep.
func (s *Server) FailNextRetryAfter(n, status int, reason string, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, injected{status: status, reason: reason, message: http.StatusText(status), retryAfter: after})
	}
}

// SetResponse answers an event's invitation for one attendee, as they
// would in Google Calendar: responseStatus is one of the values the
// discovery document lists for EventAttendee.responseStatus ("accepted",
// "declined", "tentative", "needsAction"). The event is changed, so its
// etag and updated time change too.
func (s *Server) SetResponse(calendarID, eventID, email, status string) error {
	if !slices.Contains(s.disc.values("EventAttendee", "responseStatus"), status) {
		return fmt.Errorf("googlefake: responseStatus %q is none of %v", status, s.disc.values("EventAttendee", "responseStatus"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.events[s.calendar(calendarID)][eventID]
	if st == nil || st.deleted {
		return fmt.Errorf("googlefake: no event %s in %s", eventID, calendarID)
	}
	atts, _ := st.ev["attendees"].([]any)
	for _, a := range atts {
		if m, ok := a.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["email"]), email) {
			m["responseStatus"] = status
			st.ev["updated"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
			st.ev["etag"] = s.nextETag()
			return nil
		}
	}
	return fmt.Errorf("googlefake: %s is not invited to %s", email, eventID)
}

// SetBusy adds busy time to an address's calendar, as other meetings.
func (s *Server) SetBusy(email string, start, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy[email] = append(s.busy[email], period{start, end})
}

// Room is a calendar resource as the Admin console holds it.
type Room struct {
	Email, Name, BuildingID, Floor, Category string
	Capacity                                 int
	Features                                 []string
}

// AddRoom adds a resource calendar to the Directory.
func (s *Server) AddRoom(r Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Category == "" {
		r.Category = "CONFERENCE_ROOM"
	}
	var feats []any
	for _, f := range r.Features {
		feats = append(feats, map[string]any{"feature": map[string]any{"kind": "admin#directory#resources#features#Feature", "name": f}})
	}
	res := map[string]any{
		"kind":                  "admin#directory#resources#calendars#CalendarResource",
		"etags":                 `"` + strconv.Itoa(len(s.rooms)+1) + `"`,
		"resourceId":            strconv.Itoa(1000 + len(s.rooms)),
		"resourceName":          r.Name,
		"generatedResourceName": fmt.Sprintf("%s-%s-%s (%d)", r.BuildingID, r.Floor, r.Name, r.Capacity),
		"resourceEmail":         r.Email,
		"resourceCategory":      r.Category,
		"capacity":              r.Capacity,
		"buildingId":            r.BuildingID,
		"floorName":             r.Floor,
	}
	if feats != nil {
		res["featureInstances"] = feats
	}
	s.rooms = append(s.rooms, res)
}

// Event returns a copy of a stored event, deleted ones included (with
// status "cancelled"); calendarID "primary" works.
func (s *Server) Event(calendarID, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.events[s.calendar(calendarID)][id]
	if st == nil {
		return nil, false
	}
	return clone(st.ev), true
}

// Requests returns the calls answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// record logs each call and serves injected failures first.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		s.mu.Lock()
		var inj *injected
		if len(s.fail) > 0 {
			inj = &s.fail[0]
			s.fail = s.fail[1:]
		}
		s.mu.Unlock()
		if inj != nil {
			domain := "usageLimits"
			if inj.status >= 500 {
				domain = "global"
			}
			if inj.retryAfter > 0 {
				rw.Header().Set("Retry-After", strconv.Itoa(int(inj.retryAfter.Round(time.Second)/time.Second)))
			}
			s.fault(rw, r, inj.status, domain, inj.reason, inj.message)
		} else {
			next.ServeHTTP(rw, r)
		}
		var summary struct {
			Summary string `json:"summary"`
		}
		_ = json.Unmarshal(body, &summary)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(),
			Body: body, Status: rw.status, Reason: rw.reason, Summary: summary.Summary})
		s.mu.Unlock()
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	reason string
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// statusNames are the canonical status strings Google's errors carry.
var statusNames = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
}

// fault writes Google's error body.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, status int, domain, reason, message string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.reason = reason
	}
	e := map[string]any{
		"code":    status,
		"message": message,
		"errors":  []any{map[string]any{"domain": domain, "reason": reason, "message": message}},
	}
	if name, ok := statusNames[status]; ok {
		e["status"] = name
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	if errors.As(err, &br) {
		s.fault(w, r, http.StatusBadRequest, "global", "invalid", br.msg)
		return
	}
	s.fault(w, r, http.StatusInternalServerError, "global", "backendError", err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) calendar(id string) string {
	if id == "primary" {
		return s.Primary
	}
	return id
}

// eventIDPattern is events.insert's documented id alphabet and length.
// (Go's regexp caps a repeat at 1000, so the length is checked apart.)
var eventIDPattern = regexp.MustCompile(`^[a-v0-9]+$`)

func validEventID(id string) bool {
	return len(id) >= 5 && len(id) <= 1024 && eventIDPattern.MatchString(id)
}

func (s *Server) insert(w http.ResponseWriter, r *http.Request) {
	const id = "calendar.events.insert"
	if err := s.disc.checkQuery(id, r.URL.Query()); err != nil {
		s.badRequest(w, r, err)
		return
	}
	body, _ := io.ReadAll(r.Body)
	ev, err := s.disc.checkBody(id, body)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cal := s.calendar(r.PathValue("calendarId"))
	evID, _ := ev["id"].(string)
	if evID == "" {
		sum := sha256.Sum256([]byte(fmt.Sprint(time.Now().UnixNano(), len(s.requests))))
		evID = fmt.Sprintf("%x", sum[:13])
	} else if !validEventID(evID) {
		s.fault(w, r, http.StatusBadRequest, "global", "invalid", "Invalid resource id value.")
		return
	}
	if _, dup := s.events[cal][evID]; dup {
		// Deleted events keep their id: inserting it again is a duplicate too.
		s.fault(w, r, http.StatusConflict, "global", "duplicate", "The requested identifier already exists.")
		return
	}
	if msg, reason := checkEvent(ev); msg != "" {
		s.fault(w, r, http.StatusBadRequest, "global", reason, msg)
		return
	}
	if s.NoDelegation && hasAttendees(ev) {
		s.fault(w, r, http.StatusForbidden, "calendar", "forbiddenForServiceAccounts",
			"Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.")
		return
	}
	if errMsg := s.conference(ev, r.URL.Query()); errMsg != "" {
		s.fault(w, r, http.StatusBadRequest, "global", "invalid", errMsg)
		return
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	ev["kind"] = "calendar#event"
	ev["id"] = evID
	ev["status"] = "confirmed"
	ev["htmlLink"] = "https://www.google.com/calendar/event?eid=" + base64.RawURLEncoding.EncodeToString([]byte(evID+" "+cal))
	ev["created"], ev["updated"] = now, now
	ev["creator"] = map[string]any{"email": cal, "self": true}
	ev["organizer"] = map[string]any{"email": cal, "self": true}
	if _, ok := ev["iCalUID"]; !ok {
		ev["iCalUID"] = evID + "@google.com"
	}
	if _, ok := ev["sequence"]; !ok {
		ev["sequence"] = json.Number("0")
	}
	if _, ok := ev["reminders"]; !ok {
		ev["reminders"] = map[string]any{"useDefault": true}
	}
	ev["eventType"] = "default"
	markAttendees(ev)
	ev["etag"] = s.nextETag()
	if s.events[cal] == nil {
		s.events[cal] = map[string]*stored{}
	}
	s.events[cal][evID] = &stored{ev: ev}
	writeJSON(w, http.StatusOK, ev)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if err := s.disc.checkQuery("calendar.events.get", r.URL.Query()); err != nil {
		s.badRequest(w, r, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.events[s.calendar(r.PathValue("calendarId"))][r.PathValue("eventId")]
	if st == nil {
		s.fault(w, r, http.StatusNotFound, "global", "notFound", "Not Found")
		return
	}
	// events.get returns deleted events too, with status "cancelled".
	writeJSON(w, http.StatusOK, st.ev)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	const id = "calendar.events.patch"
	if err := s.disc.checkQuery(id, r.URL.Query()); err != nil {
		s.badRequest(w, r, err)
		return
	}
	body, _ := io.ReadAll(r.Body)
	change, err := s.disc.checkBody(id, body)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != st.ev["etag"] {
		s.fault(w, r, http.StatusPreconditionFailed, "global", "conditionNotMet", "Precondition Failed")
		return
	}
	if s.NoDelegation && hasAttendees(change) {
		s.fault(w, r, http.StatusForbidden, "calendar", "forbiddenForServiceAccounts",
			"Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.")
		return
	}
	next := clone(st.ev)
	// Patch semantics: the fields given replace the stored ones, arrays
	// whole; a null clears a field.
	for k, v := range change {
		if v == nil {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if msg, reason := checkEvent(next); msg != "" {
		s.fault(w, r, http.StatusBadRequest, "global", reason, msg)
		return
	}
	oldSeq, _ := strconv.Atoi(fmt.Sprint(st.ev["sequence"]))
	newSeq, _ := strconv.Atoi(fmt.Sprint(next["sequence"]))
	if _, given := change["sequence"]; given && newSeq < oldSeq {
		s.fault(w, r, http.StatusBadRequest, "global", "invalid", "Invalid sequence value. The specified sequence number is below the current sequence number of the resource.")
		return
	}
	if !given(change, "sequence") && timeChanged(st.ev, next) {
		newSeq = oldSeq + 1
	}
	next["sequence"] = json.Number(strconv.Itoa(newSeq))
	if errMsg := s.conference(next, r.URL.Query()); errMsg != "" {
		s.fault(w, r, http.StatusBadRequest, "global", "invalid", errMsg)
		return
	}
	markAttendees(next)
	next["updated"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	next["etag"] = s.nextETag()
	st.ev = next
	writeJSON(w, http.StatusOK, next)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	if err := s.disc.checkQuery("calendar.events.delete", r.URL.Query()); err != nil {
		s.badRequest(w, r, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	st.deleted = true
	st.ev["status"] = "cancelled"
	st.ev["etag"] = s.nextETag()
	w.WriteHeader(http.StatusNoContent)
}

// lookup finds the event of the path: 404 if it never existed, 410 if it
// was deleted.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*stored, bool) {
	st := s.events[s.calendar(r.PathValue("calendarId"))][r.PathValue("eventId")]
	if st == nil {
		s.fault(w, r, http.StatusNotFound, "global", "notFound", "Not Found")
		return nil, false
	}
	if st.deleted {
		s.fault(w, r, http.StatusGone, "global", "deleted", "Resource has been deleted")
		return nil, false
	}
	return st, true
}

func (s *Server) freeBusy(w http.ResponseWriter, r *http.Request) {
	const id = "calendar.freebusy.query"
	if err := s.disc.checkQuery(id, r.URL.Query()); err != nil {
		s.badRequest(w, r, err)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, err := s.disc.checkBody(id, body)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	minS, _ := req["timeMin"].(string)
	maxS, _ := req["timeMax"].(string)
	if minS == "" || maxS == "" {
		s.fault(w, r, http.StatusBadRequest, "global", "required", "Missing timeMin or timeMax parameter.")
		return
	}
	tmin, _ := time.Parse(time.RFC3339, minS)
	tmax, _ := time.Parse(time.RFC3339, maxS)
	if !tmax.After(tmin) {
		s.fault(w, r, http.StatusBadRequest, "global", "timeRangeEmpty", "The specified time range is empty.")
		return
	}
	items, _ := req["items"].([]any)
	if len(items) > 50 {
		s.fault(w, r, http.StatusBadRequest, "global", "tooManyCalendarsRequested", "Too many calendars requested.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cals := map[string]any{}
	for _, it := range items {
		m, _ := it.(map[string]any)
		email, _ := m["id"].(string)
		var busy []any
		for _, p := range s.busyOf(s.calendar(email)) {
			if p.start.Before(tmax) && tmin.Before(p.end) {
				busy = append(busy, map[string]any{"start": p.start.UTC().Format(time.RFC3339), "end": p.end.UTC().Format(time.RFC3339)})
			}
		}
		if busy == nil {
			busy = []any{}
		}
		cals[email] = map[string]any{"busy": busy}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "calendar#freeBusy", "timeMin": minS, "timeMax": maxS, "calendars": cals})
}

// busyOf is an address's busy time: SetBusy's, the events in its own
// calendar, and the events it (or the room it is) attends and did not
// decline. Cancelled and transparent events are free time.
func (s *Server) busyOf(email string) []period {
	out := slices.Clone(s.busy[email])
	for cal, evs := range s.events {
		for _, st := range evs {
			if st.deleted || st.ev["transparency"] == "transparent" {
				continue
			}
			if cal != email && !attends(st.ev, email) {
				continue
			}
			start, err1 := eventTime(st.ev, "start")
			end, err2 := eventTime(st.ev, "end")
			if err1 == nil && err2 == nil {
				out = append(out, period{start, end})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "alt", "prettyPrint", "maxResults", "pageToken", "orderBy", "query", "fields", "key", "quotaUser", "$.xgafv":
		default:
			s.fault(w, r, http.StatusBadRequest, "global", "invalid", fmt.Sprintf("Invalid JSON payload received. Unknown name %q: Cannot bind query parameter.", k))
			return
		}
	}
	if c := r.PathValue("customer"); c != "my_customer" && !strings.HasPrefix(c, "C0") {
		s.fault(w, r, http.StatusNotFound, "global", "notFound", "Resource Not Found: customer")
		return
	}
	max := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.fault(w, r, http.StatusBadRequest, "global", "invalid", "Invalid value for maxResults")
			return
		}
		max = n
	}
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			s.fault(w, r, http.StatusBadRequest, "global", "invalid", "Invalid page token")
			return
		}
		start = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	end := min(start+max, len(s.rooms))
	items := []any{}
	for _, room := range s.rooms[min(start, len(s.rooms)):end] {
		items = append(items, room)
	}
	resp := map[string]any{"kind": "admin#directory#resources#calendars#calendarResourcesList", "etag": `"rooms"`, "items": items}
	if end < len(s.rooms) {
		resp["nextPageToken"] = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, resp)
}

// checkEvent applies the rules events.insert documents beyond types: start
// and end required, end after start, an email for every attendee.
func checkEvent(ev map[string]any) (msg, reason string) {
	start, err := eventTime(ev, "start")
	if err != nil {
		return "Missing start time.", "required"
	}
	end, err := eventTime(ev, "end")
	if err != nil {
		return "Missing end time.", "required"
	}
	if !end.After(start) {
		return "The specified time range is empty.", "timeRangeEmpty"
	}
	atts, _ := ev["attendees"].([]any)
	for _, a := range atts {
		m, _ := a.(map[string]any)
		if e, _ := m["email"].(string); e == "" {
			return "Missing attendee email.", "required"
		}
	}
	return "", ""
}

func eventTime(ev map[string]any, key string) (time.Time, error) {
	m, _ := ev[key].(map[string]any)
	if dt, _ := m["dateTime"].(string); dt != "" {
		return time.Parse(time.RFC3339, dt)
	}
	if d, _ := m["date"].(string); d != "" {
		return time.Parse("2006-01-02", d)
	}
	return time.Time{}, fmt.Errorf("no %s", key)
}

func timeChanged(a, b map[string]any) bool {
	for _, k := range []string{"start", "end", "location"} {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if string(x) != string(y) {
			return true
		}
	}
	return false
}

func given(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func hasAttendees(ev map[string]any) bool {
	atts, _ := ev["attendees"].([]any)
	return len(atts) > 0
}

func attends(ev map[string]any, email string) bool {
	atts, _ := ev["attendees"].([]any)
	for _, a := range atts {
		m, _ := a.(map[string]any)
		if e, _ := m["email"].(string); strings.EqualFold(e, email) && m["responseStatus"] != "declined" {
			return true
		}
	}
	return false
}

// markAttendees fills what Google adds to attendees: a response status.
func markAttendees(ev map[string]any) {
	atts, _ := ev["attendees"].([]any)
	for _, a := range atts {
		if m, ok := a.(map[string]any); ok {
			if _, ok := m["responseStatus"]; !ok {
				m["responseStatus"] = "needsAction"
			}
		}
	}
}

// conference answers conferenceData.createRequest, only under
// conferenceDataVersion=1; version 0 drops conference data, as documented.
func (s *Server) conference(ev map[string]any, q url.Values) string {
	cd, ok := ev["conferenceData"].(map[string]any)
	if !ok {
		return ""
	}
	if q.Get("conferenceDataVersion") != "1" {
		delete(ev, "conferenceData")
		return ""
	}
	cr, ok := cd["createRequest"].(map[string]any)
	if !ok || cd["conferenceId"] != nil {
		return ""
	}
	reqID, _ := cr["requestId"].(string)
	key, _ := cr["conferenceSolutionKey"].(map[string]any)
	typ, _ := key["type"].(string)
	if reqID == "" {
		return "Invalid conference create request: missing requestId."
	}
	if !slices.Contains([]string{"eventHangout", "eventNamedHangout", "hangoutsMeet", "addOn"}, typ) {
		return "Invalid conference type value."
	}
	sum := sha256.Sum256([]byte(reqID))
	letters := make([]byte, 10)
	for i := range letters {
		letters[i] = 'a' + sum[i]%26
	}
	code := string(letters[:3]) + "-" + string(letters[3:7]) + "-" + string(letters[7:])
	uri := "https://meet.google.com/" + code
	cr["status"] = map[string]any{"statusCode": "success"}
	cd["conferenceId"] = code
	cd["conferenceSolution"] = map[string]any{"key": map[string]any{"type": typ}, "name": "Google Meet"}
	cd["entryPoints"] = []any{map[string]any{"entryPointType": "video", "uri": uri, "label": "meet.google.com/" + code}}
	ev["hangoutLink"] = uri
	return ""
}

func (s *Server) nextETag() string {
	s.etagSeq++
	return fmt.Sprintf(`"%d"`, 3400000000000000+s.etagSeq)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out map[string]any
	_ = dec.Decode(&out)
	return out
}

// listPageSize and listPageMax are events.list's documented maxResults
// default and the most one page returns, whatever is asked.
const (
	listPageSize = 250
	listPageMax  = 2500
)

// list is calendar.events.list: the events overlapping [timeMin, timeMax)
// (an event counts when it ends after timeMin and starts before timeMax),
// of one iCalUID when asked, without cancelled ones unless showDeleted, ordered by start time when
// asked (which Google allows only with singleEvents=true), paged by an
// opaque nextPageToken.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := s.disc.checkQuery("calendar.events.list", q); err != nil {
		s.badRequest(w, r, err)
		return
	}
	if q.Get("orderBy") == "startTime" && q.Get("singleEvents") != "true" {
		s.fault(w, r, http.StatusBadRequest, "global", "badRequest", "The requested ordering is not available for the particular query.")
		return
	}
	var timeMin, timeMax time.Time
	if v := q.Get("timeMin"); v != "" {
		timeMin, _ = time.Parse(time.RFC3339, v) // checked against the document above
	}
	if v := q.Get("timeMax"); v != "" {
		timeMax, _ = time.Parse(time.RFC3339, v)
	}
	if !timeMin.IsZero() && !timeMax.IsZero() && !timeMax.After(timeMin) {
		s.fault(w, r, http.StatusBadRequest, "global", "timeRangeEmpty", "The specified time range is empty.")
		return
	}
	size := listPageSize
	if v := q.Get("maxResults"); v != "" {
		size, _ = strconv.Atoi(v)
		size = min(size, listPageMax)
	}
	offset := 0
	if tok := q.Get("pageToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(b), "offset:") {
			s.fault(w, r, http.StatusBadRequest, "global", "invalid", "Invalid page token value.")
			return
		}
		offset = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	cal := s.calendar(r.PathValue("calendarId"))
	events, ok := s.events[cal]
	if !ok {
		s.fault(w, r, http.StatusNotFound, "global", "notFound", "Not Found")
		return
	}
	type match struct {
		start time.Time
		ev    map[string]any
	}
	var found []match
	for _, st := range events {
		if st.deleted && q.Get("showDeleted") != "true" {
			continue
		}
		if uid := q.Get("iCalUID"); uid != "" && st.ev["iCalUID"] != uid {
			continue // the events of one iCalendar UID only
		}
		if _, recurring := st.ev["recurrence"]; recurring && q.Get("singleEvents") == "true" {
			s.fault(w, r, http.StatusNotImplemented, "global", "notImplemented",
				"googlefake does not expand recurring events; Google would return each occurrence.")
			return
		}
		start, err1 := eventTime(st.ev, "start")
		end, err2 := eventTime(st.ev, "end")
		if err1 != nil || err2 != nil {
			continue
		}
		if (!timeMin.IsZero() && !end.After(timeMin)) || (!timeMax.IsZero() && !start.Before(timeMax)) {
			continue
		}
		found = append(found, match{start, st.ev})
	}
	sort.Slice(found, func(i, j int) bool {
		if q.Get("orderBy") == "startTime" && !found[i].start.Equal(found[j].start) {
			return found[i].start.Before(found[j].start)
		}
		return found[i].ev["id"].(string) < found[j].ev["id"].(string)
	})
	out := map[string]any{"kind": "calendar#events", "etag": s.nextETag(), "summary": cal, "timeZone": "UTC", "accessRole": "owner",
		"updated": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "defaultReminders": []any{}, "items": []any{}}
	items := []any{}
	for i := offset; i < len(found) && i < offset+size; i++ {
		items = append(items, found[i].ev)
	}
	out["items"] = items
	if offset+size < len(found) {
		out["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset+size)))
	}
	writeJSON(w, http.StatusOK, out)
}
