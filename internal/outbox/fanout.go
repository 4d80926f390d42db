package outbox

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// outcome is what the server answered to one SMTP transaction: one error
// per recipient (nil: accepted) and one for the whole transaction.
type outcome struct {
	token   string // the transaction's (closed when recorded)
	ranged  bool   // its row records the accepted recipients (transaction.ranged)
	rcpt    []claimed
	perRcpt []error
	err     error
	sent    bool // it went through a connection (and holds a token of fanOut.unrecorded)
}

// fanOut is one run of a message's deliveries. Its own goroutine claims
// rows (recording what the servers have answered in the same
// transaction) and keeps two claims' worth of SMTP transactions ready in
// a buffer, from which one goroutine per SMTP connection takes and sends.
// Answers are recorded as soon as the previous record is done: in this
// goroutine on SQLite (one writer), by a goroutine of their own on
// PostgreSQL. A connection waits for the database only when its
// transactions unrecorded reach two, or when no transaction is ready.
type fanOut struct {
	o         *Outbox
	messageID int64
	msg       *storedMessage
	batch     int  // recipients per SMTP transaction
	conc      int  // SMTP connections
	personal  bool // copies name their recipient: no sharing of a transaction
	bodies    map[string][]byte
	// share is this run's part in the message's fan-out (DeliverArgs.Share);
	// askedForHelp, whether it has queued the next (askForHelp).
	share        int
	askedForHelp bool

	ahead   []transaction // claimed and built, waiting for room in the connections' buffer
	pending []outcome     // answered by the server, not yet recorded
	// unrecorded holds a token for every transaction in flight or
	// answered and not yet recorded: 2 per connection. A kill -9 can
	// resend only those, so this is what bounds the duplicate copies
	// (docs/reliability.md).
	unrecorded chan struct{}

	// held are the SMTP transactions this run claimed and has not
	// recorded, by token: waiting in its buffer (a rate limit can keep
	// them there for minutes) or being sent. Their leases are renewed
	// (renewIfDue, keepLeases), so that only a worker that stopped loses
	// its transactions (releaseExpired, claim-due), never a live one
	// whose sends wait. A retry's transaction (not ranged) holds its rows'
	// ids: each of those rows carries its own lease (claim-due). The
	// PostgreSQL recorder records beside the loop: hence the lock.
	heldMu sync.Mutex
	held   map[string][]int64
	// renewedAt is when the leases held were last renewed (unix
	// nanoseconds; the run's start at first).
	renewedAt atomic.Int64
}

// hold notes transactions just claimed; unhold, those recorded (or
// given up). Not releaseExpired's "release": nothing goes again here.
func (f *fanOut) hold(txs []transaction) {
	f.heldMu.Lock()
	defer f.heldMu.Unlock()
	for _, t := range txs {
		var rows []int64
		if !t.ranged {
			rows = make([]int64, len(t.rcpt))
			for i, r := range t.rcpt {
				rows[i] = r.id
			}
		}
		f.held[t.token] = rows
	}
}

func (f *fanOut) unhold(batch []outcome) {
	f.heldMu.Lock()
	defer f.heldMu.Unlock()
	for _, oc := range batch {
		delete(f.held, oc.token)
	}
}

// renew extends the leases of the transactions this run holds, and of
// their retried rows, in tx.
func (f *fanOut) renew(ctx context.Context, tx *sql.Tx) error {
	f.heldMu.Lock()
	tokens := make([]string, 0, len(f.held))
	var rows []int64
	for token, ids := range f.held {
		tokens = append(tokens, token)
		rows = append(rows, ids...)
	}
	f.heldMu.Unlock()
	if len(tokens) == 0 {
		return nil
	}
	until := time.Now().UTC().Add(f.o.lease())
	if _, err := f.o.DB.In(tx).ExecContext(ctx, queries.SQL(f.o.DB, "renew-transactions"), until, f.messageID, f.o.tokenList(tokens)); err != nil {
		return fmt.Errorf("outbox: renew leases: %w", err)
	}
	if len(rows) > 0 {
		if _, err := f.o.DB.In(tx).ExecContext(ctx, queries.SQL(f.o.DB, "renew-deliveries"), until, f.o.idList(rows)); err != nil {
			return fmt.Errorf("outbox: renew leases: %w", err)
		}
	}
	return nil
}

