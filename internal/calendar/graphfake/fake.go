// Package graphfake is an in-process stand-in for the Microsoft Graph v1.0
// calls sitrep's microsoft365 calendar backend makes, for tests.
//
// What it takes from Microsoft's published material, and so checks:
//   - every JSON request body against Graph's CSDL document
//     (microsoftgraph/msgraph-metadata clean_v10_metadata/cleanMetadata.xml;
//     an excerpt is embedded, and TestExcerpt keeps it in step): an
//     undeclared property, a value of the wrong JSON type for its Edm or
//     enum type, an unknown enum member, a null where the CSDL says
//     Nullable="false", a property given twice: 400 RequestBodyRead, as
//     Graph's OData reader answers. The CSDL marks event OpenType; the
//     calendar service refuses undeclared properties all the same, and so
//     does the fake. The parameters of the actions getSchedule (schedules,
//     startTime, endTime, availabilityViewInterval) and cancel (Comment) are
//     checked the same way, by name without regard to case: the CSDL
//     capitalises them and Microsoft's reference example does not;
//   - the routes (Graph's documented paths for List places, List rooms in a
//     room list, calendar: getSchedule, Create event, Get/Update event,
//     event: cancel, Get calendar): anything else is answered 400 and
//     recorded as uncovered, and the test fails at cleanup. So is a query
//     option, Prefer preference or time zone the fake does not model;
//   - the documented limits of getSchedule: at most 20 schedules, a period
//     shorter than 62 days, availabilityViewInterval 5 to 1440 (default 30);
//     an address it cannot resolve answers a scheduleInformation with an
//     error (responseCode 5009), not an HTTP error; times answered in the
//     Prefer: outlook.timezone zone, UTC by default;
//   - transactionId: a second POST of an event with the transactionId of a
//     live event in the same mailbox returns that event instead of making
//     another (the event resource's documentation);
//   - single-value extended properties of events, the one navigation
//     property a body may carry ("Create single-value extended property" in
//     a new or an existing event, "Get" with $expand=
//     singleValueExtendedProperties($filter=id eq '...'), the Name matched
//     with case); String properties named by a GUID and a name only;
//   - the error body {"error": {"code", "message", "innerError": {"date",
//     "request-id", "client-request-id"}}} with the request-id and
//     client-request-id headers; 401 InvalidAuthenticationToken without a
//     bearer token the Verifier accepts; 403 ErrorAccessDenied "Access to
//     OData is disabled: [RAOP] : Blocked by tenant configured AppOnly
//     AccessPolicy settings." for a mailbox outside an application access
//     policy (DenyMailbox); 404 ErrorInvalidUser for an unknown mailbox in
//     the path, ErrorItemNotFound for an unknown event, ResourceNotFound for
//     an unknown room list; 429 and 503 with Retry-After (FailNext, Inject).
//
// What it does not know, and a test against it cannot show: the wording of
// Graph's messages beyond the codes (modelled on the OData reader's and
// Exchange's); whether Graph takes a string for an Edm.Int32 (the fake
// refuses one, although the getSchedule guide's example sends "15");
// server-side behaviour the documents leave open, which is modelled: the
// 412 ErrorIrresolvableConflict for a stale If-Match, responses reset when a
// meeting's time changes, an attendee's free/busy tentative until they
// answer and free once they decline, rooms accepting at once, a cancelled
// event gone from the organizer's calendar (404), the Teams link made at
// once and added to the body; how Exchange answers a transactionId reused
// after the event was cancelled (here: a new event); the application
// permissions (roles) in a token and Exchange's check of them (any token
// the Verifier accepts may do everything); whether an application access
// policy also hides a room's free/busy from getSchedule (here only the
// mailbox in the path is checked); recurring events; Windows time zone
// names (only UTC and IANA names are modelled); server-set properties in a
// request body (recorded as uncovered); and the places API's page size
// limits (PageSize, 100 by default, is the documented default).
package graphfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Verifier checks a bearer token; its error's text is the 401's message.
type Verifier func(token string) error

// Options configure the fake.
type Options struct {
	// Verify checks every request's bearer token: JWT for tokens from
	// oauthfake. Nil accepts any non-empty token.
	Verify Verifier
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
}

// RAOPMessage is what Graph answers (403 ErrorAccessDenied) for a mailbox
// an application access policy keeps the app out of.
const RAOPMessage = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."

// Server is a fake Microsoft Graph on loopback.
type Server struct {
	*httptest.Server
	t      testing.TB
	model  *Model
	verify Verifier
	now    func() time.Time

	mu       sync.Mutex
	pageSize int
	users    map[string]string // lower-case address → display name
	denied   map[string]bool
	rooms    []*Room
	lists    []*RoomList
	busy     map[string][]block
	events   []*event
	faults   []Fault
	requests []Request
	seq      int

	// umu guards uncovered apart from mu: handlers record an uncovered
	// request while holding mu.
	umu       sync.Mutex
	uncovered []string
}

// Room is a room mailbox as Exchange Online's places directory holds it
// (Set-Place sets Capacity, Building, Floor, FloorLabel, Tags).
type Room struct {
	Email, DisplayName string
	Capacity           int
	Building           string
	FloorNumber        *int
	FloorLabel         string
	Tags               []string
	RoomList           string // the room list's address; "" for none
	// CapacityAsString answers capacity as a JSON string, as the List
	// places documentation's example shows it, though the CSDL says Int32.
	CapacityAsString bool
	// NoMailbox makes a place whose mailbox is gone (the places directory
	// lags behind Exchange): listed, but getSchedule cannot resolve it.
	NoMailbox bool
	id        string
}

// Floor is a helper for Room.FloorNumber.
func Floor(n int) *int { return &n }

// RoomList is a room list (a distribution group of rooms).
type RoomList struct {
	Email, DisplayName string
	id                 string
}

type block struct {
	start, end time.Time
	status     string
}

