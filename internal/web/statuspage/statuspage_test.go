package statuspage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/xml"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// The status pages' read model and the public page, on the database the
// run asks for (SITREP_TEST_DB).

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t         *testing.T
	db        *store.DB
	incidents *incident.Service
	clock     *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := storetest.Open(t)
	c := &clock{t: time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)}
	return &env{t: t, db: db, incidents: &incident.Service{DB: db, Now: c.Now, DueSoon: 10 * time.Minute}, clock: c}
}

func (e *env) declare(title string, systems ...string) *incident.Incident {
	e.t.Helper()
	inc, err := e.incidents.Declare(context.Background(), "vp@x.test", incident.DeclareInput{Title: title, Severity: "SEV1",
		Scope: incident.Scope{Systems: systems}})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// update does what a sent status update leaves: the promise booked and the
// update_queued event, with its status and (when given) its public wording.
func (e *env) update(inc *incident.Incident, status, public string, next time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	due := now.Add(next)
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := e.incidents.RecordUpdateSent(ctx, tx, inc.ID, now, &due); err != nil {
			return err
		}
		data := map[string]any{"status": status, "next_update_at": due, "groups": []string{"exec"}, "holding": false,
			"audiences": map[string]string{"customer-service": "AUDIENCE-WORDING: tell customers to retry"}}
		if public != "" {
			data["public"] = public
		}
		_, err := incident.AddEvent(ctx, tx, now, inc.ID, incident.EventUpdateQueued, "vp@x.test", "Status update to exec", data)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// private writes on inc's timeline every kind of event no status page may
// show, each carrying "SECRET".
func (e *env) private(inc *incident.Incident) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.incidents.AddNote(ctx, "vp@x.test", inc.Ref, "NOTE-SECRET"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.incidents.AddReport(ctx, e.db, "vp@x.test", inc.Ref, incident.ReportInput{Email: "reporter-secret@customer.test", Observed: "OBSERVED-SECRET"}); err != nil {
		e.t.Fatal(err)
	}
	for _, kind := range []string{incident.EventReply, incident.EventReminder, incident.EventOverdue, incident.EventHeadsUpQueued, "lead_question", "confirmation", "summary_sent", "postmortem_issue", "change_suspected", "some_future_kind"} {
		if _, err := incident.AddEvent(ctx, e.db, e.clock.Now(), inc.ID, kind, "cfo@x.test", kind+"-SECRET from cfo@x.test",
			map[string]any{"status": "DATA-SECRET", "public": "DATA-SECRET", "from": "cfo@x.test"}); err != nil {
			e.t.Fatal(err)
		}
	}
}

var secrets = []string{"SECRET", "cfo@x.test", "reporter-secret@customer.test", "AUDIENCE-WORDING"}

func noSecrets(t *testing.T, where, text string, more ...string) {
	t.Helper()
	for _, s := range append(append([]string{}, secrets...), more...) {
		if strings.Contains(text, s) {
			t.Errorf("%s shows %q:\n%s", where, s, text)
		}
	}
}

func TestTheReadModelReadsUpdatesOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	inc := e.declare("Checkout down", "checkout")
	e.private(inc)
	e.update(inc, "Card payments fail in the EU.", "Some card payments fail; we are on it.", 30*time.Minute)
	e.clock.add(10 * time.Minute)
	e.update(inc, "Failover at 50%.", "", 30*time.Minute)
	r := &Reader{Incidents: e.incidents}

	in, err := r.Incident(ctx, Internal, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Updates) != 2 || in.Updates[0].Text != "Failover at 50%." || in.Updates[1].Text != "Card payments fail in the EU." || in.Updates[0].Number != 2 {
		t.Fatalf("internal updates, newest first: %+v", in.Updates)
	}
	if in.Title != "Checkout down" || in.Severity != "SEV1" || in.Overdue || in.NextUpdateAt == nil {
		t.Fatalf("internal view: %+v", in)
	}
	pub, err := r.Incident(ctx, Public, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.Updates) != 1 || pub.Updates[0].Text != "Some card payments fail; we are on it." || pub.Title != "" || pub.Severity != "" {
		t.Fatalf("public view: %+v", pub)
	}
	for _, v := range []*Incident{in, pub} {
		for _, u := range v.Updates {
			noSecrets(t, "an update", u.Text)
		}
	}
	// Overdue by the incident's clock: internally by its promise, publicly
	// by the public update's own.
	e.clock.add(25 * time.Minute)
	in, _ = r.Incident(ctx, Internal, inc.Ref)
	pub, _ = r.Incident(ctx, Public, inc.Ref)
	if in.Overdue || !pub.Overdue {
		t.Fatalf("at +35m: internal overdue %v (promise +40m), public %v (promise +30m)", in.Overdue, pub.Overdue)
	}
	e.clock.add(10 * time.Minute)
	if in, _ = r.Incident(ctx, Internal, inc.Ref); !in.Overdue {
		t.Fatal("at +45m the internal promise is overdue")
	}

	// Without public wording, an incident is nowhere on the public page.
	quiet := e.declare("Internal only", "search")
	e.update(quiet, "Search is slow.", "", time.Hour)
	if _, err := r.Incident(ctx, Public, quiet.Ref); err == nil || !strings.Contains(err.Error(), "no incident") {
		t.Fatalf("an incident without public wording: %v", err)
	}
	b, err := r.Board(ctx, Public)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Current) != 1 || b.Current[0].Ref != inc.Ref {
		t.Fatalf("the public board: %+v", b.Current)
	}
	b, _ = r.Board(ctx, Internal)
	if len(b.Current) != 2 || b.Current[0].Ref != inc.Ref {
		t.Fatalf("the internal board, the overdue first: %+v", b.Current)
	}

	// Resolved, reopened, resolved: each said, once, in each audience's words.
	for _, to := range []incident.State{incident.Resolved, incident.Investigating} {
		if _, err := e.incidents.Transition(ctx, "vp@x.test", inc.Ref, to, "NOTE-SECRET in the transition"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.incidents.Transition(ctx, "vp@x.test", inc.Ref, incident.Resolved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := incident.AddEvent(ctx, e.db, e.clock.Now(), inc.ID, "resolved_email", "vp@x.test", "Resolved email sent to exec",
		map[string]any{"root_cause": "A bad config push.", "impact": "EU card payments failed for 40 minutes.", "fix": "Rolled back."}); err != nil {
		t.Fatal(err)
	}
	in, _ = r.Incident(ctx, Internal, inc.Ref)
	pub, _ = r.Incident(ctx, Public, inc.Ref)
	var kinds []string
	for _, u := range in.Updates {
		kinds = append(kinds, u.Kind)
		noSecrets(t, "an internal entry", u.Text)
	}
	if strings.Join(kinds, ",") != "resolved,reopened,update,update" {
		t.Fatalf("internal entries: %v", kinds)
	}
	if !strings.Contains(in.Updates[0].Text, "Root cause: A bad config push.") || in.Active || in.Overdue {
		t.Fatalf("the resolution: %+v", in.Updates[0])
	}
	kinds = nil
	for _, u := range pub.Updates {
		kinds = append(kinds, u.Kind)
		if strings.Contains(u.Text, "config") || strings.Contains(u.Text, "40 minutes") {
			t.Errorf("the public page shows the internal resolution: %q", u.Text)
		}
	}
	if strings.Join(kinds, ",") != "resolved,reopened,update" {
		t.Fatalf("public entries: %v", kinds)
	}
	if resolution.EventResolvedEmail != eventResolvedEmail {
		t.Fatalf("statuspage reads %q as the resolved email; resolution writes %q", eventResolvedEmail, resolution.EventResolvedEmail)
	}
}

func TestHistoryIsTheLast90Days(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	old := e.declare("Old", "checkout")
	e.update(old, "Old status.", "Old public.", time.Hour)
	if _, err := e.incidents.Transition(ctx, "vp@x.test", old.Ref, incident.Resolved, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.add(60 * 24 * time.Hour)
	recent := e.declare("Recent", "checkout")
	e.update(recent, "Recent status.", "Recent public.", time.Hour)
	if _, err := e.incidents.Transition(ctx, "vp@x.test", recent.Ref, incident.Resolved, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.add(40 * 24 * time.Hour)
	for _, aud := range []Audience{Internal, Public} {
		b, err := (&Reader{Incidents: e.incidents}).Board(ctx, aud)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Current) != 0 || len(b.History) != 1 || b.History[0].Ref != recent.Ref {
			t.Errorf("%s history: %+v", aud, b.History)
		}
		// The internal page lists the history without reading its
		// timelines; the public one must read them (public wording or not).
		o, err := (&Reader{Incidents: e.incidents}).Overview(ctx, aud)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.History) != 1 || o.History[0].Ref != recent.Ref || (aud == Internal) != (len(o.History[0].Updates) == 0) ||
			(aud == Internal) != (o.History[0].Title == "Recent") {
			t.Errorf("%s overview: %+v", aud, o.History)
		}
	}
}

// atomFeed as a reader parses it back.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Author  string   `xml:"http://www.w3.org/2005/Atom author>name"`
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

func parseFeed(t *testing.T, raw []byte) parsedFeed {
	t.Helper()
	var f parsedFeed
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, raw)
	}
	if f.ID == "" || f.Title == "" || f.Author == "" {
		t.Fatalf("a feed needs id, title and author: %+v", f)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
		t.Fatalf("updated %q: %v", f.Updated, err)
	}
	for _, en := range f.Entries {
		if en.ID == "" || en.Title == "" {
			t.Fatalf("an entry needs id and title: %+v", en)
		}
		if _, err := time.Parse(time.RFC3339, en.Updated); err != nil {
			t.Fatalf("entry updated %q: %v", en.Updated, err)
		}
	}
	return f
}

func TestAtomEscapesAndParsesBack(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
	text := "a < b & c > d \"quoted\" 'single' ]]> \x00\x07 end \u00e9\U0001F600"
	var buf bytes.Buffer
	err := WriteAtom(&buf, Feed{ID: FeedID("s", "x"), Title: "T <&>", Author: "A & B", Self: "https://x.test/feed.atom?a=1&b=2",
		Entries: []Entry{{ID: FeedID("s", "x/1"), Title: text, Text: text, Link: "https://x.test/?a=1&b=<2>", Published: at, Updated: at, Categories: []string{"SEV1", ""}}}})
	if err != nil {
		t.Fatal(err)
	}
	f := parseFeed(t, buf.Bytes())
	if len(f.Entries) != 1 || f.Title != "T <&>" || !strings.HasPrefix(f.Entries[0].Content, "a < b & c > d \"quoted\" 'single' ]]> ") ||
		!strings.HasSuffix(f.Entries[0].Content, " end \u00e9\U0001F600") || f.Entries[0].Link.Href != "https://x.test/?a=1&b=<2>" {
		t.Fatalf("parsed back: %+v", f)
	}
	if strings.ContainsAny(buf.String(), "\x00\x07") {
		t.Fatal("characters XML cannot carry must not be written")
	}
	if FeedID("s", "x") != FeedID("S", "x") || FeedID("s", "x") == FeedID("t", "x") || !strings.HasPrefix(FeedID("s", "x"), "urn:uuid:") {
		t.Fatal("FeedID: stable, per site")
	}
	// An empty feed is still a valid one, and does not change.
	buf.Reset()
	if err := WriteAtom(&buf, Feed{ID: "urn:x", Title: "t", Author: "a"}); err != nil {
		t.Fatal(err)
	}
	if f := parseFeed(t, buf.Bytes()); f.Updated != "1970-01-01T00:00:00Z" {
		t.Fatalf("empty feed updated %q", f.Updated)
	}
}

func newSite(e *env) *PublicSite {
	return &PublicSite{Reader: &Reader{Incidents: e.incidents}, Title: "Example Corp status", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Components: []Component{{Name: "Checkout", Systems: []string{"checkout", "payments"}}, {Name: "Sign-in", Systems: []string{"login"}}, {Name: "Search", Systems: []string{"search"}}}}
}

// TestPublicPageShowsOnlyPublicWording: the public page, its feeds and its
// export carry the public wording and nothing of the internal text: not
// the status, the title, the severity, an audience's wording, nor an
// incident that has no public wording at all.
func TestPublicPageShowsOnlyPublicWording(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	inc := e.declare("INTERNAL-TITLE: pg-eu-3 primary lost", "checkout")
	e.private(inc)
	e.update(inc, "INTERNAL-STATUS-1: pg-eu-3 failed over; replica lag 40s.", "Some card payments fail. We are working on it.", 30*time.Minute)
	e.clock.add(10 * time.Minute)
	e.update(inc, "INTERNAL-STATUS-2: still failing over.", "", 30*time.Minute) // no public wording: nothing new publicly
	quiet := e.declare("INTERNAL-TITLE-QUIET", "search")
	e.private(quiet)
	e.update(quiet, "INTERNAL-STATUS-QUIET", "", time.Hour)
	internal := []string{"INTERNAL", "pg-eu-3", "SEV1", quiet.Ref}

	site := newSite(e)
	h, err := site.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	status, page, hdr := get("/")
	if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("/: %d %v", status, hdr)
	}
	for _, want := range []string{"Example Corp status", "1 incident in progress", "Some card payments fail. We are working on it.",
		`<span class="name">Checkout</span> <span class="badge disrupted">Disrupted</span>`, `<span class="name">Search</span> <span class="badge ok">Operational</span>`,
		`href="incidents/` + inc.Ref + `.html"`, "Next update by", `href="feed.atom"`, " UTC"} {
		if !strings.Contains(page, want) {
			t.Errorf("the public page lacks %q:\n%s", want, page)
		}
	}
	noSecrets(t, "the public page", page, internal...)
	status, one, _ := get("/incidents/" + inc.Ref + ".html")
	if status != 200 || !strings.Contains(one, "Some card payments fail.") || !strings.Contains(one, `href="../status.css"`) {
		t.Fatalf("the incident's public page: %d\n%s", status, one)
	}
	noSecrets(t, "the incident's public page", one, internal...)
	for _, path := range []string{"/incidents/" + quiet.Ref + ".html", "/incidents/" + quiet.Ref + ".atom", "/incidents/INC-999.html", "/incidents/x.html", "/incidents/" + inc.Ref + ".txt"} {
		status, text, _ := get(path)
		if status != http.StatusNotFound || strings.Contains(text, "INTERNAL") {
			t.Errorf("%s: %d %q", path, status, text)
		}
	}
	if status, _, _ := get("/status.css"); status != 200 {
		t.Error("status.css")
	}
	status, raw, hdr := get("/feed.atom")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed: %d", status)
	}
	f := parseFeed(t, []byte(raw))
	if len(f.Entries) != 1 || f.Entries[0].Title != "Checkout: update 1" || !strings.Contains(f.Entries[0].Link.Href, "/incidents/"+inc.Ref+".html#update-") {
		t.Errorf("the public feed: %+v", f.Entries)
	}
	noSecrets(t, "the public feed", raw, internal...)
	_, again, _ := get("/feed.atom")
	if g := parseFeed(t, []byte(again)); g.ID != f.ID || g.Entries[0].ID != f.Entries[0].ID {
		t.Error("the public feed's ids change between requests")
	}
	_, rawOne, _ := get("/incidents/" + inc.Ref + ".atom")
	if o := parseFeed(t, []byte(rawOne)); len(o.Entries) != 1 || o.ID == f.ID {
		t.Errorf("the incident's public feed: %+v", o)
	}
	noSecrets(t, "the incident's public feed", rawOne, internal...)

	// Export: the same pages as files, and nothing internal in any.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "incidents"), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "incidents", "INC-99.html")
	mine := filepath.Join(dir, "incidents", "notes.txt")
	for _, p := range []string{stale, mine} {
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := site.Export(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Incidents != 1 || res.Removed != 1 {
		t.Fatalf("export: %+v", res)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("the page of an incident no longer on the page must go")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("a file export did not write must stay")
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == mine {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		noSecrets(t, "the exported "+rel, string(b), internal...)
		if strings.HasSuffix(rel, ".atom") {
			parseFeed(t, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"feed.atom", "incidents/" + inc.Ref + ".atom", "incidents/" + inc.Ref + ".html", "index.html", "status.css", "status.js"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("exported %v, want %v", files, want)
	}
	exported, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(exported), "Some card payments fail.") {
		t.Error("the export's index shows the public update")
	}
}

func TestPublicPromiseAndOverdue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inc := e.declare("x", "login")
	e.update(inc, "internal", "Sign-in fails for some.", 30*time.Minute)
	site := newSite(e)
	if err := site.Load(); err != nil {
		t.Fatal(err)
	}
	pg, _, err := site.indexPage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body, err := site.render("index", pg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "Next update by <time datetime=\"2026-03-03T14:30:00Z\">Tue 3 Mar 2026, 14:30 UTC</time>") ||
		!strings.Contains(string(body), "due in 30m") || !strings.Contains(string(body), `<span class="name">Sign-in</span> <span class="badge disrupted">`) {
		t.Errorf("the promise on the public page:\n%s", body)
	}
	e.clock.add(40 * time.Minute)
	pg, _, _ = site.indexPage(context.Background())
	body, _ = site.render("index", pg)
	if !strings.Contains(string(body), `<strong class="overdue" data-overdue >Update overdue since <time datetime="2026-03-03T14:30:00Z">`) || !strings.Contains(string(body), "overdue by 10m") {
		t.Errorf("an overdue public promise is said:\n%s", body)
	}
}

// The public page's words for an end told without public wording are the
// public resolved email's, in English: a customer reads the same on the
// page and in their mail. Words given for customers win; the root cause
// and impact never show.
func TestPublicResolutionWords(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	en := cat.Localizer("en")
	for _, c := range []struct {
		data map[string]any
		want string
	}{
		{map[string]any{"root_cause": "ROOT-SECRET", "impact": "IMPACT-SECRET"}, en.T("public_resolved.default")},
		{map[string]any{"root_cause_unknown": true}, en.T("public_resolved.default_fixed")},
		{map[string]any{"root_cause": "ROOT-SECRET", "public": "Orders work again."}, "Orders work again."},
	} {
		if got := resolvedText(incident.Event{Kind: eventResolvedEmail, Data: c.data}, Public); got != c.want {
			t.Errorf("%v: %q, want %q", c.data, got, c.want)
		}
	}
	if got := resolvedText(incident.Event{Kind: eventResolvedEmail, Data: map[string]any{"root_cause": "A full disk.", "public": "PUBLIC"}}, Internal); strings.Contains(got, "PUBLIC") || !strings.Contains(got, "A full disk.") {
		t.Errorf("the internal page reads %q", got)
	}
}
