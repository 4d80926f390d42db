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
	db, _ := OpenURL(t)
	return db
}

// OpenURL is Open with the database's URL, for a test that opens it
// again as a second process would.
func OpenURL(t testing.TB) (*store.DB, string) {
	t.Helper()
	url := testenv.DatabaseURL(t)
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, url
}
