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
	start := time.Now()
	for {
		n, err := w.Outbox.DeliverBatch(ctx, job.Args.MessageID)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Since(start) > deliverBudget {
			return river.JobSnooze(time.Millisecond)
		}
	}
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
}

// DeliverBatch claims up to one batch per connection of a message's due
// deliveries, sends them and records each outcome. It returns how many it
// claimed (0: nothing left to do now).
func (o *Outbox) DeliverBatch(ctx context.Context, messageID int64) (int, error) {
	batch := o.BatchSize
	if batch <= 0 {
		batch = 50
	}
	conc := 1
	if o.Sender != nil {
		conc = max(1, o.Sender.Concurrency())
	}
	rows, err := o.claim(ctx, messageID, batch*conc)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	msg, err := o.loadMessage(ctx, messageID)
	if err != nil {
		return 0, err
	}
	// Copies that render the same (same zone, group, and name for personal
	// kinds) share one SMTP transaction.
	type key struct{ zone, group, name string }
	byKey := map[key][]claimed{}
	var order []key
	isPersonal := personal(compose.Kind(msg.kind))
	for _, r := range rows {
		k := key{zone: r.zone, group: r.group}
		if isPersonal {
			k.name = r.name
		}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	type chunk struct {
		body []byte
		rcpt []claimed
	}
	var chunks []chunk
	for _, k := range order {
		group := byKey[k]
		body, err := o.build(msg, group[0])
		if err != nil {
			// A message that cannot be built will not build on retry either.
			o.record(ctx, group, nil, fmt.Errorf("%w: %v", errPermanentBuild, err))
			continue
		}
		for s := 0; s < len(group); s += batch {
			chunks = append(chunks, chunk{body: body, rcpt: group[s:min(s+batch, len(group))]})
		}
	}
	from := o.envelopeFrom()
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, c := range chunks {
		sem <- struct{}{}
		wg.Add(1)
		go func(c chunk) {
			defer func() { <-sem; wg.Done() }()
			to := make([]string, len(c.rcpt))
			for i, r := range c.rcpt {
				to[i] = r.email
			}
			perRcpt, err := o.Sender.Send(ctx, from, to, c.body)
			// Record with a context that outlives a cancelled job: the SMTP
			// server has answered; forgetting that would resend.
			o.record(context.WithoutCancel(ctx), c.rcpt, perRcpt, err)
		}(c)
	}
	wg.Wait()
	return len(rows), nil
}

var errPermanentBuild = &SMTPError{Code: 554, Msg: "message could not be built"}

func (o *Outbox) envelopeFrom() string {
	_, addr := o.fromAddress()
	return addr
}

// claim reserves due deliveries of a message for this worker until the
// lease ends. On PostgreSQL SKIP LOCKED lets replicas claim side by side;
// SQLite has one writer.
func (o *Outbox) claim(ctx context.Context, messageID int64, limit int) ([]claimed, error) {
	now := o.now()
	lease := o.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	lock := ""
	if o.DB.Dialect == store.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := o.DB.QueryContext(ctx, `UPDATE deliveries SET state = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT id FROM deliveries WHERE message_id = $2 AND (state = 'queued'
    OR (state = 'deferred' AND next_attempt_at <= $3) OR (state = 'sending' AND lease_until < $3))
  ORDER BY id LIMIT $4`+lock+`)
RETURNING id, email, name, time_zone, via_group, attempts`, now.Add(lease), messageID, now, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.email, &c.name, &c.zone, &c.group, &c.attempts); err != nil {
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
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
    m.subject, m.to_display, m.render_data, m.created_at, m.groups, i.reply_token
FROM messages m JOIN incidents i ON i.id = m.incident_id WHERE m.id = $1`, id).Scan(&incID, &m.kind, &m.audience, &m.messageID,
		&m.inReplyTo, &refs, &m.index, &m.subject, &m.toDisplay, &m.snapshot, &m.createdAt, &groups, &token)
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
	return compose.Build(env, rendered)
}

// record writes the outcome of one SMTP transaction.
func (o *Outbox) record(ctx context.Context, rows []claimed, perRcpt []error, txErr error) {
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
	for s := 0; s < len(sent); s += 400 {
		ids := sent[s:min(s+400, len(sent))]
		ph := make([]string, len(ids))
		args := []any{now}
		for i, id := range ids {
			ph[i] = fmt.Sprintf("$%d", i+2)
			args = append(args, id)
		}
		if _, err := o.DB.ExecContext(ctx, `UPDATE deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = '' WHERE id IN (`+strings.Join(ph, ", ")+`)`, args...); err != nil {
			o.logger().Error("outbox: record sent", "err", err, "count", len(ids))
		}
	}
	o.Metrics.sent(len(sent))
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
