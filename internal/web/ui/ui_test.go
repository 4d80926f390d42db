package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/web"
)

const uiOrg = `organization: UI Test
people:
  - email: vp@x.test
    name: Vera
    roles: [comms-lead]
    time_zone: Europe/Berlin
  - email: ann@x.test
    name: Ann
  - email: ops@x.test
    name: Otto
groups:
  - name: exec
    display_name: Executives
    members: [vp@x.test]
  - name: all
    members: [ann@x.test]
    groups: [exec]
escalations:
  - system: checkout
    team: payments
    responders: [ops@x.test]
audiences:
  status: [exec]
`

const uiPassword = "correct horse battery"

type uiEnv struct {
	t         *testing.T
	srv       *httptest.Server
	s         *Server
	db        *store.DB
	incidents *incident.Service
	accounts  *auth.Accounts
}

func newUIEnv(t *testing.T) *uiEnv {
	t.Helper()
	return newUIEnvWith(t, nil)
}

// newUIEnvWith is newUIEnv with a change to the server before it starts
// serving at url.
func newUIEnvWith(t *testing.T, configure func(s *Server, url string)) *uiEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(uiOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	incidents := &incident.Service{DB: db, People: dir, DueSoon: 10 * time.Minute}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
	}
	comms := &incident.Comms{DB: db, Incidents: incidents, Directory: dir, Mail: ob}
	incidents.OnDeclare = append(incidents.OnDeclare, comms)
	accounts := &auth.Accounts{DB: db, Argon2: &auth.Argon2Params{Time: 1, Memory: 1024, Threads: 1}}
	for _, a := range []struct {
		email string
		role  auth.Role
	}{{"admin@x.test", auth.Admin}, {"lead@x.test", auth.Lead}, {"viewer@x.test", auth.Viewer}} {
		if _, err := accounts.Create(ctx, a.email, "", a.role, uiPassword); err != nil {
			t.Fatal(err)
		}
	}
	res := &resolution.Service{DB: db, Incidents: incidents, Mail: ob, Comms: comms, Directory: dir}
	ch := &changes.Service{DB: db, Incidents: incidents}
	pm := &postmortem.Service{DB: db, Incidents: incidents, Mail: ob, Comms: comms, Directory: dir, Jobs: ins,
		Rooms: calendar.StaticRooms{{Email: "atlas@x.test", Name: "Atlas", Capacity: 12, Features: []string{"Whiteboard"}}}}
	pm.Backend, pm.BackendName = pm.IMIP(), "imip"
	res.Changes = ch
	base := &web.Server{Tokens: &auth.Tokens{DB: db}, Sessions: &auth.Sessions{DB: db}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := &Server{Server: base, Incidents: incidents, Directory: dir, Outbox: ob, Comms: comms, Inbox: &inbox.Store{DB: db},
		Resolution: res, Changes: ch, Postmortem: pm, Accounts: accounts}
	srv := httptest.NewUnstartedServer(nil)
	if configure != nil {
		configure(s, "http://"+srv.Listener.Addr().String())
	}
	srv.Config.Handler = base.Handler(s)
	srv.Start()
	t.Cleanup(srv.Close)
	return &uiEnv{t: t, srv: srv, s: s, db: db, incidents: incidents, accounts: accounts}
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	e    *uiEnv
	c    *http.Client
	csrf string
}

func (e *uiEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values, header ...string) *http.Response {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return resp
}

