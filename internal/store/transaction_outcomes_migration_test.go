package store_test

import (
	"context"
	"testing"
)

// Migration 00034 records accepted recipients by their SMTP transaction's
// range. A transaction still open when it runs (its worker stopped with
// the old binary) has no range: its unanswered recipients must go again,
// as after its lease, and nothing recorded before may change.
func TestOpenTransactionsBeforeRangesGoAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := migratedTo(t, 33,
		`INSERT INTO messages (id, incident_id, audience, kind, message_id, subject, to_display, created_at, thread_ref, claimed_through)
			VALUES (7, 1, 'stakeholders', 'status', '<a@x>', '[INC-1] t', 'Exec', '2026-01-01 00:00:00', 'INC-1', 3)`,
		// 1 sent and recorded; 2 and 3 handed to a transaction still open;
		// 4 not handed out yet.
		`INSERT INTO deliveries (id, message_id, email, state, attempts, sent_at) VALUES (1, 7, 'a@x.test', 'sent', 1, '2026-01-01 00:00:01')`,
		`INSERT INTO deliveries (id, message_id, email, state) VALUES (2, 7, 'b@x.test', 'queued'), (3, 7, 'c@x.test', 'queued'), (4, 7, 'd@x.test', 'queued')`,
		`INSERT INTO delivery_transactions (message_id, token, deliveries, lease_until) VALUES (7, 'done', '[1]', NULL), (7, 'open', '[2,3]', '2026-01-01 00:02:00')`)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		state    string
		attempts int
	}{"a@x.test": {"sent", 1}, "b@x.test": {"deferred", 1}, "c@x.test": {"deferred", 1}, "d@x.test": {"queued", 0}}
	rows, err := db.QueryContext(ctx, `SELECT email, state, attempts FROM delivery_states WHERE message_id = 7`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var email, state string
		var attempts int
		if err := rows.Scan(&email, &state, &attempts); err != nil {
			t.Fatal(err)
		}
		n++
		if w := want[email]; state != w.state || attempts != w.attempts {
			t.Errorf("%s after the migration: %s after %d attempts, want %s after %d", email, state, attempts, w.state, w.attempts)
		}
	}
	if err := rows.Err(); err != nil || n != len(want) {
		t.Fatalf("%d deliveries read, %v", n, err)
	}
	var open int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM delivery_transactions WHERE lease_until IS NOT NULL`).Scan(&open); err != nil || open != 0 {
		t.Fatalf("%d transactions still open, %v", open, err)
	}
}
