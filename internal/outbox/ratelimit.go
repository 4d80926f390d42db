package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// RateLimiter paces the recipients the pool sends to. *rate.Limiter is
// one replica's; SharedLimiter is every replica's.
type RateLimiter interface {
	// WaitN blocks until n recipients may be sent to; n ≤ Burst.
	WaitN(ctx context.Context, n int) error
	Burst() int
}

// SharedLimiter is a token bucket in the database, so that the outgoing
// limit (mail.smtp.rate_per_second) holds for the mail account however
// many replicas send through it: a relay's or a provider's limit is per
// account, and three replicas each allowed the full rate would send three
// times over it. Each replica takes tokens from the bucket a tenth of a
// second's worth at a time and spends them locally, so the bucket is
// written about ten times a second per busy replica, not per recipient;
// tokens taken and not spent when a replica dies are lost, never doubled.
type SharedLimiter struct {
	DB *store.DB
	// Rate is recipients per second over all replicas.
	Rate float64
	// Size is the bucket: how many may go at once after a quiet spell.
	Size int
	// Name tells buckets apart; "smtp" if empty.
	Name string
	// Now and Sleep are the clock; tests drive both.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	local float64 // taken from the bucket, not yet spent
}

var _ RateLimiter = (*SharedLimiter)(nil)

func (l *SharedLimiter) Burst() int { return max(1, l.Size) }

// WaitN waits until n tokens are this replica's, then spends them. The
// connections of a replica wait in turn: while one waits for the bucket
// to refill, the others would wait for it too.
func (l *SharedLimiter) WaitN(ctx context.Context, n int) error {
	if n > l.Burst() {
		return fmt.Errorf("outbox: rate limit: %d recipients at once exceed the burst of %d", n, l.Burst())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.local >= float64(n) {
			l.local -= float64(n)
			return nil
		}
		want := min(float64(l.Burst()), max(float64(n)-l.local, l.Rate/10))
		got, wait, err := l.take(ctx, want)
		if err != nil {
			return err
		}
		l.local += got
		if l.local >= float64(n) {
			continue
		}
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// take takes up to want tokens from the bucket, after refilling it for
// the time since it was last taken from. With none to give, it says how
// long until want would be there.
func (l *SharedLimiter) take(ctx context.Context, want float64) (got float64, wait time.Duration, err error) {
	name := l.Name
	if name == "" {
		name = "smtp"
	}
	now := l.now().UnixNano()
	err = l.DB.InTx(ctx, func(tx *sql.Tx) error {
		var available float64
		var at int64
		err := tx.QueryRowContext(ctx, queries.SQL(l.DB, "rate-bucket"), name).Scan(&available, &at)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tx.ExecContext(ctx, queries.Get("rate-bucket-create"), name, float64(l.Burst()), now); err != nil {
				return err
			}
			err = tx.QueryRowContext(ctx, queries.SQL(l.DB, "rate-bucket"), name).Scan(&available, &at)
		}
		if err != nil {
			return err
		}
		// Replicas' clocks differ a little: time never runs backwards for
		// the bucket.
		now = max(now, at)
		available = min(float64(l.Burst()), available+l.Rate*float64(now-at)/1e9)
		if available >= min(want, 1) {
			got = min(want, available)
		}
		_, err = tx.ExecContext(ctx, queries.Get("rate-bucket-set"), name, available-got, now)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("outbox: rate limit: %w", err)
	}
	short := want - got
	wait = time.Duration(math.Ceil(short / l.Rate * 1e9))
	return got, max(wait, time.Millisecond), nil
}

func (l *SharedLimiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *SharedLimiter) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
