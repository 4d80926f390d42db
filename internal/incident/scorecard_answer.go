package incident

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// A stakeholder's question is answered on the record when a status update
// reaches the asker after it. An answer given outside sitrep (a call, a
// chat message, a direct email) leaves no record; a lead records it here,
// on the timeline, so that the scorecard can count it.

// AnswerInput says that a question was answered outside sitrep.
type AnswerInput struct {
	// AnsweredAt is when; nil: now. Not before the question, not in the future.
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	// Note says how ("by phone"), for the timeline.
	Note string `json:"note,omitempty"`
}

// MarkAnswered records that the stakeholder's question id (the inbound
// message's id) of incident ref was answered outside sitrep, and returns
// the question as the scorecard now reads it. A question already marked
// is a conflict; one an update answered may still be marked (the direct
// answer may have come first).
func (c *Comms) MarkAnswered(ctx context.Context, actor, ref string, id int64, in AnswerInput) (*QuestionFigure, error) {
	inc, err := c.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.QuestionLog == nil {
		return nil, errs.E(errs.NotFound, "this server reads no replies, so %s has no questions to mark", inc.Ref)
	}
	note := strings.TrimSpace(in.Note)
	if err := errs.CheckLine("note", note, 500, false); err != nil {
		return nil, err
	}
	now := c.now()
	var first bool
	err = c.DB.InTx(ctx, func(tx *sql.Tx) error {
		sc, err := c.ScorecardOf(ctx, tx, inc)
		if err != nil {
			return err
		}
		var q *QuestionFigure
		for i := range sc.Questions.List {
			if sc.Questions.List[i].ID == id {
				q = &sc.Questions.List[i]
			}
		}
		if q == nil {
			return errs.E(errs.NotFound, "no question %d on %s", id, inc.Ref)
		}
		if q.AnsweredBy == ByLead {
			return errs.E(errs.Conflict, "question %d on %s was already marked answered (%s UTC)", id, inc.Ref, q.AnsweredAt.Format("2006-01-02 15:04"))
		}
		at := now
		if in.AnsweredAt != nil {
			at = in.AnsweredAt.UTC()
			switch {
			case at.Before(q.AskedAt):
				return errs.InvalidField("answered_at", "%s is before the question was asked (%s UTC)", at.Format(time.RFC3339), q.AskedAt.Format("2006-01-02 15:04:05"))
			case at.After(now.Add(time.Minute)):
				return errs.InvalidField("answered_at", "%s is in the future", at.Format(time.RFC3339))
			}
		}
		first = q.AnsweredAt == nil
		who := q.From
		if q.Name != "" {
			who = q.Name + " <" + q.From + ">"
		}
		text := fmt.Sprintf("Question from %s (asked %s UTC) answered directly at %s UTC", who, q.AskedAt.Format("15:04"), at.Format("15:04"))
		if note != "" {
			text += ": " + note
		}
		data := map[string]any{"question": id, "answered_at": at}
		if note != "" {
			data["note"] = note
		}
		_, err = AddEvent(ctx, tx, now, inc.ID, EventQuestionAnswered, actor, text, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	sc, err := c.ScorecardOf(ctx, c.DB, inc)
	if err != nil {
		return nil, err
	}
	for _, q := range sc.Questions.List {
		if q.ID != id {
			continue
		}
		if first && q.TimeToAnswer != nil {
			c.Incidents.Metrics.answered(inc.Severity, *q.TimeToAnswer)
		}
		return &q, nil
	}
	return nil, errs.E(errs.NotFound, "no question %d on %s", id, inc.Ref)
}
