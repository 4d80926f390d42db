package outbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// fakeClock is the time two replicas share; sleeping moves it on.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return nil
}

// Three replicas on one database, each sending as fast as its limiter
// lets it, send no more than the account's limit between them: the rate
// over the minute and the burst, with at most each replica's unspent
// tenth of a second on top. And none is starved: each gets a share.
func TestRateLimitHoldsAcrossReplicas(t *testing.T) {
	db := storetest.Open(t)
	clock := &fakeClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	const rate, burst = 50.0, 50
	replicas := make([]*outbox.SharedLimiter, 3)
	for i := range replicas {
		replicas[i] = &outbox.SharedLimiter{DB: db, Rate: rate, Size: burst, Now: clock.Now, Sleep: clock.Sleep}
	}
	start := clock.Now()
	sent := make([]int, len(replicas))
	// Each turn, every replica sends a transaction of 10 (the pool asks
	// for a transaction's recipients at most a burst at a time).
	for clock.Now().Sub(start) < time.Minute {
		for i, l := range replicas {
			if err := l.WaitN(t.Context(), 10); err != nil {
				t.Fatal(err)
			}
			sent[i] += 10
		}
	}
	total := sent[0] + sent[1] + sent[2]
	elapsed := clock.Now().Sub(start).Seconds()
	allowed := rate*elapsed + burst + 3*rate/10 + 3*10
	if float64(total) > allowed {
		t.Errorf("three replicas sent %d in %.1f s; the limit allows %.0f (rate %.0f/s, burst %d)", total, elapsed, allowed, rate, burst)
	}
	if float64(total) < rate*elapsed-burst {
		t.Errorf("three replicas sent only %d in %.1f s at %.0f/s: the bucket is lost somewhere", total, elapsed, rate)
	}
	for i, n := range sent {
		if n < total/6 {
			t.Errorf("replica %d sent %d of %d: starved", i, n, total)
		}
	}
	t.Logf("sent %v = %d in %.1f s (%.1f/s; limit %.0f/s)", sent, total, elapsed, float64(total)/elapsed, rate)
}

// A request larger than the bucket could never be met: refused, not
// waited for forever.
func TestRateLimitRefusesMoreThanTheBurst(t *testing.T) {
	l := &outbox.SharedLimiter{DB: storetest.Open(t), Rate: 5, Size: 5}
	if err := l.WaitN(t.Context(), 6); err == nil {
		t.Fatal("WaitN(6) with a burst of 5 returned")
	}
}
