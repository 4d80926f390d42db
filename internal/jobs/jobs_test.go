package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

type countArgs struct {
	N int `json:"n"`
}

func (countArgs) Kind() string { return "test_count" }

// runsTable is the test's own table of job runs: jobs owns only River's
// tables, and borrowing another package's would tie this test to its
// schema.
const runsTable = `CREATE TABLE jobs_test_runs (key TEXT PRIMARY KEY, value TEXT NOT NULL)`

// countWorker records every run, by which replica, in the database.
type countWorker struct {
	river.WorkerDefaults[countArgs]
	db      *store.DB
	replica string
}

func (w *countWorker) Work(ctx context.Context, job *river.Job[countArgs]) error {
	_, err := w.db.ExecContext(ctx, `INSERT INTO jobs_test_runs (key, value) VALUES ($1, $2)`, fmt.Sprintf("run-%d-%d", job.Args.N, job.ID), w.replica)
	return err
}

func startReplica(t *testing.T, db *store.DB, id string) *river.Client[*sql.Tx] {
	workers := river.NewWorkers()
	river.AddWorker(workers, &countWorker{db: db, replica: id})
	c, err := jobs.NewWorker(db, jobs.Config{Workers: workers, ID: id, PollInterval: 50 * time.Millisecond, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	return c
}

// TestJobInsertedWithStateRunsOnceAcrossReplicas: a job inserted in a
// transaction runs once, even with two replicas working the same database;
// a job whose transaction rolled back never runs.
func TestJobInsertedWithStateRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, runsTable); err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 2
	if db.Dialect == store.SQLite {
		replicas = 1 // one process owns a SQLite file
	}
	for i := 0; i < replicas; i++ {
		startReplica(t, db, fmt.Sprintf("replica-%d", i))
	}
	const n = 60
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := ins.InsertTx(ctx, tx, countArgs{N: i}, nil)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	// A job inserted in a transaction that rolls back must never run.
	db.InTx(ctx, func(tx *sql.Tx) error {
		ins.InsertTx(ctx, tx, countArgs{N: 999}, nil)
		return fmt.Errorf("roll back")
	})

	deadline := time.Now().Add(30 * time.Second)
	var runs int
	for time.Now().Before(deadline) {
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs_test_runs WHERE key LIKE 'run-%'`).Scan(&runs)
		if runs >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let any duplicate run show itself
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs_test_runs WHERE key LIKE 'run-%'`).Scan(&runs)
	if runs != n {
		t.Fatalf("%d jobs inserted, %d runs recorded", n, runs)
	}
	var rolledBack int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs_test_runs WHERE key LIKE 'run-999-%'`).Scan(&rolledBack)
	if rolledBack != 0 {
		t.Fatal("a job from a rolled-back transaction ran")
	}
	if replicas == 2 {
		var byReplica int
		db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT value) FROM jobs_test_runs WHERE key LIKE 'run-%'`).Scan(&byReplica)
		t.Logf("jobs worked by %d replicas", byReplica)
	}
}
