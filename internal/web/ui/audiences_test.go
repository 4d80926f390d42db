package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Issue 20: the compose form's "Word it for one audience", as a plain
// form: a box per group the update goes to and one for the public page;
// the preview shows the group's own wording, a send keeps it on the
// timeline, and wording for a group that is not ticked is refused with
// its box marked and the form kept.
func TestUIComposeAudienceWording(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declare("Checkout down")
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/" + inc.Ref)
	for _, want := range []string{`<summary>Word it for one audience`, `<textarea id="for-exec" name="for_exec"`, `<textarea id="public" name="public"`, `<input id="public_next" name="public_next"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the compose form lacks %s", want)
		}
	}
	if strings.Contains(page, `name="for_all"`) {
		t.Error("a box for a group the update does not go to")
	}
	for _, tag := range unlabelledInputs(page) {
		t.Errorf("%s has no label", tag)
	}
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(page)[1]
	const forExec = "Revenue impact about 4% of hourly card sales."
	form := url.Values{"csrf": {lead.csrf}, "idempotency_key": {key}, "status": {"Card payments fail in the EU."}, "groups": {"exec"},
		"for_exec": {forExec}, "public": {"Some card payments fail; we are on it."}, "public_next": {"2h"}}
	resp := lead.post("/incidents/"+inc.Ref+"/preview", form, fetchHeader, "fetch", "X-CSRF-Token", lead.csrf)
	if frag := body(resp); resp.StatusCode != 200 || !strings.Contains(frag, forExec) || strings.Contains(frag, "Card payments fail in the EU.") {
		t.Fatalf("the executives' preview must show their wording, not the status: %d\n%s", resp.StatusCode, frag)
	}

	bad := url.Values{"csrf": {lead.csrf}, "idempotency_key": {key}, "status": {"Card payments fail in the EU."}, "groups": {"exec"},
		"for_all": {"Everyone: nothing to do."}}
	resp = lead.post("/incidents/"+inc.Ref+"/updates", bad)
	page = body(resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `<details class="audiences" id="audiences" open>`) ||
		!strings.Contains(page, "not one of this update&#39;s groups") {
		t.Fatalf("wording for a group not ticked: %d\n%s", resp.StatusCode, page)
	}

	resp = lead.post("/incidents/"+inc.Ref+"/updates", form)
	body(resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send with audience wording: %d", resp.StatusCode)
	}
	events, err := e.incidents.Timeline(context.Background(), inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	var public, publicNext any
	n := 0
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued {
			got, _ = ev.Data["audiences"].(map[string]any)
			public, publicNext = ev.Data["public"], ev.Data["public_next_update_at"]
			n++
		}
	}
	if n != 1 || len(got) != 1 || got["exec"] != forExec || public != "Some card payments fail; we are on it." {
		t.Errorf("%d updates; audiences %v, public %v", n, got, public)
	}
	// The public promise (2 h) is kept apart from the update's own.
	if at, err := time.Parse(time.RFC3339, fmt.Sprint(publicNext)); err != nil || time.Until(at) < 119*time.Minute || time.Until(at) > 121*time.Minute {
		t.Errorf("public promise %v, want 2 h from now", publicNext)
	}
	_, page = lead.get("/incidents/" + inc.Ref)
	if !strings.Contains(page, `<span class="hint">For exec:</span> `+forExec) || !strings.Contains(page, `<span class="hint">Public status page:</span> Some card payments fail`) {
		t.Error("the timeline does not show what each audience was told")
	}
}
