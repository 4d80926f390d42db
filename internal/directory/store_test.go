package directory_test

import (
	"context"
	"os"
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
