package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// ErrTimelineBusy says that a transaction which inserted timeline events
// is still open, so a reader following the timeline by id must not move
// past the ids it sees now: try again later.
var ErrTimelineBusy = errors.New("incident: timeline being written")

// SettleTimeline makes tx fit for following the whole timeline by id (the
// chat mirror does). On PostgreSQL ids are handed out before commit: an
// event 41 may commit after event 42, and a reader that moved past 42
// would never see 41. So it tries, without waiting, to take the timeline's
// advisory lock exclusively for the rest of tx, which it gets only while
// no transaction that inserted events is open; otherwise it returns
// ErrTimelineBusy. Trying, not waiting: a waiting reader would queue every
// new writer behind it. SQLite has one writer at a time, so ids commit in
// order there.
func (s *Service) SettleTimeline(ctx context.Context, tx *sql.Tx) error {
	if s.DB.Dialect != store.Postgres {
		return nil
	}
	var free bool
	// 7319001 is the timeline's key, which every statement inserting
	// events takes shared (migration 00010).
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(7319001)`).Scan(&free); err != nil {
		return fmt.Errorf("incident: timeline lock: %w", err)
	}
	if !free {
		return ErrTimelineBusy
	}
	return nil
}

// NewestEventID is the id of the newest timeline event of any incident, 0
// when there is none.
func (s *Service) NewestEventID(ctx context.Context, q store.Querier) (int64, error) {
	var id int64
	if err := q.QueryRowContext(ctx, queries.Get("newest-event-id")).Scan(&id); err != nil {
		return 0, fmt.Errorf("incident: newest event: %w", err)
	}
	return id, nil
}

// EventsAfter returns at most limit timeline events of any incident with
// an id above after, in id order.
func (s *Service) EventsAfter(ctx context.Context, q store.Querier, after int64, limit int) ([]Event, error) {
	rows, err := q.QueryContext(ctx, queries.Get("events-after"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("incident: events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("incident: events after %d: %w", after, err)
		}
		out = append(out, *ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("incident: events after %d: %w", after, err)
	}
	return out, nil
}

// EventByID returns one timeline event.
func (s *Service) EventByID(ctx context.Context, q store.Querier, id int64) (*Event, error) {
	ev, err := scanEvent(q.QueryRowContext(ctx, queries.Get("event-by-id"), id))
	if err != nil {
		return nil, fmt.Errorf("incident: event %d: %w", id, err)
	}
	return ev, nil
}

func scanEvent(row interface{ Scan(...any) error }) (*Event, error) {
	var ev Event
	var data string
	if err := row.Scan(&ev.ID, &ev.IncidentID, &ev.At, &ev.Kind, &ev.Actor, &ev.Text, &data); err != nil {
		return nil, err
	}
	ev.At = ev.At.UTC()
	if data != "" && data != "{}" {
		_ = json.Unmarshal([]byte(data), &ev.Data)
	}
	return &ev, nil
}
