package reply

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// QuestionsOf lists the stakeholders' questions of an incident, in the
// order they came, and when and by whom a lead marked each answered (an
// incident.QuestionLog: the scorecard counts them and measures the time
// to answer each). It reads the same rows as List, through the same
// statement: the policy's questions and the scorecard's are one record.
// q may be the caller's transaction.
func (s *Service) QuestionsOf(ctx context.Context, q store.Querier, incidentID int64) ([]incident.Question, error) {
	rows, err := q.QueryContext(ctx, queries.Get("questions-of-incident"), incidentID)
	if err != nil {
		return nil, fmt.Errorf("reply: questions: %w", err)
	}
	defer rows.Close()
	var out []incident.Question
	for rows.Next() {
		sq, err := scanQuestion(rows)
		if err != nil {
			return nil, fmt.Errorf("reply: questions: %w", err)
		}
		iq := incident.Question{ID: sq.ID, Audience: sq.Audience, AskedAt: sq.ReceivedAt, ForwardedAt: sq.ForwardedAt,
			AnsweredAt: sq.AnsweredAt, AnsweredBy: sq.AnsweredBy}
		// The sender is stored as the comms lead read it: "Name <address>".
		iq.From = strings.ToLower(strings.TrimSpace(sq.From))
		if a, err := mail.ParseAddress(sq.From); err == nil {
			iq.From, iq.Name = strings.ToLower(a.Address), a.Name
		}
		out = append(out, iq)
	}
	return out, rows.Err()
}