// renewIfDue renews the leases this run holds, in tx, when the last
// renewal is a sixth of a lease old; it returns when it started, to be
// noted with noteRenewed once tx commits. Every lease held then was
// renewed or taken since the last renewal, so each has five sixths of a
// lease left: before this claims (and may release the transactions of a
// worker whose leases ran out), none of this run's own can have run out.
// Records and claims come every few milliseconds in a fan-out; renewing
// at each was a sixth of SQLite's database time (docs/benchmarks.md).
func (f *fanOut) renewIfDue(ctx context.Context, tx *sql.Tx) (time.Time, error) {
	if !f.renewDue() {
		return time.Time{}, nil
	}
	start := time.Now()
	return start, f.renew(ctx, tx)
}

// renewDue says whether the last renewal is a sixth of a lease old.
func (f *fanOut) renewDue() bool {
	return time.Since(time.Unix(0, f.renewedAt.Load())) >= f.o.lease()/6
}

// noteRenewed records a committed renewal that started at (zero: none).
func (f *fanOut) noteRenewed(at time.Time) {
	if at.IsZero() {
		return
	}
	for {
		old := f.renewedAt.Load()
		if at.UnixNano() <= old || f.renewedAt.CompareAndSwap(old, at.UnixNano()) {
			return
		}
	}
}

