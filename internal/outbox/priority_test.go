package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// Issue 17: alerts to the leads go ahead of bulk fan-out. An update to
// 2,000 people is being sent when the overdue alert to the leads is
// queued: the alert is taken up at once, although every job worker of the
// replica is busy with the update (here the one worker there is), and the
// leads have it before the update has reached its last recipient; the
// update still reaches everyone once.
func TestAlertToTheLeadsGoesAheadOfABulkFanOutQueuedBefore(t *testing.T) {
	t.Parallel()
	const n = 2000
	people := make([]string, n)
	for i := range people {
		people[i] = fmt.Sprintf("p%04d", i)
	}
	org := orgYAML("example.test", append(people, "vp", "lead", "backup"), nil, map[string][]string{"everyone": people}, nil)
	f := startFaulty(t)
	// The server holds the update's transactions at DATA until the alert
	// is under way, so the order below does not depend on how fast this
	// machine is; the pool waits for it as long as it takes.
	gate := make(chan struct{})
	var open sync.Once
	openGate := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(openGate)
	f.onData = func(_ string, rcpt []string) error {
		if len(rcpt) > 0 && strings.HasPrefix(rcpt[0], "p") {
			<-gate
		}
		return nil
	}
	h := newHarness(t, f.addr, org, false, func(c *outbox.SMTPConfig) { c.Timeout = 10 * time.Minute })
	h.outbox.BatchSize = 50 // production's: 40 transactions for the update
	ctx := context.Background()

	runWorker(t, h.db, h.outbox, jobs.Config{Concurrency: 1})

	inc := h.declare(t)
	update, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Looking.", Next: "30m", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Add(40 * time.Minute) // the update promised in 30 minutes is overdue
	if sent, err := h.comms.CheckPromises(ctx); err != nil || sent != 1 {
		t.Fatalf("want the overdue alert queued, got %d, %v", sent, err)
	}
	msgs, err := h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	alert := msgs[len(msgs)-1]
	if alert.Kind != "overdue" {
		t.Fatalf("the last message is a %s, want the overdue alert", alert.Kind)
	}
	// The alert's deliveries are claimed while the update's job still
	// holds the worker. (The deadline is only for the old code, which
	// waited for the update to finish.)
	for deadline := time.Now().Add(time.Minute); ; {
		queued, _, err := h.outbox.Deliveries(ctx, alert.ID, outbox.DeliveryPage{State: outbox.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the alert to the leads waited behind the update: %d of its deliveries still queued", len(queued))
		}
		time.Sleep(10 * time.Millisecond)
	}
	openGate()
	h.waitDeliveredWithin(t, inc, 5*time.Minute) // a loaded machine, -race

	// The order in which the server accepted the transactions.
	f.mu.Lock()
	firstAlert, lastUpdate := -1, -1
	for i, tx := range f.txs {
		row, _, _ := outbox.ParseBounceTag(bounceTag(t, tx.from))
		switch row {
		case alert.ID:
			if firstAlert < 0 {
				firstAlert = i
			}
		case update.Message.ID:
			lastUpdate = i
		}
	}
	total := len(f.txs)
	f.mu.Unlock()
	t.Logf("the alert was transaction %d of %d, the update's last %d", firstAlert, total, lastUpdate)
	if firstAlert < 0 || firstAlert > lastUpdate {
		t.Errorf("the leads' alert was accepted as transaction %d of %d, after the update's last (%d)", firstAlert, total, lastUpdate)
	}
	for _, who := range []string{"lead", "vp", "backup"} {
		if got := f.copies(who + "@example.test"); countOf(got, alert.MessageID) != 1 {
			t.Errorf("%s received %v, want one copy of the alert %s", who, got, alert.MessageID)
		}
	}
	for _, p := range people {
		if got := f.copies(p + "@example.test"); len(got) != 1 || got[0] != update.Message.MessageID {
			t.Fatalf("%s received %v, want one copy of the update %s", p, got, update.Message.MessageID)
		}
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
