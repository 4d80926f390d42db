package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The web UI's pages in headless Chromium as issue 17 found them: one
// labelled time zone, the overdue banner's holding update, resolve and the
// summary confirmed with their recipient count, no sideways scrolling on a
// 390 px phone, and axe-core's accessibility check on the main pages.

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// accessible runs axe-core (testdata/axe, its version in VERSION) on the
// page as it stands and fails on a serious or critical violation; the
// others are logged.
func (u *uiSession) accessible(name string) {
	u.t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		u.t.Fatal(err)
	}
	if !eval[bool](u, `typeof window.axe === "object"`) {
		eval[bool](u, string(src)+"\n;true")
	}
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	// The sandboxed email frames are the email's, not the page's: axe
	// cannot enter them (no script runs there) and is told not to try.
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {iframes: false, resultTypes: ["violations"]}).then(r =>
	  r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
	    nodes: v.nodes.slice(0, 6).map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " "))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range found {
		msg := fmt.Sprintf("axe on %s: %s (%s): %s\n  %s", name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
		if v.Impact == "serious" || v.Impact == "critical" {
			u.t.Error(msg)
		} else {
			u.t.Log(msg)
		}
	}
}

// overflow lists what is wider than its box at the current viewport: the
// document, and each table's container (a table's columns cut off or
// scrolled out of sight).
const overflow = `(() => {
  const bad = [], d = document.documentElement;
  if (d.scrollWidth > d.clientWidth) bad.push("the page: " + d.scrollWidth + " > " + d.clientWidth + " px");
  document.querySelectorAll("table").forEach((t, i) => {
    const c = t.parentElement;
    if (c.scrollWidth > c.clientWidth) bad.push("table " + i + " (" + (t.querySelector("th") || t).textContent.trim().slice(0, 30) + "): " + c.scrollWidth + " > " + c.clientWidth + " px");
  });
  return bad;
})()`

func (u *uiSession) fits(path string) {
	u.t.Helper()
	u.do(path, chromedp.Navigate(u.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if bad := eval[[]string](u, overflow); len(bad) > 0 {
		w := eval[int](u, `window.innerWidth`)
		wide := eval[[]string](u, `Array.from(document.querySelectorAll("body *")).filter(e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) { if (getComputedStyle(a).overflowX !== "visible") return false; } return e.getBoundingClientRect().right > document.documentElement.clientWidth; }).slice(-6).map(e => e.tagName + "." + e.className + "#" + e.id + " " + e.getBoundingClientRect().right.toFixed(2))`)
		u.t.Errorf("%s at %d px is wider than the screen: %v (the widest: %v)", path, w, bad, wide)
	}
}

func setZone(zone string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	})
}

