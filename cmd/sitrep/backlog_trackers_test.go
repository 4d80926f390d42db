package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/githubfake"
	"github.com/sitrep-dev/sitrep/internal/backlog/jira"
	"github.com/sitrep-dev/sitrep/internal/backlog/jirafake"
	"github.com/sitrep-dev/sitrep/internal/backlog/linear"
	"github.com/sitrep-dev/sitrep/internal/backlog/linearfake"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/doctor"
)

// hubTracker is one backlog backend as the hub's tests drive it: its fake,
// the configuration that points sitrep at it, and what the tests read of
// it. Every test over the hub's backlog runs once per backend.
type hubTracker struct {
	name     string
	firstRef string
	// yaml is the backlog: section of a config file; configure sets the same.
	yaml      string
	configure func(cfg *config.Config)
	// revoke breaks the credential in cfg (the doctor must say so).
	revoke     func(cfg *config.Config)
	hangCreate func()
	issues     func() int
	creates    func() int
	closeFirst func()
	// firstClosed says whether the first issue is closed there.
	firstClosed func() bool
	// delivery is a webhook body for the first issue's last change;
	// sign the headers that sign it.
	delivery func() []byte
	sign     func(secret string, body []byte) http.Header
	// stale is a delivery signed right but too old to be taken; nil:
	// the tracker's deliveries carry no time to check.
	stale func() []byte
}

const hubHookSecret = "hub-hook-secret"

func githubHubTracker(t *testing.T) *hubTracker {
	const token = "github_pat_hub"
	gh := githubfake.New(t, githubfake.Options{Token: token, Owner: "example", Repo: "reliability"})
	return &hubTracker{name: "github", firstRef: "1",
		yaml: fmt.Sprintf("  tracker: github\n  github:\n    owner: example\n    repo: reliability\n    token: %s\n    api_url: %s\n", token, gh.URL),
		configure: func(cfg *config.Config) {
			cfg.Backlog.Tracker = "github"
			cfg.Backlog.GitHub.Owner, cfg.Backlog.GitHub.Repo, cfg.Backlog.GitHub.APIURL = "example", "reliability", gh.URL
			cfg.Backlog.GitHub.Token, cfg.Backlog.GitHub.WebhookSecret = token, hubHookSecret
		},
		revoke:     func(cfg *config.Config) { cfg.Backlog.GitHub.Token = "github_pat-expired" },
		hangCreate: func() { gh.FailNext("issues/create", githubfake.Fault{Hang: true}) },
		issues:     func() int { return len(gh.Issues()) },
		creates: func() (n int) {
			for _, r := range gh.Requests() {
				if r.Operation == "issues/create" {
					n++
				}
			}
			return n
		},
		closeFirst:  func() { gh.SetState(1, "closed") },
		firstClosed: func() bool { return gh.Issues()[0].State == "closed" },
		delivery:    func() []byte { return gh.Event(1, "closed", "priya") },
	}
}

func jiraHubTracker(t *testing.T) *hubTracker {
	const email, token = "sitrep-bot@sitrep.example", "ATATT3x-hub"
	fake := jirafake.New(t, jirafake.Options{Email: email, Token: token, Project: "OPS",
		Users: []jirafake.User{{AccountID: "5b10a2844c20165700ede21g", Email: "priya.raman@sitrep.example", DisplayName: "Priya Raman"}}})
	return &hubTracker{name: "jira", firstRef: "OPS-1",
		yaml: fmt.Sprintf("  tracker: jira\n  jira:\n    base_url: %s\n    email: %s\n    api_token: %s\n    project: OPS\n", fake.URL, email, token),
		configure: func(cfg *config.Config) {
			cfg.Backlog.Tracker = "jira"
			cfg.Backlog.Jira.BaseURL, cfg.Backlog.Jira.Email, cfg.Backlog.Jira.Project = fake.URL, email, "OPS"
			cfg.Backlog.Jira.APIToken, cfg.Backlog.Jira.WebhookSecret = token, hubHookSecret
		},
		revoke:      func(cfg *config.Config) { cfg.Backlog.Jira.APIToken = "ATATT3x-x-expired" },
		hangCreate:  func() { fake.FailNext("createIssue", jirafake.Fault{Hang: true}) },
		issues:      func() int { return len(fake.Issues()) },
		creates:     func() int { return fake.Count("createIssue") },
		closeFirst:  func() { fake.Transition("OPS-1", "Done", "Priya Raman") },
		firstClosed: func() bool { return fake.Issues()[0].Status == "Done" },
		delivery:    func() []byte { return fake.Event("OPS-1", "jira:issue_updated", "Priya Raman") },
		sign: func(secret string, body []byte) http.Header {
			return http.Header{"X-Hub-Signature": {jira.Sign(secret, body)}}
		},
	}
}

