package outbox

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The audit record of a conversation (an incident's): every message the
// hub sent in it, every recipient of each, and what became of each copy,
// with its times. The outbox owns the query (its tables); the web layer
// puts the incident beside it (docs/audit.md).

// StateBounced is the audit's name for a delivery the receiving server
// accepted and a bounce later proved failed (a failed row with
// bounced_at): the record keeps both times.
const StateBounced = "bounced"

// AuditMessage is one message of the record.
type AuditMessage struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Audience  string    `json:"audience"` // the thread: responders, stakeholders, leads, public
	Subject   string    `json:"subject"`
	MessageID string    `json:"message_id"` // as in the Message-ID header, angle brackets included
	Language  string    `json:"language"`
	Groups    []string  `json:"groups"`
	Actor     string    `json:"actor"`
	QueuedAt  time.Time `json:"queued_at"`
}

// AuditRecipient is one recipient of one message and what became of the
// copy: queued, sending, sent (the receiving server accepted it: 250
// after DATA; sitrep does not see the mailbox), deferred (a temporary
// refusal, retried at NextAttemptAt), failed (refused for good, or
// retries spent), bounced (accepted, then a bounce proved it failed),
// skipped (the address bounces or opted out: never sent).
type AuditRecipient struct {
	Email         string     `json:"email"`
	Name          string     `json:"name,omitempty"`
	Group         string     `json:"group,omitempty"` // the group it was reached through; "" for named people and followers
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	FailedAt      *time.Time `json:"failed_at,omitempty"`
	BouncedAt     *time.Time `json:"bounced_at,omitempty"`
}

// Audit calls each for every message of the conversation key, oldest
// first, with its recipients in the order they were stored; a message
// with no recipient (a draft's note that reached nobody) comes with none.
// It streams: a 100,000-member group is never held whole.
func (o *Outbox) Audit(ctx context.Context, key int64, each func(AuditMessage, []AuditRecipient) error) error {
	rows, err := o.DB.QueryContext(ctx, queries.Get("audit-of-thread-key"), key)
	if err != nil {
		return fmt.Errorf("outbox: audit: %w", err)
	}
	defer rows.Close()
	var cur *AuditMessage
	var recipients []AuditRecipient
	flush := func() error {
		if cur == nil {
			return nil
		}
		err := each(*cur, recipients)
		cur, recipients = nil, recipients[:0]
		return err
	}
	for rows.Next() {
		var m AuditMessage
		var groups string
		var did sql.NullInt64
		var email, name, group, state, lastError sql.NullString
		var attempts sql.NullInt64
		var next, failed, bounced sql.NullTime
		var sent exprTime
		if err := rows.Scan(&m.ID, &m.Kind, &m.Audience, &m.Subject, &m.MessageID, &m.Language, &groups, &m.Actor, &m.QueuedAt,
			&did, &email, &name, &group, &state, &attempts, &lastError, &next, &sent, &failed, &bounced); err != nil {
			return fmt.Errorf("outbox: audit: %w", err)
		}
		if cur == nil || cur.ID != m.ID {
			if err := flush(); err != nil {
				return err
			}
			m.Groups, m.QueuedAt = parseList(groups), m.QueuedAt.UTC()
			cur = &m
		}
		if !did.Valid {
			continue
		}
		r := AuditRecipient{Email: email.String, Name: name.String, Group: group.String, State: state.String, Attempts: int(attempts.Int64),
			LastError: lastError.String, SentAt: sent.t, NextAttemptAt: timePtr(next), FailedAt: timePtr(failed), BouncedAt: timePtr(bounced)}
		if r.BouncedAt != nil {
			r.State = StateBounced
		}
		if r.State != StateDeferred {
			r.NextAttemptAt = nil
		}
		recipients = append(recipients, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("outbox: audit: %w", err)
	}
	return flush()
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// AuditColumns are the audit CSV's columns, in order.
var AuditColumns = []string{"incident", "message", "kind", "thread", "subject", "message_id", "language", "groups", "actor", "queued_at",
	"recipient", "name", "via_group", "state", "attempts", "sent_at", "failed_at", "bounced_at", "next_attempt_at", "last_error"}

// WriteAuditCSV writes the conversation key's audit record as CSV (RFC
// 4180), one row per recipient of each message, to w; ref names the
// conversation in its first column. Times are RFC 3339 in UTC. Text
// from outside (a subject, a name, an SMTP reply) cannot start a
// spreadsheet formula.
func (o *Outbox) WriteAuditCSV(ctx context.Context, w io.Writer, key int64, ref string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AuditColumns); err != nil {
		return err
	}
	err := o.Audit(ctx, key, func(m AuditMessage, rs []AuditRecipient) error {
		head := []string{ref, strconv.FormatInt(m.ID, 10), m.Kind, m.Audience, csvSafe(m.Subject), m.MessageID, m.Language,
			strings.Join(m.Groups, " "), csvSafe(m.Actor), stamp(&m.QueuedAt)}
		if len(rs) == 0 {
			return cw.Write(append(head, make([]string, len(AuditColumns)-len(head))...))
		}
		for _, r := range rs {
			row := append(append([]string{}, head...), r.Email, csvSafe(r.Name), r.Group, r.State, strconv.Itoa(r.Attempts),
				stamp(r.SentAt), stamp(r.FailedAt), stamp(r.BouncedAt), stamp(r.NextAttemptAt), csvSafe(r.LastError))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// csvSafe keeps a spreadsheet from running text from outside as a
// formula (OWASP "CSV injection"): a leading = + - @ tab or CR gets a
// quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
