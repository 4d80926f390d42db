package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// What a reader that measures a conversation (the incident's
// communication scorecard) asks of the outbox: every message with its
// recipients counted, and which messages reached some addresses. Both
// read through q, the caller's transaction when it has one.

// sameSend is how far apart the variants of one send may be queued: Queue
// writes them one after the other in one call.
const sameSend = 2 * time.Second

// Told lists the messages of the conversation key (an incident's
// threads), oldest first, each send once: the variants of one send (the
// same thread and kind, one per language, queued together by one Queue)
// are one compose.Told naming them all.
func (o *Outbox) Told(ctx context.Context, q store.Querier, key int64) ([]compose.Told, error) {
	rows, err := q.QueryContext(ctx, queries.Get("told"), key)
	if err != nil {
		return nil, fmt.Errorf("outbox: told: %w", err)
	}
	defer rows.Close()
	type row struct {
		told  compose.Told
		actor string
		lang  string
	}
	var msgs []*row
	for rows.Next() {
		var id int64
		var audience, kind, groups, actor, lang, group, state string
		var at time.Time
		var n int
		var first, last any
		if err := rows.Scan(&id, &audience, &kind, &at, &groups, &actor, &lang, &group, &state, &n, &first, &last); err != nil {
			return nil, fmt.Errorf("outbox: told: %w", err)
		}
		if len(msgs) == 0 || msgs[len(msgs)-1].told.ID != id {
			msgs = append(msgs, &row{told: compose.Told{ID: id, Variants: []int64{id}, Audience: audience, Kind: kind, At: at.UTC(),
				Groups: parseList(groups)}, actor: actor, lang: lang})
		}
		c := compose.ToldCount{Group: group, State: state, Recipients: n}
		if t := aggregateTime(first); !t.IsZero() {
			c.FirstSentAt = &t
		}
		if t := aggregateTime(last); !t.IsZero() {
			c.LastSentAt = &t
		}
		m := msgs[len(msgs)-1]
		m.told.Counts = append(m.told.Counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: told: %w", err)
	}
	// Merge each message into the send before it when it is a variant of
	// it: the next row of the same thread, kind and actor, in a language
	// the send has not had, queued within sameSend.
	var out []compose.Told
	var langs map[string]bool
	var prev *row
	for _, m := range msgs {
		if prev != nil {
			s := &out[len(out)-1]
			if m.told.Audience == s.Audience && m.told.Kind == s.Kind && m.actor == prev.actor && !langs[m.lang] &&
				m.told.At.Sub(s.At) >= 0 && m.told.At.Sub(s.At) <= sameSend {
				s.Variants = append(s.Variants, m.told.ID)
				s.Counts = mergeCounts(s.Counts, m.told.Counts)
				langs[m.lang] = true
				continue
			}
		}
		out = append(out, m.told)
		prev, langs = m, map[string]bool{m.lang: true}
	}
	return out, nil
}

// mergeCounts adds b's counts to a's, by group and state.
func mergeCounts(a, b []compose.ToldCount) []compose.ToldCount {
	for _, c := range b {
		found := false
		for i := range a {
			if a[i].Group == c.Group && a[i].State == c.State {
				a[i].Recipients += c.Recipients
				a[i].FirstSentAt = earlier(a[i].FirstSentAt, c.FirstSentAt)
				a[i].LastSentAt = later(a[i].LastSentAt, c.LastSentAt)
				found = true
				break
			}
		}
		if !found {
			a = append(a, c)
		}
	}
	return a
}

func earlier(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.Before(*a)) {
		return b
	}
	return a
}

func later(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// aggregateTime reads MIN() or MAX() of a timestamp: SQLite returns it as
// text, and NULL (no copy sent yet) as nil.
func aggregateTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC()
			}
		}
	case []byte:
		return aggregateTime(string(t))
	}
	return time.Time{}
}

// exprTime scans a timestamp that may come from an expression
// (delivery_states' sent_at is a COALESCE): SQLite has no declared type
// for it and returns text. NULL leaves it nil.
type exprTime struct{ t *time.Time }

func (e *exprTime) Scan(v any) error {
	e.t = nil
	if v == nil {
		return nil
	}
	t := aggregateTime(v)
	if t.IsZero() {
		return fmt.Errorf("outbox: %v (%T) is not a time", v, v)
	}
	e.t = &t
	return nil
}
