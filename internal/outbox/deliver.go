package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Sender hands one message to an SMTP server for some recipients.
type Sender interface {
	// Send returns one error per recipient (nil: accepted) and an error for
	// the whole transaction, which applies to every recipient not already
	// refused. Errors carrying an SMTP code say temporary (4xx) or
	// permanent (5xx); anything else (network) counts as temporary.
	Send(ctx context.Context, from string, to []string, msg []byte) (perRcpt []error, err error)
	// Concurrency is how many Sends may run at once.
	Concurrency() int
}

// SMTPError is a reply from the server.
type SMTPError struct {
	Code int
	Msg  string
}

func (e *SMTPError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Msg) }

// Permanent reports whether retrying cannot help (RFC 5321 4.2.1: 5yz).
func Permanent(err error) bool {
	var se *SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// DeliverArgs is the job that works one message's deliveries.
type DeliverArgs struct {
	MessageID int64 `json:"message_id"`
}

func (DeliverArgs) Kind() string { return "outbox_deliver" }

// DeliverWorker works DeliverArgs jobs.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	Outbox *Outbox
}

// Timeout: the worker bounds itself (budget below) and comes back.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return -1 }

// deliverBudget is how long one job run works before it snoozes and lets
// other messages have the workers; the rows it leaves are still queued.
const deliverBudget = 90 * time.Second

func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	n, err := w.Outbox.deliver(ctx, job.Args.MessageID, deliverBudget, 0)
	if err != nil {
		return err
	}
	if n < 0 { // budget spent with work left: come back after other jobs had a turn
		return river.JobSnooze(time.Millisecond)
	}
	return nil
}

type claimed struct {
	id                       int64
	email, name, zone, group string
	attempts                 int
}

// storedMessage is what a worker needs of the message row.
type storedMessage struct {
	id                                          int64
	incidentID                                  int64
	kind, audience, messageID, inReplyTo, index string
	subject, toDisplay, snapshot                string
	refs                                        []string
	createdAt                                   time.Time
	replyTo, listID                             string
	groups                                      []string
	ics, icsMethod                              string
}

// DeliverBatch claims one round of a message's due deliveries (a batch per
// connection), sends them and records each outcome. It returns how many it
// claimed (0: nothing left to do now). Tests drive delivery with it.
func (o *Outbox) DeliverBatch(ctx context.Context, messageID int64) (int, error) {
	return o.deliver(ctx, messageID, 0, 1)
}

// transaction is one SMTP transaction's worth: one body, its recipients.
type transaction struct {
	body []byte
	rcpt []claimed
}

// deliver works a message's due deliveries: one goroutine claims and
// builds while one per SMTP connection sends and records, so that the
// connections never wait for the database. It stops after maxRounds claims
// (0: no limit) or when budget is spent (0: none) and returns the number
// claimed, or -1 when it stopped with work left.
func (o *Outbox) deliver(ctx context.Context, messageID int64, budget time.Duration, maxRounds int) (int, error) {
	batch := o.BatchSize
	if batch <= 0 {
		batch = 50
	}
	conc := max(1, o.Sender.Concurrency())
	start := time.Now()
	msg, err := o.loadMessage(ctx, messageID)
	if err != nil {
		return 0, err
	}
	isPersonal := personal(compose.Kind(msg.kind))
	from := o.envelopeFrom()
	bodies := map[string][]byte{} // render key → message bytes, built once per run

	// Record with a context that outlives a cancelled job: the SMTP server
	// has answered; forgetting that would resend.
	recordCtx := context.WithoutCancel(ctx)
	accepted := make(chan []int64, conc) // back-pressure: at most a batch per connection waits
	recorded := make(chan struct{})
	go func() {
		// One writer gathers accepted recipients into few statements;
		// until written they are "sending", so a crash resends (with the
		// same Message-ID) at most what waits here.
		defer close(recorded)
		var pending []int64
		for ids := range accepted {
			pending = append(pending, ids...)
			// At most one batch per connection waits: that bounds what a
			// crash can resend to twice the transactions in flight.
			if len(pending) >= batch*conc || len(accepted) == 0 {
				o.markSent(recordCtx, pending)
				pending = pending[:0]
			}
		}
		o.markSent(recordCtx, pending)
	}()
	work := make(chan transaction, conc)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tx := range work {
				to := make([]string, len(tx.rcpt))
				for i, r := range tx.rcpt {
					to[i] = r.email
				}
				perRcpt, err := o.Sender.Send(ctx, from, to, tx.body)
				accepted <- o.recordFailures(recordCtx, tx.rcpt, perRcpt, err)
			}
		}()
	}
	total, rounds, stoppedEarly := 0, 0, false
	var claimErr error
	for {
		rows, err := o.claim(ctx, messageID, batch*conc*2)
		if err != nil {
			claimErr = err
			break
		}
		if len(rows) == 0 {
			break
		}
		total += len(rows)
		rounds++
		// Copies that render the same (same zone and group, and name for
		// personal kinds) share SMTP transactions.
		byKey := map[string][]claimed{}
		var order []string
		for _, r := range rows {
			key := r.zone + "\x00" + r.group
			if isPersonal {
				key += "\x00" + r.name
			}
			if _, ok := byKey[key]; !ok {
				order = append(order, key)
			}
			byKey[key] = append(byKey[key], r)
		}
		for _, key := range order {
			group := byKey[key]
			body, ok := bodies[key]
			if !ok {
				if body, err = o.build(msg, group[0]); err != nil {
					// A message that cannot be built will not build on retry either.
					o.record(ctx, group, nil, fmt.Errorf("%w: %v", errPermanentBuild, err))
					continue
				}
				bodies[key] = body
			}
			for s := 0; s < len(group); s += batch {
				work <- transaction{body: body, rcpt: group[s:min(s+batch, len(group))]}
			}
		}
		if maxRounds > 0 && rounds >= maxRounds {
			break
		}
		if budget > 0 && time.Since(start) > budget {
			stoppedEarly = true
			break
		}
	}
	close(work)
	wg.Wait()
	close(accepted)
	<-recorded
	if claimErr != nil {
		return total, claimErr
	}
	if stoppedEarly {
		return -1, nil
	}
	return total, nil
}