type event struct {
	mailbox, id       string
	props             map[string]any // the properties the client set, checked
	start, end        time.Time
	startTZ, endTZ    string
	created, modified time.Time
	changeKey         string
	iCalUID           string
	joinURL           string
	ext               map[string]string // single-value extended properties by id
	cancelled         bool
	comment           string
}

// Request is one call the fake answered.
type Request struct {
	Method string
	Path   string // unescaped
	Query  url.Values
	Header http.Header
	Body   []byte
	Status int
	Code   string // the Graph error code of an error answer
}

// Fault is an error the fake answers instead of serving a request.
type Fault struct {
	Method     string // "" for any
	PathSuffix string // "" for any; matched against the unescaped path
	Status     int
	Code       string // "ApplicationThrottled", "TooManyRequests", "ServiceNotAvailable", ...
	Message    string // "" for the code's usual message
	RetryAfter time.Duration
}

// New starts the fake; it is closed, and fails t if any call was not
// covered, when the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	m, err := LoadModel(metadataExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, model: m, verify: o.Verify, now: o.Now, pageSize: 100,
		users: map[string]string{}, denied: map[string]bool{}, busy: map[string][]block{}}
	if s.now == nil {
		s.now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/places/microsoft.graph.room", s.listRooms)
	mux.HandleFunc("GET /v1.0/places/microsoft.graph.roomlist", s.listRoomLists)
	mux.HandleFunc("GET /v1.0/places/{list}/microsoft.graph.roomlist/rooms", s.listRoomsIn)
	mux.HandleFunc("POST /v1.0/users/{user}/calendar/getSchedule", s.getSchedule)
	mux.HandleFunc("GET /v1.0/users/{user}/calendar", s.getCalendar)
	mux.HandleFunc("POST /v1.0/users/{user}/events", s.createEvent)
	mux.HandleFunc("GET /v1.0/users/{user}/events/{id}", s.getEvent)
	mux.HandleFunc("PATCH /v1.0/users/{user}/events/{id}", s.updateEvent)
	mux.HandleFunc("POST /v1.0/users/{user}/events/{id}/cancel", s.cancelEvent)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.uncover(w, r, "no such route")
	})
	s.Server = httptest.NewServer(s.record(s.authenticate(s.inject(mux))))
	t.Cleanup(func() {
		s.Close()
		if u := s.Uncovered(); len(u) > 0 {
			t.Errorf("graphfake: %d request(s) the fake does not cover, so the test cannot tell what Graph would answer:\n  %s", len(u), strings.Join(u, "\n  "))
		}
	})
	return s
}

// BaseURL is the Graph root to configure: the real one is
// https://graph.microsoft.com/v1.0.
func (s *Server) BaseURL() string { return s.URL + "/v1.0" }

// Model is the CSDL the fake checks against.
func (s *Server) Model() *Model { return s.model }

// SetPageSize sets how many places a page holds when the client gives no
// $top.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// AddUser adds mailboxes the tenant knows: the organizer and the people
// whose free/busy is asked.
func (s *Server) AddUser(email, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(email)] = name
}

// AddRoomList adds a room list.
func (s *Server) AddRoomList(email, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addRoomListLocked(email, name)
}

func (s *Server) addRoomListLocked(email, name string) {
	for _, l := range s.lists {
		if strings.EqualFold(l.Email, email) {
			return
		}
	}
	s.lists = append(s.lists, &RoomList{Email: email, DisplayName: name, id: placeID("list:" + email)})
}

// AddRoom adds a room mailbox (and its room list, if new).
func (s *Server) AddRoom(r Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.id = placeID("room:" + r.Email)
	r.Tags = slices.Clone(r.Tags)
	if r.RoomList != "" {
		s.addRoomListLocked(r.RoomList, r.RoomList)
	}
	s.rooms = append(s.rooms, &r)
}

// DenyMailbox puts a mailbox outside the app's application access policy:
// every request naming it in the path is answered 403 ErrorAccessDenied.
func (s *Server) DenyMailbox(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[strings.ToLower(email)] = true
}

// AllowMailbox undoes DenyMailbox.
func (s *Server) AllowMailbox(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, strings.ToLower(email))
}

