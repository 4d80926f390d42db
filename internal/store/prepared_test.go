package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

const (
	insertProbe = `INSERT INTO readiness_probe (at, filler) VALUES ($1, $2)`
	countProbes = `SELECT COUNT(*) FROM readiness_probe WHERE filler = $1`
	listProbes  = `SELECT id FROM readiness_probe WHERE filler = $1 ORDER BY id`
)

// Statements kept by Prepare run in transaction after transaction (the
// hundredth as the first), beside rolled-back ones and a schema change,
// and give what the plain query gives. The deadline turns a wait on
// SQLite's one connection into a failure rather than a hang.
func TestPreparedStatementsRunInEveryTransaction(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.Prepare(ctx, insertProbe, countProbes, listProbes); err != nil {
		t.Fatal(err)
	}
	if err := db.Prepare(ctx, countProbes); err != nil { // again: kept, not prepared twice
		t.Fatal(err)
	}
	errRollBack := errors.New("roll back")
	for i := range 100 {
		if i == 50 {
			// The table changes under the kept statements: SQLite prepares
			// them again by itself.
			if _, err := db.ExecContext(ctx, `CREATE INDEX readiness_probe_filler_test ON readiness_probe (filler)`); err != nil {
				t.Fatal(err)
			}
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			q := db.In(tx)
			if _, err := q.ExecContext(ctx, insertProbe, time.Now().UTC(), []byte("prepared")); err != nil {
				return err
			}
			var n int
			if err := q.QueryRowContext(ctx, countProbes, []byte("prepared")).Scan(&n); err != nil {
				return err
			}
			rows, err := q.QueryContext(ctx, listProbes, []byte("prepared"))
			if err != nil {
				return err
			}
			listed := 0
			for rows.Next() {
				listed++
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
			// Every third transaction rolls back: its row is gone.
			want := i - i/3 + 1
			if n != want || listed != want {
				t.Errorf("transaction %d: counted %d and listed %d rows, want %d", i, n, listed, want)
			}
			if i%3 == 2 {
				return errRollBack
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollBack) {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, countProbes, []byte("prepared")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 67 {
		t.Errorf("%d rows committed, want 67", n)
	}
	// A query never prepared runs through In as through the transaction.
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		return db.In(tx).QueryRowContext(ctx, `SELECT COUNT(*) FROM readiness_probe`).Scan(&n)
	})
	if err != nil || n != 67 {
		t.Errorf("unprepared query through In: %d rows, %v", n, err)
	}
}

// BenchmarkStatementInTransaction is what Prepare saves a statement on
// SQLite (on PostgreSQL pgx caches statements by itself).
func BenchmarkStatementInTransaction(b *testing.B) {
	db := storetest.Open(b)
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		name := "parsed"
		if keep {
			name = "prepared"
			if err := db.Prepare(ctx, countProbes); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name, func(b *testing.B) {
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				q := store.Querier(tx)
				if keep {
					q = db.In(tx)
				}
				for b.Loop() {
					var n int
					if err := q.QueryRowContext(ctx, countProbes, []byte("x")).Scan(&n); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
