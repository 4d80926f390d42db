package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// On PostgreSQL CopyFrom writes the rows in InTx's transaction, in the
// order given (ids ascending), and they go with its rollback. Where COPY
// cannot be used it writes nothing and says so, and the caller inserts.
func TestCopyFromWritesInTheTransaction(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	rows := func(tag string) func(i int) []any {
		return func(i int) []any { return []any{at, []byte(fmt.Sprintf("%s-%04d", tag, i))} }
	}
	var copied bool
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		copied, err = db.CopyFrom(ctx, tx, "readiness_probe", []string{"at", "filler"}, 1000, rows("kept"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := db.Dialect == store.Postgres; copied != want {
		t.Fatalf("copied = %v on %s, want %v", copied, db.Dialect, want)
	}
	if !copied {
		return
	}
	list, err := db.QueryContext(ctx, `SELECT filler FROM readiness_probe WHERE filler >= $1 ORDER BY id`, []byte("kept"))
	if err != nil {
		t.Fatal(err)
	}
	defer list.Close()
	n := 0
	for list.Next() {
		var filler []byte
		if err := list.Scan(&filler); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("kept-%04d", n); string(filler) != want {
			t.Fatalf("row %d in id order is %q, want %q", n, filler, want)
		}
		n++
	}
	if n != 1000 {
		t.Fatalf("%d rows copied, want 1000", n)
	}

	errRollBack := errors.New("roll back")
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.CopyFrom(ctx, tx, "readiness_probe", []string{"at", "filler"}, 10, rows("gone")); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatal(err)
	}
	var gone int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM readiness_probe WHERE filler >= $1 AND filler < $2`, []byte("gone"), []byte("gonf")).Scan(&gone); err != nil || gone != 0 {
		t.Errorf("%d rows of a rolled-back copy (%v)", gone, err)
	}

	// A transaction InTx did not start: nothing copied, and told so.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if copied, err := db.CopyFrom(ctx, tx, "readiness_probe", []string{"at", "filler"}, 10, rows("other")); copied || err != nil {
		t.Errorf("a transaction of BeginTx: copied %v, %v", copied, err)
	}
}