// SetBusy adds a block to an address's free/busy, as another meeting:
// status is a freeBusyStatus member ("busy", "tentative", "oof",
// "workingElsewhere", "free").
func (s *Server) SetBusy(email string, start, end time.Time, status string) {
	if !s.model.HasMember("freeBusyStatus", status) {
		s.t.Fatalf("graphfake: SetBusy: %q is not a freeBusyStatus", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(email)
	s.busy[k] = append(s.busy[k], block{start.UTC(), end.UTC(), status})
}

// SetResponse records an attendee's answer to an event, as if they had
// answered in Outlook: "accepted", "declined", "tentativelyAccepted" (or
// "none", "notResponded").
func (s *Server) SetResponse(eventID, email, response string) {
	if !s.model.HasMember("responseType", response) || response == "organizer" {
		s.t.Fatalf("graphfake: SetResponse: %q is not an attendee's responseType", response)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.id != eventID {
			continue
		}
		atts, _ := e.props["attendees"].([]any)
		for _, a := range atts {
			m, _ := a.(map[string]any)
			if strings.EqualFold(address(m), email) {
				m["status"] = map[string]any{"response": response, "time": s.now().UTC().Format(time.RFC3339)}
				e.changeKey = s.newChangeKey()
				e.modified = s.now().UTC()
				return
			}
		}
		s.t.Fatalf("graphfake: SetResponse: %s is not an attendee of %s", email, eventID)
	}
	s.t.Fatalf("graphfake: SetResponse: no event %s", eventID)
}

// MoveEvent changes an event's time as its organizer would in Outlook:
// a change sitrep did not make, with a new change key.
func (s *Server) MoveEvent(eventID string, start, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.id == eventID {
			e.start, e.end = start.UTC(), end.UTC()
			e.props["start"] = dtz(e.start, time.UTC, "UTC")
			e.props["end"] = dtz(e.end, time.UTC, "UTC")
			e.changeKey = s.newChangeKey()
			e.modified = s.now().UTC()
			return
		}
	}
	s.t.Fatalf("graphfake: MoveEvent: no event %s", eventID)
}

// Inject makes the next request that f matches fail with f.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// FailNext makes the next n requests fail with status and code:
// (429, "ApplicationThrottled"), (503, "ServiceNotAvailable", with
// retryAfter), (403, "ErrorAccessDenied").
func (s *Server) FailNext(n, status int, code string, retryAfter time.Duration) {
	for range n {
		s.Inject(Fault{Status: status, Code: code, RetryAfter: retryAfter})
	}
}

// Requests returns the calls answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Uncovered lists the calls the fake does not model.
func (s *Server) Uncovered() []string {
	s.umu.Lock()
	defer s.umu.Unlock()
	return slices.Clone(s.uncovered)
}

// TakeUncovered returns the uncovered calls and forgets them, for tests
// that make such calls on purpose.
func (s *Server) TakeUncovered() []string {
	s.umu.Lock()
	defer s.umu.Unlock()
	u := s.uncovered
	s.uncovered = nil
	return u
}

// StoredEvent is an event as the fake keeps it.
type StoredEvent struct {
	ID, Mailbox   string
	JSON          map[string]any // as a GET answers it, times in UTC
	Cancelled     bool
	CancelComment string
}

// Events returns every event created, cancelled ones included.
func (s *Server) Events() []StoredEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredEvent
	for _, e := range s.events {
		out = append(out, StoredEvent{ID: e.id, Mailbox: e.mailbox, JSON: s.render(e, time.UTC, "UTC"), Cancelled: e.cancelled, CancelComment: e.comment})
	}
	return out
}

// Event returns one event by id.
func (s *Server) Event(id string) (StoredEvent, bool) {
	for _, e := range s.Events() {
		if e.ID == id {
			return e, true
		}
	}
	return StoredEvent{}, false
}

// --- middleware -----------------------------------------------------------

type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// maxBody is Graph's request size limit (4 MB).
const maxBody = 4 << 20

func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		switch {
		case err != nil:
			s.fail(sw, r, http.StatusBadRequest, "BadRequest", "The request body could not be read.")
		case len(body) > maxBody:
			s.fail(sw, r, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is larger than 4 MB.")
		default:
			next.ServeHTTP(sw, r)
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(),
			Body: body, Status: sw.status, Code: sw.code})
		s.mu.Unlock()
	})
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		msg := ""
		switch {
		case h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "":
			msg = "Access token is empty."
		case s.verify != nil:
			if err := s.verify(strings.TrimSpace(token)); err != nil {
				msg = err.Error()
			}
		}
		if msg != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
			s.fail(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var faultMessages = map[string]string{
	"ApplicationThrottled": "Application is over its MailboxConcurrency limit.",
	"TooManyRequests":      "Too many requests.",
	"ServiceNotAvailable":  "Service unavailable.",
	"ErrorAccessDenied":    RAOPMessage,
	"generalException":     "General exception while processing.",
}

func (s *Server) inject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var f *Fault
		for i, c := range s.faults {
			if (c.Method == "" || c.Method == r.Method) && strings.HasSuffix(r.URL.Path, c.PathSuffix) {
				f = &c
				s.faults = slices.Delete(s.faults, i, i+1)
				break
			}
		}
		s.mu.Unlock()
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		}
		msg := f.Message
		if msg == "" {
			msg = faultMessages[f.Code]
		}
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		s.fail(w, r, f.Status, f.Code, msg)
	})
}

// fail writes Graph's error body.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.code = code
	}
	reqID := newGUID()
	clientID := r.Header.Get("client-request-id")
	if clientID == "" {
		clientID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientID)
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"date": s.now().UTC().Format("2006-01-02T15:04:05"), "request-id": reqID, "client-request-id": clientID},
	}})
}

func (s *Server) uncover(w http.ResponseWriter, r *http.Request, what string) {
	call := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	s.umu.Lock()
	s.uncovered = append(s.uncovered, call+": "+what)
	s.umu.Unlock()
	s.fail(w, r, http.StatusBadRequest, "BadRequest", "graphfake does not model this request: "+what)
}

func (s *Server) bodyFail(w http.ResponseWriter, r *http.Request, err error) {
	if be, ok := err.(*bodyError); ok && be.uncovered != "" {
		s.uncover(w, r, be.uncovered)
		return
	}
	s.fail(w, r, http.StatusBadRequest, "RequestBodyRead", err.Error())
}

const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	if rid := w.Header().Get("request-id"); rid == "" {
		w.Header().Set("request-id", newGUID())
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- request helpers --------------------------------------------------------

// query refuses query options other than allowed.
func (s *Server) query(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, bool) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(allowed, k) {
			s.uncover(w, r, "query option "+k)
			return nil, false
		}
	}
	return q, true
}

// jsonBody requires Content-Type: application/json.
func (s *Server) jsonBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		s.uncover(w, r, fmt.Sprintf("a body of Content-Type %q", r.Header.Get("Content-Type")))
		return nil, false
	}
	b, _ := io.ReadAll(r.Body)
	return b, true
}

// zone reads Prefer: outlook.timezone="..." (UTC when absent).
func (s *Server) zone(w http.ResponseWriter, r *http.Request) (*time.Location, string, bool) {
	name := "UTC"
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if !strings.EqualFold(strings.TrimSpace(k), "outlook.timezone") {
				s.uncover(w, r, "the preference "+strings.TrimSpace(pref))
				return nil, "", false
			}
			name = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	loc, ok := location(name)
	if !ok {
		s.uncover(w, r, "the time zone "+name+" (only UTC and IANA names are modelled)")
		return nil, "", false
	}
	return loc, name, true
}

