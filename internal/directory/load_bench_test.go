package directory_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// bigOrg is a groups.yaml of n people, written as an operator would: each
// person with a name, a zone and a team, ten department groups and an
// "everyone" group nesting them (issue 22's company-scale directory).
func bigOrg(n int) []byte {
	var b strings.Builder
	b.Grow(n * 160)
	b.WriteString("organization: Big Co\npeople:\n")
	b.WriteString("  - email: comms@big.test\n    name: Comms Lead\n    roles: [comms-lead]\n")
	zones := []string{"Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - email: person%06d@big.test\n    name: Person %d\n    time_zone: %s\n    team: team-%d\n", i, i, zones[i%len(zones)], i%50)
	}
	b.WriteString("groups:\n")
	const depts = 10
	for g := 0; g < depts; g++ {
		fmt.Fprintf(&b, "  - name: dept-%d\n    display_name: Department %d\n    members:\n", g, g)
		for i := g; i < n; i += depts {
			fmt.Fprintf(&b, "      - person%06d@big.test\n", i)
		}
	}
	b.WriteString("  - name: everyone\n    display_name: Everyone\n    groups:\n")
	for g := 0; g < depts; g++ {
		fmt.Fprintf(&b, "      - dept-%d\n", g)
	}
	b.WriteString("escalations:\n  - system: checkout\n    responders: [comms@big.test]\n")
	return []byte(b.String())
}

// BenchmarkParse100k is ParseYAML alone on a 100,000-person file.
func BenchmarkParse100k(b *testing.B) {
	data := bigOrg(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := directory.ParseYAML(data, "groups.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad100k is what `sitrep serve` does with a 100,000-person
// groups.yaml at start and on SIGHUP: parse, validate, merge with the
// database's entries, write them, read them back. Each iteration after the
// first is a re-sync over a full directory, as on SIGHUP.
func BenchmarkLoad100k(b *testing.B) {
	data := bigOrg(100_000)
	s := &directory.Store{DB: storetest.Open(b)}
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.SyncFile(ctx, data, "groups.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if res.People != 100_001 {
			b.Fatalf("synced %d people", res.People)
		}
	}
}

// BenchmarkExpand100k is the fan-out's expansion of "everyone", on the
// directory sorted by address as the store keeps it (people searched in
// place) and in an unsorted order (a map of people by address).
func BenchmarkExpand100k(b *testing.B) {
	d, err := directory.ParseYAML(bigOrg(100_000), "groups.yaml")
	if err != nil {
		b.Fatal(err)
	}
	slices.SortFunc(d.People, func(x, y directory.Person) int { return strings.Compare(x.Email, y.Email) })
	unsorted := *d
	unsorted.People = slices.Clone(d.People)
	slices.Reverse(unsorted.People)
	for _, c := range []struct {
		name string
		d    *directory.Directory
	}{{"sorted", d}, {"unsorted", &unsorted}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := c.d.Expand("everyone")
				if err != nil || len(rs) != 100_000 {
					b.Fatal(len(rs), err)
				}
			}
		})
	}
}
