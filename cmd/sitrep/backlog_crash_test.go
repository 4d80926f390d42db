package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/githubfake"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestKill9BetweenTrackerCallAndRecord: `sitrep serve` files an
// improvement; GitHub (the fake) makes the issue but its answer never
// comes, and the process is killed with SIGKILL while it waits, so the
// answer is never recorded. Started again on the same database, sitrep
// takes the job over (River's rescue, then the row's lease) and finds the
// issue by its marker: one issue, recorded on the improvement.
func TestKill9BetweenTrackerCallAndRecord(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: waits out a 90 s lease")
	}
	const token = "github_pat_crash"
	gh := githubfake.New(t, githubfake.Options{Token: token, Owner: "example", Repo: "reliability"})
	gh.FailNext("issues/create", githubfake.Fault{Hang: true})
	bin := sitrepBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	admin := "backlog-crash-admin-token-0123456789"
	database := ""
	if testenv.DatabaseKind() == "postgres" {
		database = "database:\n  url: " + testenv.DatabaseURL(t) + "\n"
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
  tracker: github
  github:
    owner: example
    repo: reliability
    token: %s
    api_url: %s
jobs:
  poll_interval: 50ms
  rescue_after: 10s
log:
  level: warn
`, dir, port, admin, database, freePort(t), freePort(t), token, gh.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	e := env{environ: []string{"SITREP_SERVER=" + url, "SITREP_TOKEN=" + admin}}
	p := startProcess(t, bin, config, url)
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", p.log.String())
		}
	}()
	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example")
	cli(t, e, "resolve", "INC-1", "--root-cause", "A config push disabled the payment provider's keys.", "--fix", "Rolled the config back.")
	cli(t, e, "postmortem", "INC-1", "--improvement", "Gate config pushes on the staging check", "--owner", "priya.raman@sitrep.example")
	cli(t, e, "postmortem", "INC-1", "--publish")

	deadline := time.Now().Add(time.Minute)
	for len(gh.Issues()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the issue was not created: %+v", gh.Requests())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.kill9() // GitHub made the issue; sitrep never heard back
	p = startProcess(t, bin, config, url)
	defer p.stop()

	deadline = time.Now().Add(4 * time.Minute) // River's rescue (10 s) and the row's lease (90 s)
	for {
		var out struct {
			Improvements []struct {
				TrackerRef string `json:"tracker_ref"`
			} `json:"improvements"`
		}
		_ = json.Unmarshal([]byte(cli(t, e, "improvements", "--json")), &out)
		if len(out.Improvements) == 1 && out.Improvements[0].TrackerRef != "" {
			if out.Improvements[0].TrackerRef != "1" {
				t.Errorf("recorded as #%s", out.Improvements[0].TrackerRef)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recorded after the restart: %+v", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	creates := 0
	for _, r := range gh.Requests() {
		if r.Operation == "issues/create" {
			creates++
		}
	}
	if n := len(gh.Issues()); n != 1 || creates != 1 {
		t.Errorf("after kill -9 and restart: %d issues, %d creates; want 1 and 1", n, creates)
	}
	if !strings.Contains(gh.Issues()[0].Body, "sitrep:improvement:") {
		t.Errorf("issue body: %s", gh.Issues()[0].Body)
	}
}