func linearHubTracker(t *testing.T) *hubTracker {
	const key = "lin_api_hub"
	fake := linearfake.New(t, linearfake.Options{APIKey: key, Team: "ENG",
		Users: []linearfake.User{{ID: "user-priya", Name: "Priya Raman", Email: "priya.raman@sitrep.example"}}})
	return &hubTracker{name: "linear", firstRef: "ENG-1",
		yaml: fmt.Sprintf("  tracker: linear\n  linear:\n    api_key: %s\n    team: ENG\n    api_url: %s\n", key, fake.GraphQLURL()),
		configure: func(cfg *config.Config) {
			cfg.Backlog.Tracker = "linear"
			cfg.Backlog.Linear.Team, cfg.Backlog.Linear.APIURL = "ENG", fake.GraphQLURL()
			cfg.Backlog.Linear.APIKey, cfg.Backlog.Linear.WebhookSecret = key, hubHookSecret
		},
		revoke:      func(cfg *config.Config) { cfg.Backlog.Linear.APIKey = "lin_api-expired" },
		hangCreate:  func() { fake.FailNext("issueCreate", linearfake.Fault{Hang: true}) },
		issues:      func() int { return len(fake.Issues()) },
		creates:     func() int { return fake.Count("issueCreate") },
		closeFirst:  func() { fake.SetState("ENG-1", "Done") },
		firstClosed: func() bool { return fake.Issues()[0].StateID == "st-done" },
		delivery:    func() []byte { return fake.Event("ENG-1", "update", "Priya Raman", time.Time{}) },
		sign: func(secret string, body []byte) http.Header {
			return http.Header{"Linear-Signature": {linear.Sign(secret, body)}}
		},
		stale: func() []byte { return fake.Event("ENG-1", "update", "Priya Raman", time.Now().Add(-5*time.Minute)) },
	}
}

// hubTrackers are the backends; TestBacklogThroughTheHub covers GitHub's
// webhook in full, the table below the others (and GitHub's crash).
var hubTrackers = []func(*testing.T) *hubTracker{githubHubTracker, jiraHubTracker, linearHubTracker}

