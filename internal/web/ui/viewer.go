package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// The UI's words are English, but every date and time it shows is written
// for the person looking at it (issue 18): in the CLDR conventions of their
// language tag ("Di., 3. März 2026, 15:30 CET", "3:30 PM EST") and in their
// zone, labelled, with UTC beside it. The server writes them; app.js only
// tells the server the browser's zone (the zoneCookie).

// zoneCookie holds the browser's IANA zone, set by app.js: the zone of a
// viewer whose directory entry (and groups) name none.
const zoneCookie = "sitrep_zone"

// viewer is whom a page is written for.
type viewer struct {
	Tag      string         // BCP 47 tag the dates follow; "" is sitrep's English
	Zone     *time.Location // never nil once resolved
	ZoneFrom string         // "directory", "browser" or "" (none known: UTC)
}

// key tells viewers apart whose dates read differently.
func (v viewer) key() string { return v.Tag + "|" + v.zone().String() }

func (v viewer) zone() *time.Location {
	if v.Zone == nil {
		return time.UTC
	}
	return v.Zone
}

func (v viewer) localizer() *i18n.Localizer {
	c, err := i18n.Embedded()
	if err != nil {
		return nil // a broken catalog fails the i18n tests; dates fall back to UTC
	}
	return c.Localizer(v.Tag)
}

// When is t with its date and year, as the viewer reads it: "Tue 3 Mar 2026
// 15:30 CET (14:30 UTC)". Every full date of the UI goes through here.
func (v viewer) When(t time.Time) string {
	if l := v.localizer(); l != nil {
		return l.When(t, v.zone())
	}
	return t.UTC().Format(uiTimeFormat) + " UTC"
}

// Clock is t's time of day, with its day when that is not ref's day in the
// viewer's zone (ref zero: today): "15:30 CET (14:30 UTC)". A timeline
// row, or the end of a meeting next to its start.
func (v viewer) Clock(t, ref time.Time) string {
	if ref.IsZero() {
		ref = time.Now()
	}
	if l := v.localizer(); l != nil {
		return l.Clock(t, v.zone(), ref)
	}
	return t.UTC().Format("15:04") + " UTC"
}

// viewerFor resolves the viewer of r: language and zone from their
// directory entry (their own, else their nearest group's, else, for the
// language, the organisation's); else the language from Accept-Language
// when it names one sitrep writes, and the zone the browser reported; else
// English and UTC.
func (s *Server) viewerFor(r *http.Request, sess *auth.Session) viewer {
	var v viewer
	zone := ""
	if sess != nil && s.Directory != nil {
		if rd, ok := s.readers().m[strings.ToLower(sess.Account.Email)]; ok {
			v.Tag, zone = rd.Language, rd.TimeZone
			if zone != "" {
				v.ZoneFrom = "directory"
			}
		}
	}
	if v.Tag == "" && r != nil {
		v.Tag = acceptLanguage(r.Header.Get("Accept-Language"))
	}
	if zone == "" && r != nil {
		if c, err := r.Cookie(zoneCookie); err == nil && validBrowserZone(c.Value) {
			zone, v.ZoneFrom = c.Value, "browser"
		}
	}
	if zone != "" {
		if loc, err := time.LoadLocation(zone); err == nil {
			v.Zone = loc
		} else {
			v.ZoneFrom = ""
		}
	}
	if v.Zone == nil {
		v.Zone = time.UTC
	}
	return v
}

// readersCache is the directory's Readers for the directory in force; the
// store swaps the directory whole, so its pointer says when to rebuild.
type readersCache struct {
	dir *directory.Directory
	m   map[string]directory.Recipient
}

// readersOf keeps the readers of the directory last seen. Two requests
// after a sync may both build it; either result is right.
type readersOf struct {
	cur atomic.Pointer[readersCache]
}

func (s *Server) readers() *readersCache {
	d := s.Directory.Current()
	if c := s.readersOf.cur.Load(); c != nil && c.dir == d {
		return c
	}
	c := &readersCache{dir: d, m: d.Readers()}
	s.readersOf.cur.Store(c)
	return c
}

// acceptLanguage is the first tag of an Accept-Language header, by
// preference, whose language sitrep writes, in canonical form; "" when
// none is (i18n.AcceptLanguage, bounded).
func acceptLanguage(h string) string { return i18n.AcceptLanguage(h) }

// validBrowserZone accepts what a browser reports as its zone: an IANA
// name, not "Local" (the server's), of a sane length.
func validBrowserZone(z string) bool {
	if z == "" || z == "Local" || len(z) > 64 || strings.ContainsAny(z, " \t\r\n;,\"\\") {
		return false
	}
	_, err := time.LoadLocation(z)
	return err == nil
}

// pageFor is the page template written for v: a clone of the parsed
// page whose date functions are v's. Clones are kept per viewer key; the
// parsed pages themselves are never executed (html/template cannot clone
// a template once it has run).
func (s *Server) pageFor(name string, v viewer) (*template.Template, error) {
	master := s.pages[name]
	if master == nil {
		return nil, fmt.Errorf("ui: no UI template %q", name)
	}
	key := name + "|" + v.key()
	s.clones.Lock()
	defer s.clones.Unlock()
	if t, ok := s.clones.m[key]; ok {
		return t, nil
	}
	t, err := master.Clone()
	if err != nil {
		return nil, fmt.Errorf("ui: template %s: %w", name, err)
	}
	t.Funcs(v.funcs())
	if s.clones.m == nil || len(s.clones.m) >= maxClones {
		s.clones.m = map[string]*template.Template{} // a crowd of zones: start over
	}
	s.clones.m[key] = t
	return t, nil
}

// maxClones bounds the kept clones: pages × the languages and zones of
// the people signed in.
const maxClones = 1000

// clones is pageFor's cache.
type clones struct {
	sync.Mutex
	m map[string]*template.Template
}

// funcs are the template functions that write dates, for v: "at" a full
// date, "clock" a time of day (with its day when not on the day of its
// optional second argument, else today), "when" a full date as plain text
// (for an attribute).
func (v viewer) funcs() template.FuncMap {
	return template.FuncMap{
		"at": func(t any) template.HTML { return timeElement(t, v.When, false) },
		"clock": func(t any, ref ...any) template.HTML {
			var on time.Time
			if len(ref) > 0 {
				on, _ = timeOf(ref[0])
			}
			return timeElement(t, func(x time.Time) string { return v.Clock(x, on) }, true)
		},
		"when": func(t any) string {
			tm, ok := timeOf(t)
			if !ok {
				return "—"
			}
			return v.When(tm)
		},
	}
}
