package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// recordBounceTokens writes each transaction's token onto its delivery
// rows in tx, the transaction that claims them: it commits before any of
// them is sent, so a bounce of whatever the server accepted finds its row
// even after a crash. One statement for the whole claim.
func (o *Outbox) recordBounceTokens(ctx context.Context, tx *sql.Tx, txs []transaction) error {
	if len(txs) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteByte('{')
	first := true
	for _, t := range txs {
		for _, r := range t.rcpt {
			if !first {
				sb.WriteByte(',')
			}
			first = false
			sb.WriteString(`"` + strconv.FormatInt(r.id, 10) + `":"` + t.token + `"`)
		}
	}
	sb.WriteByte('}')
	q := `UPDATE deliveries SET bounce_tokens = LTRIM(bounce_tokens || ' ' || j.value) FROM json_each($1) AS j
WHERE deliveries.id = CAST(j.key AS INTEGER)`
	if o.DB.Dialect == store.Postgres {
		q = `UPDATE deliveries SET bounce_tokens = LTRIM(bounce_tokens || ' ' || j.value) FROM jsonb_each_text($1::jsonb) AS j
WHERE deliveries.id = j.key::bigint`
	}
	if _, err := tx.ExecContext(ctx, q, sb.String()); err != nil {
		return fmt.Errorf("outbox: record bounce tokens: %w", err)
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
// the message in the bounce address's plus part, sent in the transaction
// of its token. Anything else is ErrBounceUnverified.
func VerifyBounce(ctx context.Context, q store.Querier, plus, email string) (BouncedDelivery, error) {
	row, token, ok := ParseBounceTag(plus)
	if !ok {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	d := BouncedDelivery{MessageID: row}
	var tokens string
	err := q.QueryRowContext(ctx, `SELECT id, email, via_group, bounce_tokens FROM deliveries WHERE message_id = $1 AND LOWER(email) = LOWER($2)`,
		row, strings.TrimSpace(email)).Scan(&d.ID, &d.Email, &d.Group, &tokens)
	if errors.Is(err, sql.ErrNoRows) {
		return BouncedDelivery{}, ErrBounceUnverified
	}
	if err != nil {
		return BouncedDelivery{}, fmt.Errorf("outbox: verify bounce: %w", err)
	}
	for _, t := range strings.Fields(tokens) {
		if t == token {
			return d, nil
		}
	}
	return BouncedDelivery{}, ErrBounceUnverified
}

// FailBounced marks a verified bounced delivery failed with the reason.
func FailBounced(ctx context.Context, q store.Querier, d BouncedDelivery, reason string) error {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	if _, err := q.ExecContext(ctx, `UPDATE deliveries SET state = $1, last_error = $2, lease_until = NULL, next_attempt_at = NULL WHERE id = $3`,
		StateFailed, reason, d.ID); err != nil {
		return fmt.Errorf("outbox: fail bounced delivery %d: %w", d.ID, err)
	}
	return nil
}
