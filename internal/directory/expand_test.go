package directory

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func nested() *Directory {
	return &Directory{
		Organization: "Nest Inc",
		People: []Person{
			{Email: "ann@n.example", Name: "Ann", TimeZone: "America/New_York"},
			{Email: "ben@n.example", Name: "Ben"},
			{Email: "cat@n.example", Name: "Cat"},
			{Email: "dan@n.example", Name: "Dan", TimeZone: "Europe/Berlin"},
		},
		Groups: []Group{
			{Name: "top1", TimeZone: "Europe/London", Members: []string{"ben@n.example"}, Groups: []string{"sub"}},
			{Name: "sub", TimeZone: "Asia/Kolkata", Members: []string{"cat@n.example", "ann@n.example"}},
			{Name: "top2", Members: []string{"dan@n.example", "cat@n.example"}},
			{Name: "wrapper", Groups: []string{"top1", "top2"}, Members: []string{"ben@n.example"}},
		},
	}
}

func TestExpandNestingAndDeduplication(t *testing.T) {
	t.Parallel()
	d := nested()
	if err := d.Validate(); err != nil {
		t.Fatalf("fixture invalid: %v", err)
	}
	got, err := d.Expand("top2", "top1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{
		{Email: "ann@n.example", Name: "Ann", TimeZone: "America/New_York", Group: "top1"}, // own zone wins
		{Email: "ben@n.example", Name: "Ben", TimeZone: "Europe/London", Group: "top1"},    // group's zone
		{Email: "cat@n.example", Name: "Cat", TimeZone: "", Group: "top2"},                 // reached through top2 first, which has no zone
		{Email: "dan@n.example", Name: "Dan", TimeZone: "Europe/Berlin", Group: "top2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expand(top2, top1) =\n%+v\nwant\n%+v", got, want)
	}

	// Alone, top1 reaches Cat through sub, whose zone is the nearest.
	got, err = d.Expand("top1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Email != "cat@n.example" || got[2].TimeZone != "Asia/Kolkata" || got[2].Group != "top1" {
		t.Errorf("Expand(top1) = %+v; want ann, ben, cat with cat in Asia/Kolkata through top1", got)
	}

	// A group that contains all the others gives everyone once.
	got, err = d.Expand("wrapper", "top1", "sub")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("Expand(wrapper, top1, sub) gave %d recipients, want 4 distinct: %+v", len(got), got)
	}
	for _, r := range got {
		if r.Group != "wrapper" {
			t.Errorf("%s came through %q, want wrapper (named first)", r.Email, r.Group)
		}
	}
}

func TestExpandUnknownGroup(t *testing.T) {
	t.Parallel()
	d := nested()
	_, err := d.Expand("top1", "legal")
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), `"legal"`) {
		t.Errorf("Expand(unknown) err = %v, want invalid naming legal", err)
	}
	d.Groups[1].Groups = []string{"ghost"} // unvalidated edit
	_, err = d.Expand("top1")
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), `"sub" nests "ghost"`) {
		t.Errorf("Expand with a nested unknown err = %v, want invalid naming sub and ghost", err)
	}
}

func TestExpandUnvalidatedCycleTerminates(t *testing.T) {
	t.Parallel()
	d := &Directory{
		People: []Person{{Email: "x@c.example", Name: "X"}},
		Groups: []Group{
			{Name: "a", Groups: []string{"b"}, Members: []string{"X@C.example"}},
			{Name: "b", Groups: []string{"c", "a"}, Members: []string{"stranger@c.example"}},
			{Name: "c", Groups: []string{"c", "a"}},
		},
	}
	got, err := d.Expand("c")
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{
		{Email: "stranger@c.example", Group: "c"}, // not a person: the address alone
		{Email: "x@c.example", Name: "X", Group: "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expand(c) on a cycle = %+v, want %+v", got, want)
	}
}

func TestExpandNothing(t *testing.T) {
	t.Parallel()
	got, err := nested().Expand()
	if err != nil || len(got) != 0 {
		t.Errorf("Expand() = %v, %v; want no recipients", got, err)
	}
}

