package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// A transaction handed out from the cursor records its accepted
// recipients by its own row (migration 00034): readers must still see
// each recipient as before (sent, when, after how many tries), a refused
// one as refused, and a later bounce on one of them with both times. Two
// updates in the thread: one message's ranges must not answer for the
// other's rows.
func TestRecipientsRecordedByTheirTransactionReadAsSent(t *testing.T) {
	t.Parallel()
	f, h, inc, people := sevenWithOneRefused(t)
	ctx := context.Background()

	var msgs []int64
	for _, status := range []string{"Investigating.", "Mitigating."} {
		res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: status, Groups: []string{"everyone"}})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, res.Message.ID)
		drain(t, h, 1)
	}
	for _, id := range msgs {
		m, err := h.outbox.Message(ctx, inc.ID, inc.Ref, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Counts[outbox.StateSent] != 6 || m.Counts[outbox.StateFailed] != 1 || len(m.Counts) != 2 {
			t.Fatalf("message %d: want 6 sent and 1 failed, got %v", id, m.Counts)
		}
		list, _, err := h.outbox.Deliveries(ctx, id, outbox.DeliveryPage{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range list {
			if d.Attempts != 1 {
				t.Errorf("message %d, %s: %d attempts, want 1", id, d.Email, d.Attempts)
			}
			if (d.SentAt != nil) != (d.Email != "pb@example.test") {
				t.Errorf("message %d, %s (%s): sent at %v", id, d.Email, d.State, d.SentAt)
			}
		}
		// What makes it cheap: the accepted recipients' rows were written
		// once, when queued, and never again.
		var rewritten int
		if err := h.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND state <> 'queued' AND email <> 'pb@example.test'`, id).Scan(&rewritten); err != nil {
			t.Fatal(err)
		}
		if rewritten != 0 {
			t.Errorf("message %d: %d accepted recipients' rows were rewritten; their transaction records them", id, rewritten)
		}
	}

	// A bounce comes back for pd's copy of the first update, to the
	// envelope sender of the transaction that carried it.
	var plus string
	f.mu.Lock()
	txs := f.txs
	f.mu.Unlock()
	for _, tx := range txs {
		for _, r := range tx.rcpt {
			if r == "pd@example.test" && plus == "" {
				plus = tx.from[strings.Index(tx.from, "+")+1 : strings.Index(tx.from, "@")]
			}
		}
	}
	d, err := outbox.VerifyBounce(ctx, h.db, plus, "pd@example.test")
	if err != nil || d.MessageID != msgs[0] {
		t.Fatalf("bounce for %q: %+v, %v", plus, d, err)
	}
	if err := outbox.FailBounced(ctx, h.db, d, "550 mailbox full", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = h.outbox.Audit(ctx, inc.ID, func(m outbox.AuditMessage, rs []outbox.AuditRecipient) error {
		for _, r := range rs {
			if r.Email != "pd@example.test" {
				continue
			}
			seen++
			bounced := m.ID == msgs[0]
			if bounced && (r.State != outbox.StateBounced || r.SentAt == nil || r.BouncedAt == nil || r.Attempts != 1) {
				t.Errorf("the bounced copy reads %s, sent %v, bounced %v, %d attempts: want bounced with both times and 1 attempt", r.State, r.SentAt, r.BouncedAt, r.Attempts)
			}
			if !bounced && (r.State != outbox.StateSent || r.SentAt == nil) {
				t.Errorf("the second update's copy to pd reads %s, sent %v: the first's bounce must not touch it", r.State, r.SentAt)
			}
		}
		return nil
	})
	if err != nil || seen != 2 {
		t.Fatalf("audit: pd seen %d times, %v", seen, err)
	}
	for _, p := range people {
		want := 2
		if p == "pb" {
			want = 0
		}
		if got := f.copies(p + "@example.test"); len(got) != want {
			t.Errorf("%s received %d copies, want %d", p, len(got), want)
		}
	}
}

// A live worker whose transactions wait for the rate limit longer than
// the lease keeps them: the lease is for a worker that stopped. Here a
// second worker claims from the same message every 200 ms (as a job the
// sweep queued after a database outage, or a replica's, would): before
// each record renewed the first worker's leases, its claims near the end
// of the message released the transactions still waiting in the first
// worker's buffer and sent them again.
func TestTransactionsWaitingForTheRateLimitAreNotSentTwice(t *testing.T) {
	t.Parallel()
	sendBesideASecondWorker(t, behindTheLimit)
}

// At a rate limit of one recipient a second, no transaction is answered
// for longer than a lease (3 transactions of 3 share the connections:
// about 7 s before the first answer, against a 3 s lease), so no record
// renews the leases: the worker renews them on a timer of its own, a
// third of a lease.
func TestTransactionsWaitingLongerThanALeaseForAnAnswerAreNotSentTwice(t *testing.T) {
	t.Parallel()
	sendBesideASecondWorker(t, paced{n: 9, rate: 1, lease: 3 * time.Second})
}

// Retries are claimed row by row (claim-due), each row carrying its own
// lease: a live worker must renew those too while its transactions wait
// behind the rate limit, or a second worker takes the rows whose lease
// ran out and sends them again. Every recipient is refused with 451
// once, then the retries go at 10 a second with a 3 s lease while a
// second worker claims from the message every 200 ms.
func TestRetriesWaitingForTheRateLimitAreNotSentTwice(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	busy := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	h, inc, msg, people := rateLimitedUpdate(t, f, behindTheLimit, func(people []string) {
		for _, p := range people {
			f.setReply(p+"@example.test", busy)
		}
	})
	waitAll(t, h, inc, msg, outbox.StateDeferred, len(people), time.Minute)
	for _, p := range people {
		f.setReply(p+"@example.test", nil)
	}
	h.clock.Add(31 * time.Minute) // the retries are due
	if err := h.outbox.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := secondWorker(t, h, msg)
	waitAll(t, h, inc, msg, outbox.StateSent, len(people), time.Minute)
	stop()
	eachOnce(t, f, people)
}

// A worker claims in one database transaction while its recorder closes
// answered SMTP transactions in another, both renewing the leases of what
// the worker holds: on PostgreSQL the two once waited for each other's
// rows, and PostgreSQL broke each such deadlock after deadlock_timeout
// (1 s) by failing one side; a 10,000 fan-out took 3.5 s instead of 0.3
// and 3,000 stalled for a minute. Every recipient still got one copy, so
// the database's count of deadlocks is what shows it: 3,000 recipients,
// none. SQLite has one writer and nothing to deadlock: there the fan-out
// is smaller (the race detector makes it slow) and only exactly-once is
// checked.
func TestClaimsAndRecordsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	n := 500
	if testenv.DatabaseKind() == "postgres" {
		n = 3000
	}
	var people []string
	for i := range n {
		people = append(people, fmt.Sprintf("p%04d", i))
	}
	org := orgYAML("example.test", append(people, "vp", "lead", "backup"), nil, map[string][]string{"everyone": people}, nil)
	h := newHarness(t, f.addr, org, true)
	inc := h.declare(t)
	ctx := context.Background()
	deadlocks := func() int64 {
		t.Helper()
		if h.db.Dialect != store.Postgres {
			return 0
		}
		var n int64
		if _, err := h.db.ExecContext(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			t.Fatal(err)
		}
		if err := h.db.QueryRowContext(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if d := deadlocks(); d > 0 {
			t.Fatalf("PostgreSQL broke %d deadlocks during the fan-out", d)
		}
		m, err := h.outbox.Message(ctx, inc.ID, inc.Ref, res.Message.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Counts[outbox.StateSent] == len(people) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all sent: %v", m.Counts)
		}
	}
	eachOnce(t, f, people)
	if h.db.Dialect != store.Postgres {
		return
	}
	// A backend reports its counts when it goes idle, within a second
	// (PostgreSQL 15's idle stats flush); the database is this test's own.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if d := deadlocks(); d > 0 {
			t.Fatalf("PostgreSQL broke %d deadlocks during the fan-out", d)
		}
	}
}

// sendBesideASecondWorker sends an update as p says while a second
// worker claims from it, and checks that everyone got one copy.
func sendBesideASecondWorker(t *testing.T, p paced) {
	t.Helper()
	f := startFaulty(t)
	h, inc, msg, people := rateLimitedUpdate(t, f, p, nil)
	stop := secondWorker(t, h, msg)
	waitAll(t, h, inc, msg, outbox.StateSent, len(people), time.Minute)
	stop()
	eachOnce(t, f, people)
}

// secondWorker claims from the message every 200 ms, as a job the sweep
// queued after a database outage, or a replica's, would, until stop.
func secondWorker(t *testing.T, h *harness, messageID int64) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	second := make(chan error, 1)
	go func() {
		for {
			select {
			case <-done:
				second <- nil
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := h.outbox.DeliverBatch(context.Background(), messageID); err != nil {
				second <- err
				return
			}
		}
	}()
	return func() {
		t.Helper()
		close(done)
		if err := <-second; err != nil {
			t.Fatal(err)
		}
	}
}

// waitAll waits until n of the message's deliveries are in state.
func waitAll(t *testing.T, h *harness, inc *incident.Incident, messageID int64, state string, n int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(250 * time.Millisecond) {
		m, err := h.outbox.Message(context.Background(), inc.ID, inc.Ref, messageID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Counts[state] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all %s: %v", state, m.Counts)
		}
	}
}

// eachOnce checks that every person received exactly one copy, once a
// second copy on its way would have arrived.
func eachOnce(t *testing.T, f *faultyServer, people []string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	twice := 0
	for _, p := range people {
		if got := f.copies(p + "@example.test"); len(got) != 1 {
			twice++
			if len(got) == 0 {
				t.Errorf("%s received nothing", p)
			}
		}
	}
	if twice > 0 {
		t.Errorf("%d of %d recipients received their copy more than once", twice, len(people))
	}
}

// paced is how rateLimitedUpdate sends: to n people at rate recipients a
// second, with a lease.
type paced struct {
	n     int
	rate  float64
	lease time.Duration
}

// behindTheLimit sends to 100 people at 10 recipients a second with a 3 s
// lease: 10 s of sending, while a worker keeps 6 transactions of 3 claimed
// ahead and 3 at its connections (2.7 s at that rate, 5 s or more with the
// second worker's share), longer than the lease. (With a lease of 1 s, a
// CI machine running every package under the race detector stalled a
// live worker for longer than that and lost its leases.)
var behindTheLimit = paced{n: 100, rate: 10, lease: 3 * time.Second}

// rateLimitedUpdate sends an update as p says. before runs before the
// update is sent.
func rateLimitedUpdate(t *testing.T, f *faultyServer, p paced, before func(people []string)) (*harness, *incident.Incident, int64, []string) {
	t.Helper()
	var people []string
	for i := range p.n {
		people = append(people, fmt.Sprintf("p%03d", i))
	}
	if before != nil {
		before(people)
	}
	org := orgYAML("example.test", append(people, "vp", "lead", "backup"), nil, map[string][]string{"everyone": people}, nil)
	h := newHarness(t, f.addr, org, true, func(c *outbox.SMTPConfig) { c.RatePerSecond = p.rate })
	h.outbox.Lease = p.lease
	inc := h.declare(t)
	res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	return h, inc, res.Message.ID, people
}
