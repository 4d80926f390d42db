// Package storetest opens a migrated throwaway database of the kind the
// test run asks for (SITREP_TEST_DB=sqlite|postgres), for tests of every
// package that stores something.
package storetest

import (
	"context"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// Open returns a migrated database that is closed (and, on PostgreSQL,
// dropped) when the test ends.
func Open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
