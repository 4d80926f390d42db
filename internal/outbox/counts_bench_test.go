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

// BenchmarkCountsOfAFanOutInFlight is one read of a message's counts (the
// API's, which `sitrep update` and the incident page poll) while its
// fan-out is under way: every recipient handed out from the cursor but the
// last 400, whose 8 transactions are still open, and every other
// transaction accepted (migration 00034: their rows are recorded by the
// transactions' rows).
//
//	SITREP_TEST_DB=postgres go test -run '^$' -bench CountsOfAFanOutInFlight ./internal/outbox/
func BenchmarkCountsOfAFanOutInFlight(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchCounts(b, n) })
	}
}

func benchCounts(b *testing.B, n int) {
	db := storetest.Open(b)
	ctx := context.Background()
	now := time.Now().UTC()
	rows := `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $2)
		INSERT INTO deliveries (message_id, email, state) SELECT $1, 'p' || n || '@example.test', 'queued' FROM g`
	txs := `WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < $2 / 50 - 1)
		INSERT INTO delivery_transactions (message_id, token, deliveries, first_id, last_id, sent_at, lease_until)
		SELECT $1, 't' || n, '[]', n * 50 + 1, n * 50 + 50,
			CASE WHEN n < $2 / 50 - 8 THEN $3 END, CASE WHEN n >= $2 / 50 - 8 THEN $3 END FROM g`
	if db.Dialect == store.Postgres {
		rows = `INSERT INTO deliveries (message_id, email, state) SELECT $1, 'p' || n || '@example.test', 'queued' FROM generate_series(1, $2::int) n`
		txs = `INSERT INTO delivery_transactions (message_id, token, deliveries, first_id, last_id, sent_at, lease_until)
			SELECT $1, 't' || n, '[]', n * 50 + 1, n * 50 + 50,
				CASE WHEN n < $2::int / 50 - 8 THEN $3::timestamptz END, CASE WHEN n >= $2::int / 50 - 8 THEN $3::timestamptz END
			FROM generate_series(0, $2::int / 50 - 1) n`
	}
	var id int64
	err := db.QueryRowContext(ctx, `INSERT INTO messages (incident_id, audience, kind, message_id, subject, to_display, created_at, total, claimed_through)
		VALUES (1, 'everyone', 'update', '<bench@bench>', 's', 'Everyone', $1, $2, $3) RETURNING id`, now, n, n).Scan(&id)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, rows, id, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, txs, id, n, now); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	o := &outbox.Outbox{DB: db, Now: func() time.Time { return now }}
	for b.Loop() {
		m, err := o.Message(ctx, 1, "INC-1", id)
		if err != nil || m.Counts[outbox.StateSent] != n-400 || m.Counts[outbox.StateSending] != 400 {
			b.Fatalf("counts %v, %v", m, err)
		}
	}
}