func body(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// login signs in and returns the signed-in browser.
func (e *uiEnv) login(email string) *browser {
	e.t.Helper()
	b := e.browser()
	b.get("/login")
	resp := b.post("/login", url.Values{"csrf": {b.csrf}, "email": {email}, "password": {uiPassword}, "next": {"/incidents"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents" {
		e.t.Fatalf("login as %s: %d %s", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, _ := b.get("/incidents"); status != 200 {
		e.t.Fatalf("incidents after login: %d", status)
	}
	return b
}

func (e *uiEnv) declare(title string) *incident.Incident {
	e.t.Helper()
	inc, err := e.incidents.Declare(context.Background(), "test", incident.DeclareInput{Title: title, Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"checkout"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// must is v; a failure to read what a test checks ends the test (as
// template.Must does: there is nothing to check without it).
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("test: %v", err))
	}
	return v
}

// sessions counts the sessions signed in now.
func (e *uiEnv) sessions() int {
	e.t.Helper()
	return must(e.s.Sessions.Live(context.Background()))
}

// allAccounts lists every account, disabled ones too.
func (e *uiEnv) allAccounts() []auth.Account {
	e.t.Helper()
	ctx := context.Background()
	return append(must(e.s.Accounts.List(ctx)), must(e.s.Accounts.Disabled(ctx))...)
}

// accountID is the id of the account of email; 0 when there is none.
func (e *uiEnv) accountID(email string) int64 {
	e.t.Helper()
	for _, a := range e.allAccounts() {
		if a.Email == email {
			return a.ID
		}
	}
	return 0
}

// messagesOfKind counts the messages of kind sent on every incident.
func (e *uiEnv) messagesOfKind(kind string) int {
	e.t.Helper()
	ctx := context.Background()
	n := 0
	for _, inc := range must(e.incidents.List(ctx, incident.ListFilter{})) {
		for _, m := range must(e.s.Outbox.Messages(ctx, inc.ID)) {
			if m.Kind == kind {
				n++
			}
		}
	}
	return n
}

// state sums up what a form could change, through the services that own
// it: incidents and their timelines, accounts, live API tokens, messages,
// sessions, reports, summaries, marked changes, post-mortems, their Issues
// and the improvements.
func (e *uiEnv) state() string {
	e.t.Helper()
	ctx := context.Background()
	list := must(e.incidents.List(ctx, incident.ListFilter{}))
	var events, messages, reports, summaries, marked, postmortems, issues int
	for _, inc := range list {
		events += len(must(e.incidents.Timeline(ctx, inc.Ref)))
		messages += len(must(e.s.Outbox.Messages(ctx, inc.ID)))
		reports += len(must(e.incidents.Reports(ctx, inc.Ref)))
		summaries += len(must(e.s.Resolution.Summaries(ctx, inc.Ref)))
		for _, c := range must(e.s.Changes.ForIncident(ctx, inc.Ref, 0)).Changes {
			if c.Suspicion != "" {
				marked++
			}
		}
		if must(e.s.Postmortem.Find(ctx, inc.Ref)) != nil {
			postmortems++
		}
		issues += len(must(e.s.Postmortem.Board(ctx, inc.Ref)).Issues)
	}
	var roles []string
	for _, a := range e.allAccounts() {
		roles = append(roles, a.Email+"="+string(a.Role))
	}
	return fmt.Sprint(events, len(list), roles, len(must(e.s.Tokens.List(ctx))), messages, e.sessions(),
		reports, summaries, marked, postmortems, issues, len(must(e.s.Postmortem.Improvements(ctx, postmortem.ImprovementFilter{}))))
}

func TestUISessionCookie(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	b := e.browser()
	b.get("/login")
	resp := b.post("/login", url.Values{"csrf": {b.csrf}, "email": {"lead@x.test"}, "password": {uiPassword}})
	resp.Body.Close()
	var c *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == web.SessionCookie {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.Expires.IsZero() {
		t.Fatalf("session cookie %+v", c)
	}
	// The cookie is the session's id; the database keeps only its hash
	// (checked where it is stored: internal/auth TestAccountsPasswordsAndRoles).
	if _, err := e.s.Sessions.Lookup(context.Background(), c.Value); err != nil {
		t.Fatalf("the cookie must open its session: %v", err)
	}
	// Behind a TLS-terminating proxy (public URL https) the cookie is Secure.
	e.s.PublicURL = "https://sitrep.example.com"
	b2 := e.browser()
	b2.get("/login")
	resp = b2.post("/login", url.Values{"csrf": {b2.csrf}, "email": {"lead@x.test"}, "password": {uiPassword}})
	resp.Body.Close()
	for _, x := range resp.Cookies() {
		if x.Name == web.SessionCookie && !x.Secure {
			t.Fatal("with an https public URL the session cookie must be Secure")
		}
	}
	// Sign out ends the session on the server.
	lead := e.login("lead@x.test")
	resp = lead.post("/logout", url.Values{"csrf": {lead.csrf}})
	resp.Body.Close()
	if status, _ := lead.get("/incidents"); status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", status)
	}
}

// TestUIEveryUnsafeRouteNeedsTheCSRFToken walks the UI's route table: every
// POST/PUT/PATCH/DELETE refuses a missing or wrong token, and changes nothing.
func TestUIEveryUnsafeRouteNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declare("Checkout down")
	admin := e.login("admin@x.test")
	state := e.state()
	params := strings.NewReplacer("{ref}", inc.Ref, "{id}", "1", "{email}", "ann@x.test")
	form := url.Values{"title": {"Forged"}, "severity": {"SEV1"}, "to": {"identified"}, "from": {"investigating"},
		"note": {"forged"}, "status": {"forged update"}, "role": {"viewer"}, "name": {"forged"}, "email": {"x@x.test"},
		"password": {uiPassword}, "body": {"forged"}, "incident": {inc.Ref},
		"root_cause": {"forged"}, "fix": {"forged"}, "markdown": {"forged summary"}, "override": {"yes"}, "text": {"forged"},
		"slot": {"1"}, "owner": {"ann@x.test"}, "state": {"done"}, "observed": {"forged"}}
	checked := 0
	for _, rt := range e.s.routes() {
		if rt.method == http.MethodGet || rt.method == http.MethodHead {
			continue
		}
		path := params.Replace(rt.path)
		for _, token := range []string{"", "wrong-" + admin.csrf} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			resp := admin.post(path, f)
			text := body(resp)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "security token mismatch") {
				t.Errorf("%s %s with csrf %q: %d, want 403", rt.method, path, token, resp.StatusCode)
			}
		}
		checked++
	}
	if checked < 29 {
		t.Fatalf("only %d unsafe routes walked", checked)
	}
	if got := e.state(); got != state {
		t.Fatalf("a refused form changed something: %s → %s", state, got)
	}
	// The same form with the right token goes through: the test can fail.
	resp := admin.post("/incidents/"+inc.Ref+"/notes", url.Values{"csrf": {admin.csrf}, "note": {"a real note"}})
	if resp.Body.Close(); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("note with the right token: %d", resp.StatusCode)
	}
	// A token in the header (the live preview's fetch) counts too.
	resp = admin.post("/incidents/"+inc.Ref+"/preview", url.Values{"status": {"x"}}, "X-CSRF-Token", admin.csrf, fetchHeader, "fetch")
	if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Fatalf("preview with the header token: %d", resp.StatusCode)
	}
}

