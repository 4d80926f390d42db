package directory

import (
	"strings"

	"github.com/sitrep-dev/sitrep/internal/i18n"
	"golang.org/x/text/language"
)

// A language in groups.yaml is a BCP 47 tag ("de", "de-AT", "en-US") whose
// language sitrep has a catalog for (i18n.Available). The region is kept:
// dates follow it ("en-US" reads a 12-hour clock, "en" and "en-GB" a
// 24-hour one). "" means the next default: the person's group, then the
// organisation, then English.

// normalizeLanguage is tag in canonical form ("de-at" → "de-AT"); a tag
// that does not parse is returned trimmed, for the check to report.
func normalizeLanguage(tag string) string {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return ""
	}
	if canon, ok := i18n.Supported(tag); ok {
		return canon
	}
	return tag
}

// language checks a language tag. From a file (where is set) the message
// names the field, since "file:line:col: message" shows no path.
func (c *checker) language(path, tag string) {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return
	}
	prefix := ""
	if c.where != nil {
		prefix = path + ": "
	}
	avail := strings.Join(i18n.Available(), ", ")
	_, err := language.Parse(tag)
	if _, unknown := err.(language.ValueError); err != nil && !unknown {
		c.add(path, "%smalformed language tag %q (want a BCP 47 tag such as de or en-US; sitrep writes %s)", prefix, tag, avail)
		return
	}
	// Well-formed but not a language ("xx"), or one without a catalog.
	if _, ok := i18n.Supported(tag); !ok {
		c.add(path, "%sunknown language %q (sitrep writes %s)", prefix, tag, avail)
	}
}

// Reader is how sitrep writes to the person with email: their name, and
// their time zone and language, each resolved as Expand does when no
// group is named: the person's own, else that of the nearest group that
// holds them (a group listing them before a group nesting that group;
// among groups as near, the first in the file), else, for the language,
// the organisation's. Group is left empty. ok is false for someone not in the directory.
func (d *Directory) Reader(email string) (r Recipient, ok bool) {
	p, ok := d.Person(email)
	if !ok {
		return Recipient{}, false
	}
	r = Recipient{Email: normalizeEmail(p.Email), Name: p.Name, TimeZone: p.TimeZone, Language: p.Language}
	if r.TimeZone != "" && r.Language != "" {
		return r, true
	}
	// Walk outwards from the person one ring of groups at a time.
	ring := map[string]bool{}
	for _, g := range d.Groups {
		for _, m := range g.Members {
			if normalizeEmail(m) == r.Email {
				ring[g.Name] = true
				break
			}
		}
	}
	seen := map[string]bool{}
	for len(ring) > 0 && (r.TimeZone == "" || r.Language == "") {
		for name := range ring {
			seen[name] = true
		}
		zone, lang := "", ""
		next := map[string]bool{}
		for _, g := range d.Groups { // file order decides among groups as near
			if ring[g.Name] {
				if zone == "" {
					zone = g.TimeZone
				}
				if lang == "" {
					lang = g.Language
				}
			}
			for _, n := range g.Groups {
				if ring[n] && !seen[g.Name] {
					next[g.Name] = true
				}
			}
		}
		if r.TimeZone == "" {
			r.TimeZone = zone
		}
		if r.Language == "" {
			r.Language = lang
		}
		ring = next
	}
	if r.Language == "" {
		r.Language = d.Language
	}
	return r, true
}