// keepLeases renews the leases of what this run holds every third of a
// lease, until stop. Records and claims renew them too when due, but a
// run whose transactions all wait (a rate limit of a few recipients a
// second, a slow server) may record nothing for longer than a lease;
// without this, another worker would take its transactions and send them
// again.
func (f *fanOut) keepLeases(ctx context.Context) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(f.o.lease() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			f.heldMu.Lock()
			idle := len(f.held) == 0
			f.heldMu.Unlock()
			if idle {
				continue
			}
			at := time.Now()
			if err := f.o.DB.InTx(ctx, func(tx *sql.Tx) error { return f.renew(ctx, tx) }); err != nil {
				f.o.logger().Warn("outbox: renewing leases failed; the next record or claim tries again", "message", f.messageID, "err", err)
				continue
			}
			f.noteRenewed(at)
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// deliver works a message's due deliveries. It stops after maxRounds
// claims (0: no limit) or when budget is spent (0: none) and returns the
// number claimed, or -1 when it stopped with work left.
func (o *Outbox) deliver(ctx context.Context, messageID int64, share int, budget time.Duration, maxRounds int) (int, error) {
	if err := o.DB.Prepare(ctx, o.fanOutQueries()...); err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	msg, err := o.loadMessage(ctx, messageID)
	if err != nil {
		return 0, err
	}
	if share > 0 {
		o.logger().Info("outbox: joining a large fan-out as one of its replicas", "message", messageID, "share", share, "recipients", msg.total)
	}
	f := &fanOut{o: o, messageID: messageID, msg: msg, share: share, batch: o.BatchSize, conc: max(1, o.Sender.Concurrency()),
		personal: compose.Personal(compose.Kind(msg.kind)), bodies: map[string][]byte{}, held: map[string][]int64{}}
	if f.batch <= 0 {
		f.batch = 50
	}
	f.unrecorded = make(chan struct{}, 2*f.conc)
	f.renewedAt.Store(time.Now().UnixNano()) // nothing is held yet
	if urgent(msg.audience) {
		ctx = withUrgent(ctx)
	}
	return f.run(ctx, budget, maxRounds)
}

func (f *fanOut) run(ctx context.Context, budget time.Duration, maxRounds int) (int, error) {
	start := time.Now()
	// Record with a context that outlives a cancelled job: the SMTP server
	// has answered; forgetting that would resend.
	recordCtx := context.WithoutCancel(ctx)
	defer f.keepLeases(recordCtx)()
	// The connections take their next transaction from this buffer
	// themselves: one that finishes while this goroutine is in the
	// database (a claim, a record on SQLite) goes on at once rather than
	// wait for it. f.ahead holds what does not fit.
	work := make(chan transaction, 2*f.conc)
	outcomes := make(chan outcome, 2*f.conc)
	var wg sync.WaitGroup
	for i := 0; i < f.conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.send(ctx, work, outcomes)
		}()
	}

	// On PostgreSQL the answered transactions are recorded by a goroutine
	// of their own, on another connection, while this one claims: the
	// two statements run side by side in the server. SQLite has one
	// writer, so there they take turns in this goroutine.
	var toRecord chan []outcome
	recordedCh := make(chan struct{})
	recording := false
	// stopRecorder waits for the recorder's last batch and ends it.
	stopRecorder := func() {
		if toRecord != nil {
			close(toRecord)
			<-recordedCh
			toRecord = nil
		}
	}
	if f.o.DB.Dialect == store.Postgres {
		toRecord = make(chan []outcome)
		go func() {
			defer close(recordedCh)
			for batch := range toRecord {
				f.record(recordCtx, batch)
				recordedCh <- struct{}{}
			}
		}()
		defer stopRecorder()
	}

	// inFlight: handed to the connections (in the buffer or being sent),
	// no outcome yet.
	total, rounds, inFlight := 0, 0, 0
	claiming, stoppedEarly, exhausted := true, false, false
	var claimErr error
	for {
		f.drain(outcomes, &inFlight)
		f.fill(work, &inFlight)
		if claiming && len(f.ahead)+len(work) < 2*f.conc {
			// Few transactions left ready: claim the next rows, recording
			// what has been answered in the same transaction.
			n, err := f.recordAndClaim(ctx, recordCtx)
			total += n
			rounds++
			if maxRounds == 0 {
				f.askForHelp(ctx, n, f.claimSize())
			}
			switch {
			case err != nil:
				claimErr, claiming = err, false
			case n == 0:
				claiming, exhausted = false, true
			case maxRounds > 0 && rounds >= maxRounds:
				claiming = false
			case budget > 0 && time.Since(start) > budget:
				claiming, stoppedEarly = false, true
			}
			continue
		}
		// Record what has been answered as soon as the last record is
		// done: the connections wait on it once each has two
		// transactions unrecorded, and what comes in meanwhile is
		// recorded together next.
		if !recording && len(f.pending) > 0 {
			batch := f.pending
			f.pending = nil
			if toRecord == nil {
				f.record(recordCtx, batch)
				continue
			}
			toRecord <- batch
			recording = true
			continue
		}
		if !claiming && len(f.ahead) == 0 && inFlight == 0 && len(f.pending) == 0 && !recording {
			break
		}
		// The buffer is full when f.ahead is not empty: wait for room.
		var next chan<- transaction
		var first transaction
		if len(f.ahead) > 0 {
			next, first = work, f.ahead[0]
		}
		select {
		case next <- first:
			f.ahead = f.ahead[1:]
			inFlight++
		case oc := <-outcomes:
			f.take(oc)
			inFlight--
		case <-recordedCh:
			recording = false
		}
	}
	close(work)
	wg.Wait()
	if claimErr != nil {
		return total, claimErr
	}
	if exhausted {
		// Nothing was due any more. Once every answer is recorded (the
		// PostgreSQL recorder is waited for first), the message may be
		// settled: none of its deliveries left to change.
		stopRecorder()
		f.o.settle(recordCtx, f.messageID)
	}
	if stoppedEarly {
		return -1, nil
	}
	return total, nil
}

