package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// Migration 00036 drops the unique check on a message's recipients;
// SQLite does it by rebuilding the table. Every row keeps its id and
// columns, readers (delivery_states) still read them, and a new row's id
// comes after every id ever given, even one whose row is gone.
func TestDeliveriesKeepTheirRowsAndIdsWithoutTheUniqueCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := migratedTo(t, 35,
		`INSERT INTO messages (id, incident_id, audience, kind, message_id, subject, to_display, created_at, thread_ref, claimed_through, settled_at)
			VALUES (7, 1, 'stakeholders', 'status', '<a@x>', '[INC-1] t', 'Exec', '2026-01-01 00:00:00', 'INC-1', 0, '2026-01-01 00:00:05')`,
		`INSERT INTO deliveries (message_id, email, name, state, attempts, sent_at, language, unsubscribe, follows)
			VALUES (7, 'a@x.test', 'A', 'sent', 1, '2026-01-01 00:00:01', 'de', 'https://u/1', '[]')`,
		`INSERT INTO deliveries (message_id, email, state, attempts, last_error, failed_at, bounced_at)
			VALUES (7, 'b@x.test', 'failed', 2, '550 no such user', '2026-01-01 00:00:02', '2026-01-01 00:00:03')`,
		`INSERT INTO deliveries (message_id, email, state) VALUES (7, 'gone@x.test', 'skipped')`)
	var last int64
	if err := db.QueryRowContext(ctx, `SELECT MAX(id) FROM deliveries`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM deliveries WHERE id = $1`, last); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	type row struct {
		id                                 int64
		email, name, state, lastError, lng string
		attempts                           int
		sent, failed, bounced              bool
	}
	var got []row
	rows, err := db.QueryContext(ctx, `SELECT d.id, d.email, d.name, s.state, d.last_error, d.language, d.attempts,
		d.sent_at IS NOT NULL, d.failed_at IS NOT NULL, d.bounced_at IS NOT NULL
		FROM deliveries d JOIN delivery_states s ON s.id = d.id WHERE d.message_id = 7 ORDER BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.email, &r.name, &r.state, &r.lastError, &r.lng, &r.attempts, &r.sent, &r.failed, &r.bounced); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	want := []row{
		{id: last - 2, email: "a@x.test", name: "A", state: "sent", lng: "de", attempts: 1, sent: true},
		{id: last - 1, email: "b@x.test", state: "failed", lastError: "550 no such user", attempts: 2, failed: true, bounced: true},
	}
	if len(got) != len(want) {
		t.Fatalf("rows after the migration: %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d after the migration: %+v, want %+v", i, got[i], want[i])
		}
	}

	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO deliveries (message_id, email, state) VALUES (7, 'c@x.test', 'queued') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id <= last {
		t.Errorf("a new row's id is %d, want past %d (the highest ever given)", id, last)
	}
	if db.Dialect == store.SQLite {
		referencesHold(t, db)
	}
}

// A start that migrates says so first, and then each migration's time:
// 00036 rebuilds deliveries on SQLite (about 5 s a million rows), and a
// start silent for that long looks hung. A start with nothing to apply
// says nothing.
func TestMigrationsAreLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := migratedTo(t, 35)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := db.MigrateLogged(ctx, log); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="store: migrating the database" from=3`, `msg="store: migration applied" migration=00036_deliveries_not_unique.sql took=`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := db.MigrateLogged(ctx, log); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 0 {
		t.Errorf("nothing to apply, yet the log says:\n%s", buf.String())
	}
}
