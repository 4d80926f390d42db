package inbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// orderedStores sets up an ingester's store (on PostgreSQL a backlog is
// stored two transactions at a time) and two batches: the first
// holds three replies; the second a new one, a redelivery of the first
// reply (other bytes, same Message-ID) and a byte-for-byte copy of the
// second. The first batch's commit waits for release.
func orderedStores(t *testing.T) (g *Ingester, first, second []fetched, release chan error) {
	// ingest pipelines only on PostgreSQL; on SQLite (one connection) the
	// second transaction waits for the first to end, and the order of
	// commits and checkpoints must hold all the same.
	db := storetest.Open(t)
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	g = &Ingester{DB: db, Jobs: ins}
	g.IMAP.Username = "status"
	g.init()
	ctx := context.Background()
	if ok, err := acquireLease(ctx, db, g.key(), g.Owner, g.now(), g.now().Add(time.Hour)); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	msg := func(uid uint32, n int, relay string) fetched {
		raw := fmt.Sprintf("%sFrom: Ben <ben@example.test>\r\nSubject: Re: [INC-9] reply %d\r\nMessage-ID: <order-%d@client.example.test>\r\n\r\nReply %d.\r\n", relay, n, n, n)
		return newFetched(uid, []byte(raw), int64(len(raw)), time.Now())
	}
	first = []fetched{msg(1, 1, ""), msg(2, 2, ""), msg(3, 3, "")}
	second = []fetched{msg(4, 4, ""), msg(5, 1, "Received: from relay1.example.test\r\n"), msg(6, 2, "")}
	release = make(chan error, 1)
	g.beforeCommit = func(uids []uint32) error {
		if uids[0] == 1 {
			return <-release
		}
		return nil
	}
	return g, first, second, release
}

// startOrdered stores the two batches as ingest does during a backlog on
// PostgreSQL, the second beside the first.
func startOrdered(g *Ingester, first, second []fetched) (p1, p2 *inFlight) {
	ctx := context.Background()
	p1 = &inFlight{last: 3, sorted: make(chan struct{}), done: make(chan struct{})}
	p2 = &inFlight{last: 6, sorted: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p1.done)
		p1.jobs, p1.err = g.storeAfter(ctx, 1, first, time.Time{}, nil, p1)
	}()
	if g.DB.Dialect != store.Postgres {
		// SQLite's one connection: ingest never pipelines there, and a
		// second transaction that took the connection first would wait
		// for the first forever. It starts once the first holds it.
		<-p1.sorted
	}
	go func() {
		defer close(p2.done)
		p2.jobs, p2.err = g.storeAfter(ctx, 1, second, time.Time{}, p1, p2)
	}()
	return p1, p2
}

func count(t *testing.T, g *Ingester, query string) int {
	t.Helper()
	var n int
	if err := g.DB.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The second batch has done its work while the first waits to commit: it
// must not commit (nor move the checkpoint past the first) until the first
// has; then both are there, a reply's redelivery in the second batch
// stored as a duplicate and a copy of one skipped, as if stored one after
// the other.
func TestSecondBatchCommitsAfterTheFirst(t *testing.T) {
	g, first, second, release := orderedStores(t)
	ctx := context.Background()
	p1, p2 := startOrdered(g, first, second)

	time.Sleep(500 * time.Millisecond) // the second batch's rows are in by now
	select {
	case <-p2.done:
		t.Fatalf("the second batch ended (err %v) before the first committed", p2.err)
	default:
	}
	if g.DB.Dialect == store.Postgres {
		// On SQLite the first transaction holds the only connection: no
		// reader can run until it ends, which is the guarantee itself.
		if cp, ok, err := checkpoint(ctx, g.DB, g.key()); err != nil || ok {
			t.Fatalf("checkpoint %+v (%v, %v) before the first batch committed", cp, ok, err)
		}
	}

	release <- nil
	<-p1.done
	<-p2.done
	if p1.err != nil || p2.err != nil {
		t.Fatalf("stores: %v; %v", p1.err, p2.err)
	}
	if cp, _, err := checkpoint(ctx, g.DB, g.key()); err != nil || cp.LastUID != 6 {
		t.Fatalf("checkpoint %+v (%v), want last UID 6", cp, err)
	}
	if got := count(t, g, `SELECT COUNT(*) FROM inbound_messages`); got != 5 {
		t.Errorf("want 5 rows (4 replies and a redelivery), got %d", got)
	}
	if got := count(t, g, `SELECT COUNT(*) FROM inbound_messages WHERE state = '`+mailmsg.StateDuplicate+`'`); got != 1 {
		t.Errorf("want the redelivery stored as a duplicate, got %d duplicates", got)
	}
	if got := count(t, g, `SELECT COUNT(*) FROM inbound_messages WHERE uid = 5 AND message_key IS NULL`); got != 1 {
		t.Errorf("want the redelivery (UID 5) stored without the Message-ID's key, got %d", got)
	}
	if got := count(t, g, `SELECT COUNT(*) FROM river_job WHERE kind = 'inbox_act'`); got != 2 {
		t.Errorf("want an act job per batch, got %d", got)
	}
}

// The first batch fails to commit (a crash, a lost connection): the second
// must not commit either, and the checkpoint stays where it was, so that
// both are fetched again.
func TestFailedFirstBatchHoldsTheSecond(t *testing.T) {
	g, first, second, release := orderedStores(t)
	ctx := context.Background()
	p1, p2 := startOrdered(g, first, second)

	time.Sleep(500 * time.Millisecond)
	release <- errors.New("killed before commit")
	<-p1.done
	<-p2.done
	if p1.err == nil {
		t.Fatal("the first batch committed")
	}
	if !errors.Is(p2.err, errBatchBefore) {
		t.Fatalf("the second batch: %v, want errBatchBefore", p2.err)
	}
	if cp, ok, err := checkpoint(ctx, g.DB, g.key()); err != nil || ok {
		t.Fatalf("checkpoint %+v (%v, %v) after both batches failed", cp, ok, err)
	}
	if got := count(t, g, `SELECT COUNT(*) FROM inbound_messages`); got != 0 {
		t.Errorf("want no rows, got %d", got)
	}
	if got := count(t, g, `SELECT COUNT(*) FROM river_job WHERE kind = 'inbox_act'`); got != 0 {
		t.Errorf("want no act jobs, got %d", got)
	}
}