func TestUIRolesAndExpiredSessions(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declare("Checkout down")
	viewer := e.login("viewer@x.test")
	if status, page := viewer.get("/incidents/" + inc.Ref); status != 200 || strings.Contains(page, `id="compose"`) {
		t.Fatalf("a viewer reads the incident but gets no compose form: %d", status)
	}
	resp := viewer.post("/incidents/"+inc.Ref+"/notes", url.Values{"csrf": {viewer.csrf}, "note": {"x"}})
	if text := body(resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "needs the lead role") {
		t.Fatalf("viewer note: %d", resp.StatusCode)
	}
	if status, _ := viewer.get("/accounts"); status != http.StatusForbidden {
		t.Fatalf("viewer on accounts: %d", status)
	}

	// No session: to the sign-in page, with the page to come back to.
	anon := e.browser()
	resp, _ = anon.c.Get(e.srv.URL + "/incidents/" + inc.Ref)
	resp.Body.Close()
	// A first visit (no session cookie) is not told its session expired.
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/login?next=%2Fincidents%2F"+inc.Ref {
		t.Fatalf("anonymous: %d %s", resp.StatusCode, loc)
	}
	// An expired session posting the compose form goes back to its page.
	lead := e.login("lead@x.test")
	lead.get("/incidents/" + inc.Ref)
	// Eight days on, past the longest a session lives (auth.Sessions.MaxAge).
	e.s.Sessions.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	resp = lead.post("/incidents/"+inc.Ref+"/updates", url.Values{"csrf": {lead.csrf}, "status": {"draft"}}, "Referer", e.srv.URL+"/incidents/"+inc.Ref)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/login?expired=1&next=%2Fincidents%2F"+inc.Ref {
		t.Fatalf("expired post: %d %s", resp.StatusCode, loc)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/preview", url.Values{"csrf": {lead.csrf}, "status": {"draft"}}, fetchHeader, "fetch", "Referer", e.srv.URL+"/incidents/"+inc.Ref)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("X-Sitrep-Login"), "/login?next=") {
		t.Fatalf("expired fetch: %d %v", resp.StatusCode, resp.Header)
	}
	if n := e.messagesOfKind("status"); n != 0 {
		t.Fatal("nothing may be sent on an expired session")
	}
	// Open redirects are refused.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		if got := safeNext(next); got != "/incidents" {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
}

