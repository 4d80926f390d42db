package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestKill9BetweenTrackerCallAndRecord: `sitrep serve` files an
// improvement, on each tracker (GitHub, Jira Cloud, Linear: their fakes);
// the tracker makes the issue but its answer never comes, and the process
// is killed with SIGKILL while it waits, so the answer is never recorded.
// Started again on the same database, sitrep takes the job over (River's
// rescue, then the row's lease) and finds the issue by its marker: one
// issue, recorded on the improvement. The backends are crashed one after
// the other, then their leases run out together: one test's time, not
// three.
func TestKill9BetweenTrackerCallAndRecord(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: waits out a 15 s lease")
	}
	bin := sitrepBinary(t)
	var runs []*crashRun
	for _, mk := range hubTrackers {
		tr := mk(t)
		t.Run(tr.name+"/crash", func(st *testing.T) { runs = append(runs, crashBetweenCallAndRecord(st, t, bin, tr)) })
	}
	for _, r := range runs {
		t.Run(r.tr.name+"/recovered", func(t *testing.T) { r.recovered(t) })
	}
}

// crashRun is a sitrep killed between its call and recording its answer,
// and started again.
type crashRun struct {
	tr *hubTracker
	e  env
	p  *process
}

// crashBetweenCallAndRecord runs in subtest t; the data directory and
// the database belong to the whole test (whole), since the restarted
// sitrep uses them after the subtest ends.
func crashBetweenCallAndRecord(t, whole *testing.T, bin string, tr *hubTracker) *crashRun {
	tr.hangCreate()
	dir := whole.TempDir()
	port := freePort(t)
	admin := "backlog-crash-admin-token-0123456789"
	database := ""
	if testenv.DatabaseKind() == "postgres" {
		database = "database:\n  url: " + testenv.DatabaseURL(whole) + "\n"
	}
	config := filepath.Join(dir, "sitrep.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`data_dir: %s
server:
  listen: 127.0.0.1:%d
  admin_token: %s
%smail:
  sandbox:
    smtp_listen: 127.0.0.1:%d
    imap_listen: 127.0.0.1:%d
backlog:
  call_timeout: 5s
%sjobs:
  poll_interval: 50ms
  rescue_after: 10s
log:
  level: warn
`, dir, port, admin, database, freePort(t), freePort(t), tr.yaml)), 0o600); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	e := env{environ: []string{"SITREP_SERVER=" + url, "SITREP_TOKEN=" + admin}}
	p := startProcess(t, bin, config, url)
	defer func() {
		if t.Failed() {
			p.stop()
			t.Logf("server log:\n%s", p.log.String())
		}
	}()
	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example")
	cli(t, e, "resolve", "INC-1", "--root-cause", "A config push disabled the payment provider's keys.", "--fix", "Rolled the config back.")
	cli(t, e, "postmortem", "INC-1", "--improvement", "Gate config pushes on the staging check", "--owner", "priya.raman@sitrep.example")
	cli(t, e, "postmortem", "INC-1", "--publish")

	deadline := time.Now().Add(time.Minute)
	for tr.issues() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the issue was not created (%d creates)", tr.creates())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.kill9() // the tracker made the issue; sitrep never heard back
	p = startProcess(t, bin, config, url)
	return &crashRun{tr: tr, e: e, p: p}
}

// recovered waits for the restarted sitrep to record the issue, and
// checks there is one.
func (r *crashRun) recovered(t *testing.T) {
	tr, e, p := r.tr, r.e, r.p
	defer p.stop()
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", p.log.String())
		}
	}()
	deadline := time.Now().Add(2 * time.Minute) // River's rescue (10 s) and the row's lease (3 × call_timeout: 15 s)
	for {
		var out struct {
			Improvements []struct {
				TrackerRef string `json:"tracker_ref"`
			} `json:"improvements"`
		}
		// Not cli: a call that fails while the restarted hub is busy is
		// tried again, not the end of the test.
		var stdout, stderr bytes.Buffer
		if run(context.Background(), []string{"improvements", "--json"}, strings.NewReader(""), &stdout, &stderr, e.environ) != 0 {
			t.Logf("sitrep improvements --json: %s", stderr.String())
		}
		_ = json.Unmarshal(stdout.Bytes(), &out)
		if len(out.Improvements) == 1 && out.Improvements[0].TrackerRef != "" {
			if out.Improvements[0].TrackerRef != tr.firstRef {
				t.Errorf("recorded as %s, want %s", out.Improvements[0].TrackerRef, tr.firstRef)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recorded after the restart: %+v", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n, c := tr.issues(), tr.creates(); n != 1 || c != 1 {
		t.Errorf("after kill -9 and restart: %d issues, %d creates; want 1 and 1", n, c)
	}
}