func TestUIPagesInChromium(t *testing.T) {
	t.Parallel()
	u, _ := startBrowser(t)
	ctx := context.Background()
	// The browser is in New York; the server and its data are in UTC.
	u.do("the browser's zone", setZone("America/New_York"))

	// A first visit is asked to sign in, not told a session expired.
	u.do("first visit", chromedp.Navigate(u.base+"/incidents"), chromedp.WaitVisible(chromedp.ID("email")))
	if text := eval[string](u, `document.querySelector("main").innerText`); strings.Contains(strings.ToLower(text), "expired") ||
		eval[int](u, `document.querySelectorAll("main .notice, main .warn, main .error").length`) > 0 {
		t.Errorf("a first visit must not hear of an expired session:\n%s", text)
	}
	u.accessible("the sign-in page")
	u.signIn()
	admin := eval[string](u, `document.querySelector("header.top .who span").textContent.split(" ")[0]`)

	// An incident with an update sent, through the services.
	inc, err := u.h.incidents.Declare(ctx, admin, incident.DeclareInput{Title: "Card payments failing for EU customers", Severity: "SEV1",
		Scope: incident.Scope{Systems: []string{"checkout"}, DetectedVia: "monitoring", Extent: "subset", Segments: []string{"region: EU"}}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := u.h.comms.SendUpdate(ctx, admin, inc.Ref, incident.UpdateInput{
		Status: "Card payments fail for about a third of EU customers. The payments team is failing over to the secondary provider."})
	if err != nil {
		t.Fatal(err)
	}
	page := "/incidents/" + inc.Ref

	// One zone, labelled, with UTC beside it and on hover: the viewer's
	// directory zone if they have one (their own or their group's), else
	// the browser's, which app.js told the server on the sign-in page.
	zone := "America/New_York"
	if r, ok := u.h.directory.Current().Reader(admin); ok && r.TimeZone != "" {
		zone = r.TimeZone
	}
	u.do("incident", chromedp.Navigate(u.base+page), chromedp.WaitVisible(chromedp.ID("status")))
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	label, _ := time.Now().In(loc).Zone() // as the zone database writes it, like the server
	if label != "" && (label[0] == '+' || label[0] == '-') {
		label = "UTC" + label
	}
	times := eval[[][]string](u, `Array.from(document.querySelectorAll("main time")).map(t => [t.textContent, t.title])`)
	if len(times) < 3 {
		t.Fatalf("the incident page shows %d times: %v", len(times), times)
	}
	for _, tm := range times {
		if !strings.Contains(tm[0], " "+label) || !strings.HasSuffix(tm[1], " UTC") || (label != "UTC" && !strings.HasSuffix(tm[0], " UTC)")) {
			t.Errorf("a time on the incident page reads %q (title %q); every time must be in %s, labelled %q, with UTC beside it and on hover", tm[0], tm[1], zone, label)
		}
	}
	head := eval[string](u, `document.querySelector(".incident-head").innerText + " | " + document.querySelector(".promise").innerText`)
	if !strings.Contains(head, "declared ") || strings.Count(head, " "+label) < 2 {
		t.Errorf("the declaration and the promise must be in one zone, labelled %s: %q", label, head)
	}
	if got := eval[string](u, `document.querySelector("#next option[value='']").textContent`); !regexp.MustCompile(`^Default for SEV1 \(\d+ (min|hours?); policy: .+\)$`).MatchString(got) {
		t.Errorf("the default next update must say how long: %q", got)
	}
	if ph := eval[string](u, `document.querySelector("#status").placeholder`); !strings.HasPrefix(ph, "For example") {
		t.Errorf("the compose placeholder must read as an example: %q", ph)
	}
	u.accessible("the incident page")
	u.do("compose", chromedp.SendKeys(chromedp.ID("status"), "Failover done; error rate back to 2% and falling."))
	u.waitFor("the live preview", `document.querySelector("#preview").innerText.includes("recipients in")`, false, 30*time.Second)
	if got := eval[string](u, `document.querySelector("#preview time").textContent`); !strings.Contains(got, " "+label) {
		t.Errorf("the preview's promise must be in the page's zone: %q", got)
	}
	u.accessible("the compose preview")

	// The promise runs out: the banner sends a holding update in one click.
	if _, err := u.h.db.ExecContext(ctx, `UPDATE incidents SET next_update_at = $1 WHERE id = $2`, time.Now().UTC().Add(-12*time.Minute).Truncate(time.Second), inc.ID); err != nil {
		t.Fatal(err)
	}
	u.do("overdue", chromedp.Navigate(u.base+page), chromedp.WaitVisible(chromedp.ID("send-hold")))
	banner := eval[string](u, `document.querySelector("[data-overdue-banner]").innerText`)
	if !strings.Contains(banner, "overdue") || !strings.Contains(banner, "still working on it") || !strings.Contains(banner, "recipients") {
		t.Errorf("the overdue banner: %q", banner)
	}
	u.accessible("the incident page, overdue")
	u.shot("incident-overdue")
	u.do("hold", chromedp.SetValue(chromedp.ID("hold-next"), "45m"), chromedp.Click(chromedp.ID("send-hold")), chromedp.WaitVisible(chromedp.ID("held")))
	if got := eval[string](u, `document.getElementById("held").innerText`); !strings.Contains(got, "Holding update sent to") {
		t.Errorf("after the holding update: %q", got)
	}
	if !eval[bool](u, `document.querySelector("[data-overdue-banner]").hidden`) {
		t.Error("the banner must go once the holding update renewed the promise")
	}
	msgs, err := u.h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := countKind(msgs, "status"); n != 2 {
		t.Fatalf("status emails after the holding update: %d, want 2", n)
	}
	holding := false
	events, _ := u.h.incidents.Timeline(ctx, inc.Ref)
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued && ev.Data["holding"] == true {
			holding = true
		}
	}
	now := mustIncident(t, u.h, inc.Ref)
	if !holding || now.Promise.NextUpdateAt == nil || now.Promise.NextUpdateAt.Before(time.Now().Add(44*time.Minute)) || now.Promise.NextUpdateAt.After(time.Now().Add(46*time.Minute)) {
		t.Fatalf("the holding update must be on the timeline and promise the next in 45 minutes: holding %v, next %v", holding, now.Promise.NextUpdateAt)
	}

	// Mail: the sandbox, a status email, and a reply confirmed.
	g, _ := u.h.directory.Current().Group("exec")
	member := g.Members[0]
	var msgID string
	for deadline := time.Now().Add(30 * time.Second); msgID == ""; time.Sleep(100 * time.Millisecond) {
		list, err := u.h.sandbox.Messages(ctx, member)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if strings.Contains(m.Subject, inc.Ref) {
				msgID = m.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no email of %s", member, inc.Ref)
		}
	}
	mailPage := "/sandbox/" + url.PathEscape(member) + "/" + msgID
	u.do("sandbox", chromedp.Navigate(u.base+"/sandbox"), chromedp.WaitVisible(chromedp.CSS("main table")))
	u.accessible("the mail sandbox")
	u.do("mail", chromedp.Navigate(u.base+mailPage), chromedp.WaitVisible(chromedp.ID("body")))
	u.accessible("an email in the sandbox")
	// The email is read whole: its frame is most of the window tall, not a
	// 420 px slot that cuts it off.
	if h := eval[float64](u, `document.querySelector("iframe.mail").getBoundingClientRect().height / window.innerHeight`); h < 0.7 {
		t.Errorf("the email's frame is %.0f%% of the window's height", h*100)
	}
	u.do("reply", chromedp.SendKeys(chromedp.ID("body"), "Thanks. Is the mobile app affected too?"), chromedp.Click(chromedp.CSS("#reply-h ~ form button.primary")))
	u.waitFor("the reply's confirmation", `location.search.includes("replied=") && document.readyState === "complete"`, false, 10*time.Second)
	if got := eval[string](u, `(document.querySelector("main .notice") || {innerText: ""}).innerText`); !strings.Contains(got, "Reply sent to") {
		t.Errorf("after Send reply: %q", got)
	}

	u.do("directory", chromedp.Navigate(u.base+"/directory"), chromedp.WaitVisible(chromedp.CSS("main table")))
	u.accessible("the directory")
	u.do("incidents", chromedp.Navigate(u.base+"/incidents"), chromedp.WaitVisible(chromedp.CSS("ul.incidents")))
	u.accessible("the incidents list")

	// Resolve asks to confirm, naming how many it emails; the browser's
	// required box and, without it, the server refuse a bare click.
	who, err := u.h.resolution.Audience(ctx, inc.Ref, directory.KindResolved)
	if err != nil {
		t.Fatal(err)
	}
	u.do("resolve form", chromedp.Navigate(u.base+page), chromedp.WaitVisible(chromedp.ID("root_cause")),
		chromedp.SendKeys(chromedp.ID("root_cause"), "A configuration push disabled the payment provider's API keys."),
		chromedp.SendKeys(chromedp.ID("fix"), "Rolled the configuration back."),
		chromedp.SendKeys(chromedp.ID("impact"), "EU card payments failed for 40 minutes."))
	if got := eval[string](u, `document.querySelector("#resolve-confirm").closest("label").innerText`); !strings.Contains(got, fmt.Sprintf("Email all %d recipients", len(who))) {
		t.Fatalf("the resolve confirmation must name the %d recipients: %q", len(who), got)
	}
	u.do("resolve without confirming", chromedp.Click(chromedp.ID("resolve-send")))
	if !eval[bool](u, `document.querySelector("#resolve-confirm").validity.valueMissing && !!document.getElementById("resolve-send")`) || mustIncident(t, u.h, inc.Ref).State != incident.Investigating {
		t.Fatal("one click on Resolve must not resolve and email everyone")
	}
	eval[bool](u, `(document.querySelector("#resolve-confirm").required = false) === false`) // as a browser without validation
	u.do("resolve, the box unticked", chromedp.Click(chromedp.ID("resolve-send")), chromedp.WaitVisible(chromedp.CSS("main p.error")))
	if got := eval[string](u, `document.querySelector("main p.error").innerText`); !strings.Contains(got, fmt.Sprintf("%d recipients", len(who))) || mustIncident(t, u.h, inc.Ref).State != incident.Investigating {
		t.Fatalf("the server must refuse an unconfirmed resolve: %q", got)
	}
	u.do("resolve, confirmed", chromedp.Click(chromedp.ID("resolve-confirm")), chromedp.Click(chromedp.ID("resolve-send")), chromedp.WaitVisible(chromedp.ID("resolved-h")))
	if eval[bool](u, `!!document.getElementById("resolve-send")`) {
		t.Error("after resolving, the page shows what was sent, not the button again")
	}

	// The summary likewise; once sent, the page says so instead of the button.
	sumWho, err := u.h.resolution.Audience(ctx, inc.Ref, directory.KindSummary)
	if err != nil {
		t.Fatal(err)
	}
	u.do("summary", chromedp.Navigate(u.base+page+"/summary"), chromedp.WaitVisible(chromedp.ID("markdown")))
	u.setText("markdown", "# Card payments failing for EU customers\n\nCard payments failed for about a third of EU customers for 40 minutes.\n\nA configuration push disabled the payment provider's API keys; rolling it back restored payments.\n")
	// The live preview answers the new text before anything is clicked:
	// arriving between a click's aim and its press, it moved the page
	// under the pointer on a loaded CI machine, and the send never went.
	u.waitFor("the preview of the new text", `document.getElementById("summary-check").innerText.includes("restored payments")`, false, 10*time.Second)
	if got := eval[string](u, `document.querySelector("#summary-confirm").closest("label").innerText`); !strings.Contains(got, fmt.Sprintf("Email all %d recipients", len(sumWho))) {
		t.Fatalf("the summary confirmation must name the %d recipients: %q", len(sumWho), got)
	}
	u.do("send without confirming", chromedp.Click(chromedp.ID("send-summary")))
	if !eval[bool](u, `document.querySelector("#summary-confirm").validity.valueMissing && !location.search.includes("sent=")`) {
		t.Fatal("one click on Send the summary must not email everyone")
	}
	u.do("confirm", chromedp.Click(chromedp.ID("summary-confirm")))
	u.waitFor("the box ticked", `document.getElementById("summary-confirm").checked`, false, 10*time.Second)
	u.do("send, confirmed", chromedp.Click(chromedp.ID("send-summary")))
	// Sending queues the summary for every recipient in each language in one
	// transaction: beside both suites on 2 cores it once took over 30 s.
	u.waitFor("sent", `location.search.includes("sent=") && document.readyState === "complete"`, false, 30*time.Second)
	if got := eval[string](u, `(document.getElementById("summary-sent") || {innerText: ""}).innerText`); !strings.Contains(got, "Sent") ||
		eval[bool](u, `document.getElementById("send-summary").checkVisibility()`) {
		t.Errorf("after sending, the page must say it was sent instead of showing the button: %q", got)
	}

	// The post-mortem, proposed; its attendee table whole at 1440 px.
	u.do("post-mortem", chromedp.Navigate(u.base+page+"/postmortem"), chromedp.WaitVisible(chromedp.ID("propose")),
		chromedp.Click(chromedp.ID("propose")), chromedp.WaitVisible(chromedp.ID("book")))
	u.accessible("the post-mortem page")
	u.do("wide", chromedp.EmulateViewport(1440, 900))
	u.fits(page + "/postmortem")

	// A 390 px phone: nothing wider than the screen, a short menu.
	u.do("phone", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/incidents", page, fmt.Sprintf("%s/messages/%d", page, first.Message.ID), page + "/summary", page + "/postmortem",
		"/directory", "/accounts", "/tokens", "/improvements", "/sandbox", "/sandbox/" + url.PathEscape(member), mailPage} {
		u.fits(p)
		if h := eval[int](u, `document.querySelector("header.top").offsetHeight`); h > 64 {
			t.Errorf("%s: the menu takes %d px of a 390 px phone", p, h)
		}
	}
	// The emails with a table (the post-mortem invitation and its
	// timeline) fit the phone too; the invitation was 435 px wide.
	r, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	long := compose.TimelineEntry{At: time.Now(), Who: "responder from payments",
		What: "Status update 3 to Executives and Customer service: checkout-api.payments.eu-west-1.example.com/v2/authorizations answers 502 for EU cards"}
	invite := compose.SampleData(compose.KindPostmortemInvite).(compose.PostmortemInviteData)
	invite.Entries = append(invite.Entries, long)
	timeline := compose.SampleData(compose.KindTimeline).(compose.TimelineData)
	timeline.Entries = append(timeline.Entries, long)
	for kind, data := range map[compose.Kind]any{compose.KindPostmortemInvite: invite, compose.KindTimeline: timeline} {
		out, err := r.Render(kind, data)
		if err != nil {
			t.Fatal(err)
		}
		u.do(string(kind), chromedp.Navigate("data:text/html;base64,"+base64.StdEncoding.EncodeToString([]byte(out.HTML))))
		if bad := eval[[]string](u, overflow); len(bad) > 0 {
			t.Errorf("the %s email at 390 px is wider than the screen: %v", kind, bad)
		}
	}
	u.do("desktop", chromedp.EmulateViewport(1280, 900))
}