// TestBacklogTrackersThroughTheHub: sitrep serve with backlog.tracker jira,
// then linear (each pointed at its fake, which checks every request against
// the published description): publishing files the improvement once
// through the backlog queue's job; the improvement shows the issue's key;
// the tracker's webhook, signed, closes it here, while a bad signature, no
// signature and (Linear) a stale delivery change nothing; sitrep doctor's
// check signs in, and says what is wrong with a revoked credential.
func TestBacklogTrackersThroughTheHub(t *testing.T) {
	t.Parallel()
	for _, mk := range hubTrackers[1:] {
		tr := mk(t)
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			tr.configure(&cfg)
			e, h := startHub(t, cfg)
			cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout",
				"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example")
			cli(t, e, "resolve", "INC-1", "--root-cause", "A config push disabled the payment provider's keys.", "--fix", "Rolled the config back.")
			cli(t, e, "postmortem", "INC-1", "--improvement", "Gate config pushes on the staging check", "--owner", "priya.raman@sitrep.example", "--due", "2099-01-31")
			cli(t, e, "postmortem", "INC-1", "--publish")
			deadline := time.Now().Add(60 * time.Second)
			for list := improvements(t, e); len(list) != 1 || list[0].TrackerRef == ""; list = improvements(t, e) {
				if time.Now().After(deadline) {
					t.Fatalf("not filed after 60s: %+v\n%s", list, h.logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			m := improvements(t, e)[0]
			if m.TrackerRef != tr.firstRef || m.TrackerURL == "" || tr.issues() != 1 || tr.creates() != 1 {
				t.Fatalf("filed as %+v; %d issues, %d creates", m, tr.issues(), tr.creates())
			}

			tr.closeFirst()
			post := func(body []byte, hdr http.Header) int {
				req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addr()+"/api/v1/backlog/"+tr.name, strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range hdr {
					req.Header[k] = v
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			event := tr.delivery()
			if code := post(event, tr.sign("wrong", event)); code != http.StatusUnauthorized {
				t.Errorf("a bad signature: %d, want 401", code)
			}
			if code := post(event, nil); code != http.StatusUnauthorized {
				t.Errorf("unsigned: %d, want 401", code)
			}
			if tr.stale != nil {
				old := tr.stale()
				if code := post(old, tr.sign(hubHookSecret, old)); code != http.StatusUnauthorized {
					t.Errorf("a stale delivery: %d, want 401", code)
				}
			}
			if m := improvements(t, e)[0]; m.State != "open" {
				t.Fatalf("refused deliveries changed the improvement: %+v", m)
			}
			if code := post(event, tr.sign(hubHookSecret, event)); code != http.StatusAccepted {
				t.Fatalf("a signed delivery: %d, want 202", code)
			}
			if m := improvements(t, e)[0]; m.State != "done" {
				t.Fatalf("closed in %s: %+v", tr.name, m)
			}

			// From here to there: reopened in sitrep, reopened in the
			// tracker, by the job on the backlog queue.
			token := ""
			for _, kv := range e.environ {
				if v, ok := strings.CutPrefix(kv, "SITREP_TOKEN="); ok {
					token = v
				}
			}
			req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("http://%s/api/v1/improvements/%d", h.Addr(), m.ID), strings.NewReader(`{"state":"open"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PATCH the improvement: %s", resp.Status)
			}
			for deadline := time.Now().Add(60 * time.Second); tr.firstClosed(); time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("reopened in sitrep, still closed in %s after 60s\n%s", tr.name, h.logs.String())
				}
			}

			checked := false
			for _, c := range integrations(cfg) {
				if r := c.Check(context.Background()); r.Area == "backlog" {
					checked = true
					if r.Status != doctor.OK {
						t.Errorf("doctor's backlog check: %+v", r)
					}
				}
			}
			tr.revoke(&cfg)
			for _, c := range integrations(cfg) {
				if r := c.Check(context.Background()); r.Area == "backlog" && (r.Status != doctor.Fail || !strings.Contains(r.Detail, "401") ||
					strings.Contains(r.Detail, "-expired")) {
					t.Errorf("doctor's backlog check with a revoked credential: %+v", r)
				}
			}
			if !checked {
				t.Error("doctor has no backlog check")
			}
		})
	}
}

type improvementRow struct {
	ID         int64  `json:"id"`
	State      string `json:"state"`
	TrackerURL string `json:"tracker_url"`
	TrackerRef string `json:"tracker_ref"`
}

// improvements is `sitrep improvements --json`.
func improvements(t *testing.T, e env) []improvementRow {
	t.Helper()
	var out struct {
		Improvements []improvementRow `json:"improvements"`
	}
	if err := json.Unmarshal([]byte(cli(t, e, "improvements", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out.Improvements
}
