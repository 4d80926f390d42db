package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Delivery states.
const (
	StateQueued = "queued" // waiting for a worker
	// StateSending: handed to an SMTP transaction whose answer is not
	// recorded yet. Such a row is stored as queued under its message's
	// cursor (claimed_through; the transaction's lease_until is its
	// lease), or, claimed row by row for a retry, as sending until its
	// own lease_until. Readers see both as sending (queries.sql).
	StateSending  = "sending"
	StateSent     = "sent"     // the SMTP server accepted it (250 after DATA)
	StateDeferred = "deferred" // temporary failure (4xx, connection lost): retried at next_attempt_at
	StateFailed   = "failed"   // permanent failure (5xx) or retries exhausted
	StateSkipped  = "skipped"  // not sent: the address bounces or opted out
)

// insertDeliveries writes one row per recipient, in chunks, skipping
// (visibly) the addresses known to bounce or to have opted out.
//
// unsubscribe holds the followers' one-click links by address, follows
// what each follows that sent it: a recipient who came through no group
// (a follower, not a member of the groups) gets theirs on their delivery
// row, and so a copy of their own.
func (o *Outbox) insertDeliveries(ctx context.Context, tx *sql.Tx, messageID int64, recipients []directory.Recipient, unsubscribe map[string]string,
	follows map[string][]compose.Followed) (map[string]int, error) {
	blocked, err := blockedAddresses(ctx, tx)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	// Rows are made a chunk at a time from the recipients: at 100,000 a
	// second copy of them all would be ~15 MB more in flight.
	row := func(r directory.Recipient) deliveryRow {
		d := deliveryRow{email: r.Email, name: r.Name, zone: r.TimeZone, group: r.Group, state: StateQueued, language: r.Language}
		if why, ok := blocked[r.Email]; ok {
			d.state, d.reason = StateSkipped, why
		}
		counts[d.state]++
		if r.Group == "" {
			d.unsubscribe = unsubscribe[r.Email]
			if d.unsubscribe != "" {
				d.follows = compose.EncodeFollows(follows[r.Email])
			}
		}
		return d
	}
	if o.DB.Dialect == store.Postgres {
		// COPY, in the update's transaction (store.DB.CopyFrom).
		err = o.DB.CopyFrom(ctx, tx, "deliveries", deliveryCopyColumns, len(recipients), func(i int) []any {
			d := row(recipients[i])
			return []any{messageID, d.email, d.name, d.zone, d.group, d.state, d.reason, d.language, d.unsubscribe, d.follows}
		})
	} else {
		err = o.insertDeliveryValues(ctx, tx, messageID, recipients, row)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: insert deliveries: %w", err)
	}
	return counts, nil
}

// deliveryRow is one recipient's row as queued.
type deliveryRow struct {
	email, name, zone, group, state, reason, language, unsubscribe, follows string
}

// deliveryCopyColumns are the columns a queued row is copied with on
// PostgreSQL, as insert-deliveries (SQLite's) names them.
var deliveryCopyColumns = []string{"message_id", "email", "name", "time_zone", "via_group", "state", "last_error", "language", "unsubscribe", "follows"}

