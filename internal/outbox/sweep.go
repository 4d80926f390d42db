package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// DueMessages lists messages with deliveries that are due and that no
// worker is on: queued ones whose job was lost with a crashed replica,
// deferred ones whose retry time has come, and claimed ones whose lease
// ran out. The sweep queues a delivery job for each; claims keep two jobs
// on one message from sending a recipient twice.
func (o *Outbox) DueMessages(ctx context.Context) ([]int64, error) {
	now := o.now()
	// A live worker marks its message active at every batch; a message
	// quiet for this long has lost its worker. Guessing wrong only starts
	// a second job, which the claims keep from sending anyone twice.
	quiet := 15 * time.Second
	if o.Lease > 0 && o.Lease < quiet {
		quiet = o.Lease
	}
	stale := now.Add(-quiet)
	rows, err := o.DB.QueryContext(ctx, queries.Get("due-messages"), now, stale, time.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("outbox: due messages: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("outbox: due messages: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Sweep queues a delivery job for every message with due deliveries
// nobody is working on.
func (o *Outbox) Sweep(ctx context.Context) error {
	ids, err := o.DueMessages(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := o.DB.InTx(ctx, func(tx *sql.Tx) error {
			_, err := o.Jobs.InsertTx(ctx, tx, DeliverArgs{MessageID: id}, nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("outbox: sweep: %w", err)
		}
	}
	return nil
}

// Register adds the outbox's job workers.
func (o *Outbox) Register(workers *river.Workers) {
	river.AddWorker(workers, &DeliverWorker{Outbox: o})
}
