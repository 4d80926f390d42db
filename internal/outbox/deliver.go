package outbox

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/jobs"
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
	// Urgent: a message to the leads (a reminder, an overdue alert, a
	// stakeholder's question). It runs on River's urgent queue, whose
	// workers a bulk fan-out never holds, so it does not wait for one
	// queued before it; its sends then take the pool's next free
	// connection (withUrgent).
	Urgent bool `json:"urgent,omitempty"`
	// Share numbers a helper: another replica's part in a large fan-out
	// already running (askForHelp); 0 for the message's own job and the
	// sweep's.
	Share int `json:"share,omitempty"`
}

func (DeliverArgs) Kind() string { return "outbox_deliver" }

// InsertOpts puts an urgent message's job on the urgent queue, wherever it
// is inserted (Queue, Sweep).
//
// A helper is unique by its arguments while it waits or runs: a run that
// asks again for the same share (after its budget, say) adds none.
func (a DeliverArgs) InsertOpts() river.InsertOpts {
	var opts river.InsertOpts
	if a.Urgent {
		opts.Queue = jobs.QueueUrgent
	}
	if a.Share > 0 {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled}}
	}
	return opts
}

// urgent says whether a message's audience is waiting on it: the leads'
// messages go ahead of bulk fan-out.
func urgent(audience string) bool { return audience == compose.Leads }

// DeliverWorker works DeliverArgs jobs.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	Outbox *Outbox

	running runningFanOuts // the fan-outs this replica runs, by message
}

// Timeout: the worker bounds itself (budget below) and comes back.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return -1 }

// deliverBudget is how long one job run works before it snoozes and lets
// other messages have the workers; the rows it leaves are still queued.
const deliverBudget = 90 * time.Second

func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	if job.Args.Share > 0 && w.running.has(job.Args.MessageID) {
		// This replica already sends the message: another one should
		// take the share. Back off, so that with one replica the helper
		// costs a few polls over a long fan-out.
		return river.JobSnooze(helperWait(snoozes(job.Metadata)))
	}
	defer w.running.add(job.Args.MessageID)()
	n, err := w.Outbox.deliver(ctx, job.Args.MessageID, job.Args.Share, deliverBudget, 0)
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
	lang                     string // the reader's tag; "" in rows from before languages
	attempts                 int
	// unsubscribe is a follower's one-click link: their copy is theirs
	// alone. "" for everyone else.
	unsubscribe string
	// follows is what of the follower's sent it (compose.EncodeFollows).
	follows string
	// fromCursor: handed out by moving the message's cursor past it, not
	// claimed by its own row; its transaction records it (group).
	fromCursor bool
}

// storedMessage is what a worker needs of the message row.
type storedMessage struct {
	id                                          int64
	threadRef                                   string // "INC-42"
	kind, audience, messageID, inReplyTo, index string
	subject, toDisplay, snapshot                string
	language                                    string // the catalog language of its readers
	refs                                        []string
	createdAt                                   time.Time
	replyTo, listID                             string
	groups                                      []string
	ics, icsMethod                              string
	total                                       int // recipients queued
}

// DeliverBatch claims one round of a message's due deliveries (a batch per
// connection), sends them and records each outcome. It returns how many it
// claimed (0: nothing left to do now). Tests drive delivery with it.
func (o *Outbox) DeliverBatch(ctx context.Context, messageID int64) (int, error) {
	return o.deliver(ctx, messageID, 0, 0, 1)
}

// transaction is one SMTP transaction's worth: one body, its recipients,
// and the token of its envelope sender (see BounceTag).
type transaction struct {
	key   string // which rendering: zone, group (and name)
	token string
	body  []byte
	rcpt  []claimed
	// ranged: its recipients are a run of rows handed out from the
	// cursor, rcpt[0].id to the last one's, and the transaction's row
	// records them sent (accept-transactions, delivery_states).
	ranged bool
}

var errPermanentBuild = &SMTPError{Code: 554, Msg: "message could not be built"}

