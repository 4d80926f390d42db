package ui

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// audienceOrg: customer service (with a team nested in it) and the
// executives each have wording of their own in the update below;
// engineering has none. Bea is in both; Nils is in customer service
// through the nested team; Eli in engineering only; Olga in no group.
const audienceOrg = `organization: Audience Test
people:
  - {email: vp@x.test, name: Vera, roles: [comms-lead]}
  - {email: cara@x.test, name: Cara}
  - {email: ed@x.test, name: Ed}
  - {email: bea@x.test, name: Bea}
  - {email: nils@x.test, name: Nils}
  - {email: eli@x.test, name: Eli}
  - {email: olga@x.test, name: Olga}
groups:
  - {name: customer-service, display_name: Customer service, members: [cara@x.test, bea@x.test], groups: [support-emea]}
  - {name: support-emea, display_name: Support EMEA, members: [nils@x.test]}
  - {name: exec, display_name: Executives, members: [ed@x.test, bea@x.test]}
  - {name: engineering, display_name: Engineering, members: [eli@x.test]}
escalations:
  - {system: checkout, team: payments, responders: [eli@x.test]}
audiences:
  status: [exec, customer-service, engineering]
`

var (
	wordingFor = regexp.MustCompile(`<div class="audience-wording"><p class="for"><strong>([^<]*)</strong></p><div class="text">([^<]*)</div></div>`)
	generalAt  = regexp.MustCompile(`<details class="general-status"><summary>General status</summary><div class="text">([^<]*)</div></details>`)
)

// wordings are the labelled wordings a page shows, "label: text", in order.
func wordings(page string) []string {
	var out []string
	for _, m := range wordingFor.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1]+": "+m[2])
	}
	return out
}

// TestStatusPageShowsTheViewersAudienceWording: an update with wording
// for customer service and for the executives. On /status and on the
// incident's page, a member of customer service reads its wording,
// labelled "For Customer service", with the general status behind a
// "General status" disclosure; a member of a team nested in customer
// service too; a member of both groups reads both, in the update's order
// of groups; a member of engineering (no wording of its own), someone in
// no group, and a reader on an open network read the general status
// alone; the feed carries the general status only, whoever asks.
func TestStatusPageShowsTheViewersAudienceWording(t *testing.T) {
	t.Parallel()
	e, _ := newStatusEnv(t, func(s *Server) { s.StatusOpenTo = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	ctx := context.Background()
	if _, err := e.s.Directory.SyncFile(ctx, []byte(audienceOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"cara@x.test", "ed@x.test", "bea@x.test", "nils@x.test", "eli@x.test", "olga@x.test"} {
		if _, err := e.accounts.Create(ctx, email, "", auth.Viewer, uiPassword); err != nil {
			t.Fatal(err)
		}
	}
	inc := e.declare("Card payments failing")
	if _, err := e.s.Comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "GENERAL: the payment provider fails over.",
		Groups:    []string{"exec", "customer-service", "engineering"},
		Audiences: map[string]string{"customer-service": "CS: tell customers to retry in 10 minutes.", "exec": "EXEC: about 2% of orders fail."}}); err != nil {
		t.Fatal(err)
	}
	const general = "GENERAL: the payment provider fails over."
	cs, ex := "For Customer service: CS: tell customers to retry in 10 minutes.", "For Executives: EXEC: about 2% of orders fail."
	for _, c := range []struct {
		who  string
		want []string
	}{
		{"cara@x.test", []string{cs}},
		{"nils@x.test", []string{cs}},
		{"ed@x.test", []string{ex}},
		{"bea@x.test", []string{ex, cs}},
		{"eli@x.test", nil},
		{"olga@x.test", nil},
		{"", nil}, // not signed in, on an open network
	} {
		b := e.browser()
		if c.who != "" {
			b = e.login(c.who)
		}
		for _, path := range []string{"/status", "/status/" + inc.Ref} {
			status, page := b.get(path)
			if status != 200 {
				t.Fatalf("%s %s: %d", c.who, path, status)
			}
			got := wordings(page)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("%q on %s reads %q, want %q", c.who, path, got, c.want)
			}
			if len(c.want) > 0 {
				if m := generalAt.FindStringSubmatch(page); m == nil || m[1] != general {
					t.Errorf("%q on %s: the general status is not a click away:\n%s", c.who, path, page)
				}
				continue
			}
			if !strings.Contains(page, `<div class="text">`+general+`</div>`) || strings.Contains(page, "General status") ||
				strings.Contains(page, "CS: tell") || strings.Contains(page, "EXEC: about") {
				t.Errorf("%q on %s: want the general status alone:\n%s", c.who, path, page)
			}
		}
	}
	b := e.login("bea@x.test")
	for _, path := range []string{"/status/feed.atom", "/status/" + inc.Ref + "/feed.atom"} {
		if status, feed := b.get(path); status != 200 || !strings.Contains(feed, "GENERAL: the payment provider") || strings.Contains(feed, "CS: tell") || strings.Contains(feed, "EXEC: about") {
			t.Errorf("%s: %d, want the general status alone:\n%s", path, status, feed)
		}
	}
}
