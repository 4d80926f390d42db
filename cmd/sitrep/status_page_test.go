package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// The status page (issue 20) in headless Chromium against the whole hub:
// the incidents of now (one overdue), the history, one incident, and
// following and unfollowing, on a 390×844 phone and a 1280×800 desktop:
// nothing wider than the screen, and what people rely on visible.
// SITREP_SCREENSHOTS=1 writes docs/screenshots/status-phone.png and status.png.

// followBook is the status page's following for the browser test, through
// Main.statusFollow: the hub's first admin, whom the browser signs in as,
// is no person of the example directory, and internal/subscription
// follows for the directory's people only (its own tests, and
// internal/web/ui's TestStatusFollowWithTheRealService, cover it).
type followBook struct {
	mu   sync.Mutex
	next int64
	subs []subscription.Subscription
}

func (f *followBook) Subscribe(_ context.Context, _ string, req subscription.Request) (*subscription.Subscription, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Kind != subscription.All && req.Kind != subscription.System && req.Kind != subscription.Incident {
		return nil, false, errs.InvalidField("kind", "unknown kind %q", req.Kind)
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

func (f *followBook) Unsubscribe(_ context.Context, _, email string, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.subs {
		if s.ID == id && s.Email == email {
			f.subs = append(f.subs[:i], f.subs[i+1:]...)
			return nil
		}
	}
	return errs.E(errs.NotFound, "no subscription %d", id)
}

func (f *followBook) List(_ context.Context, email string) ([]subscription.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []subscription.Subscription
	for _, s := range f.subs {
		if email == "" || s.Email == email {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *followBook) kinds() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var k []string
	for _, s := range f.subs {
		k = append(k, s.Kind+":"+s.Target)
	}
	return strings.Join(k, ",")
}

// startStatusBrowser is startBrowser on a hub whose status page follows
// through follow.
func startStatusBrowser(t *testing.T, follow *followBook) *uiSession {
	t.Helper()
	chromium := testenv.ChromiumPath(t)
	testenv.OneBrowserAtATime(t)
	cfg := testConfig(t)
	var out bytes.Buffer
	h := &testHub{logs: &syncWriter{w: &bytes.Buffer{}}}
	h.Main = NewMain(cfg, env{stdin: strings.NewReader(""), stdout: &syncWriter{w: &out}, stderr: h.logs})
	h.statusFollow = follow
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := h.Run(ctx)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("serve did not start: %v\n%s", err, h.logs.String())
	}
	h.banner = out.String()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		testenv.Unavailable(t, "chromium does not start: %v", err)
	}
	u := &uiSession{t: t, ctx: bctx, base: hubURL(t, h), h: h, started: time.Now()}
	if os.Getenv("SITREP_SCREENSHOTS") != "" {
		u.shots = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(u.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// seeable lists the elements of selector that a person cannot see or
// reach: none, hidden, zero-sized, or beyond the screen's right edge.
const seeable = `(sel => {
  const els = Array.from(document.querySelectorAll(sel));
  if (!els.length) return ["nothing matches " + sel];
  return els.filter(e => {
    const r = e.getBoundingClientRect(), st = getComputedStyle(e);
    return e.offsetParent === null || r.width < 1 || r.height < 1 || st.visibility === "hidden" || r.right > document.documentElement.clientWidth + 0.5 || r.left < 0;
  }).map(e => sel + ": " + e.outerHTML.slice(0, 100));
})`

func (u *uiSession) visible(selectors ...string) {
	u.t.Helper()
	for _, sel := range selectors {
		if bad := eval[[]string](u, fmt.Sprintf("%s(%q)", seeable, sel)); len(bad) > 0 {
			u.t.Errorf("at %d px, not visible: %v", eval[int](u, `window.innerWidth`), bad)
		}
	}
}

// tappable checks that selector's elements are at least 44 px tall (WCAG 2.5.5).
func (u *uiSession) tappable(selector string) {
	u.t.Helper()
	small := eval[[]string](u, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter(e => e.getBoundingClientRect().height < 44).map(e => e.textContent.trim() + " " + e.getBoundingClientRect().height.toFixed(0) + "px")`, selector))
	if len(small) > 0 {
		u.t.Errorf("tap targets under 44 px: %v", small)
	}
}

func innerText(u *uiSession, selector string) string {
	u.t.Helper()
	return eval[string](u, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, selector))
}

func TestStatusPageInChromium(t *testing.T) {
	t.Parallel()
	follow := &followBook{}
	u := startStatusBrowser(t, follow)
	ctx := context.Background()
	u.do("open", chromedp.Navigate(u.base+"/status"), chromedp.WaitVisible(chromedp.ID("email")))
	if loc, _ := chromedp.Run(u.ctx, chromedp.Location()); !strings.Contains(loc, "/login?next=%2Fstatus") {
		t.Fatalf("the status page without signing in goes to sign in: %s", loc)
	}
	u.signIn()
	admin := eval[string](u, `document.querySelector("header.top .who span").textContent.split(" ")[0]`)

	// The history: an incident resolved last week.
	past, err := u.h.incidents.Declare(ctx, admin, incident.DeclareInput{Title: "Search results stale", Severity: "SEV3", Scope: incident.Scope{Systems: []string{"search"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.h.comms.SendUpdate(ctx, admin, past.Ref, incident.UpdateInput{Status: "Search shows results up to an hour old; the indexer is restarting."}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.h.resolution.Resolve(ctx, admin, past.Ref, resolution.ResolveInput{RootCause: "The indexer's queue filled its disk.", Impact: "Search results were stale for 50 minutes."}); err != nil {
		t.Fatal(err)
	}
	// Now: one overdue (its promise 12 minutes past), one on time.
	late, err := u.h.incidents.Declare(ctx, admin, incident.DeclareInput{Title: "Card payments failing for EU customers", Severity: "SEV1",
		Scope: incident.Scope{Systems: []string{"checkout"}, DetectedVia: "monitoring"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.h.comms.SendUpdate(ctx, admin, late.Ref, incident.UpdateInput{Status: "Card payments fail for about a third of EU customers. The payments team is failing over to the secondary provider."}); err != nil {
		t.Fatal(err)
	}
	due := time.Now().UTC().Add(-12 * time.Minute).Truncate(time.Minute)
	if _, err := u.h.db.ExecContext(ctx, `UPDATE incidents SET next_update_at = $1 WHERE id = $2`, due, late.ID); err != nil {
		t.Fatal(err)
	}
	onTime, err := u.h.incidents.Declare(ctx, admin, incident.DeclareInput{Title: "Sign-in slow in the mobile app", Severity: "SEV2", Scope: incident.Scope{Systems: []string{"auth"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.h.comms.SendUpdate(ctx, admin, onTime.Ref, incident.UpdateInput{Status: "Sign-in takes up to 20 seconds in the app; the web is fine.", Next: "1h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.h.incidents.AddNote(ctx, admin, late.Ref, "NOTE-SECRET: the provider's status page lies"); err != nil {
		t.Fatal(err)
	}

	for _, vp := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
		u.do(vp.name, chromedp.EmulateViewport(vp.w, vp.h))
		u.fits("/status")
		u.visible("main h1", `a[href="/status/`+late.Ref+`"]`, `a[href="/status/`+onTime.Ref+`"]`, `#`+late.Ref+` .overdue-since`,
			`#`+late.Ref+` .countdown`, `#`+onTime.Ref+` [data-due]`, ".status-incident .latest .text", `.status-history a[href="/status/`+past.Ref+`"]`,
			`button[data-follow="all"]`, `#follow-system`, `a[href="/status/feed.atom"]`)
		now := innerText(u, "#"+late.Ref)
		for _, want := range []string{"SEV1", "Affects checkout", "Update overdue since", "overdue by", "failing over to the secondary provider"} {
			if !strings.Contains(now, want) {
				t.Errorf("%s: the overdue incident's card lacks %q:\n%s", vp.name, want, now)
			}
		}
		if strings.Contains(now, "Next update by") {
			t.Errorf("%s: an overdue promise must not read as one to come:\n%s", vp.name, now)
		}
		if got := innerText(u, "#"+onTime.Ref); !strings.Contains(got, "Next update by") || !strings.Contains(got, "due in") || strings.Contains(got, "overdue") {
			t.Errorf("%s: the incident on time: %q", vp.name, got)
		}
		if order := eval[[]string](u, `Array.from(document.querySelectorAll(".status-list > li")).map(li => li.id)`); len(order) != 2 || order[0] != late.Ref {
			t.Errorf("%s: the overdue incident first: %v", vp.name, order)
		}
		if body := innerText(u, "main"); strings.Contains(body, "NOTE-SECRET") {
			t.Errorf("%s: the status page shows a note", vp.name)
		}
		u.tappable(".follow button")
		u.accessible("the status page (" + vp.name + ")")
		if vp.name == "phone" {
			u.shot("status-phone")
		} else {
			u.shot("status")
		}

		// One incident: its updates, newest first.
		u.fits("/status/" + late.Ref)
		u.visible("main h1", "ol.status-updates li .text", ".overdue-since", `button[data-follow="incident"]`, `a[href="/status/`+late.Ref+`/feed.atom"]`)
		if got := innerText(u, "main"); strings.Contains(got, "NOTE-SECRET") || !strings.Contains(got, "Card payments fail for about a third") {
			t.Errorf("%s: the incident's status page:\n%s", vp.name, got)
		}
		u.accessible("an incident's status page (" + vp.name + ")")
		u.fits("/status/" + past.Ref)
		if got := innerText(u, "ol.status-updates"); !strings.Contains(got, "Root cause: The indexer's queue filled its disk.") || !strings.HasPrefix(got, "Resolved") {
			t.Errorf("%s: the resolved incident's updates, the resolution first: %q", vp.name, got)
		}

		// Follow this incident, see it, stop following it.
		u.do("follow", chromedp.Navigate(u.base+"/status/"+late.Ref), chromedp.WaitVisible(chromedp.CSS(`button[data-follow="incident"]`)),
			chromedp.Click(chromedp.CSS(`button[data-follow="incident"]`)), chromedp.WaitVisible(chromedp.CSS(`#follow .notice`)))
		if got := innerText(u, "#follow"); !strings.Contains(got, "Followed.") || !strings.Contains(got, late.Ref+"\n") && !strings.Contains(got, late.Ref+" ") {
			t.Errorf("%s: after following: %q", vp.name, got)
		}
		if got := follow.kinds(); got != "incident:"+late.Ref {
			t.Fatalf("%s: subscriptions after following: %s", vp.name, got)
		}
		if eval[bool](u, `document.querySelector('button[data-follow="incident"]') !== null`) {
			t.Errorf("%s: a followed incident is not offered again", vp.name)
		}
		u.visible("ul.following li", "button[data-unfollow]")
		if bad := eval[[]string](u, overflow); len(bad) > 0 {
			t.Errorf("%s: the follow card is wider than the screen: %v", vp.name, bad)
		}
		u.do("unfollow", chromedp.Click(chromedp.CSS(`button[data-unfollow]`)), chromedp.WaitVisible(chromedp.ID("following-none")))
		if got := innerText(u, "#follow .notice"); !strings.Contains(got, "Unfollowed") {
			t.Errorf("%s: after unfollowing: %q", vp.name, got)
		}
		if got := follow.kinds(); got != "" {
			t.Fatalf("%s: subscriptions after unfollowing: %s", vp.name, got)
		}
	}

	// A system, from the status page's menu, on the phone.
	u.do("phone", chromedp.EmulateViewport(390, 844))
	u.do("follow a system", chromedp.Navigate(u.base+"/status"), chromedp.WaitVisible(chromedp.ID("follow-system")),
		chromedp.SetValue(chromedp.ID("follow-system"), "checkout"), chromedp.Click(chromedp.CSS(`button[data-follow="system"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#follow .notice`)))
	if got := follow.kinds(); got != "system:checkout" {
		t.Fatalf("following a system: %s", got)
	}
	if got := innerText(u, "ul.following"); !strings.Contains(got, "Incidents affecting checkout") {
		t.Errorf("the followed system is listed: %q", got)
	}

	// A promise that runs out while the page is open: the words change
	// without a reload. The page is loaded while the promise is ahead,
	// then its promise is moved to two seconds from the browser's now: a
	// promise set in the database seconds ahead could pass before a
	// loaded machine has served the page (a CI run took that long), and
	// the server would rightly write it overdue.
	u.do("reload", chromedp.Navigate(u.base+"/status"), chromedp.WaitVisible(chromedp.CSS("#"+onTime.Ref+" [data-due]")))
	eval[bool](u, fmt.Sprintf(`(() => { const soon = new Date(Date.now() + 2000).toISOString();
		document.querySelector("#%s [data-promise]").dataset.promise = soon;
		document.querySelectorAll("#%s [data-deadline]").forEach(e => e.dataset.deadline = soon); return true })()`, onTime.Ref, onTime.Ref))
	u.waitFor("the promise to run out on the open page", fmt.Sprintf(`!document.querySelector("#%s [data-overdue]").hidden && document.querySelector("#%s [data-due]").hidden`, onTime.Ref, onTime.Ref), false, 10*time.Second)
	u.do("desktop", chromedp.EmulateViewport(1280, 900))
}

// TestPublicStatusPageListensApart: status_page.public on its own listener,
// with the public wording only; the web UI's listener does not serve it,
// and it serves nothing of the UI. `sitrep status export` writes it.
func TestPublicStatusPageListensApart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.StatusPage.Public = config.PublicStatusPage{Enabled: true, Listen: "127.0.0.1:0", Title: "Example Corp status",
		Components: []config.StatusComponent{{Name: "Checkout", Systems: []string{"checkout"}}, {Name: "Unknown", Systems: []string{"no-such-system"}}}}
	_, h := startHub(t, cfg)
	if h.publicListener == nil || !strings.Contains(h.banner, "public status page: http://"+h.publicListener.Addr().String()) {
		t.Fatalf("the banner names the public page's address:\n%s", h.banner)
	}
	if !strings.Contains(h.logs.String(), "no-such-system") {
		t.Error("a component naming an unknown system is logged")
	}
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "admin@sitrep.example", incident.DeclareInput{Title: "INTERNAL-TITLE pg-eu-3", Severity: "SEV1", Scope: incident.Scope{Systems: []string{"checkout"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "admin@sitrep.example", inc.Ref, incident.UpdateInput{Status: "INTERNAL-STATUS pg-eu-3 failed over."}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "admin@sitrep.example", inc.Ref, incident.UpdateInput{Status: "INTERNAL-STATUS-2 pg-eu-3 replica lag 40s.",
		Public: "Some card payments fail; we are working on it."}); err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	public := "http://" + h.publicListener.Addr().String()
	for _, path := range []string{"/", "/feed.atom", "/incidents/" + inc.Ref + ".html", "/incidents/" + inc.Ref + ".atom"} {
		status, body := get(public + path)
		if status != 200 || !strings.Contains(body, "Some card payments fail; we are working on it.") {
			t.Errorf("public %s: %d\n%s", path, status, body)
		}
		if strings.Contains(body, "INTERNAL") || strings.Contains(body, "pg-eu-3") || strings.Contains(body, "SEV1") {
			t.Errorf("public %s shows internal text:\n%s", path, body)
		}
	}
	for _, path := range []string{"/status", "/incidents", "/api/v1/incidents", "/login", "/metrics"} {
		if status, _ := get(public + path); status != http.StatusNotFound {
			t.Errorf("the public listener serves %s: %d", path, status)
		}
	}
	if status, _ := get(hubURL(t, h) + "/feed.atom"); status != http.StatusNotFound {
		t.Errorf("the web UI's listener serves the public feed: %d", status)
	}

	// The export, from the same configuration and database.
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	environ := []string{"SITREP_DATA_DIR=" + cfg.DataDir, "SITREP_STATUS_PAGE_PUBLIC_ENABLED=true", "SITREP_STATUS_PAGE_PUBLIC_LISTEN="}
	if cfg.Database.URL != "" {
		environ = append(environ, "SITREP_DATABASE_URL="+cfg.Database.URL)
	}
	if code := run(ctx, []string{"status", "export", dir}, strings.NewReader(""), &out, &errOut, environ); code != 0 {
		t.Fatalf("status export: %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "6 files, 1 incident\n") {
		t.Errorf("status export said: %s", out.String())
	}
	page, err := os.ReadFile(filepath.Join(dir, "incidents", inc.Ref+".html"))
	if err != nil || !strings.Contains(string(page), "Some card payments fail") || strings.Contains(string(page), "INTERNAL") {
		t.Errorf("the exported page: %v\n%s", err, page)
	}
	if index, err := os.ReadFile(filepath.Join(dir, "index.html")); err != nil || strings.Contains(string(index), "<form") {
		t.Errorf("the export without public subscriptions has a form: %v\n%s", err, index)
	}
	// With public subscriptions on, the exported index has the form,
	// posting to the public listener's address.
	subscribing := append(slices.Clone(environ), "SITREP_STATUS_PAGE_PUBLIC_SUBSCRIPTIONS=true", "SITREP_STATUS_PAGE_PUBLIC_LISTEN=127.0.0.1:8081",
		"SITREP_STATUS_PAGE_PUBLIC_URL=https://status.example.test/")
	out.Reset()
	if code := run(ctx, []string{"status", "export", dir}, strings.NewReader(""), &out, &errOut, subscribing); code != 0 {
		t.Fatalf("status export with subscriptions: %d\n%s%s", code, out.String(), errOut.String())
	}
	if index, err := os.ReadFile(filepath.Join(dir, "index.html")); err != nil ||
		!strings.Contains(string(index), `<form class="subscribe" method="post" action="https://status.example.test/subscribe"`) {
		t.Errorf("the export with public subscriptions: %v\n%s", err, index)
	}
	// Off, it is refused with the key to set.
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"status", "export", dir}, strings.NewReader(""), &out, &errOut, []string{"SITREP_DATA_DIR=" + cfg.DataDir}); code != 1 || !strings.Contains(errOut.String(), "status_page.public.enabled") {
		t.Errorf("export with the public page off: %d %s", code, errOut.String())
	}
}