func TestUILoginIsRateLimited(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	b := e.browser()
	b.get("/login")
	var last int
	for i := 0; i < 6; i++ {
		resp := b.post("/login", url.Values{"csrf": {b.csrf}, "email": {"lead@x.test"}, "password": {"wrong password here"}})
		if m := csrfRE.FindStringSubmatch(body(resp)); m != nil {
			b.csrf = m[1] // each sign-in form gets a fresh token
		}
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("6th wrong attempt on one account: %d, want 429", last)
	}
	// Even the right password waits now: guessing must not get through.
	resp := b.post("/login", url.Values{"csrf": {b.csrf}, "email": {"lead@x.test"}, "password": {uiPassword}})
	if text := body(resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(text, "Too many sign-in attempts") {
		t.Fatalf("right password while limited: %d", resp.StatusCode)
	}
}

func TestUIDeclareSendTwiceAndStaleTransition(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	lead := e.login("lead@x.test")
	lead.get("/incidents/new")
	resp := lead.post("/incidents", url.Values{"csrf": {lead.csrf}, "title": {"Checkout down"}, "severity": {"SEV1"},
		"systems": {"checkout"}, "detected_via": {"monitoring"}, "extent": {"subset"}, "segments": {"region: EU\ndevice: iOS"},
		"first_failure": {"2026-03-01T10:30"}, "zone": {"Europe/Berlin"}, "comms_lead": {"vp@x.test"}})
	body(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents/INC-1?declared=1" {
		t.Fatalf("declare: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	inc, _ := e.incidents.Get(context.Background(), "INC-1")
	if inc.FirstFailureAt == nil || !inc.FirstFailureAt.Equal(time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)) || len(inc.Scope.Segments) != 2 {
		t.Fatalf("declared %+v %v", inc.Scope, inc.FirstFailureAt)
	}
	_, page := lead.get("/incidents/INC-1?declared=1")
	if !strings.Contains(page, "Heads-up sent") || !strings.Contains(page, "Otto &lt;ops@x.test&gt;") {
		t.Fatal("after declaring, the page must say who got the heads-up")
	}

	// Preview: per group, with the count and the next-update time in the group's zone.
	resp = lead.post("/incidents/INC-1/preview", url.Values{"csrf": {lead.csrf}, "status": {"Card payments fail."}, "next": {"30m"}, "groups": {"exec", "all"}}, fetchHeader, "fetch")
	preview := body(resp)
	if resp.StatusCode != 200 || !strings.Contains(preview, "exec · 1 recipient") || !strings.Contains(preview, "all · 2 people (1 not in the groups above)") ||
		!strings.Contains(preview, "[INC-1] Checkout down") || !strings.Contains(preview, "Europe/Berlin (1)") {
		t.Fatalf("preview:\n%s", preview)
	}
	if n := e.messagesOfKind("status"); n != 0 {
		t.Fatal("a preview must not send")
	}

	// A double-clicked send: the same form twice makes one update.
	_, page = lead.get("/incidents/INC-1")
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatal("the compose form carries no idempotency key")
	}
	send := url.Values{"csrf": {lead.csrf}, "idempotency_key": {key[1]}, "status": {"Card payments fail."}, "next": {"30m"}, "groups": {"exec"}}
	first := lead.post("/incidents/INC-1/updates", send)
	body(first)
	second := lead.post("/incidents/INC-1/updates", send)
	body(second)
	if first.StatusCode != http.StatusSeeOther || !strings.HasPrefix(first.Header.Get("Location"), "/incidents/INC-1/messages/") ||
		second.StatusCode != http.StatusSeeOther || second.Header.Get("Location") != "/incidents/INC-1?dup=1" {
		t.Fatalf("sends: %d %s, %d %s", first.StatusCode, first.Header.Get("Location"), second.StatusCode, second.Header.Get("Location"))
	}
	if n := e.messagesOfKind("status"); n != 1 {
		t.Fatalf("a double-clicked send made %d updates", n)
	}
	status, msgPage := lead.get(first.Header.Get("Location"))
	if status != 200 || !strings.Contains(msgPage, "Vera &lt;vp@x.test&gt;") || !strings.Contains(msgPage, `http-equiv="refresh"`) {
		t.Fatalf("message page: %d\n%s", status, msgPage)
	}
	// An empty status is refused with the form kept.
	resp = lead.post("/incidents/INC-1/updates", url.Values{"csrf": {lead.csrf}, "idempotency_key": {"k2"}, "status": {"  "}, "next": {"45m"}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "must not be empty") || !strings.Contains(text, `value="45m" selected`) {
		t.Fatalf("empty status: %d", resp.StatusCode)
	}

	// A stale page: someone moved the incident meanwhile.
	if _, err := e.incidents.Transition(context.Background(), "other", "INC-1", incident.Identified, ""); err != nil {
		t.Fatal(err)
	}
	resp = lead.post("/incidents/INC-1/transition", url.Values{"csrf": {lead.csrf}, "from": {"investigating"}, "to": {"monitoring"}})
	if text := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text, "was moved to identified by someone else") {
		t.Fatalf("stale transition: %d\n%s", resp.StatusCode, text)
	}
	if inc, _ := e.incidents.Get(context.Background(), "INC-1"); inc.State != incident.Identified {
		t.Fatalf("a stale transition changed the state to %s", inc.State)
	}
	resp = lead.post("/incidents/INC-1/transition", url.Values{"csrf": {lead.csrf}, "from": {"identified"}, "to": {"closed"}})
	if text := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text, "it cannot move to closed") {
		t.Fatalf("illegal transition: %d", resp.StatusCode)
	}
	resp = lead.post("/incidents/INC-1/transition", url.Values{"csrf": {lead.csrf}, "from": {"identified"}, "to": {"monitoring"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("transition: %d", resp.StatusCode)
	}
}

// TestUIEscapesHostileText puts script in every text field a person or a
// stranger (a reply) can fill, and checks that it arrives as text.
func TestUIEscapesHostileText(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	const x = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`
	lead := e.login("lead@x.test")
	lead.get("/incidents/new")
	resp := lead.post("/incidents", url.Values{"csrf": {lead.csrf}, "title": {"T " + x}, "severity": {"SEV2"}, "detection_detail": {x},
		"verification_detail": {x}, "segments": {x}, "other_teams": {x}, "verified": {"yes"},
		"report_email": {"evil@x.test"}, "report_where": {"W " + x}, "report_how": {"H " + x}, "report_saw": {x}})
	if text := body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("declare: %d %s", resp.StatusCode, text)
	}
	resp = lead.post("/incidents/INC-1/notes", url.Values{"csrf": {lead.csrf}, "note": {x}})
	body(resp)
	inc, _ := e.incidents.Get(context.Background(), "INC-1")
	reply := mailmsg.Inbound{Mailbox: "m", UIDValidity: 1, UID: 1, Class: "reply", Sender: "evil@x.test", SenderName: x, Subject: x, Text: x, IncidentID: inc.ID}
	if _, err := e.s.Inbox.Record(context.Background(), reply, []byte("raw 1")); err != nil {
		t.Fatal(err)
	}
	// The same text in triage.
	reply.UID, reply.IncidentID = 2, 0
	if _, err := e.s.Inbox.Record(context.Background(), reply, []byte("raw 2")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/incidents", "/incidents/INC-1", "/incidents/INC-1/edit", "/triage"} {
		status, page := lead.get(path)
		if status != 200 {
			t.Fatalf("%s: %d", path, status)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s renders hostile text as HTML", path)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the hostile text escaped", path)
		}
	}
	if got := mailPolicy.Sanitize(`<p style="color:red" onclick="x()">hi</p><script>alert(1)</script><a href="javascript:alert(1)">l</a>`); strings.Contains(got, "script") || strings.Contains(got, "onclick") || strings.Contains(got, "javascript:") || !strings.Contains(got, "color: red") {
		t.Fatalf("mail HTML policy: %s", got)
	}
}

// The declare form's "Who reported it?": one report is filed with the
// declaration and the incident page flags it possibly isolated; a bad
// address comes back with the whole form kept, that field marked, and
// nothing declared.
func TestUIDeclareWithAReport(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/new")
	for _, id := range []string{"report_email", "report_where", "report_how", "report_saw"} {
		if !regexp.MustCompile(`<label for="` + id + `"`).MatchString(page) {
			t.Errorf("the declare form has no labelled %s field", id)
		}
	}
	form := url.Values{"csrf": {lead.csrf}, "title": {"Checkout down"}, "severity": {"SEV2"}, "detected_via": {"employee"},
		"report_email": {"not an address"}, "report_where": {"Berlin office"}, "report_how": {"web; office wifi"}, "report_saw": {"Checkout spins"}}
	resp := lead.post("/incidents", form)
	text := body(resp)
	if resp.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`id="report_email"[^>]*aria-invalid="true"`).MatchString(text) ||
		!strings.Contains(text, "Checkout spins</textarea>") || !strings.Contains(text, `value="Checkout down"`) {
		t.Fatalf("a bad reporter address: %d\n%s", resp.StatusCode, text)
	}
	if n := len(must(e.incidents.List(context.Background(), incident.ListFilter{}))); n != 0 {
		t.Fatalf("a refused declaration stored %d incidents", n)
	}
	form.Set("report_email", "ann@x.test")
	resp = lead.post("/incidents", form)
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("declare: %d", resp.StatusCode)
	}
	reps, err := e.incidents.Reports(context.Background(), "INC-1")
	if err != nil || len(reps) != 1 || reps[0].Channel != "web" || reps[0].Access != "web; office wifi" {
		t.Fatalf("reports: %+v %v", reps, err)
	}
	_, page = lead.get("/incidents/INC-1?declared=1")
	if !strings.Contains(page, "Possibly isolated: verify before mobilising.") || !strings.Contains(page, "where: berlin office") {
		t.Fatalf("the incident page must flag the single report:\n%s", section(page, "reports-h"))
	}
}

func TestUIAccountsAndTokens(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	admin := e.login("admin@x.test")
	admin.get("/accounts")
	resp := admin.post("/accounts", url.Values{"csrf": {admin.csrf}, "email": {"new@x.test"}, "name": {"New"}, "role": {"viewer"}})
	page := body(resp)
	pw := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(page)
	if resp.StatusCode != 200 || pw == nil {
		t.Fatalf("create account: %d", resp.StatusCode)
	}
	if _, err := e.accounts.Authenticate(context.Background(), "new@x.test", pw[1]); err != nil {
		t.Fatalf("the generated password must work: %v", err)
	}
	resp = admin.post("/accounts", url.Values{"csrf": {admin.csrf}, "email": {"new@x.test"}, "role": {"viewer"}})
	if text := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text, "exists already") {
		t.Fatalf("duplicate account: %d", resp.StatusCode)
	}
	id := e.accountID("new@x.test")
	resp = admin.post("/accounts/"+strconv.FormatInt(id, 10)+"/role", url.Values{"csrf": {admin.csrf}, "role": {"lead"}})
	if body(resp); resp.StatusCode != 200 {
		t.Fatalf("set role: %d", resp.StatusCode)
	}
	if acc, _ := e.accounts.Get(context.Background(), id); acc.Role != auth.Lead {
		t.Fatalf("role %s", acc.Role)
	}

	admin.get("/tokens")
	resp = admin.post("/tokens", url.Values{"csrf": {admin.csrf}, "name": {"ci"}, "role": {"lead"}})
	page = body(resp)
	tok := regexp.MustCompile(`id="new-token">(sitrep_[0-9a-f]+)<`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || tok == nil {
		t.Fatalf("create token: %d", resp.StatusCode)
	}
	if p, err := e.s.Tokens.Verify(context.Background(), tok[1]); err != nil || p.Role != auth.Lead {
		t.Fatalf("token: %v %v", p, err)
	}
	if _, page := admin.get("/tokens"); strings.Contains(page, tok[1]) {
		t.Fatal("a token is shown once only")
	}
	var tid int64
	for _, tk := range must(e.s.Tokens.List(context.Background())) {
		if tk.Name == "ci" {
			tid = tk.ID
		}
	}
	resp = admin.post("/tokens/"+strconv.FormatInt(tid, 10)+"/revoke", url.Values{"csrf": {admin.csrf}})
	if body(resp); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := e.s.Tokens.Verify(context.Background(), tok[1]); err == nil {
		t.Fatal("a revoked token must stop working")
	}
}

// TestUIEveryInputHasALabel checks the forms served without a browser (the
// chromedp suite checks the DOM too): every visible input, select and
// textarea has a <label for> naming its id.
func TestUIEveryInputHasALabel(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	e.declare("Checkout down")
	admin := e.login("admin@x.test")
	for _, path := range []string{"/incidents/new", "/incidents/INC-1", "/incidents/INC-1/edit", "/accounts", "/tokens", "/login"} {
		_, page := admin.get(path)
		for _, tag := range unlabelledInputs(page) {
			t.Errorf("%s: %s has no label", path, tag)
		}
	}
}

var (
	inputRE = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE    = regexp.MustCompile(`\bid="([^"]+)"`)
)

