package main

import (
	"fmt"
	"slices"
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
// the later updates reach the channel once each, in timeline order. A post
// that hung has an unknown outcome: a Workflows webhook cannot be read
// back, so it is not sent again rather than risk a double (docs/chat.md),
// and the incident's timeline says it may be missing.
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
	for deadline := time.Now().Add(20 * time.Second); teams.Hung() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the mirror never tried Teams")
		}
	}
	if n := len(teams.Posts()); n != 0 {
		t.Fatalf("%d cards while the flow hangs", n)
	}

	teams.FailNext(429, 1)
	teams.Release()
	update(3)
	update(4)
	// The hung post gives up after the poster's 30 s (and so may a later
	// one, on a machine slow enough that it was tried before the release);
	// then the rest go.
	var cards []string
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		cards = cards[:0]
		for _, p := range teams.Posts() {
			cards = append(cards, string(p.Raw))
		}
		if strings.Contains(strings.Join(cards, "\n"), "U4:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("U4 never reached the channel; cards:\n%s", strings.Join(cards, "\n"))
		}
	}
	var order []string
	for _, raw := range cards {
		for _, u := range []string{"U1:", "U2:", "U3:", "U4:"} {
			if strings.Contains(raw, u) {
				order = append(order, u)
			}
		}
	}
	got := strings.Join(order, " ")
	if !strings.HasSuffix(got, "U3: U4:") || !slices.IsSorted(order) || len(slices.Compact(slices.Clone(order))) != len(order) {
		t.Fatalf("the channel got %q: want the updates after the release once each, all in order, none twice", order)
	}
	for _, raw := range cards {
		if strings.Contains(raw, "U4:") && !strings.Contains(raw, `"title":"Next update by"`) {
			t.Errorf("U4's card lacks the next-update promise: %s", raw)
		}
	}
	if show := cli(t, e, "show", "INC-1"); !strings.Contains(show, "The post to teams may be missing") {
		t.Errorf("the timeline does not say the hung post may be missing:\n%s", show)
	}
}
