package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/github"
	"github.com/sitrep-dev/sitrep/internal/backlog/githubfake"
	"github.com/sitrep-dev/sitrep/internal/doctor"
)

// TestBacklogThroughTheHub: sitrep serve with backlog.tracker github
// (pointed at the fake, which checks every request against GitHub's
// OpenAPI description): publishing the post-mortem's results files the
// improvement through a River job on the backlog queue; the improvement
// shows its issue; the repository's webhook, signed, closes it here, and
// a delivery with a bad signature changes nothing; sitrep doctor's check
// logs in.
func TestBacklogThroughTheHub(t *testing.T) {
	t.Parallel()
	const token, secret = "github_pat_hub", "hub-hook-secret"
	gh := githubfake.New(t, githubfake.Options{Token: token, Owner: "example", Repo: "reliability"})
	cfg := testConfig(t)
	cfg.Backlog.Tracker = "github"
	cfg.Backlog.GitHub.Owner, cfg.Backlog.GitHub.Repo, cfg.Backlog.GitHub.APIURL = "example", "reliability", gh.URL
	cfg.Backlog.GitHub.Token, cfg.Backlog.GitHub.WebhookSecret = token, secret
	e, h := startHub(t, cfg)

	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example")
	cli(t, e, "resolve", "INC-1", "--root-cause", "A config push disabled the payment provider's keys.", "--fix", "Rolled the config back.")
	cli(t, e, "postmortem", "INC-1", "--improvement", "Gate config pushes on the staging check", "--owner", "priya.raman@sitrep.example", "--due", "2099-01-31")
	if n := len(gh.Requests()); n != 0 {
		t.Fatalf("filed before the results were published: %d requests", n)
	}
	cli(t, e, "postmortem", "INC-1", "--publish")

	type improvement struct {
		ID         int64  `json:"id"`
		State      string `json:"state"`
		TrackerURL string `json:"tracker_url"`
		TrackerRef string `json:"tracker_ref"`
	}
	list := func() []improvement {
		var out struct {
			Improvements []improvement `json:"improvements"`
		}
		if err := json.Unmarshal([]byte(cli(t, e, "improvements", "--json")), &out); err != nil {
			t.Fatal(err)
		}
		return out.Improvements
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(list()) != 1 || list()[0].TrackerRef == "" {
		if time.Now().After(deadline) {
			t.Fatalf("not filed after 60s: %+v; requests %+v\n%s", list(), gh.Requests(), h.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := list()[0]; m.TrackerRef != "1" || !strings.Contains(m.TrackerURL, "/example/reliability/issues/1") || len(gh.Issues()) != 1 {
		t.Fatalf("filed as %+v, %d issues", m, len(gh.Issues()))
	}
	if body := gh.Issues()[0].Body; !strings.Contains(body, "Priya") || !strings.Contains(body, "INC-1") {
		t.Errorf("issue body:\n%s", body)
	}

	gh.SetState(1, "closed")
	event := gh.Event(1, "closed", "priya")
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addr()+"/api/v1/backlog/github", strings.NewReader(string(event)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "issues")
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(github.Sign("wrong", event)); code != http.StatusUnauthorized {
		t.Errorf("a bad signature: %d, want 401", code)
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", code)
	}
	if m := list()[0]; m.State != "open" {
		t.Fatalf("refused deliveries changed the improvement: %+v", m)
	}
	if code := post(github.Sign(secret, event)); code != http.StatusAccepted {
		t.Fatalf("a signed delivery: %d, want 202", code)
	}
	if m := list()[0]; m.State != "done" {
		t.Fatalf("closed on GitHub: %+v", m)
	}

	found := false
	for _, c := range integrations(cfg) {
		if r := c.Check(context.Background()); r.Area == "backlog" {
			found = true
			if r.Status != doctor.OK {
				t.Errorf("doctor's backlog check: %+v", r)
			}
		}
	}
	cfg.Backlog.GitHub.Token = "github_pat_revoked"
	for _, c := range integrations(cfg) {
		if r := c.Check(context.Background()); r.Area == "backlog" && (r.Status != doctor.Fail || !strings.Contains(r.Detail, "401") || strings.Contains(r.Detail, "revoked")) {
			t.Errorf("doctor's backlog check with a revoked token: %+v", r)
		}
	}
	if !found {
		t.Error("doctor has no backlog check")
	}
}
