package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// A person, group and organisation language: the person's wins, else the
// nearest group's on the way to them, else the organisation's.
const langOrg = `organization: Lang Org
language: fr
people:
  - email: ana@lang.example
    name: Ana
    language: de-at
    time_zone: Europe/Vienna
  - email: bo@lang.example
    name: Bo
  - email: cy@lang.example
    name: Cy
  - email: di@lang.example
    name: Di
    language: en-US
groups:
  - name: dach
    language: de
    time_zone: Europe/Berlin
    members: [ana@lang.example, bo@lang.example]
  - name: tokyo
    language: ja
    members: [di@lang.example]
  - name: all
    members: [cy@lang.example]
    groups: [dach, tokyo]
`

func TestLanguageResolved(t *testing.T) {
	t.Parallel()
	d, err := ParseYAML([]byte(langOrg), "groups.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d.Language != "fr" || d.People[0].Language != "de-AT" || d.Groups[0].Language != "de" {
		t.Errorf("parsed: org %q, ana %q (want the canonical de-AT), dach %q", d.Language, d.People[0].Language, d.Groups[0].Language)
	}
	rs, err := d.Expand("all")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ana@lang.example": "de-AT", // her own, regional tag kept
		"bo@lang.example":  "de",    // the dach group's
		"cy@lang.example":  "fr",    // no group on the way says: the organisation's
		"di@lang.example":  "en-US", // own beats the tokyo group's ja
	}
	for _, r := range rs {
		if r.Language != want[r.Email] {
			t.Errorf("Expand: %s language = %q, want %q", r.Email, r.Language, want[r.Email])
		}
	}
	all := d.Readers()
	for email, lang := range want {
		r, ok := d.Reader(email)
		if !ok || r.Language != lang {
			t.Errorf("Reader(%s) = %q %v, want %q", email, r.Language, ok, lang)
		}
		if all[email] != r {
			t.Errorf("Readers()[%s] = %+v, Reader = %+v", email, all[email], r)
		}
	}
	if r, _ := d.Reader("bo@lang.example"); r.TimeZone != "Europe/Berlin" {
		t.Errorf("Reader: Bo's zone = %q, want the dach group's", r.TimeZone)
	}
	if _, ok := d.Reader("nobody@lang.example"); ok {
		t.Error("Reader must not know someone outside the directory")
	}
	// Without an organisation default, no language at all is "" (English).
	d.Language = ""
	if r, _ := d.Reader("cy@lang.example"); r.Language != "" {
		t.Errorf("no language anywhere = %q, want \"\"", r.Language)
	}
}

// TestReaderNearestGroup: a group that lists the person is nearer than
// one that nests it, whatever the file order.
func TestReaderNearestGroup(t *testing.T) {
	t.Parallel()
	d := &Directory{
		People: []Person{{Email: "ann@x.test", Name: "Ann"}},
		Groups: []Group{
			{Name: "outer", Language: "ja", TimeZone: "Asia/Tokyo", Groups: []string{"inner"}},
			{Name: "plain", Members: []string{"ann@x.test"}},
			{Name: "inner", Language: "es", Members: []string{"ann@x.test"}},
		},
	}
	r, _ := d.Reader("ann@x.test")
	if r.Language != "es" || r.TimeZone != "Asia/Tokyo" {
		t.Errorf("Reader = %q %q, want es (inner lists her) and Asia/Tokyo (outer, one ring out)", r.Language, r.TimeZone)
	}
}

func TestLanguageRefused(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "bad_language.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseYAML(data, "groups.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	want := []string{
		`groups.yaml:2:11: language: malformed language tag "klingon-tlh-xx-yy-zz" (want a BCP 47 tag such as de or en-US; sitrep writes en, de, es, fr, ja)`,
		`groups.yaml:6:15: people[0].language: unknown language "pt-BR" (sitrep writes en, de, es, fr, ja)`,
		`groups.yaml:9:15: people[1].language: malformed language tag "de_AT!" (want a BCP 47 tag such as de or en-US; sitrep writes en, de, es, fr, ja)`,
		`groups.yaml:12:15: groups[0].language: unknown language "xx" (sitrep writes en, de, es, fr, ja)`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// The API checks the same, without positions.
	d := &Directory{Organization: "x", People: []Person{{Email: "a@x.test", Name: "A", Language: "pt-BR"}}}
	if err := d.Validate(); err == nil || err.Error() != `people[0].language: unknown language "pt-BR" (sitrep writes en, de, es, fr, ja)` {
		t.Errorf("Validate = %v", err)
	}
}

// TestLanguageStored: the languages survive the database, and the API
// stores the canonical tag.
func TestLanguageStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &Store{DB: storetest.Open(t)}
	if _, err := s.SyncFile(ctx, []byte(langOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPerson(ctx, Person{Email: "eve@lang.example", Name: "Eve", Language: "es-mx"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPerson(ctx, Person{Email: "fay@lang.example", Name: "Fay", Language: "pt-BR"}); err == nil || !strings.Contains(err.Error(), `unknown language "pt-BR"`) {
		t.Errorf("the API must refuse an unknown language: %v", err)
	}
	fresh := &Store{DB: s.DB}
	if err := fresh.Load(ctx); err != nil {
		t.Fatal(err)
	}
	d := fresh.Current()
	ana, _ := d.Person("ana@lang.example")
	eve, _ := d.Person("eve@lang.example")
	dach, _ := d.Group("dach")
	if d.Language != "fr" || ana.Language != "de-AT" || eve.Language != "es-MX" || dach.Language != "de" {
		t.Errorf("reloaded: org %q, ana %q, eve %q, dach %q", d.Language, ana.Language, eve.Language, dach.Language)
	}
}
