package directory

import (
	"slices"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Recipient is one person a message goes to, once however many groups
// they are in.
type Recipient struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"` // the person's, else the nearest group's on the way to them, else ""
	Group    string `json:"group"`     // the group named to Expand that reached them first
	// Language is the BCP 47 tag the person reads ("de", "en-US"): their
	// own, else the nearest group's on the way to them, else the
	// organisation's; "" is English.
	Language string `json:"language,omitempty"`
}

// Expand returns the people in the named groups and in the groups nested in
// them, each once, sorted by email so that the same audience gives the same
// deliveries in the same order on every replica and every retry.
//
// Groups are walked in the order given and depth first in file order, and the
// first way a person is reached decides their Group and, when they have no
// zone or language of their own, their TimeZone and Language (a person
// whom no group on the way gives a language has the organisation's). A group is walked at most once per call,
// which also keeps an unvalidated directory with a cycle from recursing
// forever. An unknown group, named or nested, is an errs.Invalid error naming
// it: a status email that silently skips legal is worse than one that does
// not go. A member who is not in People (possible only without Validate) is
// kept with the email alone, since the address can still be written to.
func (d *Directory) Expand(groupNames ...string) ([]Recipient, error) {
	index := make(map[string]int, len(d.Groups))
	for i := len(d.Groups) - 1; i >= 0; i-- { // the first definition wins, as in Group
		index[d.Groups[i].Name] = i
	}
	person := d.personIndex()
	// Who has been reached: a flag per person, and a set only for members
	// who are not people (possible only without Validate). For 100,000
	// people that is 100 KB, where a map of recipients by address was
	// ~25 MB with its growth, all of it during the update's POST.
	reached := make([]bool, len(d.People))
	var strangers map[string]bool

	walked := map[string]bool{}
	// The result in one array: its size is at most the members of the
	// groups reached, and at most everyone when they are all people. Grown
	// by appending, 100,000 recipients (8 MB) left twice that behind.
	out := make([]Recipient, 0, min(membersReached(d, index, groupNames), len(d.People)))
	var walk func(top string, name, parent, zone, lang string) error
	walk = func(top, name, parent, zone, lang string) error {
		i, ok := index[name]
		if !ok {
			if parent == "" {
				return errs.E(errs.Invalid, "directory: no group named %q", name)
			}
			return errs.E(errs.Invalid, "directory: group %q nests %q, which does not exist", parent, name)
		}
		if walked[name] {
			return nil
		}
		walked[name] = true
		g := &d.Groups[i]
		if g.TimeZone != "" {
			zone = g.TimeZone
		}
		if g.Language != "" {
			lang = g.Language
		}
		for _, m := range g.Members {
			email := normalizeEmail(m)
			if email == "" {
				continue
			}
			r := Recipient{Email: email, TimeZone: zone, Language: lang, Group: top}
			if pi, ok := person(email); ok {
				if reached[pi] {
					continue
				}
				reached[pi] = true
				p := &d.People[pi]
				r.Name = p.Name
				if p.TimeZone != "" {
					r.TimeZone = p.TimeZone
				}
				if p.Language != "" {
					r.Language = p.Language
				}
			} else {
				if strangers[email] {
					continue
				}
				if strangers == nil {
					strangers = map[string]bool{}
				}
				strangers[email] = true
			}
			if r.Language == "" {
				r.Language = d.Language
			}
			out = append(out, r)
		}
		for _, n := range g.Groups {
			if err := walk(top, n, name, zone, lang); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range groupNames {
		if err := walk(name, name, "", "", ""); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Recipient) int { return strings.Compare(a.Email, b.Email) })
	return out, nil
}

// membersReached counts the members of the groups named and nested in
// them, each group once: Expand's recipients before de-duplication.
// Unknown groups count nothing here; the walk reports them.
func membersReached(d *Directory, index map[string]int, names []string) int {
	seen := map[string]bool{}
	n := 0
	var walk func(name string)
	walk = func(name string) {
		i, ok := index[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		n += len(d.Groups[i].Members)
		for _, g := range d.Groups[i].Groups {
			walk(g)
		}
	}
	for _, name := range names {
		walk(name)
	}
	return n
}

// personIndex finds a person by normalised email: the index of the first
// entry with it. A directory sorted by normalised email (the store's) is
// searched in place; any other gets a map, as before, which for 100,000
// people is ~6 MB more during each expansion.
func (d *Directory) personIndex() func(email string) (int, bool) {
	sorted := true
	for i := range d.People {
		e := d.People[i].Email
		if normalizeEmail(e) != e || i > 0 && d.People[i-1].Email > e {
			sorted = false
			break
		}
	}
	if sorted {
		return func(email string) (int, bool) {
			// The smallest index whose email is not below: the first of
			// equal entries.
			i, ok := slices.BinarySearchFunc(d.People, email, func(p Person, e string) int { return strings.Compare(p.Email, e) })
			return i, ok
		}
	}
	people := make(map[string]int, len(d.People))
	for i := len(d.People) - 1; i >= 0; i-- {
		people[normalizeEmail(d.People[i].Email)] = i
	}
	return func(email string) (int, bool) {
		i, ok := people[email]
		return i, ok
	}
}
