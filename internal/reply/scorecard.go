package reply

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// QuestionsOf lists the stakeholders' questions of an incident, in the
// order they came, as the comms lead was sent them (an
// incident.QuestionLog: the scorecard counts them and measures the time
// to answer each). q may be the caller's transaction.
func (s *Service) QuestionsOf(ctx context.Context, q store.Querier, incidentID int64) ([]incident.Question, error) {
	rows, err := q.QueryContext(ctx, queries.Get("questions-of-incident"), incidentID)
	if err != nil {
		return nil, fmt.Errorf("reply: questions: %w", err)
	}
	defer rows.Close()
	var out []incident.Question
	for rows.Next() {
		var iq incident.Question
		var sender string
		var sent sql.NullTime
		if err := rows.Scan(&iq.ID, &sender, &iq.Audience, &iq.AskedAt, &sent); err != nil {
			return nil, fmt.Errorf("reply: questions: %w", err)
		}
		// The sender is stored as the comms lead read it: "Name <address>".
		iq.From = strings.ToLower(strings.TrimSpace(sender))
		if a, err := mail.ParseAddress(sender); err == nil {
			iq.From, iq.Name = strings.ToLower(a.Address), a.Name
		}
		iq.AskedAt = iq.AskedAt.UTC()
		iq.ForwardedAt = store.TimePtr(sent)
		out = append(out, iq)
	}
	return out, rows.Err()
}
