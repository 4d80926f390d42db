package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// What the resolution flow records on the incident row. The incidents
// table is this package's; resolution and the post-mortem read and write
// it only through these functions.

// ResolutionRecord is what the comms lead said at resolution.
type ResolutionRecord struct {
	RootCause, Fix, Impact string
	RootCauseUnknown       bool
	// WriteUpBy is when the blameless summary is promised; nil: none.
	WriteUpBy *time.Time
	At        time.Time
}

// RecordResolution writes the root cause, fix and impact, and starts the
// write-up promise and the unknown-root-cause reminders afresh.
func RecordResolution(ctx context.Context, tx *sql.Tx, id int64, r ResolutionRecord) error {
	_, err := tx.ExecContext(ctx, queries.Get("record-resolution"),
		r.RootCause, r.Fix, r.Impact, r.RootCauseUnknown, store.NullTime(r.WriteUpBy), r.At.UTC(), id)
	if err != nil {
		return fmt.Errorf("incident: record resolution: %w", err)
	}
	return nil
}

// ImpactOf returns the impact recorded at resolution and whether the root
// cause was unknown.
func ImpactOf(ctx context.Context, q store.Querier, id int64) (impact string, rootCauseUnknown bool, err error) {
	err = q.QueryRowContext(ctx, queries.Get("impact"), id).Scan(&impact, &rootCauseUnknown)
	if err != nil {
		return "", false, fmt.Errorf("incident: impact: %w", err)
	}
	return impact, rootCauseUnknown, nil
}

// WriteUpStageSent marks the write-up promise kept (or late): no more reminders.
const WriteUpStageSent = 9

// WriteUpDue is an incident whose promised write-up is due soon or overdue.
type WriteUpDue struct {
	ID    int64
	At    time.Time
	Stage int
}

// WriteUpsDue lists the write-ups due by horizon whose reminders are not
// all sent (stage below 2).
func WriteUpsDue(ctx context.Context, q store.Querier, horizon time.Time) ([]WriteUpDue, error) {
	rows, err := q.QueryContext(ctx, queries.Get("write-ups-due"), horizon.UTC())
	if err != nil {
		return nil, fmt.Errorf("incident: write-ups due: %w", err)
	}
	defer rows.Close()
	var out []WriteUpDue
	for rows.Next() {
		var d WriteUpDue
		if err := rows.Scan(&d.ID, &d.At, &d.Stage); err != nil {
			return nil, fmt.Errorf("incident: write-ups due: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// AdvanceWriteUpStage moves the write-up promise to stage if it is at an
// earlier one; it reports whether this call moved it, so that each
// reminder goes out once whatever the number of replicas.
func AdvanceWriteUpStage(ctx context.Context, tx *sql.Tx, id int64, stage int) (bool, error) {
	r, err := tx.ExecContext(ctx, queries.Get("advance-write-up-stage"), stage, id)
	if err != nil {
		return false, fmt.Errorf("incident: write-up stage: %w", err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// UnknownRootCauses lists incidents in monitoring with no root cause
// whose lead was last reminded before since (or never).
func UnknownRootCauses(ctx context.Context, q store.Querier, since time.Time) ([]int64, error) {
	rows, err := q.QueryContext(ctx, queries.Get("unknown-root-causes"), since.UTC())
	if err != nil {
		return nil, fmt.Errorf("incident: unknown root causes: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("incident: unknown root causes: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// MarkRootCauseReminded records a reminder about the unknown root cause
// at now, if none was sent since; it reports whether this call did.
func MarkRootCauseReminded(ctx context.Context, tx *sql.Tx, id int64, now, since time.Time) (bool, error) {
	r, err := tx.ExecContext(ctx, queries.Get("mark-root-cause-reminded"),
		now.UTC(), id, since.UTC())
	if err != nil {
		return false, fmt.Errorf("incident: root cause reminder: %w", err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// Reporter is one person who reported the incident, with their first report.
type Reporter struct {
	Email, Name string
	FirstAt     time.Time
}

// Reporters lists the incident's reporters once each, by email.
func Reporters(ctx context.Context, q store.Querier, id int64) ([]Reporter, error) {
	rows, err := q.QueryContext(ctx, queries.Get("reporters"), id)
	if err != nil {
		return nil, fmt.Errorf("incident: reporters: %w", err)
	}
	defer rows.Close()
	var out []Reporter
	for rows.Next() {
		var r Reporter
		var at any
		if err := rows.Scan(&r.Email, &r.Name, &at); err != nil {
			return nil, fmt.Errorf("incident: reporters: %w", err)
		}
		r.FirstAt = aggregateTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// aggregateTime reads MIN() of a timestamp: SQLite returns it as text.
func aggregateTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC()
			}
		}
	}
	return time.Time{}
}

// Events returns the incident's timeline, oldest first, through q (the
// caller's transaction when it has one: on SQLite's one connection a read
// beside an open transaction would wait for it).
func Events(ctx context.Context, q store.Querier, id int64) ([]Event, error) {
	rows, err := q.QueryContext(ctx, queries.Get("events"), id)
	if err != nil {
		return nil, fmt.Errorf("incident: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev := Event{IncidentID: id}
		var data string
		if err := rows.Scan(&ev.ID, &ev.At, &ev.Kind, &ev.Actor, &ev.Text, &data); err != nil {
			return nil, fmt.Errorf("incident: events: %w", err)
		}
		// The data says what the text only spells out (who a heads-up went
		// to, how a reporter answered), so that a reader can retell an
		// event without copying its text.
		if data != "" && data != "{}" {
			_ = json.Unmarshal([]byte(data), &ev.Data)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}
