package incident_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// The timeline read by id, across incidents, as the chat mirror follows it.
func TestTimelineReadByID(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	if n, err := s.NewestEventID(ctx, s.DB); err != nil || n != 0 {
		t.Fatalf("NewestEventID on an empty timeline = %d, %v; want 0", n, err)
	}
	first := declare(t, s)
	second := declare(t, s)
	id, err := incident.AddEvent(ctx, s.DB, c.now(), second.ID, incident.EventStateChanged, "lead@x.test", "identified", map[string]any{"to": "identified"})
	if err != nil {
		t.Fatal(err)
	}
	newest, err := s.NewestEventID(ctx, s.DB)
	if err != nil || newest != id {
		t.Fatalf("NewestEventID = %d, %v; want %d", newest, err, id)
	}
	all, err := s.EventsAfter(ctx, s.DB, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 3 || all[0].IncidentID != first.ID || all[len(all)-1].ID != id || all[len(all)-1].IncidentID != second.ID {
		t.Fatalf("EventsAfter(0) = %+v; want both incidents' events, the state change last", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("EventsAfter not in id order: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	some, err := s.EventsAfter(ctx, s.DB, all[0].ID, 1)
	if err != nil || len(some) != 1 || some[0].ID != all[1].ID {
		t.Fatalf("EventsAfter(%d, limit 1) = %+v, %v; want event %d alone", all[0].ID, some, err, all[1].ID)
	}
	ev, err := s.EventByID(ctx, s.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != incident.EventStateChanged || ev.Text != "identified" || ev.Data["to"] != "identified" || !ev.At.Equal(c.now()) || ev.At.Location().String() != "UTC" {
		t.Fatalf("EventByID = %+v", ev)
	}
	if _, err := s.EventByID(ctx, s.DB, id+1000); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("EventByID of no event = %v, want sql.ErrNoRows", err)
	}
}

// SettleTimeline refuses while a transaction that inserted events is open
// on PostgreSQL, where ids may commit out of order.
func TestSettleTimelineWaitsForOpenWriters(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	inc := declare(t, s)
	writer, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback()
	if s.DB.Dialect == store.Postgres {
		if _, err := incident.AddEvent(ctx, writer, c.now(), inc.ID, incident.EventNote, "lead@x.test", "uncommitted", nil); err != nil {
			t.Fatal(err)
		}
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.SettleTimeline(ctx, tx) })
		if !errors.Is(err, incident.ErrTimelineBusy) {
			t.Fatalf("SettleTimeline with a writer open = %v, want ErrTimelineBusy", err)
		}
		if err := writer.Commit(); err != nil {
			t.Fatal(err)
		}
	} else {
		// SQLite has one writer: the reader's transaction would wait for
		// it, so there is nothing to refuse.
		writer.Rollback()
	}
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.SettleTimeline(ctx, tx) }); err != nil {
		t.Fatalf("SettleTimeline with no writer open = %v", err)
	}
}
