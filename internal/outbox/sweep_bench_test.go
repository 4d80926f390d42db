package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// BenchmarkSweepOverHistory is one look of the sweep for due deliveries
// (every replica's, every check_interval) over a history of 300 delivered
// messages of 1,000 recipients each, and one message still being sent.
// "settled" is the history as the outbox leaves it (migration 00033);
// "unsettled" the same rows with no message settled, which is what the
// sweep read before it: every delivery ever made.
//
//	SITREP_TEST_DB=postgres go test -run '^$' -bench SweepOverHistory ./internal/outbox/
func BenchmarkSweepOverHistory(b *testing.B) {
	db := storetest.Open(b)
	ctx := context.Background()
	now := time.Now().UTC()
	rows := `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000)
		INSERT INTO deliveries (message_id, email, state, sent_at) SELECT $1, 'p' || n || '@example.test', $2, $3 FROM g`
	if db.Dialect == store.Postgres {
		rows = `INSERT INTO deliveries (message_id, email, state, sent_at)
			SELECT $1, 'p' || n || '@example.test', $2, $3 FROM generate_series(1, 1000) n`
	}
	for i := 0; i <= 300; i++ {
		var id int64
		err := db.QueryRowContext(ctx, `INSERT INTO messages (audience, kind, message_id, subject, to_display, created_at, settled_at)
			VALUES ('everyone', 'update', $1, 's', 'Everyone', $2, $3) RETURNING id`,
			fmt.Sprintf("<%d@bench>", i), now.Add(-time.Hour), now.Add(-time.Hour)).Scan(&id)
		if err != nil {
			b.Fatal(err)
		}
		state := outbox.StateSent
		if i == 300 { // being sent: a live worker's, not due
			state = outbox.StateQueued
			if _, err := db.ExecContext(ctx, `UPDATE messages SET settled_at = NULL, last_activity_at = $2 WHERE id = $1`, id, now); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, rows, id, state, now); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	o := &outbox.Outbox{DB: db, Now: func() time.Time { return now }}
	look := func(b *testing.B) {
		for b.Loop() {
			due, err := o.DueMessages(ctx)
			if err != nil || len(due) != 0 {
				b.Fatalf("due %v, %v", due, err)
			}
		}
	}
	b.Run("settled", look)
	if _, err := db.ExecContext(ctx, `UPDATE messages SET settled_at = NULL`); err != nil {
		b.Fatal(err)
	}
	b.Run("unsettled", look)
}