// send is one connection's loop: it takes a token before each
// transaction, so that no more than two per connection are unrecorded.
func (f *fanOut) send(ctx context.Context, work <-chan transaction, outcomes chan<- outcome) {
	for {
		f.unrecorded <- struct{}{}
		tx, ok := <-work
		if !ok {
			<-f.unrecorded
			return
		}
		to := make([]string, len(tx.rcpt))
		for i, r := range tx.rcpt {
			to[i] = r.email
		}
		perRcpt, err := f.o.Sender.Send(ctx, f.o.bounceAddress(f.messageID, tx.token), to, tx.body)
		outcomes <- outcome{token: tx.token, ranged: tx.ranged, rcpt: tx.rcpt, perRcpt: perRcpt, err: err, sent: true}
	}
}

// fill moves ready transactions into the connections' buffer while it
// has room.
func (f *fanOut) fill(work chan<- transaction, inFlight *int) {
	for len(f.ahead) > 0 {
		select {
		case work <- f.ahead[0]:
			f.ahead = f.ahead[1:]
			*inFlight++
		default:
			return
		}
	}
}

// take adds an outcome to those waiting to be recorded.
func (f *fanOut) take(oc outcome) {
	f.pending = append(f.pending, oc)
}

// drain takes every outcome already waiting, so that one database
// transaction records as many as are there.
func (f *fanOut) drain(outcomes <-chan outcome, inFlight *int) {
	for {
		select {
		case oc := <-outcomes:
			f.take(oc)
			*inFlight--
		default:
			return
		}
	}
}

// recordAndClaim records the pending outcomes and claims the next rows in
// one transaction, then builds the claimed rows into transactions. A
// failed claim must not lose the outcomes: they are then recorded alone.
func (f *fanOut) recordAndClaim(ctx, recordCtx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	var rows []claimed
	var txs []transaction
	var rec recorded
	var renewed time.Time
	batch := f.pending
	f.pending = nil
	err := f.o.DB.InTx(recordCtx, func(tx *sql.Tx) error {
		var err error
		if rec, err = f.o.recordOutcomes(recordCtx, tx, f.messageID, batch); err != nil {
			return err
		}
		if renewed, err = f.renewIfDue(ctx, tx); err != nil {
			return err
		}
		if rows, err = f.o.claim(ctx, tx, f.messageID, f.claimSize()); err != nil {
			return err
		}
		// Each transaction's envelope sender is written with the claim,
		// before anything is sent (see BounceTag).
		txs = f.group(rows)
		return f.o.recordTransactions(ctx, tx, f.messageID, txs)
	})
	if err != nil {
		f.record(recordCtx, batch)
		return 0, err
	}
	f.noteRenewed(renewed)
	f.unhold(batch)
	f.recorded(rec)
	f.hold(txs)
	f.plan(txs)
	return len(rows), nil
}

// claimSize is the rows a claim takes: two transactions per connection.
func (f *fanOut) claimSize() int { return f.batch * f.conc * 2 }

// record writes the pending outcomes in a transaction of their own. The
// SMTP server has these: if the database is away, keep trying rather than
// forget them (forgotten, they would be sent again when their lease
// lapses); give up only after the lease would have handed them to another
// worker anyway.
func (f *fanOut) record(ctx context.Context, batch []outcome) {
	wait, deadline := 100*time.Millisecond, time.Now().Add(f.o.lease())
	for {
		var rec recorded
		var renewed time.Time
		var err error
		if accepted, sent := acceptedWhole(batch); accepted != nil && !f.renewDue() {
			rec, err = f.recordAccepted(ctx, accepted, sent, sentCount(batch))
		} else {
			err = f.o.DB.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				if rec, err = f.o.recordOutcomes(ctx, tx, f.messageID, batch); err != nil {
					return err
				}
				renewed, err = f.renewIfDue(ctx, tx) // the batch's own are closed by now
				return err
			})
		}
		if err == nil {
			f.noteRenewed(renewed)
			f.unhold(batch)
			f.recorded(rec)
			return
		}
		if time.Now().After(deadline) {
			f.o.logger().Error("outbox: cannot record deliveries; the accepted ones will be sent again with the same Message-ID",
				"message", f.messageID, "err", err, "transactions", len(batch))
			f.unhold(batch) // no longer renewed: their leases run out and they go again
			f.recorded(recorded{transactions: sentCount(batch)})
			return
		}
		f.o.logger().Warn("outbox: recording deliveries failed; retrying", "message", f.messageID, "err", err, "transactions", len(batch))
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// acceptedWhole returns, by token, the recipients of the transactions in
// batch when each of them holds a range (ranged) and the server accepted
// it whole, with their number; nil otherwise. That is nearly every record
// of a fan-out, and it is one statement (recordAccepted).
func acceptedWhole(batch []outcome) (map[string][]int64, int) {
	accepted := make(map[string][]int64, len(batch))
	n := 0
	for _, oc := range batch {
		if !oc.ranged || oc.err != nil {
			return nil, 0
		}
		ids := make([]int64, len(oc.rcpt))
		for i, r := range oc.rcpt {
			if i < len(oc.perRcpt) && oc.perRcpt[i] != nil {
				return nil, 0
			}
			ids[i] = r.id
		}
		accepted[oc.token], n = ids, n+len(ids)
	}
	return accepted, n
}