// claim reserves due deliveries of a message for this worker until the
// lease ends. It runs in tx, with the recording of the previous outcomes;
// the SMTP transactions it makes of the rows (recordTransactions) are
// written in tx too, before anything is sent.
//
// The first pass takes queued rows past the message's cursor and writes
// none of them: the cursor moves past them and each transaction's row,
// open until its answer is recorded, is their lease. When it finds fewer
// than limit, the message is near its end: the recipients of transactions
// whose worker was lost are released (due again now, releaseExpired), and
// the second pass takes, row by row, the deferred ones whose retry time
// has come and the rows whose own lease ran out.
//
// On PostgreSQL replicas claiming the same message take turns on the
// cursor and skip each other's rows in the second pass; SQLite has one
// writer.
func (o *Outbox) claim(ctx context.Context, tx *sql.Tx, messageID int64, limit int) ([]claimed, error) {
	now := o.now()
	// Leases are about whether a worker is alive: wall-clock time, even
	// when tests move the business clock (retry times, promises).
	wall := time.Now().UTC()
	q := o.DB.In(tx)
	var cursor int64
	if err := q.QueryRowContext(ctx, queries.SQL(o.DB, "claim-cursor"), messageID).Scan(&cursor); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	if o.DB.Dialect == store.Postgres {
		if _, err := tx.ExecContext(ctx, queries.SQL(o.DB, "claim-in-id-order")); err != nil {
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
	}
	out, err := scanClaimed(q.QueryContext(ctx, queries.Get("claim-queued"), messageID, cursor, limit))
	if err != nil {
		return nil, err
	}
	for i := range out {
		// This try: written with its answer (accept-transactions,
		// record-delivery-outcome).
		out[i].attempts++
		out[i].fromCursor = true
		cursor = out[i].id
	}
	if len(out) < limit {
		if err := o.releaseExpired(ctx, tx, messageID, now, wall); err != nil {
			return nil, err
		}
		due, err := scanClaimed(q.QueryContext(ctx, queries.SQL(o.DB, "claim-due"),
			wall.Add(o.lease()), messageID, limit-len(out), now, wall))
		if err != nil {
			return nil, err
		}
		out = append(out, due...)
	}
	if len(out) > 0 {
		if _, err := q.ExecContext(ctx, queries.Get("advance-cursor"), cursor, now, messageID); err != nil {
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
	}
	return out, nil
}

// scanClaimed reads the rows a claim took.
func scanClaimed(rows *sql.Rows, err error) ([]claimed, error) {
	if err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.email, &c.name, &c.zone, &c.group, &c.attempts, &c.lang, &c.unsubscribe, &c.follows); err != nil {
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	return out, nil
}

// lostWorker is the reason a released recipient shows until its next try.
const lostWorker = "the worker sending it stopped before recording the server's answer; sending again"

// releaseExpired makes due now the recipients of the message's SMTP
// transactions whose lease ran out with no answer recorded, and closes
// those transactions. The server may have accepted them: they go again
// with the same Message-ID, which mail clients show once.
func (o *Outbox) releaseExpired(ctx context.Context, tx *sql.Tx, messageID int64, now, wall time.Time) error {
	rows, err := o.DB.In(tx).QueryContext(ctx, queries.SQL(o.DB, "expired-transactions"), messageID, wall)
	if err != nil {
		return fmt.Errorf("outbox: expired transactions: %w", err)
	}
	var tokens []string
	var ids []int64
	for rows.Next() {
		var token, carried string
		if err := rows.Scan(&token, &carried); err != nil {
			rows.Close()
			return fmt.Errorf("outbox: expired transactions: %w", err)
		}
		var some []int64
		if err := json.Unmarshal([]byte(carried), &some); err != nil {
			rows.Close()
			return fmt.Errorf("outbox: expired transaction %s: %w", token, err)
		}
		tokens, ids = append(tokens, token), append(ids, some...)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("outbox: expired transactions: %w", err)
	}
	if len(tokens) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, queries.SQL(o.DB, "release-deliveries"), now, lostWorker, o.idList(ids)); err != nil {
		return fmt.Errorf("outbox: release deliveries: %w", err)
	}
	o.logger().Warn("outbox: SMTP transactions lost their worker; their recipients go again",
		"message", messageID, "transactions", len(tokens), "recipients", len(ids))
	return o.closeTransactions(ctx, tx, messageID, tokens)
}

// closeTransactions marks SMTP transactions answered: their lease is over.
func (o *Outbox) closeTransactions(ctx context.Context, tx *sql.Tx, messageID int64, tokens []string) error {
	if _, err := o.DB.In(tx).ExecContext(ctx, queries.SQL(o.DB, "close-transactions"), messageID, o.tokenList(tokens)); err != nil {
		return fmt.Errorf("outbox: close transactions: %w", err)
	}
	return nil
}

func (o *Outbox) loadMessage(ctx context.Context, id int64) (*storedMessage, error) {
	m := &storedMessage{id: id}
	var refs, groups, token string
	err := o.DB.QueryRowContext(ctx, queries.Get("load-message"), id).Scan(&m.kind, &m.audience, &m.messageID,
		&m.inReplyTo, &refs, &m.index, &m.subject, &m.toDisplay, &m.snapshot, &m.createdAt, &groups, &m.threadRef, &token, &m.ics, &m.icsMethod, &m.language, &m.total)
	if err != nil {
		return nil, fmt.Errorf("outbox: load message %d: %w", id, err)
	}
	_ = json.Unmarshal([]byte(refs), &m.refs)
	m.groups = parseList(groups)
	m.replyTo = o.ReplyAddress(token)
	// RFC 2919: a List-Id per thread, so people can filter.
	ref := strings.ToLower(m.threadRef)
	m.listID = fmt.Sprintf("%s %s <%s.%s.%s>", m.threadRef, m.audience, ref, m.audience, o.Domain)
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
	if len(m.groups) == 0 || r.group == "" {
		display = m.namedDisplay()
	}
	rcpt := directory.Recipient{Email: r.email, Name: r.name, TimeZone: r.zone, Group: r.group, Language: cmp.Or(r.lang, m.language)}
	var follower *compose.FollowerCopy
	if r.unsubscribe != "" {
		follower = &compose.FollowerCopy{Unsubscribe: r.unsubscribe, Follows: compose.DecodeFollows(r.follows)}
		display = o.Renderer.FollowerTo(o.readerLanguage(rcpt), follower.Follows, display)
	}
	rendered, err := o.renderCopy(compose.Kind(m.kind), []byte(m.snapshot), rcpt, display, follower)
	if err != nil {
		return nil, err
	}
	fromName, fromAddr := o.fromAddress()
	env := compose.Envelope{
		FromName: fromName, FromAddr: fromAddr, ToDisplay: display, ReplyTo: m.replyTo,
		Subject: m.subject, MessageID: m.messageID, InReplyTo: m.inReplyTo, References: m.refs,
		ThreadTopic: strings.TrimSpace(strings.TrimPrefix(m.subject, "["+m.threadRef+"]")),
		ThreadIndex: m.index, ListID: m.listID, Date: m.createdAt,
		AutoSubmitted: compose.Kind(m.kind).AutoSubmitted(),
		Language:      rendered.Language,
	}
	if r.unsubscribe != "" {
		// RFC 2369 3.2 and RFC 8058 3.1: a follower's copy says how to
		// leave, and that one POST (no confirmation page) does it, so a
		// mail client's "unsubscribe" button works. Group members' copies
		// carry none: a member must not silence the list.
		env.Extra = map[string]string{"List-Unsubscribe": "<" + r.unsubscribe + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
	}
	if m.ics != "" {
		return compose.BuildWithCalendar(env, rendered, []byte(m.ics), m.icsMethod)
	}
	return compose.Build(env, rendered)
}

// namedDisplay is the To: of the message's copies that went through no
// group (mail to named people, followers): the thread's name for them
// ("INC-42 reporters", the public page's title), kept with the message;
// a message queued before it was kept holds its audience there.
func (m *storedMessage) namedDisplay() string {
	if m.toDisplay != "" && m.toDisplay != m.audience {
		return m.toDisplay
	}
	return m.threadRef + " " + m.audience
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
