package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat/teamsfake"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

// TestTeamsHangingNeverDelaysEmailAndGetsEachUpdateOnce: the Teams flow
// hangs from the declaration on; the heads-up and two status emails go out
// all the same. Once it answers again (first with a 429 and Retry-After),
// every later event reaches the channel once, in timeline order. The post
// that hung has an unknown outcome: a Workflows webhook cannot be read
// back, so it is not sent again rather than risk a double (docs/chat.md).
func TestTeamsHangingNeverDelaysEmailAndGetsEachUpdateOnce(t *testing.T) {
	t.Parallel()
	teams := teamsfake.New(t)
	teams.Hang()
	cfg := testConfig(t)
	cfg.Chat.Teams.WebhookURL = config.Secret(teams.URL)
	cfg.Chat.Interval = 200 * time.Millisecond
	e, h := startHub(t, cfg)

	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout")
	update := func(n int) {
		t.Helper()
		cli(t, e, "update", "INC-1", "--status", fmt.Sprintf("U%d: card payments fail in the EU; failing over.", n), "--next", "30m", "--to", "exec")
	}
	for n := 1; n <= 2; n++ {
		update(n)
		want := fmt.Sprintf("U%d:", n)
		waitMessage(t, h.sandbox, "mark.delaney@sitrep.example", "the status email "+want, func(m sandbox.Message) bool {
			return strings.Contains(string(m.Raw), want)
		})
	}
	if n := len(teams.Posts()); n != 0 {
		t.Fatalf("%d cards while the flow hangs", n)
	}

	teams.FailNext(429, 1)
	teams.Release()
	update(3)
	// The hung post gives up after the poster's 30 s; then the rest go.
	deadline := time.Now().Add(90 * time.Second)
	var got []string
	for {
		got = got[:0]
		for _, p := range teams.Posts() {
			got = append(got, string(p.Raw))
		}
		if strings.Contains(strings.Join(got, "\n"), "U3:") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var order []string
	for _, raw := range got {
		for _, u := range []string{"U1:", "U2:", "U3:"} {
			if strings.Contains(raw, u) {
				order = append(order, u)
			}
		}
	}
	if strings.Join(order, " ") != "U1: U2: U3:" {
		t.Fatalf("the channel got %q, want each update once, in order (cards:\n%s)", order, strings.Join(got, "\n"))
	}
	// The hung post is on the incident's timeline for the leads.
	if show := cli(t, e, "show", "INC-1"); !strings.Contains(show, "The post to teams may be missing") {
		t.Errorf("the timeline does not say the hung post may be missing:\n%s", show)
	}
}
