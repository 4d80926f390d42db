package chat_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/chat/teamsfake"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// teamsTexts are the update words on each card the flow posted, in order.
func teamsTexts(flow *teamsfake.Server, words ...string) []string {
	var out []string
	for _, p := range flow.Posts() {
		for _, w := range words {
			if strings.Contains(string(p.Raw), `"text":"`+w+`"`) {
				out = append(out, w)
			}
		}
	}
	return out
}

// Teams keeps timeline order through a 40 s outage (503 from the flow)
// and posts each update once; a flow that answers 15 s late is awaited,
// not tried again. The card carries the next-update promise.
func TestTeamsKeepsOrderThroughAnOutageAndALateAnswer(t *testing.T) {
	t.Parallel()
	flow := teamsfake.New(t)
	r := newRig(t)
	m := r.mirror(t, map[string]chat.Poster{"teams": &chat.Teams{WebhookURL: flow.URL}})
	chat.SetBackoffMax(m, 3*time.Second)
	startReplica(t, r.db, m, "a")

	flow.Outage(40 * time.Second)
	u11, u12 := r.update(t, "U11"), r.update(t, "U12")
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if got := teamsTexts(flow, "U11", "U12"); len(got) != 0 {
		t.Fatalf("cards during the outage: %q", got)
	}
	states := settled(t, m, "teams", 90*time.Second, u11, u12)
	if got := teamsTexts(flow, "U11", "U12"); !equal(got, []string{"U11", "U12"}) || !equal(states, []string{"posted", "posted"}) {
		t.Fatalf("after the outage the channel got %q (states %q), want U11 then U12, once each", got, states)
	}
	_, attempts, _, err := m.PostState(context.Background(), "teams", u11)
	if err != nil || attempts < 2 {
		t.Errorf("U11 took %d tries (%v): the outage was not met", attempts, err)
	}

	flow.Delay(15 * time.Second)
	u13 := r.update(t, "U13")
	// U14 promises the next update at 15:30 UTC, as the comms lead's
	// update does: the card says so.
	var u14 int64
	err = r.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		u14, err = incident.AddEvent(context.Background(), tx, time.Now(), r.inc.ID, incident.EventUpdateQueued, "comms@x.test",
			"Status update", map[string]any{"status": "U14", "next_update_at": time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	states = settled(t, m, "teams", 90*time.Second, u13, u14)
	if got := teamsTexts(flow, "U11", "U12", "U13", "U14"); !equal(got, []string{"U11", "U12", "U13", "U14"}) || !equal(states, []string{"posted", "posted"}) {
		t.Fatalf("with a late flow the channel got %q (states %q), want each once, in order", got, states)
	}
	last := flow.Posts()[len(flow.Posts())-1]
	if !strings.Contains(string(last.Raw), `{"title":"Next update by","value":"2026-03-10 15:30 UTC"}`) {
		t.Errorf("U14's card lacks its promise: %s", last.Raw)
	}
}