// unlabelledInputs lists the page's form fields that no <label for> names.
func unlabelledInputs(page string) []string {
	var out []string
	for _, tag := range inputRE.FindAllString(page, -1) {
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		if strings.Contains(tag, `type="checkbox"`) || strings.Contains(tag, `type="radio"`) {
			continue // wrapped in their <label>, checked by the DOM test
		}
		if id := idRE.FindStringSubmatch(tag); id == nil || !strings.Contains(page, `<label for="`+id[1]+`"`) {
			out = append(out, tag)
		}
	}
	return out
}

// TestPaletteContrast computes the WCAG 2.2 contrast ratio of every text
// and background pair of app.css: at least 4.5:1 (SC 1.4.3, normal text).
func TestPaletteContrast(t *testing.T) {
	t.Parallel()
	css, err := staticFS.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{{"fg", "bg"}, {"muted", "bg"}, {"muted", "panel"}, {"link", "bg"}, {"link", "panel"}, {"fg", "panel"},
		{"on-primary", "primary"}, {"on-danger", "danger"}, {"danger", "bg"}, {"ok", "bg"}, {"ok", "ok-bg"}, {"warn-fg", "warn-bg"},
		{"sev1-fg", "sev1-bg"}, {"sev2-fg", "sev2-bg"}, {"sev3-fg", "sev3-bg"}, {"sev4-fg", "sev4-bg"},
		{"state-fg", "state-bg"}, {"nav-fg", "nav-bg"}, {"focus", "bg"}}
	for _, p := range pairs {
		fg, bg := vars[p[0]], vars[p[1]]
		if fg == "" || bg == "" {
			t.Errorf("app.css lacks --%s or --%s", p[0], p[1])
			continue
		}
		r := contrast(fg, bg)
		t.Logf("--%s on --%s: %.2f:1", p[0], p[1], r)
		if r < 4.5 {
			t.Errorf("--%s %s on --%s %s: contrast %.2f:1, want ≥ 4.5:1", p[0], fg, p[1], bg, r)
		}
	}
	if r := contrast("#777777", "#ffffff"); r > 4.5 {
		t.Fatalf("contrast is computed wrong: #777 on white is %.2f", r) // known: 4.48
	}
}

