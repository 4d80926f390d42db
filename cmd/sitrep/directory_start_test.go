package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const startOrg = `organization: Start Co
people:
  - email: comms@start.test
    name: Comms Lead
    roles: [comms-lead]
  - email: ann@start.test
    name: Ann
groups:
  - name: everyone
    members: [comms@start.test, ann@start.test]
`

// TestARefusedGroupsFileAtStart: a groups.yaml broken between two starts
// leaves the directory the database has in force (the hub starts, and
// says why the file was refused); on a first start there is nothing to
// fall back on, and the start fails with the file's problem.
func TestARefusedGroupsFileAtStart(t *testing.T) {
	cfg := testConfig(t)
	file := filepath.Join(t.TempDir(), "groups.yaml")
	if err := os.WriteFile(file, []byte(startOrg), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Directory.File = file
	_, first := startHub(t, cfg)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	broken := strings.Replace(startOrg, "    name: Ann\n", "    name: Ann\n    nmae: typo\n", 1)
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	_, second := startHub(t, cfg)
	d := second.directory.Current()
	if _, ok := d.Person("ann@start.test"); !ok || d.Organization != "Start Co" || len(d.People) != 2 {
		t.Fatalf("after a refused file the directory is %q with %d people, want the database's", d.Organization, len(d.People))
	}
	if logs := second.logs.String(); !strings.Contains(logs, "groups.yaml refused") || !strings.Contains(logs, `unknown key \"nmae\"`) && !strings.Contains(logs, `unknown key "nmae"`) {
		t.Fatalf("the log does not say why the file was refused:\n%s", logs)
	}

	fresh := testConfig(t)
	fresh.Directory.File = file
	m := NewMain(fresh, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	defer m.Close()
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("a first start on a refused file: %v, want the file's problem", err)
	}
}
