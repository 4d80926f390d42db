package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

func openTest(t *testing.T) *store.DB { return storetest.Open(t) }

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

// The tests below write to the store's own table, readiness_probe, so
// that they depend on no other package's schema.

func TestTimesRoundTripInUTC(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 24, 14, 30, 15, 123000000, time.FixedZone("CET", 3600))
	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO readiness_probe (at, filler) VALUES ($1, $2) RETURNING id`, at.UTC(), []byte("x")).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var got time.Time
	var filler []byte
	if err := db.QueryRowContext(ctx, `SELECT at, filler FROM readiness_probe WHERE id = $1`, id).Scan(&got, &filler); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(at) || string(filler) != "x" {
		t.Fatalf("round trip: got %s %q, want %s \"x\"", got, filler, at)
	}
}

func TestUniqueViolationRecognised(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	var id int64
	if err := db.QueryRowContext(ctx, `INSERT INTO readiness_probe (at, filler) VALUES ($1, $2) RETURNING id`, time.Now().UTC(), []byte("x")).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL's GENERATED ALWAYS identity takes a given id only when
	// told to override it.
	insert := `INSERT INTO readiness_probe (id, at, filler) VALUES ($1, $2, $3)`
	if db.Dialect == store.Postgres {
		insert = `INSERT INTO readiness_probe (id, at, filler) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3)`
	}
	_, err := db.ExecContext(ctx, insert, id, time.Now().UTC(), []byte("y"))
	if !store.IsUniqueViolation(err) {
		t.Fatalf("want a unique violation, got %v", err)
	}
	if store.IsUniqueViolation(context.Canceled) {
		t.Fatal("a non-database error is not a unique violation")
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), "mysql://root:pw@localhost/x")
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); !strings.Contains(got, "unsupported") || strings.Contains(got, "pw@") {
		t.Fatalf("error should say unsupported and hide the password: %s", got)
	}
}

// Statements built with many parameters bind them by position on both
// databases: "$3, $4" on PostgreSQL, "?, ?" on SQLite.
func TestPlaceholdersBindInOrder(t *testing.T) {
	db := storetest.Open(t)
	var got string
	err := db.QueryRowContext(context.Background(), `SELECT `+strings.Join([]string{"CAST(" + db.Placeholder(1) + " AS TEXT)", "CAST(" + db.Placeholder(2) + " AS TEXT)", "CAST(" + db.Placeholder(3) + " AS TEXT)"}, " || '-' || "),
		"a", "b", "c").Scan(&got)
	if err != nil || got != "a-b-c" {
		t.Fatalf("got %q, %v", got, err)
	}
	if want := map[store.Dialect]string{store.SQLite: "?, ?, ?", store.Postgres: "$3, $4, $5"}[db.Dialect]; db.Placeholders(3, 3) != want {
		t.Errorf("Placeholders(3, 3) = %q, want %q", db.Placeholders(3, 3), want)
	}
}

// Migrations written once for both databases run on each, in version
// order with the ones written per database.
func TestMigrationsWrittenOnceRunOnBoth(t *testing.T) {
	db := openTest(t)
	current, latest, err := db.MigrationStatus(context.Background())
	if err != nil || current != latest || latest < 14 {
		t.Fatalf("schema at %d of %d (%v); want the newest", current, latest, err)
	}
	var n int
	// 00014 (migrations/both) added this column on either database.
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM messages WHERE thread_ref = ''`).Scan(&n); err != nil {
		t.Fatal(err)
	}
}