// contrast is the WCAG 2.2 contrast ratio of two sRGB colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is WCAG's relative luminance of #rrggbb.
func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(0) + 0.7152*ch(1) + 0.0722*ch(2)
}

// TestIncidentPageWith500Events measures the server side of the incident
// page with a long timeline (the browser's load time is measured by the
// chromedp suite in cmd/sitrep).
func TestIncidentPageWith500Events(t *testing.T) {
	// Not parallel: it times the page.
	e := newUIEnv(t)
	inc := e.declare("Checkout down")
	for i := len("x"); i < 500; i++ {
		if _, err := e.incidents.AddNote(context.Background(), "ann@x.test", inc.Ref, fmt.Sprintf("Observation %d: error rate at %d%%, still failing over <b>", i, i%100)); err != nil {
			t.Fatal(err)
		}
	}
	lead := e.login("lead@x.test")
	const runs = 20
	var total time.Duration
	var size int
	for i := 0; i < runs; i++ {
		start := time.Now()
		status, page := lead.get("/incidents/" + inc.Ref)
		total += time.Since(start)
		if status != 200 || !strings.Contains(page, "(501 events, newest first)") {
			t.Fatalf("page: %d", status)
		}
		size = len(page)
	}
	t.Logf("incident page with 501 timeline events: %s mean over %d requests, %d KB of HTML", (total / runs).Round(time.Microsecond), runs, size/1024)
	if mean := total / runs; mean > 2*time.Second {
		t.Fatalf("incident page takes %s", mean)
	}
}

