package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// What the reply flow needs to know of the messages the hub sent: whose
// thread an answer belongs to, whether a copy came back, and which
// deliveries a bounce proves failed. The outbox's tables stay its own.

// IsOurs reports whether a Message-ID (without angle brackets) is one of
// the hub's own messages.
func (o *Outbox) IsOurs(ctx context.Context, q store.Querier, messageID string) (bool, error) {
	if messageID == "" {
		return false, nil
	}
	var one int
	err := q.QueryRowContext(ctx, queries.Get("is-ours"), "<"+messageID+">").Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbox: own message: %w", err)
	}
	return true, nil
}

// ThreadKeyOf returns the thread key of one of the hub's messages by its
// Message-ID (without angle brackets); 0 when it is not ours.
func (o *Outbox) ThreadKeyOf(ctx context.Context, q store.Querier, messageID string) (int64, error) {
	var key sql.NullInt64
	err := q.QueryRowContext(ctx, queries.Get("thread-key-of-message-id"), "<"+messageID+">").Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: thread of %s: %w", messageID, err)
	}
	return key.Int64, nil
}

// SentWithKey reports whether a message with this idempotency key was
// queued: a job that runs again after a crash must not send it twice.
func (o *Outbox) SentWithKey(ctx context.Context, key string) (bool, error) {
	var one int
	err := o.DB.QueryRowContext(ctx, queries.Get("sent-with-key"), key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbox: idempotency: %w", err)
	}
	return true, nil
}

// IsBounceTag reports whether the plus part of an address is one of the
// hub's bounce addresses (BounceTag).
func (o *Outbox) IsBounceTag(plus string) bool {
	_, _, ok := ParseBounceTag(plus)
	return ok
}

// Unverified reports whether err says a bounce proved nothing
// (ErrBounceUnverified).
func (o *Outbox) Unverified(err error) bool { return errors.Is(err, ErrBounceUnverified) }

// RecordBounce acts on a permanent failure of addr that came back to the
// bounce addresses tags, as far as one of them proves it: the delivery
// fails with reason and the address is marked bouncing. Anything it cannot
// prove is ErrBounceUnverified, and nothing changes.
func (o *Outbox) RecordBounce(ctx context.Context, tx *sql.Tx, tags []string, addr, reason string, now time.Time) (compose.Bounced, error) {
	var d BouncedDelivery
	err := ErrBounceUnverified
	for _, tag := range tags {
		if d, err = VerifyBounce(ctx, tx, tag, addr); !errors.Is(err, ErrBounceUnverified) {
			break
		}
	}
	if err != nil {
		return compose.Bounced{}, err
	}
	b := compose.Bounced{Email: d.Email, Group: d.Group}
	var key sql.NullInt64 // NULL: a message of its own, in no thread
	if err := tx.QueryRowContext(ctx, queries.Get("thread-key-of-row"), d.MessageID).Scan(&key); err != nil {
		return compose.Bounced{}, fmt.Errorf("outbox: bounce: message %d: %w", d.MessageID, err)
	}
	b.ThreadKey = key.Int64
	if key.Valid {
		err := tx.QueryRowContext(ctx, queries.Get("position-in-thread"), d.MessageID).Scan(&b.Kind, &b.Position)
		if err != nil {
			return compose.Bounced{}, fmt.Errorf("outbox: bounce: message %d: %w", d.MessageID, err)
		}
	}
	if err := FailBounced(ctx, tx, d, "bounced: "+reason, now); err != nil {
		return compose.Bounced{}, err
	}
	err = tx.QueryRowContext(ctx, queries.Get("is-bouncing"), strings.ToLower(d.Email)).Scan(&b.WasBouncing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return compose.Bounced{}, fmt.Errorf("outbox: bounce: %w", err)
	}
	if err := MarkBouncing(ctx, tx, d.Email, reason, now); err != nil {
		return compose.Bounced{}, err
	}
	return b, nil
}
