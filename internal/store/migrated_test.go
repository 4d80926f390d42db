package store_test

import (
	"context"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// migratedTo opens the test database migrated up to version and runs
// stmts on it: the rows a later migration must keep or change.
func migratedTo(t *testing.T, version int64, stmts ...string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

// referencesHold fails t when a foreign key of SQLite's points nowhere
// (a rebuilt table whose rows were not all put back).
func referencesHold(t *testing.T, db *store.DB) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("a reference is broken after the migration")
	}
}
