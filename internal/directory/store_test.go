package directory_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

const smallOrg = `organization: Test Org
people:
  - email: Ann@x.test
    name: Ann
    time_zone: Europe/Berlin
  - email: bob@x.test
    name: Bob
groups:
  - name: exec
    members: [ann@x.test]
  - name: all
    members: [bob@x.test]
    groups: [exec]
escalations:
  - system: db
    responders: [bob@x.test]
`

func TestSyncFileThenAPIEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &directory.Store{DB: storetest.Open(t)}
	if _, err := s.SyncFile(ctx, []byte(smallOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Current().Expand("all")
	if err != nil || len(got) != 2 {
		t.Fatalf("expand all: %v %v", got, err)
	}
	if !s.KnowsPerson("ANN@x.test") || s.SourceOf("group", "exec") != directory.SourceFile {
		t.Fatal("synced entries must be known and marked as from the file")
	}
	// The API may add, not edit what the file names.
	if err := s.PutPerson(ctx, directory.Person{Email: "cy@x.test", Name: "Cy"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPerson(ctx, directory.Person{Email: "ann@x.test", Name: "Anne"}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("editing a file entry through the API must conflict, got %v", err)
	}
	if err := s.PutGroup(ctx, directory.Group{Name: "oncall", Members: []string{"nobody@x.test"}}); err == nil {
		t.Fatal("a group with an unknown member must be refused")
	}
	// A second sync keeps API entries the file does not name.
	if _, err := s.SyncFile(ctx, []byte(smallOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	if !s.KnowsPerson("cy@x.test") {
		t.Fatal("an API entry was lost on re-sync")
	}
	// A fresh store reads the same from the database.
	s2 := &directory.Store{DB: s.DB}
	if err := s2.Load(ctx); err != nil || len(s2.Current().People) != 3 || s2.Current().Organization != "Test Org" {
		t.Fatalf("reload: %v %+v", err, s2.Current())
	}
}

func TestBadFileKeepsPreviousDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &directory.Store{DB: storetest.Open(t)}
	if _, err := s.SyncFile(ctx, []byte(smallOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	cyclic := strings.Replace(smallOrg, "    members: [ann@x.test]", "    members: [ann@x.test]\n    groups: [all]", 1)
	_, err := s.SyncFile(ctx, []byte(cyclic), "groups.yaml")
	if err == nil || !strings.Contains(err.Error(), "groups.yaml:") {
		t.Fatalf("a cycle must be refused with a line-precise error, got %v", err)
	}
	if _, err := s.Current().Expand("all"); err != nil {
		t.Fatalf("the previous directory must stay in force: %v", err)
	}
	s2 := &directory.Store{DB: s.DB}
	s2.Load(ctx)
	if g, _ := s2.Current().Group("exec"); len(g.Groups) != 0 {
		t.Fatal("the refused file reached the database")
	}
}

func TestExampleOrganisationSyncs(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../config/groups.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := &directory.Store{DB: storetest.Open(t)}
	if _, err := s.SyncFile(context.Background(), data, "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	if !s.Current().Example {
		t.Fatal("the shipped organisation must be marked as an example")
	}
}

// richOrg has every kind of field a sync writes: roles, handles, github
// logins, languages, zones, an escalation with and without notify, audiences
// said and said empty, emails and systems in mixed case, and people listed
// out of order, so that the order read back is the database's, not the
// file's.
const richOrg = `organization: Rich Org
language: de
people:
  - email: Zed@x.test
    name: Zed
    roles: [comms-lead, admin]
    handles: ["@zed", "@z"]
    github: zedhub
  - email: ann@x.test
    name: Ann
    time_zone: Europe/Berlin
    language: fr
    team: sre
  - email: bob.b@x.test
    name: Bob
    team: sre
  - email: bob-a@x.test
    name: Bob A
    roles: [incident-lead]
groups:
  - name: sre
    display_name: SRE
    description: Site reliability
    time_zone: Asia/Tokyo
    language: ja
    members: [ann@x.test, BOB.B@x.test]
  - name: all
    members: [zed@x.test, bob-a@x.test]
    groups: [sre]
  - name: empty
escalations:
  - system: Checkout
    team: payments
    responders: [ann@x.test, bob.b@x.test]
    backup: zed@x.test
    notify: [all]
  - system: cdn
    responders: [bob-a@x.test]
audiences:
  status: [all]
  postmortem: []
`

// TestSyncInstallsWhatLoadReads: a sync puts in force the directory it
// wrote, without reading it back: what a fresh Load reads from the
// database (a restart whose file is refused, or any API edit) must be the
// same directory, entry for entry and source for source, with API entries
// beside the file's, and a SIGHUP re-sync of the same file must leave it
// as it was.
func TestSyncInstallsWhatLoadReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &directory.Store{DB: storetest.Open(t)}
	same := func(when string) *directory.Directory {
		t.Helper()
		fresh := &directory.Store{DB: s.DB}
		if err := fresh.Load(ctx); err != nil {
			t.Fatal(err)
		}
		got, want := s.Current(), fresh.Current()
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.MarshalIndent(got, "", " ")
			wj, _ := json.MarshalIndent(want, "", " ")
			t.Fatalf("%s: the directory in force is not what Load reads:\n%s\nLoad:\n%s", when, gj, wj)
		}
		check := func(kind, key string) {
			t.Helper()
			if a, b := s.SourceOf(kind, key), fresh.SourceOf(kind, key); a != b || a == "" {
				t.Errorf("%s: SourceOf(%s, %s) = %q, after Load %q", when, kind, key, a, b)
			}
		}
		for _, p := range got.People {
			check("person", p.Email)
		}
		for _, g := range got.Groups {
			check("group", g.Name)
		}
		for _, e := range got.Escalations {
			if e.System == strings.ToLower(e.System) { // SourceOf compares in lower case
				check("escalation", e.System)
			}
		}
		if s.SourceOf("person", "nobody@x.test") != "" || s.SourceOf("group", "nope") != "" {
			t.Errorf("%s: an entry that does not exist has a source", when)
		}
		return got
	}
	if _, err := s.SyncFile(ctx, []byte(richOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	first := same("after the first sync")
	if got := emails(first.People); !reflect.DeepEqual(got, []string{"ann@x.test", "bob-a@x.test", "bob.b@x.test", "zed@x.test"}) {
		t.Errorf("people in force: %v, want them by address", got)
	}
	if _, err := s.SyncFile(ctx, []byte(richOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	if again := same("after a re-sync of the same file"); !reflect.DeepEqual(again, first) {
		t.Error("a re-sync of the same file changed the directory")
	}

	// API entries stay beside the file's, marked as the API's.
	if err := s.PutPerson(ctx, directory.Person{Email: "cy@x.test", Name: "Cy", Handles: []string{"@cy"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPerson(ctx, directory.Person{Email: "dee@x.test", Name: "Dee"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGroup(ctx, directory.Group{Name: "oncall", Members: []string{"cy@x.test"}, Groups: []string{"sre"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEscalation(ctx, directory.Escalation{System: "db", Responders: []string{"cy@x.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncFile(ctx, []byte(richOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	withAPI := same("after a sync with API entries")
	if s.SourceOf("person", "CY@x.test") != directory.SourceAPI || s.SourceOf("group", "oncall") != directory.SourceAPI ||
		s.SourceOf("escalation", "db") != directory.SourceAPI || s.SourceOf("person", "ann@x.test") != directory.SourceFile {
		t.Error("API entries must stay marked as the API's, the file's as the file's")
	}
	if len(withAPI.People) != 6 || len(withAPI.Groups) != 4 || len(withAPI.Escalations) != 3 {
		t.Errorf("after a sync with API entries: %d people, %d groups, %d escalations", len(withAPI.People), len(withAPI.Groups), len(withAPI.Escalations))
	}

	// A file that names an API person takes them over; one that drops a
	// person of its own removes them.
	next := strings.Replace(richOrg, "  - email: bob-a@x.test\n    name: Bob A\n    roles: [incident-lead]\n",
		"  - email: bob-a@x.test\n    name: Bob A\n    roles: [incident-lead]\n  - email: Dee@x.test\n    name: Dee From The File\n", 1)
	next = strings.Replace(next, "  - email: bob.b@x.test\n    name: Bob\n    team: sre\n", "", 1)
	next = strings.Replace(next, ", BOB.B@x.test]", "]", 1)
	next = strings.Replace(next, "responders: [ann@x.test, bob.b@x.test]", "responders: [ann@x.test]", 1)
	if _, err := s.SyncFile(ctx, []byte(next), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	final := same("after a file that takes over an API person")
	if p, _ := final.Person("dee@x.test"); p.Name != "Dee From The File" || s.SourceOf("person", "dee@x.test") != directory.SourceFile {
		t.Errorf("dee: %+v, source %q", p, s.SourceOf("person", "dee@x.test"))
	}
	if _, ok := final.Person("bob.b@x.test"); ok || s.KnowsPerson("bob.b@x.test") {
		t.Error("a person dropped from the file is still known")
	}
}

// TestSyncOfALargeFileInstallsWhatLoadReads is the same at the scale of
// the block reading (several blocks of people and members).
func TestSyncOfALargeFileInstallsWhatLoadReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &directory.Store{DB: storetest.Open(t)}
	if _, err := s.SyncFile(ctx, bigOrg(3_500), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	fresh := &directory.Store{DB: s.DB}
	if err := fresh.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Current(), fresh.Current()) {
		t.Fatal("the directory in force is not what Load reads")
	}
	if len(s.Current().People) != 3_501 || s.SourceOf("person", "person003499@big.test") != directory.SourceFile {
		t.Fatalf("%d people; person003499 from %q", len(s.Current().People), s.SourceOf("person", "person003499@big.test"))
	}
	a, errA := s.Current().Expand("everyone")
	b, errB := fresh.Current().Expand("everyone")
	if errA != nil || errB != nil || len(a) != 3_500 || !reflect.DeepEqual(a, b) {
		t.Fatalf("everyone: %d and %d recipients (%v, %v)", len(a), len(b), errA, errB)
	}
}

func emails(people []directory.Person) []string {
	var out []string
	for _, p := range people {
		out = append(out, p.Email)
	}
	return out
}