func location(name string) (*time.Location, bool) {
	if name == "UTC" {
		return time.UTC, true
	}
	if name == "" || name == "Local" {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	return loc, err == nil
}

// mailbox resolves the {user} of the path: 404 for an unknown one, 403
// for one outside the application access policy. Called with s.mu held.
func (s *Server) mailbox(w http.ResponseWriter, r *http.Request) (string, bool) {
	u := strings.ToLower(r.PathValue("user"))
	if _, ok := s.users[u]; !ok && (s.room(u) == nil || s.room(u).NoMailbox) {
		s.fail(w, r, http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", r.PathValue("user")))
		return "", false
	}
	if s.denied[u] {
		s.fail(w, r, http.StatusForbidden, "ErrorAccessDenied", RAOPMessage)
		return "", false
	}
	return u, true
}

func (s *Server) room(email string) *Room {
	for _, r := range s.rooms {
		if strings.EqualFold(r.Email, email) {
			return r
		}
	}
	return nil
}

// parseDTZ reads a dateTimeTimeZone.
func parseDTZ(v any) (time.Time, string, error) {
	m, _ := v.(map[string]any)
	dt, _ := m["dateTime"].(string)
	tz, _ := m["timeZone"].(string)
	if dt == "" {
		return time.Time{}, "", fmt.Errorf("no dateTime")
	}
	if tz == "" {
		return time.Time{}, "", fmt.Errorf("no timeZone")
	}
	loc, ok := location(tz)
	if !ok {
		return time.Time{}, tz, &bodyError{uncovered: "the time zone " + tz + " (only UTC and IANA names are modelled)"}
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", dt, loc)
	if err != nil {
		return time.Time{}, tz, fmt.Errorf("Cannot convert the literal '%s' to a date and time.", dt)
	}
	return t.UTC(), tz, nil
}

func dtz(t time.Time, loc *time.Location, name string) map[string]any {
	return map[string]any{"dateTime": t.In(loc).Format("2006-01-02T15:04:05.0000000"), "timeZone": name}
}

// --- places -----------------------------------------------------------------

func (s *Server) page(w http.ResponseWriter, r *http.Request, items []map[string]any, context string) {
	q, ok := s.query(w, r, "$top", "$skip")
	if !ok {
		return
	}
	s.mu.Lock()
	size := s.pageSize
	s.mu.Unlock()
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid value '%s' for $top query option found.", v))
			return
		}
		size = n
	}
	skip := 0
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid value '%s' for $skip query option found.", v))
			return
		}
		skip = n
	}
	end := min(skip+size, len(items))
	value := []any{}
	for _, it := range items[min(skip, len(items)):end] {
		value = append(value, it)
	}
	out := map[string]any{"@odata.context": s.BaseURL() + "/$metadata#" + context, "value": value}
	if end < len(items) {
		out["@odata.nextLink"] = fmt.Sprintf("%s%s?$top=%d&$skip=%d", s.URL, r.URL.EscapedPath(), size, end)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var items []map[string]any
	for _, room := range s.rooms {
		items = append(items, renderRoom(room))
	}
	s.mu.Unlock()
	s.page(w, r, items, "places/microsoft.graph.room")
}

func (s *Server) listRoomLists(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var items []map[string]any
	for _, l := range s.lists {
		items = append(items, map[string]any{"id": l.id, "placeId": l.id, "displayName": l.DisplayName, "emailAddress": l.Email,
			"address": emptyAddress(), "geoCoordinates": nil, "phone": "", "tags": []any{}})
	}
	s.mu.Unlock()
	s.page(w, r, items, "places/microsoft.graph.roomList")
}

func (s *Server) listRoomsIn(w http.ResponseWriter, r *http.Request) {
	list := r.PathValue("list")
	s.mu.Lock()
	known := false
	for _, l := range s.lists {
		known = known || strings.EqualFold(l.Email, list)
	}
	var items []map[string]any
	for _, room := range s.rooms {
		if strings.EqualFold(room.RoomList, list) {
			items = append(items, renderRoom(room))
		}
	}
	s.mu.Unlock()
	if !known {
		s.fail(w, r, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The place '%s' was not found.", list))
		return
	}
	s.page(w, r, items, "places('"+url.PathEscape(list)+"')/microsoft.graph.roomList/rooms")
}

func emptyAddress() map[string]any {
	return map[string]any{"street": "", "city": "", "state": "", "postalCode": "", "countryOrRegion": ""}
}

func renderRoom(r *Room) map[string]any {
	out := map[string]any{
		"id": r.id, "placeId": r.id, "emailAddress": r.Email, "displayName": r.DisplayName, "nickname": r.DisplayName,
		"label": "", "capacity": r.Capacity, "building": r.Building, "floorNumber": nil, "floorLabel": nil,
		"isWheelChairAccessible": false, "bookingType": "standard", "tags": []any{}, "address": emptyAddress(),
		"geoCoordinates": nil, "phone": "", "audioDeviceName": nil, "videoDeviceName": nil, "displayDeviceName": nil,
		"teamsEnabledState": "unknown",
	}
	if r.CapacityAsString {
		out["capacity"] = strconv.Itoa(r.Capacity)
	}
	if r.FloorNumber != nil {
		out["floorNumber"] = *r.FloorNumber
	}
	if r.FloorLabel != "" {
		out["floorLabel"] = r.FloorLabel
	}
	tags := []any{}
	for _, t := range r.Tags {
		tags = append(tags, t)
	}
	out["tags"] = tags
	return out
}

// --- calendar -----------------------------------------------------------------

func (s *Server) getCalendar(w http.ResponseWriter, r *http.Request) {
	q, ok := s.query(w, r, "$select")
	if !ok {
		return
	}
	s.mu.Lock()
	mbx, ok := s.mailbox(w, r)
	name := s.users[mbx]
	s.mu.Unlock()
	if !ok {
		return
	}
	sum := sha256.Sum256([]byte("calendar:" + mbx))
	cal := map[string]any{
		"@odata.context": s.BaseURL() + "/$metadata#users('" + url.PathEscape(mbx) + "')/calendar/$entity",
		"id":             "AAMkAD" + base64.RawURLEncoding.EncodeToString(sum[:]) + "=",
		"name":           "Calendar", "color": "auto", "hexColor": "", "isDefaultCalendar": true,
		"changeKey": base64.StdEncoding.EncodeToString(sum[:16]), "canShare": true, "canViewPrivateItems": true,
		"canEdit": true, "isRemovable": false, "isTallyingResponses": true,
		"allowedOnlineMeetingProviders": []any{"teamsForBusiness"}, "defaultOnlineMeetingProvider": "teamsForBusiness",
		"owner": map[string]any{"name": name, "address": mbx},
	}
	if sel, ok := s.selectFields(w, r, q, "calendar"); !ok {
		return
	} else if sel != nil {
		cal = selectOnly(cal, sel)
	}
	writeJSON(w, http.StatusOK, cal)
}

// selectFields checks $select against the type's properties.
func (s *Server) selectFields(w http.ResponseWriter, r *http.Request, q url.Values, typeName string) ([]string, bool) {
	v := q.Get("$select")
	if v == "" {
		return nil, true
	}
	var fields []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if _, ok := s.model.Property(typeName, f); !ok {
			s.fail(w, r, http.StatusBadRequest, "RequestBroker--ParseUri", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", f, typeName))
			return nil, false
		}
		fields = append(fields, f)
	}
	return fields, true
}

// selectOnly keeps the selected properties, the id and the annotations.
func selectOnly(obj map[string]any, fields []string) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		if k == "id" || strings.HasPrefix(k, "@") || slices.Contains(fields, k) {
			out[k] = v
		}
	}
	return out
}

