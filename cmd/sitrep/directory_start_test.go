package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/directory"
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

// TestSIGHUPReloadsTheDirectory: SIGHUP puts an edited groups.yaml in
// force, the same directory a restart would read from the database; a
// file broken since leaves it as it was.
func TestSIGHUPReloadsTheDirectory(t *testing.T) {
	// SIGHUP goes to the whole test process: caught here too, so that one
	// sent before the hub listens cannot end the process.
	caught := make(chan os.Signal, 8)
	signal.Notify(caught, syscall.SIGHUP)
	defer signal.Stop(caught)

	cfg := testConfig(t)
	file := filepath.Join(t.TempDir(), "groups.yaml")
	if err := os.WriteFile(file, []byte(startOrg), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Directory.File = file
	_, h := startHub(t, cfg)
	hup := func(until func(d *directory.Directory) bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			if until(h.directory.Current()) {
				return
			}
		}
		t.Fatalf("no reload a minute after SIGHUP:\n%s", h.logs.String())
	}

	edited := strings.Replace(startOrg, "    members: [comms@start.test, ann@start.test]\n",
		"    members: [comms@start.test, ann@start.test, bea@start.test]\n", 1)
	edited = strings.Replace(edited, "groups:\n", "  - email: Bea@start.test\n    name: Bea\n    time_zone: Europe/Paris\ngroups:\n", 1)
	if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	hup(func(d *directory.Directory) bool { return len(d.People) == 3 })
	reloaded := h.directory.Current()
	fromDB := &directory.Store{DB: h.db}
	if err := fromDB.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reloaded, fromDB.Current()) {
		t.Fatalf("after SIGHUP the directory in force is not what the database holds:\n%+v\n%+v", reloaded, fromDB.Current())
	}
	if rs, err := reloaded.Expand("everyone"); err != nil || len(rs) != 3 || rs[1].Email != "bea@start.test" || rs[1].TimeZone != "Europe/Paris" {
		t.Fatalf("everyone after SIGHUP: %+v, %v", rs, err)
	}

	broken := strings.Replace(edited, "    name: Bea\n", "    name: Bea\n    nmae: typo\n", 1)
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	hup(func(*directory.Directory) bool { return strings.Contains(h.logs.String(), "refused on SIGHUP") })
	if !reflect.DeepEqual(h.directory.Current(), reloaded) {
		t.Fatal("a file refused on SIGHUP changed the directory in force")
	}
}
