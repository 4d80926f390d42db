package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

// langOrg is uiOrg with languages: Vera reads German in Berlin, Ann
// American English through her group, Otto the organisation's French.
const langOrg = `organization: UI Test
language: fr
people:
  - email: vp@x.test
    name: Vera
    roles: [comms-lead]
    time_zone: Europe/Berlin
    language: de
  - email: ann@x.test
    name: Ann
  - email: ops@x.test
    name: Otto
groups:
  - name: exec
    display_name: Executives
    members: [vp@x.test]
  - name: all
    language: en-US
    time_zone: America/New_York
    members: [ann@x.test]
    groups: [exec]
escalations:
  - system: checkout
    team: payments
    responders: [ops@x.test]
audiences:
  status: [exec]
`

// declaredAt is when the test's incident was declared: a Tuesday.
var declaredAt = time.Date(2026, 3, 3, 14, 30, 0, 0, time.UTC)

func newLangEnv(t *testing.T) *uiEnv {
	t.Helper()
	e := newUIEnvWith(t, func(s *Server, _ string) {
		if _, err := s.Directory.SyncFile(context.Background(), []byte(langOrg), "groups.yaml"); err != nil {
			t.Fatal(err)
		}
	})
	for _, email := range []string{"vp@x.test", "ann@x.test", "ops@x.test"} {
		if _, err := e.accounts.Create(context.Background(), email, "", auth.Viewer, uiPassword); err != nil {
			t.Fatal(err)
		}
	}
	inc := e.declare("Checkout down")
	if _, err := e.db.ExecContext(context.Background(), `UPDATE incidents SET declared_at = $1 WHERE id = $2`, declaredAt, inc.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

// getWith is b.get with request headers.
func (b *browser) getWith(path string, header ...string) string {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b.e.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return body(resp)
}

var declaredRE = regexp.MustCompile(`declared <time datetime="2026-03-03T14:30:00Z" title="2026-03-03 14:30 UTC">([^<]*)</time>`)

func declaredText(t *testing.T, page string) string {
	t.Helper()
	m := declaredRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no declaration time on the incident page:\n%s", page)
	}
	return m[1]
}

// TestDatesInTheViewersLanguageAndZone: every date of a page is written in
// the CLDR conventions of the viewer's language and in their zone,
// labelled, with UTC beside it; the page's words stay English.
func TestDatesInTheViewersLanguageAndZone(t *testing.T) {
	t.Parallel()
	e := newLangEnv(t)

	// Vera: language de and Europe/Berlin in her directory entry.
	page := e.login("vp@x.test").getWith("/incidents/INC-1")
	if got, want := declaredText(t, page), "Di., 3. März 2026, 15:30 CET (14:30 UTC)"; got != want {
		t.Errorf("Vera (de, Europe/Berlin) reads %q, want %q", got, want)
	}
	if !strings.Contains(page, "declared <time") || !strings.Contains(page, "Timeline") {
		t.Error("the page's words must stay English")
	}
	// The browser's language does not override the directory's.
	if got := declaredText(t, e.login("vp@x.test").getWith("/incidents/INC-1", "Accept-Language", "ja")); !strings.HasPrefix(got, "Di., 3. März") {
		t.Errorf("the directory's de must win over the browser's ja: %q", got)
	}

	// Ann: en-US and America/New_York from her group: a 12-hour clock.
	if got, want := declaredText(t, e.login("ann@x.test").getWith("/incidents/INC-1")), "Tue 3 Mar 2026 9:30 AM EST (14:30 UTC)"; !strings.EqualFold(got, want) {
		t.Errorf("Ann (en-US, America/New_York) reads %q, want %q", got, want)
	}

	// Otto: the organisation's French; no zone anywhere, so the one his
	// browser reported, else UTC.
	otto := e.login("ops@x.test")
	if got, want := declaredText(t, otto.getWith("/incidents/INC-1")), "mar. 3 mars 2026 à 14:30 UTC"; !strings.EqualFold(got, want) {
		t.Errorf("Otto (fr, no zone) reads %q, want %q", got, want)
	}
	otto.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: zoneCookie, Value: "Asia/Tokyo"}})
	if got, want := declaredText(t, otto.getWith("/incidents/INC-1")), "mar. 3 mars 2026 à 23:30 JST (14:30 UTC)"; !strings.EqualFold(got, want) {
		t.Errorf("Otto with a browser in Tokyo reads %q, want %q", got, want)
	}

	// Not in the directory: the browser's language when sitrep writes it,
	// else English.
	admin := e.login("admin@x.test")
	admin.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: zoneCookie, Value: "America/New_York"}})
	if got := declaredText(t, admin.getWith("/incidents/INC-1", "Accept-Language", "en-US,en;q=0.9")); !regexp.MustCompile(`^Tue 3 Mar 2026 9:30 (AM|am) EST \(14:30 UTC\)$`).MatchString(got) {
		t.Errorf("an en-US browser reads %q, want a 12-hour clock", got)
	}
	if got, want := declaredText(t, admin.getWith("/incidents/INC-1", "Accept-Language", "pt-BR, pt;q=0.9")), "Tue 3 Mar 2026 09:30 EST (14:30 UTC)"; got != want {
		t.Errorf("a browser in a language sitrep does not write reads %q, want English %q", got, want)
	}
	if got := declaredText(t, admin.getWith("/incidents/INC-1", "Accept-Language", "pt-BR, de-AT;q=0.5")); !strings.HasPrefix(got, "Di., 3. März 2026") {
		t.Errorf("the first language sitrep writes must be taken: %q", got)
	}
	// A zone cookie that is not a zone is ignored.
	admin.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: zoneCookie, Value: "Local"}})
	if got := declaredText(t, admin.getWith("/incidents/INC-1")); got != "Tue 3 Mar 2026 14:30 UTC" {
		t.Errorf("with no zone known the page must be in UTC, labelled: %q", got)
	}
}

