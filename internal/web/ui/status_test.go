package ui

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// The internal status page (status.go) on the database the run asks for:
// current, overdue, the history, one incident, the feeds, who may read
// them, following, and nothing private on any of them.

// statusClock is a clock a test moves.
type statusClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *statusClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *statusClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSubscriptions is a Subscriptions that any account may use (the real
// one, tested below in TestStatusFollowWithTheRealService, takes the
// directory's people only). It keeps the contract's rules that the page
// relies on: subscribing twice returns the existing one, a system must be
// known, and nobody ends another's subscription.
type fakeSubscriptions struct {
	mu      sync.Mutex
	next    int64
	subs    []subscription.Subscription
	systems []string
}

func (f *fakeSubscriptions) Subscribe(_ context.Context, actor string, req subscription.Request) (*subscription.Subscription, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch req.Kind {
	case subscription.All:
	case subscription.System:
		known := false
		for _, s := range f.systems {
			known = known || s == req.Target
		}
		if !known {
			return nil, false, errs.InvalidField("target", "no system %q", req.Target)
		}
	case subscription.Incident:
		if _, err := incident.ParseRef(req.Target); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, errs.InvalidField("kind", "unknown kind %q", req.Kind)
	}
	if !req.Verified {
		return nil, false, errs.E(errs.Invalid, "the page subscribes signed-in people only")
	}
	for _, s := range f.subs {
		if s.Email == req.Email && s.Kind == req.Kind && s.Target == req.Target {
			return &s, false, nil
		}
	}
	f.next++
	s := subscription.Subscription{ID: f.next, Email: req.Email, Kind: req.Kind, Target: req.Target, Confirmed: true, Source: req.Source, CreatedAt: time.Now()}
	f.subs = append(f.subs, s)
	return &s, false, nil
}

func (f *fakeSubscriptions) Unsubscribe(_ context.Context, actor, email string, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.subs {
		if s.ID == id && s.Email == email {
			f.subs = append(f.subs[:i], f.subs[i+1:]...)
			return nil
		}
	}
	return errs.E(errs.NotFound, "no subscription %d of %s", id, email)
}

func (f *fakeSubscriptions) List(_ context.Context, email string) ([]subscription.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []subscription.Subscription{}
	for _, s := range f.subs {
		if email == "" || s.Email == email {
			out = append(out, s)
		}
	}
	return out, nil
}

// statusEnv is a UI whose incident service runs on clock.
func newStatusEnv(t *testing.T, configure func(s *Server)) (*uiEnv, *statusClock) {
	t.Helper()
	clock := &statusClock{t: time.Now().UTC().Truncate(time.Second)}
	e := newUIEnvWith(t, func(s *Server, _ string) {
		s.Incidents.Now, s.Comms.Now, s.Resolution.Now = clock.Now, clock.Now, clock.Now
		if configure != nil {
			configure(s)
		}
	})
	return e, clock
}

// secrets are what the timelines below hold that no status page or feed
// may show: a stakeholder's question and its sender, a report and its
// reporter's address, a note, a lead-only reminder and the leads' names.
var statusSecrets = []string{"QUESTION-SECRET", "cfo@x.test", "reporter-secret@customer.test", "OBSERVED-SECRET",
	"NOTE-SECRET", "LEADS-SECRET", "PUBLIC-WORDING-ONLY", "AUDIENCE-WORDING-ONLY"}

// privateTimeline writes each kind of private event on inc's timeline.
func (e *uiEnv) privateTimeline(inc *incident.Incident) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.incidents.AddNote(ctx, "vp@x.test", inc.Ref, "NOTE-SECRET: the DBA thinks it is the replica"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.incidents.AddReport(ctx, e.db, "vp@x.test", inc.Ref, incident.ReportInput{Email: "reporter-secret@customer.test",
		Name: "Rita Reporter", Observed: "OBSERVED-SECRET: the card form spins", Location: "Hamburg"}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := incident.AddEvent(ctx, e.db, e.s.now(), inc.ID, incident.EventReply, "cfo@x.test",
		"Question from cfo@x.test: QUESTION-SECRET will refunds be automatic?", map[string]any{"class": "question", "from": "cfo@x.test"}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := incident.AddEvent(ctx, e.db, e.s.now(), inc.ID, incident.EventReminder, "sitrep",
		"LEADS-SECRET: the update is due in 10 minutes", map[string]any{"to": []string{"vp@x.test"}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *uiEnv) noSecrets(where, text string) {
	e.t.Helper()
	for _, s := range statusSecrets {
		if strings.Contains(text, s) {
			e.t.Errorf("%s shows %q, which is private:\n%s", where, s, text)
		}
	}
}

func (e *uiEnv) update(ref, status string, next string) {
	e.t.Helper()
	if _, err := e.s.Comms.SendUpdate(context.Background(), "vp@x.test", ref, incident.UpdateInput{Status: status, Next: next}); err != nil {
		e.t.Fatal(err)
	}
}

func TestStatusPageCurrentOverdueHistoryAndOneIncident(t *testing.T) {
	t.Parallel()
	e, clock := newStatusEnv(t, nil)
	ctx := context.Background()

	// An incident of last month, resolved; one from long ago, not in the history.
	old := e.declare("Search slow for everyone")
	e.update(old.Ref, "Search answers in 8 seconds; the index is being rebuilt.", "1h")
	e.resolve(old.Ref)
	clock.add(100 * 24 * time.Hour)
	past := e.declare("Email notifications delayed")
	e.update(past.Ref, "Notification emails arrive 20 minutes late.", "1h")
	e.resolve(past.Ref)
	clock.add(30 * 24 * time.Hour)

	// Now: one active incident with an update, and one just declared.
	inc := e.declare("Card payments failing")
	e.privateTimeline(inc)
	e.update(inc.Ref, "Card payments fail for EU customers; failing over to the backup provider.", "30m")
	// The public wording travels with the update; the internal page shows the status.
	if _, err := e.s.Comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Failover half done; card payments recover.",
		Public: "PUBLIC-WORDING-ONLY", Audiences: map[string]string{"exec": "AUDIENCE-WORDING-ONLY"}, Next: "30m"}); err != nil {
		t.Fatal(err)
	}
	fresh := e.declare("Login page slow")

	viewer := e.login("viewer@x.test")
	status, page := viewer.get("/status")
	if status != 200 {
		t.Fatalf("/status: %d", status)
	}
	for _, want := range []string{inc.Ref + " · Card payments failing", "SEV2", "Affects checkout", "Failover half done; card payments recover.",
		"Next update by", `data-deadline="`, fresh.Ref + " · Login page slow", "No status update yet", past.Ref + " · Email notifications delayed",
		"Last 90 days", `href="/status/feed.atom"`, `href="/status/calendar.ics"`, `rel="alternate" type="application/atom+xml"`} {
		if !strings.Contains(page, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	if strings.Contains(page, old.Ref+" · Search slow") {
		t.Error("an incident resolved 130 days ago is not in the last 90 days")
	}
	if strings.Contains(page, "Update overdue since") && !strings.Contains(page, `data-overdue hidden`) {
		t.Error("nothing is overdue yet")
	}
	e.noSecrets("/status", page)

	// The promise runs out: the page says so, with the time it was due.
	clock.add(45 * time.Minute)
	_, page = viewer.get("/status")
	due := must(e.incidents.Get(ctx, inc.Ref)).Promise.NextUpdateAt
	if due == nil {
		t.Fatal("the update promised the next")
	}
	overdue := regexp.MustCompile(`<strong class="overdue-since" data-overdue >Update overdue since <time datetime="` + due.UTC().Format(time.RFC3339) + `"`)
	if !overdue.MatchString(page) || !strings.Contains(page, `class="status-incident overdue"`) || !regexp.MustCompile(`overdue by 1[45]m`).MatchString(page) {
		t.Errorf("an overdue promise must be said, with when it was due (%s):\n%s", due, page)
	}
	// The overdue one comes first.
	if strings.Index(page, inc.Ref+" · ") > strings.Index(page, fresh.Ref+" · ") {
		t.Error("the overdue incident must come first")
	}

	// One incident: its updates, newest first, and nothing else.
	status, one := viewer.get("/status/" + inc.Ref)
	if status != 200 {
		t.Fatalf("/status/%s: %d", inc.Ref, status)
	}
	first, second := strings.Index(one, "Card payments fail for EU customers"), strings.Index(one, "Failover half done")
	if first < 0 || second < 0 || second > first {
		t.Errorf("the incident's updates, newest first:\n%s", one)
	}
	if !strings.Contains(one, "Update overdue since") || !strings.Contains(one, `href="/status/`+inc.Ref+`/feed.atom"`) {
		t.Errorf("the incident's page must say it is overdue and link its feed")
	}
	e.noSecrets("/status/"+inc.Ref, one)
	_, resolved := viewer.get("/status/" + past.Ref)
	if !strings.Contains(resolved, "Root cause: A config push disabled the keys.") || !strings.Contains(resolved, "Resolved") || strings.Contains(resolved, "Next update by") {
		t.Errorf("a resolved incident shows its resolution and no promise:\n%s", resolved)
	}
	if status, _ := viewer.get("/status/INC-999"); status != http.StatusNotFound {
		t.Errorf("an unknown incident: %d", status)
	}

	// Not signed in, not on an open network: the sign-in page, nothing else.
	anon := e.browser()
	for _, path := range []string{"/status", "/status/" + inc.Ref, "/status/INC-999"} {
		resp, err := anon.c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		text := body(resp)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("%s without signing in: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(text, "Card payments") {
			t.Errorf("%s without signing in shows the incident", path)
		}
	}
}

// atomDoc is an Atom feed as a reader parses it.
type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Author  struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"http://www.w3.org/2005/Atom link"`
	Entries []struct {
		ID      string `xml:"http://www.w3.org/2005/Atom id"`
		Title   string `xml:"http://www.w3.org/2005/Atom title"`
		Updated string `xml:"http://www.w3.org/2005/Atom updated"`
		Content string `xml:"http://www.w3.org/2005/Atom content"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

// parseAtom parses a feed and checks what RFC 4287 requires of it.
func parseAtom(t *testing.T, raw string) atomDoc {
	t.Helper()
	var f atomDoc
	dec := xml.NewDecoder(strings.NewReader(raw))
	dec.Strict = true
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("the feed is not well-formed XML: %v\n%s", err, raw)
	}
	if f.ID == "" || f.Title == "" || f.Updated == "" || f.Author.Name == "" {
		t.Errorf("a feed needs id, title, updated and an author: %+v", f)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
		t.Errorf("feed updated %q is no RFC 3339 date", f.Updated)
	}
	self := false
	for _, l := range f.Links {
		self = self || l.Rel == "self"
	}
	if !self {
		t.Error("a feed should link itself (rel=self)")
	}
	seen := map[string]bool{}
	for _, en := range f.Entries {
		if en.ID == "" || en.Title == "" || en.Updated == "" {
			t.Errorf("an entry needs id, title and updated: %+v", en)
		}
		if _, err := time.Parse(time.RFC3339, en.Updated); err != nil {
			t.Errorf("entry updated %q is no RFC 3339 date", en.Updated)
		}
		if !strings.HasPrefix(en.ID, "urn:uuid:") || seen[en.ID] {
			t.Errorf("entry id %q: want a unique urn:uuid", en.ID)
		}
		seen[en.ID] = true
	}
	return f
}

func TestStatusFeedsTokensAndNothingPrivate(t *testing.T) {
	t.Parallel()
	e, _ := newStatusEnv(t, nil)
	ctx := context.Background()
	inc := e.declare(`Checkout <down> & "payments" failing`)
	e.privateTimeline(inc)
	e.update(inc.Ref, "Card payments fail: <script>alert(1)</script> & ]]> more.", "30m")
	e.update(inc.Ref, "Failover done.", "1h")
	other := e.declare("Search slow")
	e.update(other.Ref, "Search is slow.", "1h")
	plain, _, err := e.s.Tokens.Create(ctx, "feed reader", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}

	get := func(path string, header ...string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := e.browser().c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body(resp), resp.Header
	}

	// A token in the query (a feed reader's URL) and in the header.
	status, raw, h := get("/status/feed.atom?token=" + url.QueryEscape(plain))
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("the feed with a token: %d %s\n%s", status, h.Get("Content-Type"), raw)
	}
	feed := parseAtom(t, raw)
	if len(feed.Entries) != 3 {
		t.Fatalf("3 updates, %d entries:\n%s", len(feed.Entries), raw)
	}
	if strings.Contains(raw, "<script>") || !strings.Contains(raw, "&lt;script&gt;") {
		t.Errorf("the feed must escape the update's text:\n%s", raw)
	}
	if strings.Contains(raw, plain) {
		t.Error("the feed must not repeat its token")
	}
	e.noSecrets("the Atom feed", raw)
	_, again, _ := get("/status/feed.atom", "Authorization", "Bearer "+plain)
	feed2 := parseAtom(t, again)
	if feed2.ID != feed.ID || len(feed2.Entries) != len(feed.Entries) {
		t.Fatal("the feed's id changed between requests")
	}
	for i := range feed.Entries {
		if feed.Entries[i].ID != feed2.Entries[i].ID || feed.Entries[i].Updated != feed2.Entries[i].Updated {
			t.Errorf("entry %d changed between requests: %s → %s", i, feed.Entries[i].ID, feed2.Entries[i].ID)
		}
	}

	// One incident's feed: its updates only, its own id.
	status, one, _ := get("/status/"+inc.Ref+"/feed.atom", "Authorization", "Bearer "+plain)
	if status != 200 {
		t.Fatalf("the incident's feed: %d\n%s", status, one)
	}
	of := parseAtom(t, one)
	if len(of.Entries) != 2 || of.ID == feed.ID || strings.Contains(one, "Search is slow") {
		t.Errorf("the incident's feed has its 2 updates and its own id:\n%s", one)
	}
	if !strings.Contains(of.Title, "Checkout <down> & \"payments\" failing") || !strings.Contains(one, "&lt;down&gt; &amp;") {
		t.Errorf("the title, escaped in XML and whole once parsed: %q", of.Title)
	}
	for _, en := range of.Entries {
		if !strings.HasSuffix(strings.SplitN(en.Link.Href, "#", 2)[0], "/status/"+inc.Ref) {
			t.Errorf("an entry links its incident's status page: %q", en.Link.Href)
		}
	}
	e.noSecrets("the incident's feed", one)

	// No token, a wrong one, a revoked one: 401 with nothing of any
	// incident, even one that does not exist (its 404 would say so).
	for _, c := range []struct{ path, auth string }{
		{"/status/feed.atom", ""}, {"/status/" + inc.Ref + "/feed.atom", ""}, {"/status/INC-999/feed.atom", ""},
		{"/status/feed.atom?token=sitrep_wrong_token_123456", ""}, {"/status/feed.atom", "Bearer sitrep_wrong_token_123456"},
		{"/status/calendar.ics", ""},
	} {
		status, text, h := get(c.path, "Authorization", c.auth)
		if status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" || strings.Contains(text, "Checkout") || strings.Contains(text, "<feed") {
			t.Errorf("%s (%q): %d %q, want a plain 401", c.path, c.auth, status, text)
		}
	}
	// With a token, an unknown incident is a clear 404.
	if status, text, _ := get("/status/INC-999/feed.atom?token=" + url.QueryEscape(plain)); status != http.StatusNotFound || !strings.Contains(text, "INC-999") {
		t.Errorf("an unknown incident's feed: %d %q", status, text)
	}
	// The session works too: a browser following the page's link.
	viewer := e.login("viewer@x.test")
	if status, text := viewer.get("/status/feed.atom"); status != 200 || !strings.Contains(text, "<feed") {
		t.Errorf("the feed in a signed-in browser: %d", status)
	}
	// The token is for feeds: the page itself still asks to sign in.
	resp, err := e.browser().c.Get(e.srv.URL + "/status?token=" + url.QueryEscape(plain))
	if err != nil {
		t.Fatal(err)
	}
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("/status with a token: %d; a token opens the feeds, a page is opened by signing in", resp.StatusCode)
	}
}

func TestStatusCalendarOfPostmortemsAndMaintenance(t *testing.T) {
	t.Parallel()
	e, clock := newStatusEnv(t, nil)
	ctx := context.Background()
	now := clock.Now()
	end := now.Add(26 * time.Hour)
	long := strings.Repeat("Database upgrade; failover, then vacuum — ü ", 8)
	if _, _, err := e.s.Changes.Record(ctx, changes.Input{Source: "sitrep", ExternalID: "mw-1", Kind: changes.Maintenance,
		Summary: "Postgres 17; payments, checkout\\nnew line", Details: long + "\nSecond line", At: now.Add(24 * time.Hour), End: &end,
		Systems: []string{"checkout"}, URL: "https://ops.example.com/mw/1?a=1&b=2"}); err != nil {
		t.Fatal(err)
	}
	plain, _, err := e.s.Tokens.Create(ctx, "calendar", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + "/status/calendar.ics?token=" + url.QueryEscape(plain))
	if err != nil {
		t.Fatal(err)
	}
	raw := body(resp)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("calendar: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	cal := checkICS(t, raw)
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("one maintenance window, %d events:\n%s", len(events), raw)
	}
	summary, _ := events[0].Props.Text(ical.PropSummary)
	desc, _ := events[0].Props.Text(ical.PropDescription)
	if summary != "Maintenance: MAINT-1 Postgres 17; payments, checkout\\nnew line" || !strings.HasPrefix(desc, long+"\nSecond line") {
		t.Errorf("the texts must come back whole: %q / %q", summary, desc)
	}
	if start, err := events[0].DateTimeStart(time.UTC); err != nil || !start.Equal(now.Add(24*time.Hour)) {
		t.Errorf("DTSTART %v %v", start, err)
	}
	if !strings.Contains(raw, `SUMMARY:Maintenance: MAINT-1 Postgres 17\; payments\, checkout\\nnew line`) {
		t.Errorf("iCalendar text escaping (RFC 5545 3.3.11):\n%s", raw)
	}
	if st, _ := events[0].Props.Text(ical.PropStatus); st != "CONFIRMED" {
		t.Errorf("STATUS %q", st)
	}

	// With planned maintenance wired, a cancelled window stays in the
	// calendar, struck out (STATUS:CANCELLED), so that a subscribed
	// calendar drops it rather than keeping a stale event.
	e.s.Maintenance = &maintenance.Service{DB: e.db, Changes: e.s.Changes, Directory: e.s.Directory, Mail: e.s.Outbox, Now: clock.Now}
	if _, err := e.s.Maintenance.Cancel(ctx, "vp@x.test", "MAINT-1"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(e.srv.URL + "/status/calendar.ics?token=" + url.QueryEscape(plain))
	if err != nil {
		t.Fatal(err)
	}
	raw = body(resp)
	events = checkICS(t, raw).Events()
	if len(events) != 1 {
		t.Fatalf("the cancelled window: %d events\n%s", len(events), raw)
	}
	if st, _ := events[0].Props.Text(ical.PropStatus); st != "CANCELLED" {
		t.Errorf("a cancelled window: STATUS %q\n%s", st, raw)
	}
}

// checkICS parses a calendar as a client does and checks its lines: CRLF,
// folded at 75 octets, never inside a character.
func checkICS(t *testing.T, raw string) *ical.Calendar {
	t.Helper()
	cal, err := calendar.Decode(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("the calendar does not parse: %v\n%s", err, raw)
	}
	if !strings.HasSuffix(raw, "\r\n") {
		t.Error("lines end in CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets (at most 75): %q", i+1, len(line), line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d holds a bare line break", i+1)
		}
		if !strings.Contains(line, "") || !utf8Valid(line) {
			t.Errorf("line %d cuts a character", i+1)
		}
	}
	if v, _ := cal.Props.Text(ical.PropVersion); v != "2.0" {
		t.Error("VERSION:2.0")
	}
	return cal
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestStatusCalendarWritesPostmortems checks the calendar's post-mortem
// events as the feed writes them: booked ones only come in (postmortem
// Scheduled, tested on both databases in internal/postmortem), with
// their room and no attendee.
func TestStatusCalendarWritesPostmortems(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	end := start.Add(time.Hour)
	pm := postmortem.Postmortem{Incident: "INC-7", UID: "postmortem-inc-7-1@sitrep.example", State: postmortem.StateBooked, Start: &start, End: &end,
		Room: &postmortem.Room{Name: "Atlas, 3rd floor; east", Building: "HQ"}, VideoLink: "https://meet.example.com/abc",
		Attendees: []postmortem.Participant{{Email: "secret-attendee@x.test"}}}
	raw, err := statusCalendar("https://sitrep.example.com", "https://sitrep.example.com", start.Add(-48*time.Hour),
		[]postmortem.Postmortem{pm}, map[string]string{"INC-7": "Checkout down, again; " + strings.Repeat("long title ", 10)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cal := checkICS(t, string(raw))
	if strings.Contains(string(raw), "secret-attendee") || strings.Contains(string(raw), "ATTENDEE") {
		t.Error("the calendar names no attendee")
	}
	ev := cal.Events()
	if len(ev) != 1 {
		t.Fatalf("events: %d", len(ev))
	}
	uid, _ := ev[0].Props.Text(ical.PropUID)
	summary, _ := ev[0].Props.Text(ical.PropSummary)
	loc, _ := ev[0].Props.Text(ical.PropLocation)
	if uid == pm.UID || !strings.HasPrefix(summary, "Post-mortem: INC-7 Checkout down, again;") || !strings.Contains(loc, "Atlas, 3rd floor; east") {
		t.Errorf("uid %q summary %q location %q", uid, summary, loc)
	}
	// No event at all still makes a calendar a client takes.
	raw, err = statusCalendar("https://sitrep.example.com", "sitrep.example.com", start, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkICS(t, string(raw))
}

func TestStatusOpenNetworks(t *testing.T) {
	t.Parallel()
	// The test's client is 127.0.0.1; 10.0.0.0/8 stands for the office,
	// reached through a proxy at 127.0.0.1 that the UI trusts, or not.
	for _, c := range []struct {
		name    string
		openTo  string
		proxies []string
		xff     string
		open    bool
	}{
		{"the client's own network", "127.0.0.0/8", nil, "", true},
		{"another network", "10.0.0.0/8", nil, "", false},
		{"a forged X-Forwarded-For, no trusted proxy", "10.0.0.0/8", nil, "10.1.2.3", false},
		{"through a trusted proxy", "10.0.0.0/8", []string{"127.0.0.1/32"}, "10.1.2.3", true},
		{"a forged hop left of the proxy's", "10.0.0.0/8", []string{"127.0.0.1/32"}, "10.1.2.3, 203.0.113.9", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newStatusEnv(t, func(s *Server) {
				s.StatusOpenTo = []netip.Prefix{netip.MustParsePrefix(c.openTo)}
				for _, p := range c.proxies {
					s.TrustedProxies = append(s.TrustedProxies, netip.MustParsePrefix(p))
				}
			})
			inc := e.declare("Checkout down")
			e.privateTimeline(inc)
			e.update(inc.Ref, "Checkout fails for everyone.", "30m")
			client := e.browser().c
			for _, path := range []string{"/status", "/status/" + inc.Ref, "/status/feed.atom", "/status/" + inc.Ref + "/feed.atom", "/status/calendar.ics"} {
				req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
				if c.xff != "" {
					req.Header.Set("X-Forwarded-For", c.xff)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				text := body(resp)
				if c.open {
					if resp.StatusCode != 200 {
						t.Errorf("%s from an open network: %d", path, resp.StatusCode)
					}
					e.noSecrets(path+" on an open network", text)
					if path == "/status" && (!strings.Contains(text, "Checkout fails for everyone.") || !strings.Contains(text, `href="/login?next=%2Fstatus"`)) {
						t.Errorf("the open page shows the incidents and offers to sign in:\n%s", text)
					}
					if path == "/status/"+inc.Ref && strings.Contains(text, `href="/incidents/`+inc.Ref+`"`) {
						t.Error("a reader who is not signed in gets no link to the incident page")
					}
					continue
				}
				if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized || strings.Contains(text, "Checkout") {
					t.Errorf("%s from outside the open networks: %d", path, resp.StatusCode)
				}
			}
		})
	}
}

func TestStatusFollowAndUnfollow(t *testing.T) {
	t.Parallel()
	subs := &fakeSubscriptions{systems: []string{"checkout"}}
	e, _ := newStatusEnv(t, func(s *Server) { s.Subscriptions = subs })
	inc := e.declare("Checkout down")
	e.update(inc.Ref, "Checkout fails.", "30m")
	viewer := e.login("viewer@x.test")

	_, page := viewer.get("/status/" + inc.Ref)
	for _, want := range []string{"Follow " + inc.Ref, "Follow all incidents of checkout", "Follow all incidents", "Nothing yet."} {
		if !strings.Contains(page, want) {
			t.Errorf("the incident's follow card lacks %q", want)
		}
	}
	follow := func(kind, target, next string) *http.Response {
		return viewer.post("/status/follow", url.Values{"csrf": {viewer.csrf}, "kind": {kind}, "target": {target}, "next": {next}})
	}
	for _, f := range [][2]string{{"incident", inc.Ref}, {"system", "checkout"}, {"all", ""}} {
		resp := follow(f[0], f[1], "/status/"+inc.Ref)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/status/"+inc.Ref+"?done=followed#follow" {
			t.Fatalf("follow %v: %d %s", f, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_, page = viewer.get("/status/" + inc.Ref + "?done=followed")
	for _, want := range []string{"Followed. Status updates come to viewer@x.test", "All incidents", "Incidents affecting checkout", ">" + inc.Ref} {
		if !strings.Contains(page, want) {
			t.Errorf("after following, the card lacks %q", want)
		}
	}
	if strings.Contains(page, `data-follow="incident"`) || strings.Contains(page, `data-follow="all"`) {
		t.Error("what is followed already is not offered again")
	}
	mine := must(subs.List(context.Background(), "viewer@x.test"))
	if len(mine) != 3 || mine[0].Source != "page" {
		t.Fatalf("subscriptions: %+v", mine)
	}

	// Another person cannot end them; a forged form changes nothing.
	lead := e.login("lead@x.test")
	lead.get("/status")
	resp := lead.post(fmt.Sprintf("/status/follow/%d/remove", mine[0].ID), url.Values{"csrf": {lead.csrf}, "next": {"/status"}})
	if text := body(resp); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another's subscription: %d %s", resp.StatusCode, text)
	}
	for _, path := range []string{"/status/follow", fmt.Sprintf("/status/follow/%d/remove", mine[0].ID)} {
		resp := viewer.post(path, url.Values{"csrf": {"forged"}, "kind": {"all"}})
		if body(resp); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with a forged token: %d", path, resp.StatusCode)
		}
	}
	if n := len(must(subs.List(context.Background(), ""))); n != 3 {
		t.Fatalf("refused forms changed the subscriptions: %d", n)
	}
	// An unknown system: a clear answer, nothing changed.
	resp = follow("system", "nope", "/status")
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "no system") {
		t.Errorf("an unknown system: %d", resp.StatusCode)
	}

	// Unfollow, from the status page: that one only.
	resp = viewer.post(fmt.Sprintf("/status/follow/%d/remove", mine[1].ID), url.Values{"csrf": {viewer.csrf}, "next": {"/status"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/status?done=unfollowed#follow" {
		t.Fatalf("unfollow: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if left := must(subs.List(context.Background(), "viewer@x.test")); len(left) != 2 {
		t.Fatalf("after unfollowing one: %+v", left)
	}
	_, page = viewer.get("/status?done=unfollowed")
	if !strings.Contains(page, "Unfollowed: nothing more comes to viewer@x.test") || !strings.Contains(page, `<option value="checkout">`) {
		t.Errorf("the status page after unfollowing the system:\n%s", page)
	}
	// A next that leaves the status page is not followed.
	if got := statusBack("https://evil.example/", "followed"); got != "/status?done=followed#follow" {
		t.Errorf("statusBack: %q", got)
	}
	for _, next := range []string{"//evil.example/status", "/status/../incidents", "/status/INC-1?x=1", `/status\evil`} {
		if got := statusBack(next, "followed"); got != "/status?done=followed#follow" {
			t.Errorf("statusBack(%q): %q", next, got)
		}
	}
}

func TestStatusWithoutSubscriptionsOffersNoFollowing(t *testing.T) {
	t.Parallel()
	e, _ := newStatusEnv(t, nil)
	inc := e.declare("Checkout down")
	viewer := e.login("viewer@x.test")
	for _, path := range []string{"/status", "/status/" + inc.Ref} {
		if _, page := viewer.get(path); strings.Contains(page, "Follow") || strings.Contains(page, `action="/status/follow"`) {
			t.Errorf("%s offers following without a subscription service", path)
		}
	}
	resp := viewer.post("/status/follow", url.Values{"csrf": {viewer.csrf}, "kind": {"all"}})
	if body(resp); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /status/follow without subscriptions: %d", resp.StatusCode)
	}
}

// TestStatusFollowWithTheRealService: the follow card over
// internal/subscription itself, now that it is built: a person of the
// directory follows and stops following from the page; an account that is
// no person of the directory gets the service's clear refusal, with
// nothing stored.
func TestStatusFollowWithTheRealService(t *testing.T) {
	t.Parallel()
	e, _ := newStatusEnv(t, func(s *Server) {
		s.Subscriptions = &subscription.Service{DB: s.Comms.DB, Directory: s.Directory, Incidents: s.Incidents, Mail: s.Outbox}
	})
	ctx := context.Background()
	inc := e.declare("Checkout down")
	if _, err := e.accounts.Create(ctx, "ann@x.test", "Ann", auth.Viewer, uiPassword); err != nil {
		t.Fatal(err)
	}
	ann := e.login("ann@x.test")
	ann.get("/status/" + inc.Ref)
	resp := ann.post("/status/follow", url.Values{"csrf": {ann.csrf}, "kind": {"incident"}, "target": {inc.Ref}, "next": {"/status/" + inc.Ref}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("follow: %d", resp.StatusCode)
	}
	subs := must(e.s.Subscriptions.List(ctx, "ann@x.test"))
	if len(subs) != 1 || subs[0].Kind != subscription.Incident || subs[0].Target != inc.Ref || !subs[0].Confirmed || subs[0].Source != "page" {
		t.Fatalf("after following: %+v", subs)
	}
	_, page := ann.get("/status/" + inc.Ref)
	if !strings.Contains(page, fmt.Sprintf(`data-unfollow="%d"`, subs[0].ID)) {
		t.Fatalf("the card lists the subscription:\n%s", page)
	}
	// Another account cannot end it.
	viewer := e.login("viewer@x.test")
	viewer.get("/status")
	resp = viewer.post(fmt.Sprintf("/status/follow/%d/remove", subs[0].ID), url.Values{"csrf": {viewer.csrf}})
	if body(resp); resp.StatusCode < 400 {
		t.Errorf("another's subscription ended: %d", resp.StatusCode)
	}
	// viewer@x.test is no person of the directory: refused, nothing stored.
	resp = viewer.post("/status/follow", url.Values{"csrf": {viewer.csrf}, "kind": {"all"}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "not in the directory") {
		t.Errorf("an account outside the directory: %d", resp.StatusCode)
	}
	if n := len(must(e.s.Subscriptions.List(ctx, ""))); n != 1 {
		t.Fatalf("subscriptions: %d, want ann's one", n)
	}
	resp = ann.post(fmt.Sprintf("/status/follow/%d/remove", subs[0].ID), url.Values{"csrf": {ann.csrf}, "next": {"/status/" + inc.Ref}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unfollow: %d", resp.StatusCode)
	}
	if left := must(e.s.Subscriptions.List(ctx, "ann@x.test")); len(left) != 0 {
		t.Fatalf("after unfollowing: %+v", left)
	}
}
