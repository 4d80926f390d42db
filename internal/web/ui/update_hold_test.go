package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// An overdue promise puts a banner on the incident page whose one button
// sends a holding update, as `sitrep update --hold` does: the same email,
// the timeline's holding flag, the promise renewed for the chosen interval
// (issue 17: holding updates existed only in the CLI and by email).
func TestUIHoldingUpdateFromTheOverdueBanner(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	ctx := context.Background()
	inc := e.declare("Checkout down")
	if _, err := e.s.Comms.SendUpdate(ctx, "ops@x.test", inc.Ref, incident.UpdateInput{Status: "Checkout fails for EU customers."}); err != nil {
		t.Fatal(err)
	}
	lead := e.login("lead@x.test")
	page := "/incidents/" + inc.Ref
	banner := regexp.MustCompile(`<section class="overdue-banner"[^>]*data-overdue-banner\s*(hidden)?\s*>`)

	// On time: the banner is there for app.js to show when time runs out, hidden.
	_, text := lead.get(page)
	if m := banner.FindStringSubmatch(text); m == nil || m[1] != "hidden" {
		t.Fatalf("an incident on time must have the banner hidden: %q", m)
	}
	if !strings.Contains(text, `<option value="" selected>Default for SEV2 (30 min; policy: every 30 min)</option>`) {
		t.Fatal("the default next update must say how long it is")
	}

	if _, err := e.db.ExecContext(ctx, `UPDATE incidents SET next_update_at = $1 WHERE id = $2`, time.Now().UTC().Add(-5*time.Minute).Truncate(time.Second), inc.ID); err != nil {
		t.Fatal(err)
	}
	_, text = lead.get(page)
	if m := banner.FindStringSubmatch(text); m == nil || m[1] != "" || !strings.Contains(text, `id="send-hold"`) || !strings.Contains(text, "that you are still working on it") {
		t.Fatalf("an overdue incident must show the banner with its holding update: %q", m)
	}
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)">\s*<div class="row"><label for="hold-next">`).FindStringSubmatch(text)
	if key == nil {
		t.Fatal("the banner's form carries its own idempotency key")
	}

	viewer := e.login("viewer@x.test")
	if resp := viewer.post(page+"/hold", url.Values{"csrf": {viewer.csrf}, "next": {"45m"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer's holding update: %d", resp.StatusCode)
	}
	if resp := lead.post(page+"/hold", url.Values{"csrf": {"forged"}, "next": {"45m"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a holding update without the CSRF token: %d", resp.StatusCode)
	}

	form := url.Values{"csrf": {lead.csrf}, "next": {"45m"}, "idempotency_key": {key[1]}}
	resp := lead.post(page+"/hold", form)
	body(resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, page+"?held=") {
		t.Fatalf("holding update: %d %s", resp.StatusCode, loc)
	}
	_, text = lead.get(loc)
	if !strings.Contains(text, "Holding update sent to") {
		t.Fatal("after the holding update the page says it went")
	}
	if m := banner.FindStringSubmatch(text); m == nil || m[1] != "hidden" {
		t.Fatal("the renewed promise hides the banner")
	}
	got, err := e.incidents.Get(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if next := got.Promise.NextUpdateAt; next == nil || next.Before(time.Now().Add(44*time.Minute)) || next.After(time.Now().Add(46*time.Minute)) {
		t.Fatalf("the holding update must promise the next in 45 minutes: %v", next)
	}
	holding := 0
	for _, ev := range must(e.incidents.Timeline(ctx, inc.Ref)) {
		if ev.Kind == incident.EventUpdateQueued && ev.Data["holding"] == true {
			holding++
		}
	}
	if holding != 1 {
		t.Fatalf("holding updates on the timeline: %d, want 1", holding)
	}

	// The same form again (a double click): sent once.
	resp = lead.post(page+"/hold", form)
	body(resp)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "dup=1") {
		t.Fatalf("the same holding update twice: %d %s", resp.StatusCode, loc)
	}
	if n := len(must(e.s.Outbox.Messages(ctx, inc.ID))); n != 3 { // heads-up, the update, the holding update
		t.Fatalf("messages after a double click: %d, want 3", n)
	}
}