// --- getSchedule --------------------------------------------------------------

// Documented limits ("Get free/busy schedule of Outlook calendar users and
// resources", Limits and error conditions; calendar: getSchedule).
const (
	maxSchedules  = 20
	maxPeriod     = 62 * 24 * time.Hour
	minInterval   = 5
	maxInterval   = 1440
	defaultPeriod = 30
)

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.query(w, r); !ok {
		return
	}
	body, ok := s.jsonBody(w, r)
	if !ok {
		return
	}
	loc, zoneName, ok := s.zone(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	_, ok = s.mailbox(w, r)
	s.mu.Unlock()
	if !ok {
		return
	}
	params, err := s.model.CheckAction(body, s.model.Action("getSchedule", "calendar"))
	if err != nil {
		s.bodyFail(w, r, err)
		return
	}
	schedules, _ := params["Schedules"].([]any)
	if len(schedules) == 0 || params["StartTime"] == nil || params["EndTime"] == nil {
		s.fail(w, r, http.StatusBadRequest, "ErrorInvalidParameter", "schedules, startTime and endTime are required.")
		return
	}
	if len(schedules) > maxSchedules {
		s.fail(w, r, http.StatusBadRequest, "ErrorInvalidParameter", fmt.Sprintf("getSchedule takes at most %d schedules; %d were given.", maxSchedules, len(schedules)))
		return
	}
	start, _, err1 := parseDTZ(params["StartTime"])
	end, _, err2 := parseDTZ(params["EndTime"])
	for _, err := range []error{err1, err2} {
		if err != nil {
			s.bodyFail(w, r, asBodyError(err))
			return
		}
	}
	if !end.After(start) || end.Sub(start) >= maxPeriod {
		s.fail(w, r, http.StatusBadRequest, "ErrorInvalidParameter", "The time period must end after it starts and be shorter than 62 days.")
		return
	}
	interval := defaultPeriod
	if v, ok := params["AvailabilityViewInterval"].(json.Number); ok {
		n, _ := strconv.Atoi(v.String())
		if n < minInterval || n > maxInterval {
			s.fail(w, r, http.StatusBadRequest, "ErrorInvalidParameter", fmt.Sprintf("availabilityViewInterval must be between %d and %d minutes.", minInterval, maxInterval))
			return
		}
		interval = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	value := []any{}
	for _, sv := range schedules {
		email, _ := sv.(string)
		k := strings.ToLower(email)
		if _, user := s.users[k]; !user && (s.room(k) == nil || s.room(k).NoMailbox) {
			value = append(value, map[string]any{"scheduleId": email, "error": map[string]any{
				"message": fmt.Sprintf("Unable to resolve e-mail address %s to an Active Directory object.", email), "responseCode": "5009"}})
			continue
		}
		var items []any
		blocks := s.busyOf(k)
		view := make([]byte, int((end.Sub(start)+time.Duration(interval)*time.Minute-1)/(time.Duration(interval)*time.Minute)))
		for i := range view {
			view[i] = '0'
		}
		for _, b := range blocks {
			if !b.start.Before(end) || !start.Before(b.end) || b.status == "free" {
				continue
			}
			items = append(items, map[string]any{"isPrivate": false, "status": b.status,
				"start": dtz(b.start, loc, zoneName), "end": dtz(b.end, loc, zoneName)})
			code := map[string]byte{"tentative": '1', "busy": '2', "oof": '3'}[b.status]
			for i := range view {
				ss := start.Add(time.Duration(i*interval) * time.Minute)
				se := ss.Add(time.Duration(interval) * time.Minute)
				if code > view[i] && b.start.Before(se) && ss.Before(b.end) {
					view[i] = code
				}
			}
		}
		if items == nil {
			items = []any{}
		}
		value = append(value, map[string]any{
			"scheduleId": email, "availabilityView": string(view), "scheduleItems": items,
			"workingHours": map[string]any{"daysOfWeek": []any{"monday", "tuesday", "wednesday", "thursday", "friday"},
				"startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000", "timeZone": map[string]any{"name": zoneName}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.BaseURL() + "/$metadata#Collection(microsoft.graph.scheduleInformation)", "value": value})
}

func asBodyError(err error) *bodyError {
	if be, ok := err.(*bodyError); ok {
		if be.msg == "" {
			be.msg = "graphfake does not model this: " + be.uncovered
		}
		return be
	}
	return readErr("%s", err.Error())
}

// busyOf is an address's free/busy: SetBusy's blocks, and the live events
// it organizes, attends or is the room of. Modelled on Exchange: the
// organizer and the room (which accepts at once) show the event's showAs;
// an attendee shows it once they accept, tentative until they answer, and
// nothing once they decline. Called with s.mu held.
func (s *Server) busyOf(email string) []block {
	out := slices.Clone(s.busy[email])
	for _, e := range s.events {
		if e.cancelled {
			continue
		}
		show, _ := e.props["showAs"].(string)
		if show == "" {
			show = "busy"
		}
		status := ""
		if e.mailbox == email {
			status = show
		}
		loc, _ := e.props["location"].(map[string]any)
		if le, _ := loc["locationEmailAddress"].(string); strings.EqualFold(le, email) {
			status = show
		}
		atts, _ := e.props["attendees"].([]any)
		for _, a := range atts {
			m, _ := a.(map[string]any)
			if !strings.EqualFold(address(m), email) {
				continue
			}
			st, _ := m["status"].(map[string]any)
			switch resp, _ := st["response"].(string); {
			case m["type"] == "resource":
				status = show
			case resp == "declined":
			case resp == "accepted":
				status = show
			default:
				if show != "free" {
					status = "tentative"
				} else {
					status = show
				}
			}
		}
		if status != "" {
			out = append(out, block{e.start, e.end, status})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

func address(attendee map[string]any) string {
	ea, _ := attendee["emailAddress"].(map[string]any)
	a, _ := ea["address"].(string)
	return a
}

// --- events -----------------------------------------------------------------

// serverSet are event properties the service sets. What Graph does with
// one in a request body is not documented; the fake does not guess.
var serverSet = []string{"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "webLink", "organizer",
	"isOrganizer", "responseStatus", "seriesMasterId", "type", "onlineMeeting", "onlineMeetingUrl", "bodyPreview",
	"hasAttachments", "isCancelled", "originalStart", "cancelledOccurrences", "isDraft"}

func (s *Server) eventBody(w http.ResponseWriter, r *http.Request) (map[string]any, map[string]string, bool) {
	body, ok := s.jsonBody(w, r)
	if !ok {
		return nil, nil, false
	}
	props, err := s.model.CheckEntity(body, "event", "singleValueExtendedProperties")
	if err != nil {
		s.bodyFail(w, r, err)
		return nil, nil, false
	}
	for _, k := range serverSet {
		if _, given := props[k]; given {
			s.uncover(w, r, "setting the server-set event property "+k)
			return nil, nil, false
		}
	}
	if _, given := props["recurrence"]; given {
		s.uncover(w, r, "recurring events")
		return nil, nil, false
	}
	for k := range props {
		if strings.HasPrefix(k, "@") {
			delete(props, k)
		}
	}
	ext := map[string]string{}
	list, _ := props["singleValueExtendedProperties"].([]any)
	delete(props, "singleValueExtendedProperties")
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		value, isStr := m["value"].(string)
		if !extendedIDRE.MatchString(id) {
			if extendedOtherRE.MatchString(id) {
				s.uncover(w, r, "the extended property "+id+" (only String properties named by a GUID and a name are modelled)")
			} else {
				s.fail(w, r, http.StatusBadRequest, "ErrorInvalidExtendedPropertyValue", fmt.Sprintf("The extended property id '%s' is not valid.", id))
			}
			return nil, nil, false
		}
		if !isStr {
			s.fail(w, r, http.StatusBadRequest, "ErrorInvalidExtendedPropertyValue", fmt.Sprintf("The extended property %s has no value.", id))
			return nil, nil, false
		}
		ext[id] = value
	}
	return props, ext, true
}

// Extended property ids ("Outlook extended properties overview"): a
// type, then a property set GUID and a name or a hexadecimal id.
var (
	extendedIDRE    = regexp.MustCompile(`^String \{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\} Name \S.*$`)
	extendedOtherRE = regexp.MustCompile(`^[A-Za-z]+(Array)? (\{[0-9a-fA-F-]{36}\} (Name \S.*|Id 0x[0-9a-fA-F]{1,4})|0x[0-9a-fA-F]{1,4})$`)
	expandExtRE     = regexp.MustCompile(`^singleValueExtendedProperties\(\$filter=id eq '([^']*)'\)$`)
)

// checkEvent applies what Exchange checks beyond types: start and end,
// end not before start, an address for every attendee, and the online
// meeting provider.
func (s *Server) checkEvent(w http.ResponseWriter, r *http.Request, e *event) bool {
	var err error
	var bad *bodyError
	if e.props["start"] == nil || e.props["end"] == nil {
		s.uncover(w, r, "an event without start or end")
		return false
	}
	if e.start, e.startTZ, err = parseDTZ(e.props["start"]); err != nil {
		bad = asBodyError(err)
	} else if e.end, e.endTZ, err = parseDTZ(e.props["end"]); err != nil {
		bad = asBodyError(err)
	}
	if bad != nil {
		s.bodyFail(w, r, bad)
		return false
	}
	if e.end.Before(e.start) {
		s.fail(w, r, http.StatusBadRequest, "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date occurs before the start date.")
		return false
	}
	atts, _ := e.props["attendees"].([]any)
	for _, a := range atts {
		m, _ := a.(map[string]any)
		if m == nil || strings.TrimSpace(address(m)) == "" {
			s.fail(w, r, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
			return false
		}
	}
	if online, _ := e.props["isOnlineMeeting"].(bool); online {
		p, _ := e.props["onlineMeetingProvider"].(string)
		if p != "" && p != "teamsForBusiness" {
			s.uncover(w, r, "online meetings of provider "+p)
			return false
		}
	}
	return true
}

// meeting makes the Teams meeting of an online event, once.
func (s *Server) meeting(e *event) {
	if online, _ := e.props["isOnlineMeeting"].(bool); !online || e.joinURL != "" {
		return
	}
	e.props["onlineMeetingProvider"] = "teamsForBusiness"
	sum := sha256.Sum256([]byte(e.id))
	thread := base64.RawURLEncoding.EncodeToString(sum[:])
	e.joinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + thread + "%40thread.v2/0?context=%7b%22Tid%22%3a%22" +
		newGUID() + "%22%2c%22Oid%22%3a%22" + newGUID() + "%22%7d"
	// Exchange writes the join details into the body.
	b, _ := e.props["body"].(map[string]any)
	if b == nil {
		b = map[string]any{"contentType": "html", "content": ""}
	}
	content, _ := b["content"].(string)
	if ct, _ := b["contentType"].(string); ct == "text" {
		content += "\n\n________________________________________________________________________________\nMicrosoft Teams meeting\nJoin: " + e.joinURL + "\n"
	} else {
		content += `<div style="width:100%"><span>________________________________________________________________________________</span></div>` +
			`<div><span style="font-size:24px">Microsoft Teams meeting</span></div>` +
			`<div><a href="` + e.joinURL + `" target="_blank" rel="noreferrer noopener">Join the meeting now</a></div>`
	}
	b["content"] = content
	e.props["body"] = b
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.query(w, r); !ok {
		return
	}
	props, ext, ok := s.eventBody(w, r)
	if !ok {
		return
	}
	loc, zoneName, ok := s.zone(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mbx, ok := s.mailbox(w, r)
	if !ok {
		return
	}
	if tid, _ := props["transactionId"].(string); tid != "" {
		for _, e := range s.events {
			if e.mailbox == mbx && !e.cancelled && e.props["transactionId"] == tid {
				writeJSON(w, http.StatusCreated, s.withContext(s.render(e, loc, zoneName), mbx))
				return
			}
		}
	}
	now := s.now().UTC()
	e := &event{mailbox: mbx, props: props, ext: ext, created: now, modified: now, id: s.newEventID(), changeKey: s.newChangeKey()}
	if !s.checkEvent(w, r, e) {
		return
	}
	sum := sha256.Sum256([]byte(e.id))
	e.iCalUID = "040000008200E00074C5B7101A82E00800000000" + strings.ToUpper(hex.EncodeToString(sum[:20]))
	atts, _ := props["attendees"].([]any)
	for _, a := range atts {
		m := a.(map[string]any)
		if _, ok := m["type"]; !ok {
			m["type"] = "required"
		}
		m["status"] = map[string]any{"response": "none", "time": "0001-01-01T00:00:00Z"}
	}
	s.meeting(e)
	s.events = append(s.events, e)
	writeJSON(w, http.StatusCreated, s.withContext(s.render(e, loc, zoneName), mbx))
}

func (s *Server) withContext(ev map[string]any, mbx string) map[string]any {
	ev["@odata.context"] = s.BaseURL() + "/$metadata#users('" + url.PathEscape(mbx) + "')/events/$entity"
	return ev
}

// find returns the live event of the path; 404 otherwise. Called with
// s.mu held.
func (s *Server) find(w http.ResponseWriter, r *http.Request, mbx string) *event {
	id := r.PathValue("id")
	for _, e := range s.events {
		if e.id == id && e.mailbox == mbx && !e.cancelled {
			return e
		}
	}
	s.fail(w, r, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	return nil
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	q, ok := s.query(w, r, "$select", "$expand")
	if !ok {
		return
	}
	expand := ""
	if v := q.Get("$expand"); v != "" {
		m := expandExtRE.FindStringSubmatch(v)
		if m == nil {
			s.uncover(w, r, "$expand="+v+" (only singleValueExtendedProperties($filter=id eq '...') is modelled)")
			return
		}
		expand = m[1]
	}
	loc, zoneName, ok := s.zone(w, r)
	if !ok {
		return
	}
	sel, ok := s.selectFields(w, r, q, "event")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mbx, ok := s.mailbox(w, r)
	if !ok {
		return
	}
	e := s.find(w, r, mbx)
	if e == nil {
		return
	}
	ev := s.withContext(s.render(e, loc, zoneName), mbx)
	if sel != nil {
		ev = selectOnly(ev, sel)
	}
	// The expanded property, when the event has it (the Name in an id is
	// matched with case, as documented); none: the event without it.
	if v, has := e.ext[expand]; expand != "" && has {
		ev["singleValueExtendedProperties"] = []any{map[string]any{"id": expand, "value": v}}
	}
	writeJSON(w, http.StatusOK, ev)
}

func (s *Server) updateEvent(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.query(w, r); !ok {
		return
	}
	change, ext, ok := s.eventBody(w, r)
	if !ok {
		return
	}
	loc, zoneName, ok := s.zone(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mbx, ok := s.mailbox(w, r)
	if !ok {
		return
	}
	e := s.find(w, r, mbx)
	if e == nil {
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag(e) {
		s.fail(w, r, http.StatusPreconditionFailed, "ErrorIrresolvableConflict",
			"The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.")
		return
	}
	if tid, given := change["transactionId"]; given && tid != e.props["transactionId"] {
		s.uncover(w, r, "changing an event's transactionId (documented as not allowed; the answer is not)")
		return
	}
	if online, given := change["isOnlineMeeting"]; given && online == false && e.joinURL != "" {
		s.uncover(w, r, "turning an online meeting off")
		return
	}
	next := &event{mailbox: e.mailbox, id: e.id, props: clone(e.props), created: e.created, iCalUID: e.iCalUID, joinURL: e.joinURL, ext: maps.Clone(e.ext)}
	maps.Copy(next.ext, ext) // PATCH creates or updates the extended properties given
	for k, v := range change {
		if v == nil {
			if k == "start" || k == "end" {
				s.uncover(w, r, "clearing an event's "+k)
				return
			}
			delete(next.props, k)
			continue
		}
		next.props[k] = v
	}
	if !s.checkEvent(w, r, next) {
		return
	}
	// Attendees keep their answers unless the time moves: then Exchange
	// asks everyone again.
	moved := !next.start.Equal(e.start) || !next.end.Equal(e.end)
	old := map[string]any{}
	oldAtts, _ := e.props["attendees"].([]any)
	for _, a := range oldAtts {
		m := a.(map[string]any)
		old[strings.ToLower(address(m))] = m["status"]
	}
	atts, _ := next.props["attendees"].([]any)
	for _, a := range atts {
		m := a.(map[string]any)
		if _, ok := m["type"]; !ok {
			m["type"] = "required"
		}
		st, had := old[strings.ToLower(address(m))]
		if !had || moved {
			st = map[string]any{"response": "none", "time": "0001-01-01T00:00:00Z"}
		}
		m["status"] = st
	}
	s.meeting(next)
	next.modified = s.now().UTC()
	next.changeKey = s.newChangeKey()
	*e = *next
	writeJSON(w, http.StatusOK, s.withContext(s.render(e, loc, zoneName), mbx))
}

func (s *Server) cancelEvent(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.query(w, r); !ok {
		return
	}
	body, ok := s.jsonBody(w, r)
	if !ok {
		return
	}
	params, err := s.model.CheckAction(body, s.model.Action("cancel", "event"))
	if err != nil {
		s.bodyFail(w, r, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mbx, ok := s.mailbox(w, r)
	if !ok {
		return
	}
	e := s.find(w, r, mbx)
	if e == nil {
		return
	}
	e.cancelled = true
	e.comment, _ = params["Comment"].(string)
	e.modified = s.now().UTC()
	w.WriteHeader(http.StatusAccepted)
}

func etag(e *event) string { return `W/"` + e.changeKey + `"` }

// render is the event as Graph answers it: the properties set, and those
// the service adds. Called with s.mu held.
func (s *Server) render(e *event, loc *time.Location, zoneName string) map[string]any {
	out := clone(e.props)
	set := func(k string, v any) {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	out["@odata.etag"] = etag(e)
	out["id"] = e.id
	out["createdDateTime"] = e.created.Format("2006-01-02T15:04:05.0000000Z")
	out["lastModifiedDateTime"] = e.modified.Format("2006-01-02T15:04:05.0000000Z")
	out["changeKey"] = e.changeKey
	out["iCalUId"] = e.iCalUID
	out["webLink"] = "https://outlook.office365.com/owa/?itemid=" + url.QueryEscape(e.id) + "&exvsurl=1&path=/calendar/item"
	out["start"] = dtz(e.start, loc, zoneName)
	out["end"] = dtz(e.end, loc, zoneName)
	out["originalStartTimeZone"] = e.startTZ
	out["originalEndTimeZone"] = e.endTZ
	out["isOrganizer"] = true
	out["isCancelled"] = e.cancelled
	out["isDraft"] = false
	out["hasAttachments"] = false
	out["type"] = "singleInstance"
	out["seriesMasterId"] = nil
	out["onlineMeetingUrl"] = nil
	out["responseStatus"] = map[string]any{"response": "organizer", "time": "0001-01-01T00:00:00Z"}
	out["organizer"] = map[string]any{"emailAddress": map[string]any{"name": s.users[e.mailbox], "address": e.mailbox}}
	out["cancelledOccurrences"] = []any{}
	if e.joinURL != "" {
		out["onlineMeeting"] = map[string]any{"joinUrl": e.joinURL}
	} else {
		out["onlineMeeting"] = nil
	}
	set("categories", []any{})
	set("subject", "")
	set("body", map[string]any{"contentType": "html", "content": ""})
	set("importance", "normal")
	set("sensitivity", "normal")
	set("isAllDay", false)
	set("isReminderOn", true)
	set("reminderMinutesBeforeStart", 15)
	set("responseRequested", true)
	set("allowNewTimeProposals", true)
	set("hideAttendees", false)
	set("showAs", "busy")
	set("isOnlineMeeting", false)
	set("onlineMeetingProvider", "unknown")
	set("recurrence", nil)
	set("attendees", []any{})
	set("location", map[string]any{"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": map[string]any{}, "coordinates": map[string]any{}})
	if l, _ := out["location"].(map[string]any); l != nil && l["displayName"] != "" {
		set("locations", []any{l})
	}
	set("locations", []any{})
	body, _ := out["body"].(map[string]any)
	content, _ := body["content"].(string)
	preview := []rune(strings.Join(strings.Fields(stripTags(content)), " "))
	out["bodyPreview"] = string(preview[:min(len(preview), 255)])
	if tid, _ := out["transactionId"].(string); tid == "" {
		delete(out, "transactionId") // "only returned in a response payload if an app has set it"
	}
	return out
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteRune(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	v, _ := decodeJSON(b)
	out, _ := v.(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func (s *Server) newEventID() string {
	s.seq++
	var b [48]byte
	_, _ = rand.Read(b[:])
	// Outlook ids are URL-safe base64 with padding; the padding keeps
	// clients honest about escaping.
	return "AAMkAD" + base64.URLEncoding.EncodeToString(b[:]) + "="
}

func (s *Server) newChangeKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func placeID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := strings.ToUpper(hex.EncodeToString(sum[:16]))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
