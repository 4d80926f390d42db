package i18n_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

func load(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCatalogsComplete lists, per language, the English keys a catalog
// does not translate. Such a key is written in English, so a shipped
// catalog must have none; a new language's list is its to-do list.
func TestCatalogsComplete(t *testing.T) {
	c := load(t)
	if got := strings.Join(c.Languages(), " "); got != "en de es fr ja" {
		t.Errorf("languages = %q, want en de es fr ja", got)
	}
	for lang, keys := range c.Missing() {
		t.Errorf("%s.yaml lacks %d keys (English is sent for them):\n  %s", lang, len(keys), strings.Join(keys, "\n  "))
	}
}

func TestBrokenCatalogFailsToLoad(t *testing.T) {
	cases := map[string]struct{ de, want string }{
		"unknown placeholder": {"status:\n  next: \"Bis {{.Zeit}}\"\n", "placeholder {{.Zeit}} is not one of en's ({{.Time}})"},
		"broken template":     {"status:\n  next: \"Bis {{.Time\"\n", "status.next: other form"},
		"key English lacks":   {"status:\n  nxt: \"Bis {{.Time}}\"\n", "status.nxt: no such key in en.yaml"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"l/en.yaml": {Data: []byte("status:\n  next: \"Next update by {{.Time}}\"\n")},
				"l/de.yaml": {Data: []byte(c.de)},
			}
			_, err := i18n.Load(fsys, "l")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "de.yaml") {
				t.Fatalf("err = %v, want one naming de.yaml and %q", err, c.want)
			}
		})
	}
}

func TestMissingKeyFallsBackToEnglish(t *testing.T) {
	fsys := fstest.MapFS{
		"l/en.yaml": {Data: []byte("a: Alpha\nb: \"Beta {{.N}}\"\n")},
		"l/de.yaml": {Data: []byte("a: Alfa\n")},
	}
	c, err := i18n.Load(fsys, "l")
	if err != nil {
		t.Fatal(err)
	}
	de := c.Localizer("de-AT")
	if got := de.T("a") + " " + de.T("b", "N", 2); got != "Alfa Beta 2" {
		t.Errorf("got %q", got)
	}
	if m := c.Missing(); len(m["de"]) != 1 || m["de"][0] != "b" {
		t.Errorf("missing = %v", m)
	}
}

func TestMatch(t *testing.T) {
	c := load(t)
	for tag, want := range map[string]string{"": "en", "de": "de", "de-AT": "de", "de-CH": "de", "fr-CA": "fr", "es-MX": "es", "ja-JP": "ja", "en-US": "en", "pt-BR": "en", "zz": "en", "not a tag": "en"} {
		if got := c.Match(tag); got != want {
			t.Errorf("Match(%q) = %q, want %q", tag, got, want)
		}
	}
}

// TestClockPerLanguage: the next-update time as each reader reads it, on
// the same day and on another day, with the 12-hour clock where the
// region uses one.
func TestClockPerLanguage(t *testing.T) {
	c := load(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 3, 3, 14, 30, 0, 0, time.UTC) // a Tuesday
	cases := []struct {
		tag  string
		zone *time.Location
		now  time.Time
		want string
	}{
		{"en", berlin, at, "15:30 CET (14:30 UTC)"},
		{"en", berlin, at.Add(-24 * time.Hour), "Tue 3 Mar 15:30 CET (14:30 UTC)"},
		{"en-US", ny, at, "9:30 AM EST (14:30 UTC)"},
		{"de", berlin, at, "15:30 CET (14:30 UTC)"},
		{"de", berlin, at.Add(-24 * time.Hour), "Di., 3. März, 15:30 CET (14:30 UTC)"},
		{"fr", berlin, at.Add(-24 * time.Hour), "mar. 3 mars à 15:30 CET (14:30 UTC)"},
		{"es", berlin, at.Add(-24 * time.Hour), "mar., 3 mar., 15:30 CET (14:30 UTC)"},
		{"ja", tokyo, at.Add(-24 * time.Hour), "3月3日(火) 23:30 JST (14:30 UTC)"},
		{"ja", time.UTC, at, "14:30 UTC"},
	}
	for _, c2 := range cases {
		if got := c.Localizer(c2.tag).Clock(at, c2.zone, c2.now); got != c2.want {
			t.Errorf("%s: Clock = %q, want %q", c2.tag, got, c2.want)
		}
	}
	if got := c.Localizer("en-US").Clock(time.Date(2026, 3, 3, 5, 5, 0, 0, time.UTC), ny, time.Time{}); !strings.HasPrefix(got, "12:05 AM EST") {
		t.Errorf("midnight on a 12-hour clock = %q, want 12:05 AM EST", got)
	}
}

func TestDurationAndListPerLanguage(t *testing.T) {
	c := load(t)
	d := 26*time.Hour + 5*time.Minute
	for tag, want := range map[string]string{"en": "1 day 2 h", "de": "1 Tag 2 Std.", "fr": "1 jour 2 h", "es": "1 día 2 h", "ja": "1日2時間"} {
		if got := c.Localizer(tag).Duration(d); got != want {
			t.Errorf("%s: Duration = %q, want %q", tag, got, want)
		}
	}
	for tag, want := range map[string]string{"en": "a, b and c", "de": "a, b und c", "fr": "a, b et c", "es": "a, b y c", "ja": "a、b、c"} {
		if got := c.Localizer(tag).List([]string{"a", "b", "", "c"}); got != want {
			t.Errorf("%s: List = %q, want %q", tag, got, want)
		}
	}
}

// TestAcceptLanguage: the first language sitrep writes, by preference;
// English ("") for none, and for a hostile header (huge, malformed).
// FuzzAcceptLanguage holds it to a deadline.
func TestAcceptLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"de-DE,de;q=0.9,en;q=0.8":          "de-DE",
		"pt-BR, ja;q=0.5, en;q=0.4":        "ja",
		"en;q=0.1, fr-CA":                  "fr-CA",
		"pt-BR":                            "",
		"":                                 "",
		"de;q=abc":                         "",
		"de-" + strings.Repeat("x-", 2000): "",
		strings.Repeat("de,", 400):         "",
		"\x00\xff;;;,,,=":                  "",
	} {
		if got := i18n.AcceptLanguage(h); got != want {
			t.Errorf("AcceptLanguage(%.40q) = %q, want %q", h, got, want)
		}
	}
}

// FuzzAcceptLanguage: whatever a browser (or anyone) sends, the answer
// comes within a deadline and is "" or a language sitrep writes.
func FuzzAcceptLanguage(f *testing.F) {
	for _, s := range []string{"de-DE,de;q=0.9", "ja;q=0.5, *", "", "x-" + strings.Repeat("-", 900), "de;q=0.9999999999,en;q=-1", "zh-Hant-TW,und"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		done := make(chan string, 1)
		go func() { done <- i18n.AcceptLanguage(h) }()
		select {
		case got := <-done:
			if got == "" {
				return
			}
			if _, ok := i18n.Supported(got); !ok || len(h) > i18n.MaxAcceptLanguage {
				t.Fatalf("AcceptLanguage(%q) = %q, not a language sitrep writes", h, got)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("AcceptLanguage took longer than 2s on %d bytes", len(h))
		}
	})
}