// An admin disables an account from the accounts page: its open session
// ends at once and its password no longer works; enabling restores it.
// The admin's own row offers no Disable, and posting it anyway is refused.
func TestUIDisableAccount(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	admin := e.login("admin@x.test")
	lead := e.login("lead@x.test")
	ids := map[string]int64{}
	list, err := e.accounts.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		ids[a.Email] = a.ID
	}
	_, page := admin.get("/accounts")
	if !strings.Contains(page, `aria-label="Disable lead@x.test"`) || strings.Contains(page, `aria-label="Disable admin@x.test"`) {
		t.Fatal("every other account has a Disable button; the admin's own row has none")
	}
	resp := admin.post(fmt.Sprintf("/accounts/%d/disable", ids["lead@x.test"]), url.Values{"csrf": {admin.csrf}})
	if text := body(resp); resp.StatusCode != 200 || !strings.Contains(text, "Account lead@x.test disabled.") || !strings.Contains(text, "Disabled accounts") {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if status, _ := lead.get("/incidents"); status != http.StatusSeeOther {
		t.Errorf("the disabled account's session still opens pages: %d", status)
	}
	b := e.browser()
	b.get("/login")
	resp = b.post("/login", url.Values{"csrf": {b.csrf}, "email": {"lead@x.test"}, "password": {uiPassword}})
	if body(resp); resp.StatusCode == http.StatusSeeOther {
		t.Error("a disabled account signed in with its password")
	}
	resp = admin.post(fmt.Sprintf("/accounts/%d/disable", ids["admin@x.test"]), url.Values{"csrf": {admin.csrf}})
	if text := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text, "cannot disable your own account") {
		t.Errorf("disabling oneself: %d", resp.StatusCode)
	}
	resp = admin.post(fmt.Sprintf("/accounts/%d/enable", ids["lead@x.test"]), url.Values{"csrf": {admin.csrf}})
	if body(resp); resp.StatusCode != 200 {
		t.Fatalf("enable: %d", resp.StatusCode)
	}
	e.login("lead@x.test")
}

