// Package jobs runs sitrep's durable background work on River: everything
// that must happen later or survive a crash (sending, reminders, ingest,
// calendar booking) is a River job, inserted in the same transaction as the
// state change that caused it. With several replicas on one PostgreSQL each
// job runs once.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// Inserter is what domain packages need to queue work inside their own
// transactions. *river.Client[*sql.Tx] satisfies it.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

var _ Inserter = (*river.Client[*sql.Tx])(nil)

// NewInserter returns a client that only inserts jobs. Services get it at
// construction; the working client, which needs the services' workers,
// comes after.
func NewInserter(db *store.DB) (*river.Client[*sql.Tx], error) {
	c, err := river.NewClient(db.RiverDriver(), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("jobs: insert client: %w", err)
	}
	return c, nil
}

// Config is how the working client runs.
type Config struct {
	Workers      *river.Workers
	PeriodicJobs []*river.PeriodicJob
	// Concurrency is the number of jobs worked at once on this replica.
	Concurrency int
	// PollInterval is how often an idle replica looks for new jobs; 0:
	// DefaultPoll for the database.
	PollInterval time.Duration
	// RescueAfter: a job still running after this long is presumed lost with
	// its replica (kill -9) and made available again.
	RescueAfter time.Duration
	Logger      *slog.Logger
	// ID names this replica in River's tables (defaults to River's own).
	ID string
	// Queues are worked beside the default queue, each with its own
	// workers (the chat mirror's posts), so that they never take a worker
	// the default queue's email jobs need.
	Queues map[string]river.QueueConfig
}

// QueueUrgent is the queue of small jobs people are waiting on (an alert
// to the incident's leads). It has workers of its own, so that such a job
// never waits for a worker held by bulk work (a fan-out to thousands)
// queued before it.
const QueueUrgent = "urgent"

// urgentWorkers is the urgent queue's share: few, since its jobs are small.
const urgentWorkers = 2

// sqliteUrgentPoll is the urgent queue's fastest poll on SQLite (see NewWorker).
const sqliteUrgentPoll = 100 * time.Millisecond

// DefaultPoll is how often a replica looks for new jobs unless told: on
// PostgreSQL a look is one indexed SELECT … FOR UPDATE SKIP LOCKED, cheap
// enough every 50 ms, and it is what a status update waits for between
// being queued and its first email (River cannot LISTEN through
// database/sql); on SQLite every look is a write, so 200 ms.
func DefaultPoll(d store.Dialect) time.Duration {
	if d == store.Postgres {
		return 50 * time.Millisecond
	}
	return 200 * time.Millisecond
}

// NewWorker builds the client that works jobs. Start it with Start(ctx),
// stop it with Stop(ctx).
func NewWorker(db *store.DB, cfg Config) (*river.Client[*sql.Tx], error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPoll(db.Dialect)
	}
	urgentPoll := cfg.PollInterval
	if db.Dialect == store.SQLite {
		urgentPoll = max(urgentPoll, sqliteUrgentPoll)
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rc := &river.Config{
		ID:           cfg.ID,
		Workers:      cfg.Workers,
		PeriodicJobs: cfg.PeriodicJobs,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Concurrency},
			// On SQLite its own fetch loop polls no faster than every
			// 100 ms: every poll is a write, and at the 20 ms the tests
			// use for the default queue a second loop per hub starved a
			// 2-core machine running both suites.
			QueueUrgent: {MaxWorkers: urgentWorkers, FetchPollInterval: urgentPoll, FetchCooldown: urgentPoll / 4},
		},
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        cfg.PollInterval / 4,
		RescueStuckJobsAfter: cfg.RescueAfter,
		// Jobs bound their own work (a fan-out claims batches with leases);
		// River's timeout is a backstop below the rescue time.
		JobTimeout: cfg.RescueAfter - cfg.RescueAfter/10,
		Logger:     cfg.Logger.With("component", "river"),
		// River logs every job error at error level itself; keep its noise down.
		ErrorHandler: &errorLogger{logger: cfg.Logger},
	}
	for name, q := range cfg.Queues {
		rc.Queues[name] = q
	}
	if db.Dialect == store.Postgres {
		// database/sql has no LISTEN/NOTIFY: River polls.
		rc.PollOnly = true
	}
	c, err := river.NewClient(db.RiverDriver(), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: worker client: %w", err)
	}
	return c, nil
}

type errorLogger struct{ logger *slog.Logger }

func (e *errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.logger.Warn("job failed; it will be retried", "kind", job.Kind, "job", job.ID, "attempt", job.Attempt, "err", err)
	return nil
}

func (e *errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	e.logger.Error("job panicked", "kind", job.Kind, "job", job.ID, "panic", panicVal, "trace", trace)
	return nil
}
