package inbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// Record stores a message that was read and classified elsewhere, as the
// act worker leaves one: processed on its incident (in.IncidentID), or in
// triage without one. raw is its bytes; the reply's plain new text is
// in.Text. It is how a message enters without an IMAP server (the tests
// of the pages that show replies and triage).
func (s *Store) Record(ctx context.Context, in mailmsg.Inbound, raw []byte) (int64, error) {
	sum := sha256.Sum256(raw)
	state, incidentID := mailmsg.StateTriage, sql.NullInt64{}
	if in.IncidentID > 0 {
		state, incidentID = mailmsg.StateProcessed, sql.NullInt64{Int64: in.IncidentID, Valid: true}
	}
	received := in.ReceivedAt
	if received.IsZero() {
		received = s.now()
	}
	var id int64
	err := s.DB.QueryRowContext(ctx, `INSERT INTO inbound_messages (mailbox, uidvalidity, uid, hash, raw, size, received_at, stored_at,
    state, class, sender, sender_name, subject, new_text, incident_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		in.Mailbox, int64(in.UIDValidity), int64(in.UID), hex.EncodeToString(sum[:]), raw, int64(len(raw)), received.UTC(), s.now(),
		state, in.Class, in.Sender, in.SenderName, in.Subject, in.Text, incidentID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inbox: record: %w", err)
	}
	return id, nil
}
