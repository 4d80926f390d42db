package directory

import (
	"slices"
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
// the organisation's. Group is left empty. ok is false for someone not in
// the directory. For many people at once, Readers.
func (d *Directory) Reader(email string) (r Recipient, ok bool) {
	p, ok := d.Person(email)
	if !ok {
		return Recipient{}, false
	}
	return newResolver(d).resolve(p), true
}

// Readers is Reader for every person, by lower-case email, in one pass
// over the groups.
func (d *Directory) Readers() map[string]Recipient {
	res := newResolver(d)
	out := make(map[string]Recipient, len(d.People))
	for _, p := range d.People {
		r := res.resolve(p)
		if _, dup := out[r.Email]; !dup { // the first entry wins, as in Person
			out[r.Email] = r
		}
	}
	return out
}

// resolver knows, per person, the groups listing them and, per group, the
// groups nesting it, each in file order.
type resolver struct {
	d        *Directory
	memberOf map[string][]int // lower-case email → groups listing them
	nestedBy map[string][]int // group name → groups nesting it
}

func newResolver(d *Directory) *resolver {
	res := &resolver{d: d, memberOf: map[string][]int{}, nestedBy: map[string][]int{}}
	for i, g := range d.Groups {
		for _, m := range g.Members {
			e := normalizeEmail(m)
			if l := res.memberOf[e]; len(l) == 0 || l[len(l)-1] != i {
				res.memberOf[e] = append(l, i)
			}
		}
		for _, n := range g.Groups {
			if l := res.nestedBy[n]; len(l) == 0 || l[len(l)-1] != i {
				res.nestedBy[n] = append(l, i)
			}
		}
	}
	return res
}

func (res *resolver) resolve(p Person) Recipient {
	r := Recipient{Email: normalizeEmail(p.Email), Name: p.Name, TimeZone: p.TimeZone, Language: p.Language}
	// Walk outwards from the person one ring of groups at a time; within
	// a ring, file order decides.
	ring := slices.Clone(res.memberOf[r.Email])
	seen := map[int]bool{}
	for _, i := range ring {
		seen[i] = true
	}
	for len(ring) > 0 && (r.TimeZone == "" || r.Language == "") {
		slices.Sort(ring)
		var next []int
		for _, i := range ring {
			g := res.d.Groups[i]
			if r.TimeZone == "" {
				r.TimeZone = g.TimeZone
			}
			if r.Language == "" {
				r.Language = g.Language
			}
			for _, j := range res.nestedBy[g.Name] {
				if !seen[j] {
					seen[j] = true
					next = append(next, j)
				}
			}
		}
		ring = next
	}
	if r.Language == "" {
		r.Language = res.d.Language
	}
	return r
}
