package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// Migration 00021 rebuilds SQLite's threads and messages so that their key
// no longer refers to incidents (a maintenance window's thread is keyed
// below zero). Mail sent before it keeps its rows, ids and deliveries, and
// a thread keyed by no incident can be stored after it.
func TestSQLiteMaintenanceMigrationKeepsSentMail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUpTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO incidents (id, title, severity, state, declared_at, reply_token, updated_at) VALUES (1, 't', 'SEV1', 'investigating', '2026-01-01 00:00:00', 'tok', '2026-01-01 00:00:00')`,
		`INSERT INTO threads (incident_id, audience, subject, root_message_id, last_message_id, thread_index) VALUES (1, 'stakeholders', '[INC-1] t', '<a@x>', '<a@x>', 'i')`,
		`INSERT INTO messages (id, incident_id, audience, kind, message_id, subject, to_display, created_at, thread_ref) VALUES (7, 1, 'stakeholders', 'status', '<a@x>', '[INC-1] t', 'Exec', '2026-01-01 00:00:00', 'INC-1')`,
		`INSERT INTO deliveries (message_id, email, state) VALUES (7, 'exec@x.test', 'sent')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.id = 7 AND m.thread_ref = 'INC-1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the delivery of message 7 after the migration: %d, %v", n, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM threads WHERE incident_id = 1`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the incident's thread after the migration: %d, %v", n, err)
	}
	referencesHold(t, db)
	for _, q := range []string{
		`INSERT INTO threads (incident_id, audience, subject, root_message_id, last_message_id, thread_index) VALUES (-5, 'maintenance', '[MAINT-5] m', '<b@x>', '<b@x>', 'i')`,
		`INSERT INTO messages (incident_id, audience, kind, message_id, subject, to_display, created_at) VALUES (-5, 'maintenance', 'maintenance', '<b@x>', '[MAINT-5] m', 'CS', '2026-01-02 00:00:00')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("a maintenance thread after the migration: %v", err)
		}
	}
	var id int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM messages WHERE message_id = '<b@x>'`).Scan(&id); err != nil || id <= 7 {
		t.Errorf("a new message's id is %d (%v), want past the old ones", id, err)
	}
}
