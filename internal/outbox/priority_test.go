package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// Issue 17: alerts to the leads go ahead of bulk fan-out. An update to
// 2,000 people is being sent when the overdue alert to the leads is
// queued: the leads have it before the update has reached its last
// recipient, although every job worker of the replica is busy with the
// update (here the one worker there is), and the update still reaches
// everyone once.
func TestAlertToTheLeadsGoesAheadOfABulkFanOutQueuedBefore(t *testing.T) {
	t.Parallel()
	const n = 2000
	people := make([]string, n)
	for i := range people {
		people[i] = fmt.Sprintf("p%04d", i)
	}
	org := orgYAML("example.test", append(people, "vp", "lead", "backup"), nil, map[string][]string{"everyone": people}, nil)
	f := startFaulty(t)
	h := newHarness(t, f.addr, org, false)
	ctx := context.Background()

	workers := river.NewWorkers()
	h.outbox.Register(workers)
	worker, err := jobs.NewWorker(h.db, jobs.Config{Workers: workers, PollInterval: 20 * time.Millisecond, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		worker.Stop(c)
	})

	inc := h.declare(t)
	update, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Looking.", Next: "30m", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	// The update is under way: the server has its first transaction.
	for f.transactionsOf(t, update.Message.ID) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	h.clock.Add(40 * time.Minute) // the update promised in 30 minutes is overdue
	if sent, err := h.comms.CheckPromises(ctx); err != nil || sent != 1 {
		t.Fatalf("want the overdue alert queued, got %d, %v", sent, err)
	}
	msgs := h.waitDelivered(t, inc)
	alert := msgs[len(msgs)-1]
	if alert.Kind != "overdue" {
		t.Fatalf("the last message is a %s, want the overdue alert", alert.Kind)
	}

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

// transactionsOf counts the transactions the server has accepted for a
// message (its row, in the bounce address).
func (f *faultyServer) transactionsOf(t *testing.T, row int64) int {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, tx := range f.txs {
		if r, _, _ := outbox.ParseBounceTag(bounceTag(t, tx.from)); r == row {
			n++
		}
	}
	return n
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