// insertDeliveryValues is SQLite's way: multi-row INSERTs of 400 rows.
// Binding is most of their cost through database/sql (the sqlite3 shell
// inserts the same rows in a fifth of the time), so a chunk whose rows
// are all plainly queued (nearly every one: no skipped address, no
// follower's link) binds six parameters a row instead of ten, leaving
// out the columns they all have empty.
func (o *Outbox) insertDeliveryValues(ctx context.Context, tx *sql.Tx, messageID int64, recipients []directory.Recipient, row func(directory.Recipient) deliveryRow) error {
	const chunk = 400
	// Every full chunk of a shape has the same statement: prepared once,
	// it is parsed once (a 4,000-parameter INSERT is costly to parse), not
	// per chunk.
	full := map[bool]*sql.Stmt{}
	defer func() {
		for _, st := range full {
			st.Close()
		}
	}()
	rows := make([]deliveryRow, 0, chunk)
	args := make([]any, 0, chunk*deliveryColumns)
	for start := 0; start < len(recipients); start += chunk {
		end := min(start+chunk, len(recipients))
		rows, plain := rows[:0], true
		for _, r := range recipients[start:end] {
			d := row(r)
			plain = plain && d.plain()
			rows = append(rows, d)
		}
		args = args[:0]
		for _, d := range rows {
			if plain {
				args = append(args, messageID, d.email, d.name, d.zone, d.group, d.language)
			} else {
				args = append(args, messageID, d.email, d.name, d.zone, d.group, d.state, d.reason, d.language, d.unsubscribe, d.follows)
			}
		}
		var err error
		if len(rows) < chunk {
			_, err = tx.ExecContext(ctx, o.insertDeliveriesSQL(len(rows), plain), args...)
		} else {
			st := full[plain]
			if st == nil {
				if st, err = tx.PrepareContext(ctx, o.insertDeliveriesSQL(chunk, plain)); err != nil {
					return err
				}
				full[plain] = st
			}
			_, err = st.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// plain says whether a row is queued with nothing but the directory's
// columns: no reason, no unsubscribe link, nothing followed.
func (d deliveryRow) plain() bool {
	return d.state == StateQueued && d.reason == "" && d.unsubscribe == "" && d.follows == ""
}

// deliveryColumns is the parameters of one row of insert-deliveries.
const deliveryColumns = 10

// insertDeliveriesSQL inserts rows delivery rows in one statement:
// insert-deliveries, or for plain rows insert-queued-deliveries, whose
// six parameters a row are followed by the state. Every parameter is
// SQLite's anonymous "?": sqlite3_bind_parameter_name looks a numbered one
// up in a list of them all, which made a chunk's binding quadratic (the
// POST of 100,000 took 1.8 s instead of 0.7 s with the message's id as
// one ?1 shared by the rows).
func (o *Outbox) insertDeliveriesSQL(rows int, plain bool) string {
	name, tuple := "insert-deliveries", "("+o.DB.Placeholders(1, deliveryColumns)+")"
	if plain {
		name, tuple = "insert-queued-deliveries", "("+o.DB.Placeholders(1, 6)+", '"+StateQueued+"')"
	}
	var sb strings.Builder
	sb.WriteString(queries.SQL(o.DB, name) + " ")
	for i := 0; i < rows; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(tuple)
	}
	return sb.String()
}

func blockedAddresses(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, queries.Get("blocked-addresses"))
	if err != nil {
		return nil, fmt.Errorf("outbox: address status: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var email, reason string
		var bouncing, optedOut bool
		if err := rows.Scan(&email, &bouncing, &optedOut, &reason); err != nil {
			return nil, fmt.Errorf("outbox: address status: %w", err)
		}
		why := "opted out"
		if bouncing {
			why = "address bounces"
		}
		if reason != "" {
			why += ": " + reason
		}
		out[strings.ToLower(email)] = why
	}
	return out, rows.Err()
}

// MarkBouncing records that an address bounces: later messages skip it.
func MarkBouncing(ctx context.Context, q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, email, reason string, at time.Time) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if _, err := q.ExecContext(ctx, queries.Get("clear-address-status"), email); err != nil {
		return fmt.Errorf("outbox: mark bouncing: %w", err)
	}
	if _, err := q.ExecContext(ctx, queries.Get("mark-bouncing"), email, reason, at.UTC()); err != nil {
		return fmt.Errorf("outbox: mark bouncing: %w", err)
	}
	return nil
}

// Delivery is one recipient of one message.
type Delivery struct {
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Name          string     `json:"name,omitempty"`
	Group         string     `json:"group,omitempty"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
}

// Messages lists the messages of a conversation (every thread of one
// key: an incident's) with delivery counts.
func (o *Outbox) Messages(ctx context.Context, key int64) ([]*Message, error) {
	rows, err := o.DB.QueryContext(ctx, queries.Get("messages-of-thread-key"), key)
	if err != nil {
		return nil, fmt.Errorf("outbox: messages: %w", err)
	}
	var out []*Message
	for rows.Next() {
		m := &Message{ThreadKey: key}
		var groups string
		var next sql.NullTime
		if err := rows.Scan(&m.ID, &m.Audience, &m.Kind, &m.MessageID, &m.Subject, &groups, &m.Total, &next, &m.CreatedAt, &m.Actor, &m.Incident, &m.Language); err != nil {
			rows.Close()
			return nil, fmt.Errorf("outbox: messages: %w", err)
		}
		m.Groups = parseList(groups)
		if next.Valid {
			t := next.Time.UTC()
			m.NextUpdateAt = &t
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, m := range out {
		if m.Counts, err = o.counts(ctx, m.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Message returns one message of a conversation by its row id; ref names
// the conversation in the not-found error.
func (o *Outbox) Message(ctx context.Context, key int64, ref string, id int64) (*Message, error) {
	list, err := o.Messages(ctx, key)
	if err != nil {
		return nil, err
	}
	for _, m := range list {
		if m.ID == id {
			return m, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no message %d on %s", id, ref)
}

func (o *Outbox) counts(ctx context.Context, messageID int64) (map[string]int, error) {
	return stateCounts(o.DB.QueryContext(ctx, queries.Get("delivery-counts"), messageID))
}

// stateCounts reads delivery-counts or deliveries-by-state: counts by
// state, a state perhaps twice, and the rows handed out from the cursor,
// of which those not being sent are sent. No state of zero is listed.
func stateCounts(rows *sql.Rows, err error) (map[string]int, error) {
	if err != nil {
		return nil, fmt.Errorf("outbox: counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	handed := 0
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("outbox: counts: %w", err)
		}
		if state == "handed out" {
			handed = n
			continue
		}
		out[state] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: counts: %w", err)
	}
	out[StateSent] += handed - out[StateSending]
	for state, n := range out {
		if n == 0 {
			delete(out, state)
		}
	}
	return out, nil
}

// DeliveryPage says which of a message's recipients Deliveries lists:
// pages in id order, each starting after the last id of the one before,
// so that a list of 100,000 is read 1,000 at a time and rows written
// meanwhile are neither skipped nor listed twice.
type DeliveryPage struct {
	State string // only those in this state; "" for all
	After int64  // only ids after this one: the previous page's next
	Limit int    // at most this many: 1 to 10,000; 0 (or beyond) is 1,000
}

// Deliveries lists a page of one message's recipients in id order. next
// is the After of the following page, 0 when this page is the last.
func (o *Outbox) Deliveries(ctx context.Context, messageID int64, p DeliveryPage) (list []Delivery, next int64, err error) {
	limit := p.Limit
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	// One more than asked says whether another page follows.
	q, args := queries.Get("deliveries"), []any{messageID, limit + 1, p.After}
	if p.State != "" {
		q, args = queries.Get("deliveries-in-state"), append(args, p.State)
	}
	rows, err := o.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: deliveries: %w", err)
	}
	defer rows.Close()
	list = []Delivery{}
	for rows.Next() {
		var d Delivery
		var retryAt sql.NullTime
		sent := exprTime{}
		if err := rows.Scan(&d.ID, &d.Email, &d.Name, &d.Group, &d.State, &d.Attempts, &d.LastError, &retryAt, &sent); err != nil {
			return nil, 0, fmt.Errorf("outbox: deliveries: %w", err)
		}
		if retryAt.Valid {
			t := retryAt.Time.UTC()
			d.NextAttemptAt = &t
		}
		d.SentAt = sent.t
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("outbox: deliveries: %w", err)
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, nil
}

// Delayed reports whether any delivery of the incident is waiting for a
// retry: the incident view says delivery is delayed.
func (o *Outbox) Delayed(ctx context.Context, incidentID int64) (int, error) {
	var n int
	err := o.DB.QueryRowContext(ctx, queries.Get("deferred-count"), incidentID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("outbox: delayed: %w", err)
	}
	return n, nil
}

func parseList(s string) []string {
	out := []string{}
	_ = jsonUnmarshal(s, &out)
	return out
}

// ThreadSubject is the subject a thread started with ("" when the thread
// has no message yet): every later message keeps it, so that a renamed
// incident stays one conversation. q may be the caller's transaction.
func (o *Outbox) ThreadSubject(ctx context.Context, q store.Querier, t compose.Thread) (string, error) {
	var subject string
	err := q.QueryRowContext(ctx, queries.Get("thread-subject"), t.Key, t.Audience).Scan(&subject)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("outbox: thread subject: %w", err)
	}
	return subject, nil
}

// Recipients lists, sorted, everyone a thread's messages were addressed
// to (whatever became of each copy). q may be the caller's transaction.
func (o *Outbox) Recipients(ctx context.Context, q store.Querier, t compose.Thread) ([]string, error) {
	rows, err := q.QueryContext(ctx, queries.Get("thread-recipients"), t.Key, t.Audience)
	if err != nil {
		return nil, fmt.Errorf("outbox: thread recipients: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			return nil, fmt.Errorf("outbox: thread recipients: %w", err)
		}
		out = append(out, email)
	}
	return out, rows.Err()
}
