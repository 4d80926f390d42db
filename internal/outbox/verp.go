package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// BounceTag starts the plus part of an envelope sender: every SMTP
// transaction goes out from <ReplyPart>+b-<message row>-<token>@<Domain>
// (a VERP, variable envelope return path, one per transaction). RFC 5321
// 4.5.5 and RFC 3464 2 send a delivery failure report to the envelope
// sender, so a report that comes back to that address answers that very
// transaction; anyone else, who never saw the token, cannot forge one. The
// recipients of the transaction do see it (final delivery writes it into
// Return-Path, RFC 5321 4.4), which is why a bounce counts only for a
// recipient of the same transaction: one transaction per batch of
// recipients keeps that circle small without costing fan-out speed.
const BounceTag = "b-"

// bounceTokenBytes: 80 random bits, 16 characters of lower-case base32,
// which survive mail systems that fold the case of local parts.
const bounceTokenBytes = 10

var bounceEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newBounceToken() string {
	b := make([]byte, bounceTokenBytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("outbox: crypto/rand failed: %v", err))
	}
	return strings.ToLower(bounceEncoding.EncodeToString(b))
}

// bounceAddress is the envelope sender of one transaction of a message.
func (o *Outbox) bounceAddress(messageRow int64, token string) string {
	return o.ReplyPart + "+" + BounceTag + strconv.FormatInt(messageRow, 10) + "-" + token + "@" + o.Domain
}

// ParseBounceTag reads the plus part of a bounce address ("b-12-abcd…"
// of status+b-12-abcd…@example.com): the message row and the token.
func ParseBounceTag(plus string) (messageRow int64, token string, ok bool) {
	rest, found := strings.CutPrefix(strings.ToLower(plus), BounceTag)
	if !found {
		return 0, "", false
	}
	row, token, found := strings.Cut(rest, "-")
	if !found || len(token) != bounceEncoding.EncodedLen(bounceTokenBytes) {
		return 0, "", false
	}
	n, err := strconv.ParseInt(row, 10, 64)
	if err != nil || n <= 0 {
		return 0, "", false
	}
	if _, err := bounceEncoding.DecodeString(strings.ToUpper(token)); err != nil {
		return 0, "", false
	}
	return n, token, true
}

// recordTransactions writes each transaction's bounce token and
// deliveries in tx, the transaction that claims them: it commits before
// any of them is sent, so a bounce of whatever the server accepted finds
// its delivery even after a crash. One row per SMTP transaction, in one
// statement, rather than a write to every delivery row.
func (o *Outbox) recordTransactions(ctx context.Context, tx *sql.Tx, messageID int64, txs []transaction) error {
	if len(txs) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(queries.Get("insert-transactions") + " ")
	args := make([]any, 0, 6*len(txs))
	// Open until their answers are recorded: a transaction still open
	// after this lost its worker (releaseExpired).
	until := time.Now().UTC().Add(o.lease())
	for i, t := range txs {
		if i > 0 {
			q.WriteString(", ")
		}
		ids := make([]int64, len(t.rcpt))
		for k, r := range t.rcpt {
			ids[k] = r.id
		}
		// A ranged transaction's first and last rows bound what its row
		// records (delivery_states); a retry's rows record themselves.
		var first, last sql.NullInt64
		if t.ranged {
			first = sql.NullInt64{Int64: ids[0], Valid: true}
			last = sql.NullInt64{Int64: ids[len(ids)-1], Valid: true}
		}
		q.WriteString("(" + o.DB.Placeholders(len(args)+1, 6) + ")")
		args = append(args, messageID, t.token, jsonIDs(ids), until, first, last)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("outbox: record transactions: %w", err)
	}
	return nil
}

// BouncedDelivery is a delivery a bounce proved it answers.
type BouncedDelivery struct {
	ID        int64
	MessageID int64 // the message row
	Email     string
	Group     string
}

// ErrBounceUnverified: the bounce does not prove it answers a
// transaction that went to the recipient it names.
var ErrBounceUnverified = errors.New("outbox: bounce not verified")

// VerifyBounce finds the delivery a bounce is about: the one to email of
// the message in the bounce address's plus part, carried by the
// transaction of its token. Anything else is ErrBounceUnverified.
func VerifyBounce(ctx context.Context, q store.Querier, plus, email string) (BouncedDelivery, error) {
	row, token, ok := ParseBounceTag(plus)
	if !ok {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	var carried string
	err := q.QueryRowContext(ctx, queries.Get("bounce-transaction"), row, token).Scan(&carried)
	if errors.Is(err, sql.ErrNoRows) {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	if err != nil {
		return BouncedDelivery{}, fmt.Errorf("outbox: verify bounce: %w", err)
	}
	var ids []int64
	if err := json.Unmarshal([]byte(carried), &ids); err != nil {
		return BouncedDelivery{}, fmt.Errorf("outbox: verify bounce: transaction %s: %w", token, err)
	}
	if len(ids) == 0 {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	// Only the transaction's rows can answer: looked for between its
	// first and last (a range, or a retry's rows), not among all of the
	// message's.
	d := BouncedDelivery{MessageID: row}
	err = q.QueryRowContext(ctx, queries.Get("bounced-delivery"),
		row, strings.TrimSpace(email), slices.Min(ids), slices.Max(ids)).Scan(&d.ID, &d.Email, &d.Group)
	if errors.Is(err, sql.ErrNoRows) {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	if err != nil {
		return BouncedDelivery{}, fmt.Errorf("outbox: verify bounce: %w", err)
	}
	if !slices.Contains(ids, d.ID) {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	return d, nil
}

// FailBounced marks a verified bounced delivery failed with the reason,
// bounced at at.
func FailBounced(ctx context.Context, q store.Querier, d BouncedDelivery, reason string, at time.Time) error {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	if _, err := q.ExecContext(ctx, queries.Get("fail-bounced"),
		StateFailed, reason, d.ID, at.UTC()); err != nil {
		return fmt.Errorf("outbox: fail bounced delivery %d: %w", d.ID, err)
	}
	return nil
}
