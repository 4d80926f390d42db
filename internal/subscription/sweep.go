package subscription

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// The sweep: what subscriptions leave behind and nobody will use. A double
// opt-in never confirmed would otherwise stay forever, holding an address
// that never said yes; a spent or expired link holds an address too.
// serve runs Sweep periodically on every replica: each statement deletes
// rows that are garbage whoever deletes them, so two replicas at once
// only share the work.

// Grace periods of links, after which the sweep deletes them.
const (
	// SpentLinkGrace is how long a spent unsubscribe link is kept, so that
	// a second click says "already used" rather than "not valid".
	SpentLinkGrace = 7 * 24 * time.Hour
	// ExpiredLinkGrace is how long an expired unsubscribe link is kept,
	// so that a late click says "expired".
	ExpiredLinkGrace = 30 * 24 * time.Hour
	// rateWindow is the day over which confirmations to one address are
	// counted (sendConfirmation): a link is kept that long at least, or
	// deleting it would lift the limit.
	rateWindow = 24 * time.Hour
)

// DefaultSweepBatch is how many rows one statement of the sweep deletes.
const DefaultSweepBatch = 500

// maxSweepBatches bounds one Sweep call: the rest waits for the next run,
// so that a backlog never holds the database for long.
const maxSweepBatches = 20

// SweepResult says what one Sweep deleted.
type SweepResult struct {
	// Unconfirmed: subscriptions whose double opt-in lapsed (never
	// confirmed, every confirmation link expired).
	Unconfirmed int
	// ConfirmLinks: expired confirmation links.
	ConfirmLinks int
	// UnsubscribeLinks: unsubscribe links spent more than SpentLinkGrace
	// ago, or expired more than ExpiredLinkGrace ago.
	UnsubscribeLinks int
}

// Total is every row the sweep deleted.
func (r SweepResult) Total() int { return r.Unconfirmed + r.ConfirmLinks + r.UnsubscribeLinks }

// Sweep deletes, in batches of SweepBatch, the subscriptions whose double
// opt-in lapsed (never confirmed, and no confirmation link still works:
// they are past ConfirmFor), the expired confirmation links (once the
// rate limit's day is over too), and the unsubscribe links spent or
// expired a while ago. A confirmed subscription is never touched. It
// stops after a bounded number of batches; the next run goes on.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	now := s.now()
	batch := cmp.Or(s.SweepBatch, DefaultSweepBatch)
	confirmFor := cmp.Or(s.ConfirmFor, 48*time.Hour)
	var res SweepResult
	steps := []struct {
		what  string
		query string
		args  []any
		n     *int
	}{
		{"unconfirmed subscriptions", "sweep-unconfirmed", []any{now.Add(-confirmFor), now, batch}, &res.Unconfirmed},
		{"confirmation links", "sweep-confirm-links", []any{now, now.Add(-rateWindow), batch}, &res.ConfirmLinks},
		{"unsubscribe links", "sweep-unsubscribe-links", []any{now.Add(-SpentLinkGrace), now.Add(-ExpiredLinkGrace), batch}, &res.UnsubscribeLinks},
	}
	for _, st := range steps {
		for range maxSweepBatches {
			r, err := s.DB.ExecContext(ctx, queries.Get(st.query), st.args...)
			if err != nil {
				return res, fmt.Errorf("subscription: sweep %s: %w", st.what, err)
			}
			n, err := r.RowsAffected()
			if err != nil {
				return res, fmt.Errorf("subscription: sweep %s: %w", st.what, err)
			}
			*st.n += int(n)
			if n < int64(batch) {
				break
			}
		}
	}
	if res.Total() > 0 {
		s.logger().Info("subscription sweep", "unconfirmed", res.Unconfirmed, "confirm_links", res.ConfirmLinks, "unsubscribe_links", res.UnsubscribeLinks)
	}
	return res, nil
}
