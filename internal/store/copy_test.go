package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// On PostgreSQL CopyFrom writes the rows in InTx's transaction, in the
// order given (ids ascending), and they go with its rollback. On SQLite,
// or for a transaction InTx did not start, it fails and writes nothing.
func TestCopyFromWritesInTheTransaction(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	rows := func(tag string) func(i int) []any {
		return func(i int) []any { return []any{at, []byte(fmt.Sprintf("%s-%04d", tag, i))} }
	}
	count := func(tag string) int {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM readiness_probe WHERE filler >= $1 AND filler < $2`,
			[]byte(tag+"-"), []byte(tag+".")).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		return db.CopyFrom(ctx, tx, "readiness_probe", []string{"at", "filler"}, 1000, rows("kept"))
	})
	if db.Dialect == store.SQLite {
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL's") || count("kept") != 0 {
			t.Fatalf("on SQLite: %v, %d rows", err, count("kept"))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
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
		if err := db.CopyFrom(ctx, tx, "readiness_probe", []string{"at", "filler"}, 10, rows("gone")); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatal(err)
	}
	if n := count("gone"); n != 0 {
		t.Errorf("%d rows of a rolled-back copy", n)
	}

	// A transaction InTx did not start: an error, and nothing copied.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.CopyFrom(ctx, tx, "readiness_probe", []string{"at", "filler"}, 10, rows("other"))
	if err == nil || !strings.Contains(err.Error(), "not started by InTx") {
		t.Errorf("a transaction of BeginTx: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count("other"); n != 0 {
		t.Errorf("%d rows copied in a transaction of BeginTx", n)
	}
}