// A message's page lists its recipients a page at a time, with links
// between the pages; the counts above cover all of them. (Not parallel:
// it sets the page size.)
func TestUIMessagePageListsRecipientsPageByPage(t *testing.T) {
	old := recipientsPerPage
	recipientsPerPage = 1
	t.Cleanup(func() { recipientsPerPage = old })
	e := newUIEnv(t)
	e.declare("Checkout down")
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/INC-1")
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatal("the compose form carries no idempotency key")
	}
	resp := lead.post("/incidents/INC-1/updates", url.Values{"csrf": {lead.csrf}, "idempotency_key": {key[1]}, "status": {"Card payments fail."},
		"next": {"30m"}, "groups": {"all"}})
	body(resp)
	msg := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(msg, "/incidents/INC-1/messages/") {
		t.Fatalf("send: %d %s", resp.StatusCode, msg)
	}
	msg, _, _ = strings.Cut(msg, "?")

	recipients := regexp.MustCompile(`<td data-label="Recipient">([^<]*)</td>`)
	next := regexp.MustCompile(`<a href="\?after=(\d+)">next 1 →</a>`)
	_, first := lead.get(msg)
	got := recipients.FindAllStringSubmatch(first, -1)
	link := next.FindStringSubmatch(first)
	if len(got) != 1 || link == nil || !strings.Contains(first, "of 2</progress>") && !strings.Contains(first, "of 2</strong>") || strings.Contains(first, "first page") {
		t.Fatalf("first page: want one of two recipients and a link to the next:\n%s", first)
	}
	_, second := lead.get(msg + "?after=" + link[1])
	more := recipients.FindAllStringSubmatch(second, -1)
	if len(more) != 1 || more[0][1] == got[0][1] || next.MatchString(second) || !strings.Contains(second, "← first page") {
		t.Fatalf("second page: want the other recipient, a link back and none onward:\n%s", second)
	}
	if status, _ := lead.get(msg + "?after=x"); status != http.StatusBadRequest {
		t.Errorf("a page after %q: %d, want 400", "x", status)
	}
}