var errPermanentBuild = &SMTPError{Code: 554, Msg: "message could not be built"}

func (o *Outbox) envelopeFrom() string {
	_, addr := o.fromAddress()
	return addr
}

// claim reserves due deliveries of a message for this worker until the
// lease ends: queued ones first (an index range), then the deferred ones
// whose retry time has come and the claimed ones whose lease ran out. On
// PostgreSQL SKIP LOCKED lets replicas claim side by side; SQLite has one
// writer.
func (o *Outbox) claim(ctx context.Context, messageID int64, limit int) ([]claimed, error) {
	now := o.now()
	// Leases are about whether a worker is alive: wall-clock time, even
	// when tests move the business clock (retry times, promises).
	wall := time.Now().UTC()
	lease := o.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	lock := ""
	if o.DB.Dialect == store.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []claimed
	// The first pass takes queued rows (an index range); the second, the
	// deferred ones whose retry time has come and the claimed ones whose
	// lease ran out.
	for pass := 0; pass < 2 && len(out) < limit; pass++ {
		due, args := `state = 'queued'`, []any{wall.Add(lease), messageID, limit - len(out)}
		if pass == 1 {
			due = `((state = 'deferred' AND next_attempt_at <= $4) OR (state = 'sending' AND lease_until < $5))`
			args = append(args, now, wall)
		}
		rows, err := o.DB.QueryContext(ctx, `UPDATE deliveries SET state = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT id FROM deliveries WHERE message_id = $2 AND `+due+` ORDER BY id LIMIT $3`+lock+`)
RETURNING id, email, name, time_zone, via_group, attempts`, args...)
		if err != nil {
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.id, &c.email, &c.name, &c.zone, &c.group, &c.attempts); err != nil {
				rows.Close()
				return nil, fmt.Errorf("outbox: claim: %w", err)
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
	}
	if len(out) > 0 {
		if _, err := o.DB.ExecContext(ctx, `UPDATE messages SET last_activity_at = $1 WHERE id = $2`, now, messageID); err != nil {
			return nil, fmt.Errorf("outbox: activity: %w", err)
		}
	}
	return out, nil
}

func (o *Outbox) loadMessage(ctx context.Context, id int64) (*storedMessage, error) {
	m := &storedMessage{id: id}
	var refs, groups string
	var token, ref string
	var incID int64
	err := o.DB.QueryRowContext(ctx, `SELECT m.incident_id, m.kind, m.audience, m.message_id, m.in_reply_to, m.refs, m.thread_index,
    m.subject, m.to_display, m.render_data, m.created_at, m.groups, i.reply_token, m.ics, m.ics_method
FROM messages m JOIN incidents i ON i.id = m.incident_id WHERE m.id = $1`, id).Scan(&incID, &m.kind, &m.audience, &m.messageID,
		&m.inReplyTo, &refs, &m.index, &m.subject, &m.toDisplay, &m.snapshot, &m.createdAt, &groups, &token, &m.ics, &m.icsMethod)
	if err != nil {
		return nil, fmt.Errorf("outbox: load message %d: %w", id, err)
	}
	m.incidentID = incID
	_ = json.Unmarshal([]byte(refs), &m.refs)
	m.groups = parseList(groups)
	ref = fmt.Sprintf("inc-%d", incID)
	m.replyTo = o.ReplyPart + "+" + token + "@" + o.Domain
	// RFC 2919: a List-Id per incident thread, so people can filter.
	m.listID = fmt.Sprintf("%s %s <%s.%s.%s>", strings.ToUpper(ref), m.audience, ref, m.audience, o.Domain)
	return m, nil
}

// build renders and assembles one copy: the same Message-ID and headers
// for every copy of the message, whoever it goes to and whenever.
func (o *Outbox) build(m *storedMessage, r claimed) ([]byte, error) {
	d := o.Directory.Current()
	display := r.group
	if g, ok := d.Group(r.group); ok && g.DisplayName != "" {
		display = g.DisplayName
	}
	if len(m.groups) == 0 {
		display = strings.ToUpper(fmt.Sprintf("inc-%d", m.incidentID)) + " " + m.audience
	}
	rendered, err := o.render(compose.Kind(m.kind), []byte(m.snapshot), directory.Recipient{Email: r.email, Name: r.name, TimeZone: r.zone, Group: r.group}, display)
	if err != nil {
		return nil, err
	}
	fromName, fromAddr := o.fromAddress()
	env := compose.Envelope{
		FromName: fromName, FromAddr: fromAddr, ToDisplay: display, ReplyTo: m.replyTo,
		Subject: m.subject, MessageID: m.messageID, InReplyTo: m.inReplyTo, References: m.refs,
		ThreadTopic: strings.TrimSpace(strings.TrimPrefix(m.subject, "["+strings.ToUpper(fmt.Sprintf("inc-%d", m.incidentID))+"]")),
		ThreadIndex: m.index, ListID: m.listID, Date: m.createdAt,
		AutoSubmitted: m.audience == Leads,
	}
	if m.ics != "" {
		return compose.BuildWithCalendar(env, rendered, []byte(m.ics), m.icsMethod)
	}
	return compose.Build(env, rendered)
}

// record writes the outcome of one SMTP transaction.
func (o *Outbox) record(ctx context.Context, rows []claimed, perRcpt []error, txErr error) {
	o.markSent(ctx, o.recordFailures(ctx, rows, perRcpt, txErr))
}

// recordFailures writes the refused recipients of one transaction and
// returns the ids of the accepted ones.
func (o *Outbox) recordFailures(ctx context.Context, rows []claimed, perRcpt []error, txErr error) []int64 {
	now := o.now()
	var sent []int64
	for i, r := range rows {
		err := txErr
		if i < len(perRcpt) && perRcpt[i] != nil {
			err = perRcpt[i]
		}
		if err == nil {
			sent = append(sent, r.id)
			continue
		}
		state, next := StateDeferred, sql.NullTime{Time: now.Add(backoff(r.attempts)), Valid: true}
		maxAttempts := o.MaxAttempts
		if maxAttempts <= 0 {
			maxAttempts = 10
		}
		if Permanent(err) || r.attempts >= maxAttempts {
			state, next = StateFailed, sql.NullTime{}
		}
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		if _, e := o.DB.ExecContext(ctx, `UPDATE deliveries SET state = $1, next_attempt_at = $2, last_error = $3, lease_until = NULL WHERE id = $4`,
			state, next, msg, r.id); e != nil {
			o.logger().Error("outbox: record failure", "delivery", r.id, "err", e)
		}
		o.logger().Warn("delivery not accepted", "delivery", r.id, "state", state, "attempt", r.attempts, "err", msg)
	}
	return sent
}

// markSent records accepted deliveries, several hundred per statement.
func (o *Outbox) markSent(ctx context.Context, sent []int64) {
	now := o.now()
	for s := 0; s < len(sent); s += 400 {
		ids := sent[s:min(s+400, len(sent))]
		ph := make([]string, len(ids))
		args := []any{now}
		for i, id := range ids {
			ph[i] = o.DB.Placeholder(i + 2)
			args = append(args, id)
		}
		query := `UPDATE deliveries SET state = 'sent', sent_at = ` + o.DB.Placeholder(1) + `, lease_until = NULL, last_error = '' WHERE id IN (` + strings.Join(ph, ", ") + `)`
		// The SMTP server has these: if the database is away, keep the ids
		// and try again rather than forget them (forgotten, they would be
		// sent again when their lease lapses). Give up only after the
		// lease would have handed them to another worker anyway.
		wait, deadline := 100*time.Millisecond, time.Now().Add(o.lease())
		for {
			_, err := o.DB.ExecContext(ctx, query, args...)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				o.logger().Error("outbox: cannot record sent deliveries; they will be sent again with the same Message-ID", "err", err, "count", len(ids))
				break
			}
			o.logger().Warn("outbox: recording sent deliveries failed; retrying", "err", err, "count", len(ids))
			time.Sleep(wait)
			wait = min(2*wait, 5*time.Second)
		}
	}
	o.Metrics.sent(len(sent))
}

func (o *Outbox) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return 2 * time.Minute
}

// backoff after the n-th attempt: 30 s, 1, 2, 4, 8 min ... capped at 30 min.
func backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < 30*time.Minute; i++ {
		d *= 2
	}
	return min(d, 30*time.Minute)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
