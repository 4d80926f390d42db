package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// The internal status page says the public promise too (what customers
// were told to expect), and "overdue" honestly when it has passed with no
// public update, while the stakeholders' promise is still on time; never
// the public wording itself, which is the public page's.
func TestStatusSaysThePublicPromise(t *testing.T) {
	t.Parallel()
	e, clock := newStatusEnv(t, nil)
	ctx := context.Background()
	inc := e.declare("Card payments failing")
	if _, err := e.s.Comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Failing over.", Next: "6h",
		Public: "PUBLIC-WORDING-ONLY", PublicNext: "1h"}); err != nil {
		t.Fatal(err)
	}
	viewer := e.login("viewer@x.test")
	_, page := viewer.get("/status")
	if !strings.Contains(page, "Customers: next public update by") || !strings.Contains(page, `<strong class="public-overdue" data-overdue hidden>`) {
		t.Errorf("/status does not say the public promise:\n%s", page)
	}
	e.noSecrets("/status", page)

	clock.add(70 * time.Minute)
	due := must(e.incidents.PublicPromiseOf(ctx, e.db, must(e.incidents.Get(ctx, inc.Ref)))).NextUpdateAt
	overdue := regexp.MustCompile(`<strong class="public-overdue" data-overdue >Customers: public update overdue since <time datetime="` + due.UTC().Format(time.RFC3339) + `"`)
	for _, path := range []string{"/status", "/status/" + inc.Ref} {
		_, page := viewer.get(path)
		if !overdue.MatchString(page) {
			t.Errorf("%s does not say the public update is overdue:\n%s", path, page)
		}
		if !strings.Contains(page, `<strong class="overdue-since" data-overdue hidden>`) {
			t.Errorf("%s: the stakeholders' promise is not overdue", path)
		}
		e.noSecrets(path, page)
	}
	// Resolved: no promise of either kind.
	if _, err := e.s.Resolution.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "A config push."}); err != nil {
		t.Fatal(err)
	}
	if _, page := viewer.get("/status/" + inc.Ref); strings.Contains(page, "Customers:") {
		t.Errorf("a resolved incident still says a public promise:\n%s", page)
	}
}

// The resolve form takes what customers read of the end when the incident
// had public wording, and only then; what is typed reaches the timeline
// the public page reads.
func TestResolveFormTakesThePublicWords(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	ctx := context.Background()
	lead := e.login("lead@x.test")
	quiet := e.declare("Internal tooling down")
	if _, page := lead.get("/incidents/" + quiet.Ref); strings.Contains(page, `id="resolve-public"`) || !strings.Contains(page, `id="resolve"`) {
		t.Fatalf("a never-public incident's resolve form asks for public words")
	}
	inc := e.declare("Card payments failing")
	if _, err := e.s.Comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Failing over.", Public: "Some payments fail."}); err != nil {
		t.Fatal(err)
	}
	_, page := lead.get("/incidents/" + inc.Ref)
	if !strings.Contains(page, `<textarea id="resolve-public" name="public"`) {
		t.Fatalf("the resolve form of an incident customers were told of has no public field:\n%s", section(page, "resolve-h"))
	}
	who := must(e.s.Resolution.Audience(ctx, inc.Ref, directory.KindResolved))
	resp := lead.post("/incidents/"+inc.Ref+"/resolve", url.Values{"csrf": {lead.csrf}, "from": {"investigating"}, "confirm_recipients": {strconv.Itoa(len(who))},
		"root_cause": {"A config push."}, "public": {"Card payments work again."}})
	if text := body(resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("resolve: %d\n%s", resp.StatusCode, text)
	}
	var got any
	for _, ev := range must(e.incidents.Timeline(ctx, inc.Ref)) {
		if ev.Kind == resolution.EventResolvedEmail {
			got = ev.Data["public"]
		}
	}
	if got != "Card payments work again." {
		t.Errorf("the public words on the timeline: %v", got)
	}
}

// The compose form's live preview shows, beside the executives' email, a
// follower's own copy (Ann follows the checkout system and is in no
// status group: To "Followers of checkout", her unsubscribe line with a
// placeholder link) and the public email's place (nobody has subscribed
// on the public page yet, and the preview says so).
func TestUIPreviewShowsFollowersAndThePublicEmail(t *testing.T) {
	t.Parallel()
	var subs *subscription.Service
	e := newUIEnvWith(t, func(s *Server, _ string) {
		subs = &subscription.Service{DB: s.Incidents.DB, Directory: s.Directory, Incidents: s.Incidents, Mail: s.Outbox,
			PublicURL: "https://sitrep.test", PublicOpen: true, PublicSiteURL: "https://status.test"}
		s.Comms.Followers, s.Comms.PublicFollowers = subs, subs
		s.Comms.PublicSite = incident.PublicSite{Title: "Example status"}
	})
	ctx := context.Background()
	if _, _, err := subs.Subscribe(ctx, "ann@x.test", subscription.Request{Email: "ann@x.test", Kind: "system", Target: "checkout", Verified: true}); err != nil {
		t.Fatal(err)
	}
	inc := e.declare("Checkout down")
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/" + inc.Ref)
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(page)[1]
	form := url.Values{"csrf": {lead.csrf}, "idempotency_key": {key}, "status": {"INTERNAL card payments fail."}, "groups": {"exec"},
		"public": {"Some card payments fail; we are on it."}, "public_next": {"2h"}}
	resp := lead.post("/incidents/"+inc.Ref+"/preview", form, fetchHeader, "fetch", "X-CSRF-Token", lead.csrf)
	frag := body(resp)
	for _, want := range []string{`aria-label="Preview for exec"`, `data-preview-for="followers"`, "<h3 class=\"inline-h\">Followers · 1 recipient</h3>",
		"<dd>Followers of checkout:;</dd>", "You receive this because you follow the checkout system",
		"https://sitrep.test/unsubscribe/" + subscription.PreviewLink, `data-preview-for="public"`,
		"Nobody has subscribed to the public page's emails yet", "Customers are promised the next public update by"} {
		if !strings.Contains(frag, want) {
			t.Errorf("the live preview lacks %s:\n%s", want, frag)
		}
	}
	if resp.StatusCode != http.StatusOK || strings.Count(frag, "<article") != 3 {
		t.Errorf("the live preview: %d, %d emails, want 3", resp.StatusCode, strings.Count(frag, "<article"))
	}
}