func TestValidateCyclic(t *testing.T) {
	t.Parallel()
	d := &Directory{
		Organization: "Loop Inc",
		People:       []Person{{Email: "a@l.example", Name: "A"}},
		Groups: []Group{
			{Name: "all", Groups: []string{"engineering"}},
			{Name: "engineering", Groups: []string{"sre"}, Members: []string{"a@l.example"}},
			{Name: "sre", Groups: []string{"all"}},
		},
	}
	err := d.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("Validate = %v, want exactly one problem", err)
	}
	p := ve.Problems[0]
	if p.Path != "groups[2].groups[0]" || p.Message != "groups nest in a cycle: all -> engineering -> sre -> all" {
		t.Errorf("problem = %q %q", p.Path, p.Message)
	}
	if p.File != "" || p.Line != 0 {
		t.Errorf("Validate gave a position %s:%d for an API edit", p.File, p.Line)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "groups[2].groups[0]" {
		t.Errorf("as errs.Error = %+v, want invalid with the field", e)
	}
	var prob Problem
	if !errors.As(err, &prob) || prob.Path != "groups[2].groups[0]" {
		t.Errorf("errors.As(Problem) = %+v, want the cycle problem", prob)
	}
	if got := err.Error(); got != "groups[2].groups[0]: groups nest in a cycle: all -> engineering -> sre -> all" {
		t.Errorf("Error() = %q", got)
	}
}

// expandBefore is Expand as it was before it stopped keeping a map of
// recipients by address (issue 22): the reference the new one must match
// on any directory, validated or not.
func expandBefore(d *Directory, groupNames ...string) ([]Recipient, error) {
	index := make(map[string]int, len(d.Groups))
	for i := len(d.Groups) - 1; i >= 0; i-- {
		index[d.Groups[i].Name] = i
	}
	people := make(map[string]int, len(d.People))
	for i := len(d.People) - 1; i >= 0; i-- {
		people[normalizeEmail(d.People[i].Email)] = i
	}
	walked := map[string]bool{}
	byEmail := map[string]Recipient{}
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
		g := d.Groups[i]
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
			if _, done := byEmail[email]; done {
				continue
			}
			r := Recipient{Email: email, TimeZone: zone, Language: lang, Group: top}
			if pi, ok := people[email]; ok {
				p := d.People[pi]
				r.Name = p.Name
				if p.TimeZone != "" {
					r.TimeZone = p.TimeZone
				}
				if p.Language != "" {
					r.Language = p.Language
				}
			}
			byEmail[email] = r
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
	out := make([]Recipient, 0, len(byEmail))
	for _, r := range byEmail {
		if r.Language == "" {
			r.Language = d.Language
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out, nil
}

// TestExpandAsBefore holds Expand to expandBefore on random directories:
// people listed twice, members in other spellings or not people at all,
// groups defined twice, nesting in cycles or naming no group, zones and
// languages at every level; each in file order and, as the store keeps
// it, sorted by address (the search in place instead of a map).
func TestExpandAsBefore(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(22, 100_000))
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	zones := []string{"", "", "Europe/London", "Asia/Tokyo"}
	langs := []string{"", "", "de", "fr", "en-US"}
	for round := 0; round < 3000; round++ {
		d := &Directory{Language: pick([]string{"", "ja"})}
		var addrs []string
		for i := 0; i < 1+rng.IntN(12); i++ {
			addrs = append(addrs, fmt.Sprintf("p%d@x.test", rng.IntN(15)))
		}
		spell := func(a string) string {
			switch rng.IntN(5) {
			case 0:
				return strings.ToUpper(a)
			case 1:
				return " " + a + " "
			}
			return a
		}
		for i := 0; i < rng.IntN(10); i++ {
			d.People = append(d.People, Person{Email: spell(pick(addrs)), Name: fmt.Sprint("N", i), TimeZone: pick(zones), Language: pick(langs)})
		}
		names := []string{"a", "b", "c", "d", "e"}
		for i := 0; i < 1+rng.IntN(6); i++ {
			g := Group{Name: pick(names), TimeZone: pick(zones), Language: pick(langs)}
			for j := 0; j < rng.IntN(6); j++ {
				m := spell(pick(addrs))
				if rng.IntN(10) == 0 {
					m = " "
				}
				g.Members = append(g.Members, m)
			}
			for j := 0; j < rng.IntN(3); j++ {
				g.Groups = append(g.Groups, pick(append(names, "ghost")))
			}
			d.Groups = append(d.Groups, g)
		}
		var ask []string
		for i := 0; i < 1+rng.IntN(3); i++ {
			ask = append(ask, pick(append(names, "legal")))
		}
		sorted := *d
		sorted.People = slices.Clone(d.People)
		for i := range sorted.People {
			sorted.People[i].Email = normalizeEmail(sorted.People[i].Email)
		}
		slices.SortStableFunc(sorted.People, func(a, b Person) int { return strings.Compare(a.Email, b.Email) })
		for _, dir := range []*Directory{d, &sorted} {
			want, wantErr := expandBefore(dir, ask...)
			got, err := dir.Expand(ask...)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: Expand(%v) on %+v\n= %+v, %v\nbefore: %+v, %v", round, ask, dir, got, err, want, wantErr)
			}
		}
	}
}
