package outbox_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// A large update is sent by every replica on the database, each over its
// own SMTP connections, and still reaches each recipient once. Replicas
// are how sitrep runs on several machines; before helpers, the message's
// job ran on one of them and the others watched, however long the
// fan-out (a slow server, a rate limit) took.
//
// On SQLite there is one replica: nobody is asked.
func TestALargeFanOutIsSharedByTheReplicas(t *testing.T) {
	t.Parallel()
	first, second := startFaulty(t), startFaulty(t)
	// A server that takes its time per message, as a real one does: the
	// fan-out lasts long enough for a helper to find the second replica.
	for _, f := range []*faultyServer{first, second} {
		f.onData = func(string, []string) error { time.Sleep(10 * time.Millisecond); return nil }
	}
	var people []string
	for i := range 900 {
		people = append(people, fmt.Sprintf("p%04d", i))
	}
	org := orgYAML("example.test", append(people, "vp", "lead", "backup"), nil, map[string][]string{"everyone": people}, nil)
	h := newHarness(t, first.addr, org, false)
	h.outbox.HelpFrom = 100
	h.startWorker(t)
	if h.db.Dialect == store.Postgres {
		startReplica(t, h, second.addr)
	}
	inc := h.declare(t)
	ctx := context.Background()
	res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, h, inc, res.Message.ID, outbox.StateSent, len(people), time.Minute)

	byFirst, bySecond := 0, 0
	for _, p := range people {
		a, b := len(first.copies(p+"@example.test")), len(second.copies(p+"@example.test"))
		byFirst, bySecond = byFirst+a, bySecond+b
		if a+b != 1 {
			t.Errorf("%s received %d copies (%d from the first replica, %d from the second)", p, a+b, a, b)
		}
	}
	var jobsQueued int
	if err := h.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'outbox_deliver'`).Scan(&jobsQueued); err != nil {
		t.Fatal(err)
	}
	t.Logf("first replica %d, second %d; %d delivery jobs", byFirst, bySecond, jobsQueued)
	if h.db.Dialect != store.Postgres {
		if jobsQueued != 1 {
			t.Errorf("%d delivery jobs on SQLite, want the message's own only: one replica, nobody to ask", jobsQueued)
		}
		return
	}
	// Each replica's share depends on when the second joined (the helper
	// may first be offered to the first, busy, replica, and wait); what
	// matters is that it did.
	if bySecond == 0 {
		t.Errorf("the second replica sent none of %d: it did not share the fan-out", len(people))
	}
	// The message's job, the second replica's, and (unless the second
	// joined too late to ask) a third, which found both busy and, once
	// the fan-out ended, nothing to do: one helper per replica at most.
	if jobsQueued < 2 || jobsQueued > 3 {
		t.Errorf("%d delivery jobs, want the message's and one helper per replica", jobsQueued)
	}
}

// startReplica runs a second replica of h's outbox on its own handle to
// the database, sending through smtpAddr, as a second `sitrep serve`
// would.
func startReplica(t *testing.T, h *harness, smtpAddr string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	host, port, _ := net.SplitHostPort(smtpAddr)
	p, _ := strconv.Atoi(port)
	pool, err := outbox.NewPool(outbox.SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 3, Timeout: 10 * time.Second, HELO: "sitrep.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	o := h.outbox
	replica := &outbox.Outbox{DB: db, Jobs: ins, Renderer: o.Renderer, Directory: o.Directory, Now: o.Now,
		Domain: o.Domain, From: o.From, ReplyPart: o.ReplyPart, Sender: pool, BatchSize: o.BatchSize,
		Lease: o.Lease, MaxAttempts: o.MaxAttempts, HelpFrom: o.HelpFrom}
	runWorker(t, db, replica, jobs.Config{})
}