// TestEveryUIDateGoesThroughTheViewer: no template formats a time but
// through at, clock or when (the viewer's). In the UI's Go code the only
// times formatted otherwise are a form's input value (incident_edit.go), a
// file name (improvements_csv.go) and a reply's quoted header (mail.go).
func TestEveryUIDateGoesThroughTheViewer(t *testing.T) {
	t.Parallel()
	for name, tmpl := range must(parseTemplates()) {
		for _, tt := range tmpl.Templates() {
			if tt.Tree == nil {
				continue
			}
			if s := tt.Tree.Root.String(); strings.Contains(s, ".Format") || strings.Contains(s, "utc ") {
				t.Errorf("%s/%s formats a time itself", name, tt.Name())
			}
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]string{
		"":                          "",
		"de":                        "de",
		"en-US,en;q=0.9":            "en-US",
		"pt-BR,pt;q=0.9,fr;q=0.5":   "fr",
		"pt-BR":                     "",
		"fr;q=0.1, ja;q=0.8":        "ja",
		"*":                         "",
		"de-at":                     "de-AT",
		"not a language list;;;q=x": "",
	} {
		if got := acceptLanguage(h); got != want {
			t.Errorf("acceptLanguage(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestDirectoryPageShowsLanguages(t *testing.T) {
	t.Parallel()
	e := newLangEnv(t)
	_, page := e.login("admin@x.test").get("/directory")
	for _, want := range []string{
		`the organisation's (<strong>fr</strong>)`,
		`<td data-label="Language">de</td>`,                  // Vera's own
		`<td data-label="Language">en-US</td>`,               // the all group's default
		`en-US <span class="muted">(their group's)</span>`,   // Ann
		`fr <span class="muted">(the organisation's)</span>`, // Otto
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the directory page lacks %s:", want)
		}
	}
}

func mustURL(s string) *url.URL { return must(url.Parse(s)) }