// recordAccepted records transactions accepted whole (acceptedWhole) by
// closing their rows, in one statement that commits by itself: on
// PostgreSQL one round trip instead of three. The recorder's round trips
// are what the connections wait for once each has two transactions
// unrecorded. A transaction released meanwhile (late) has its recipients
// recorded on their own rows next; a crash between the two only leaves
// those to be sent again, as if the answer had never come.
func (f *fanOut) recordAccepted(ctx context.Context, accepted map[string][]int64, sent, transactions int) (recorded, error) {
	now := f.o.now()
	err := f.o.DB.Autocommit(ctx, func(q store.Querier) error {
		late, err := f.o.acceptTransactions(ctx, q, f.messageID, now, accepted)
		if err != nil || len(late) == 0 {
			return err
		}
		if _, err := q.ExecContext(ctx, queries.SQL(f.o.DB, "mark-sent"), now, f.o.idList(late)); err != nil {
			return fmt.Errorf("outbox: record sent deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return recorded{}, err
	}
	return recorded{transactions: transactions, sent: sent}, nil
}

// recorded lets the senders go on once outcomes are durable, and says so.
// The recorder goroutine calls it too: it touches nothing of the loop's.
func (f *fanOut) recorded(rec recorded) {
	for range rec.transactions {
		<-f.unrecorded
	}
	f.o.Metrics.sent(rec.sent)
	for _, r := range rec.refused {
		f.o.logger().Warn("delivery not accepted", "delivery", r.id, "state", r.state, "attempt", r.attempts, "err", r.reason)
	}
}

// group splits claimed rows into SMTP transactions of up to f.batch
// recipients whose copies render the same (same zone and group, name for
// personal kinds, and not a follower's own copy). Each transaction gets
// its own bounce token.
//
// The rows handed out from the cursor come first, in id order. They were
// queued in sendingOrder, so each run of rows that render the same makes
// whole transactions, and each such transaction holds a contiguous range
// of the message's queued rows: its row records them all (ranged). Rows
// claimed one by one (retries) follow, shared by rendering whatever their
// order, and are recorded row by row.
func (f *fanOut) group(rows []claimed) []transaction {
	var txs []transaction
	n := 0
	for n < len(rows) && rows[n].fromCursor {
		n++
	}
	for s := 0; s < n; {
		key, e := f.renderKey(rows[s]), s+1
		for e < n && e-s < f.batch && f.renderKey(rows[e]) == key {
			e++
		}
		txs = append(txs, transaction{key: key, token: newBounceToken(), rcpt: rows[s:e:e], ranged: true})
		s = e
	}
	byKey := map[string][]claimed{}
	var order []string
	for _, r := range rows[n:] {
		key := f.renderKey(r)
		if _, ok := byKey[key]; !ok {
			order = append(order, key)
		}
		byKey[key] = append(byKey[key], r)
	}
	for _, key := range order {
		group := byKey[key]
		for s := 0; s < len(group); s += f.batch {
			txs = append(txs, transaction{key: key, token: newBounceToken(), rcpt: group[s:min(s+f.batch, len(group))]})
		}
	}
	return txs
}

// renderKey says which rendering a row's copy is: rows with the same key
// can share one SMTP transaction.
func (f *fanOut) renderKey(r claimed) string {
	key := r.zone + "\x00" + r.group + "\x00" + r.lang
	if f.personal {
		key += "\x00" + r.name
	}
	if r.unsubscribe != "" {
		// A follower's copy carries their own unsubscribe link.
		key += "\x00" + r.unsubscribe
	}
	return key
}

// sendingOrder is the order in which a message's recipients are queued:
// by what group() shares a transaction on (group, zone, language). A claim
// takes rows in id order; in this order it fills whole transactions
// rather than leaving a part-filled one for every rendering at each
// claim's edge (250 transactions for 10,000 recipients in five zones,
// against 200), and each transaction costs the SMTP server a queue file.
func sendingOrder(a, b directory.Recipient) int {
	return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.TimeZone, b.TimeZone), strings.Compare(a.Language, b.Language))
}

// plan builds the transactions' bodies, once per rendering, and queues
// them for the connections.
func (f *fanOut) plan(txs []transaction) {
	broken := map[string]error{}
	for _, t := range txs {
		body, ok := f.bodies[t.key]
		if !ok {
			err, failed := broken[t.key]
			if !failed {
				if body, err = f.o.build(f.msg, t.rcpt[0]); err != nil {
					broken[t.key] = err
				} else {
					f.bodies[t.key] = body
				}
			}
			if err != nil {
				// A message that cannot be built will not build on retry
				// either; these rows never reach a connection.
				f.pending = append(f.pending, outcome{token: t.token, rcpt: t.rcpt, err: fmt.Errorf("%w: %v", errPermanentBuild, err)})
				continue
			}
		}
		t.body = body
		f.ahead = append(f.ahead, t)
	}
}

// recorded is what recordOutcomes wrote.
type recorded struct {
	transactions int // of them through a connection
	sent         int
	refused      []refusal
}

type refusal struct {
	id       int64
	state    string
	attempts int
	reason   string
}

// recordOutcomes writes the outcomes in tx: the accepted recipients as
// sent, by their transaction's row when it holds a range of them
// (accept-transactions: a row a transaction, not a row a recipient) and
// by their own rows otherwise, each in one statement of fixed shape; the
// refused ones deferred (4xx, network) with a backoff, or failed (5xx,
// retries spent) with the reason; and every SMTP transaction closed.
func (o *Outbox) recordOutcomes(ctx context.Context, tx *sql.Tx, messageID int64, outcomes []outcome) (recorded, error) {
	rec := recorded{transactions: sentCount(outcomes)}
	now := o.now()
	maxAttempts := o.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 10
	}
	var sent []int64
	var closed []string
	// accepted: the ranged transactions the server accepted, with the
	// rows it accepted (recorded one by one if the transaction was
	// released meanwhile).
	accepted := map[string][]int64{}
	for _, oc := range outcomes {
		var ok []int64
		for i, r := range oc.rcpt {
			err := oc.err
			if i < len(oc.perRcpt) && oc.perRcpt[i] != nil {
				err = oc.perRcpt[i]
			}
			if err == nil {
				ok = append(ok, r.id)
				continue
			}
			state, next := StateDeferred, sql.NullTime{Time: now.Add(backoff(r.attempts)), Valid: true}
			if Permanent(err) || r.attempts >= maxAttempts {
				state, next = StateFailed, sql.NullTime{}
			}
			reason := err.Error()
			if len(reason) > 500 {
				reason = reason[:500]
			}
			res, err := o.DB.In(tx).ExecContext(ctx, queries.Get("record-delivery-outcome"), state, next, reason, r.id, now, r.attempts)
			if err != nil {
				return rec, fmt.Errorf("outbox: record refused delivery %d: %w", r.id, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return rec, fmt.Errorf("outbox: record refused delivery %d: %w", r.id, err)
			} else if n == 0 {
				// Not this try's any more: its lease ran out and another
				// worker took the recipient over (record-delivery-outcome).
				continue
			}
			rec.refused = append(rec.refused, refusal{id: r.id, state: state, attempts: r.attempts, reason: reason})
		}
		rec.sent += len(ok)
		if oc.ranged && len(ok) > 0 {
			accepted[oc.token] = ok
		} else {
			sent = append(sent, ok...)
			closed = append(closed, oc.token)
		}
	}
	if len(accepted) > 0 {
		late, err := o.acceptTransactions(ctx, o.DB.In(tx), messageID, now, accepted)
		if err != nil {
			return rec, err
		}
		sent = append(sent, late...)
	}
	if len(sent) > 0 {
		if _, err := o.DB.In(tx).ExecContext(ctx, queries.SQL(o.DB, "mark-sent"), now, o.idList(sent)); err != nil {
			return rec, fmt.Errorf("outbox: record sent deliveries: %w", err)
		}
	}
	if len(closed) > 0 {
		if err := o.closeTransactions(ctx, tx, messageID, closed); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// acceptTransactions closes the accepted ranged transactions that are
// still open, recording their recipients sent, and returns the accepted
// rows of those that were not: their lease ran out and they were released
// (a worker cut off from the database longer than the lease). Their
// answer still holds: recorded row by row, their recipients are not sent
// again unless a retry has already claimed them.
func (o *Outbox) acceptTransactions(ctx context.Context, q store.Querier, messageID int64, now time.Time, accepted map[string][]int64) ([]int64, error) {
	tokens := make([]string, 0, len(accepted))
	for token := range accepted {
		tokens = append(tokens, token)
	}
	rows, err := q.QueryContext(ctx, queries.SQL(o.DB, "accept-transactions"), now, messageID, o.tokenList(tokens))
	if err != nil {
		return nil, fmt.Errorf("outbox: record accepted transactions: %w", err)
	}
	defer rows.Close()
	open := make(map[string]bool, len(tokens))
	for rows.Next() {
		var token string
		if err := rows.Scan(&token); err != nil {
			return nil, fmt.Errorf("outbox: record accepted transactions: %w", err)
		}
		open[token] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: record accepted transactions: %w", err)
	}
	var late []int64
	for token, ids := range accepted {
		if !open[token] {
			late = append(late, ids...)
		}
	}
	return late, nil
}

func sentCount(outcomes []outcome) int {
	n := 0
	for _, oc := range outcomes {
		if oc.sent {
			n++
		}
	}
	return n
}

// fanOutQueries are the statements a fan-out runs at every claim and
// record, kept prepared (store.DB.Prepare) and run through DB.In.
func (o *Outbox) fanOutQueries() []string {
	names := []string{"claim-cursor", "claim-queued", "claim-due", "advance-cursor", "expired-transactions",
		"record-delivery-outcome", "accept-transactions", "mark-sent", "close-transactions",
		"renew-transactions", "renew-deliveries"}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = queries.SQL(o.DB, n)
	}
	return out
}

// idList passes ids as one parameter: a bigint array on PostgreSQL, a
// JSON array (json_each) on SQLite.
func (o *Outbox) idList(ids []int64) any {
	if o.DB.Dialect == store.Postgres {
		return ids
	}
	return jsonIDs(ids)
}

// tokenList passes transaction tokens as one parameter: a text array on
// PostgreSQL, a JSON array (json_each) on SQLite.
func (o *Outbox) tokenList(tokens []string) any {
	if o.DB.Dialect == store.Postgres {
		return tokens
	}
	b, _ := json.Marshal(tokens) // strings always marshal
	return string(b)
}

func jsonIDs(ids []int64) string {
	var sb strings.Builder
	sb.Grow(len(ids) * 8)
	sb.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	sb.WriteByte(']')
	return sb.String()
}
