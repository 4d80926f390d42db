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
	due, err := o.dueMessages(ctx)
	ids := make([]int64, len(due))
	for i, d := range due {
		ids[i] = d.MessageID
	}
	return ids, err
}

// dueMessages is DueMessages with each message's job as queued.
func (o *Outbox) dueMessages(ctx context.Context) ([]DeliverArgs, error) {
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
	var out []DeliverArgs
	for rows.Next() {
		var id int64
		var audience string
		if err := rows.Scan(&id, &audience); err != nil {
			return nil, fmt.Errorf("outbox: due messages: %w", err)
		}
		out = append(out, DeliverArgs{MessageID: id, Urgent: urgent(audience)})
	}
	return out, rows.Err()
}

// settle marks a message settled when none of its deliveries can change
// any more, so that the sweep no longer reads its rows. A failure only
// leaves it to be looked at again: logged, not returned.
func (o *Outbox) settle(ctx context.Context, messageID int64) {
	if _, err := o.DB.ExecContext(ctx, queries.Get("settle-message"), o.now(), messageID); err != nil {
		o.logger().Warn("outbox: settling a message failed; the sweep keeps looking at it", "message", messageID, "err", err)
	}
}

// Sweep queues a delivery job for every message with due deliveries
// nobody is working on.
func (o *Outbox) Sweep(ctx context.Context) error {
	due, err := o.dueMessages(ctx)
	if err != nil {
		return err
	}
	for _, args := range due {
		err := o.DB.InTx(ctx, func(tx *sql.Tx) error {
			_, err := o.Jobs.InsertTx(ctx, tx, args, nil)
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
