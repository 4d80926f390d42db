package reply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// QuestionBook is the stakeholders' questions after they reached the
// comms lead: which are answered, and which the communication policy has
// reminded (incident.Questions).
//
// A question is answered when a lead says so: on the incident page, by
// the API or the CLI (one question, or every open one), or by sending an
// update marked as answering the open questions. sitrep cannot see an
// answer given by phone, chat or a direct email, which is how the guide
// wants questions taken "offline", so it does not guess one: an update
// sent after a question does not answer it unless the lead says it does.
type QuestionBook struct {
	DB  *store.DB
	Now func() time.Time
	// Metrics, when set, observe each question's time to answer when it
	// is marked (the update's marks are observed by incident.Comms).
	Metrics *incident.CommsMetrics
}

var _ incident.Questions = (*QuestionBook)(nil)

func (b *QuestionBook) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

// StoredQuestion is a stakeholder's question and what became of it.
type StoredQuestion struct {
	ID         int64     `json:"id"`
	From       string    `json:"from"`
	Audience   string    `json:"audience,omitempty"`
	Subject    string    `json:"subject,omitempty"`
	Text       string    `json:"text"`
	ReceivedAt time.Time `json:"received_at"`
	// ForwardedAt is when the email carrying it to the comms lead was
	// queued (nil: waiting for the end of the question window).
	ForwardedAt *time.Time `json:"forwarded_at,omitempty"`
	RemindedAt  *time.Time `json:"reminded_at,omitempty"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	AnsweredBy  string     `json:"answered_by,omitempty"`
}

// Waiting lists the incidents with a question neither answered nor
// reminded, received at or before receivedBefore.
func (b *QuestionBook) Waiting(ctx context.Context, q store.Querier, receivedBefore time.Time) ([]int64, error) {
	rows, err := q.QueryContext(ctx, queries.Get("incidents-with-waiting-questions"), receivedBefore.UTC())
	if err != nil {
		return nil, fmt.Errorf("reply: waiting questions: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reply: waiting questions: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// WaitingOf lists an incident's questions neither answered nor reminded,
// received at or before receivedBefore, oldest first.
func (b *QuestionBook) WaitingOf(ctx context.Context, q store.Querier, incidentID int64, receivedBefore time.Time) ([]incident.WaitingQuestion, error) {
	rows, err := q.QueryContext(ctx, queries.Get("waiting-questions"), incidentID, receivedBefore.UTC())
	if err != nil {
		return nil, fmt.Errorf("reply: waiting questions: %w", err)
	}
	defer rows.Close()
	var out []incident.WaitingQuestion
	for rows.Next() {
		var w incident.WaitingQuestion
		qu := &w.Question
		if err := rows.Scan(&w.ID, &qu.From, &qu.Audience, &qu.Subject, &qu.Text, &qu.ReceivedAt); err != nil {
			return nil, fmt.Errorf("reply: waiting questions: %w", err)
		}
		qu.ReceivedAt = qu.ReceivedAt.UTC()
		out = append(out, w)
	}
	return out, rows.Err()
}

// ClaimReminder marks question id reminded, if it is still neither
// answered nor reminded, and reports whether this call did.
func (b *QuestionBook) ClaimReminder(ctx context.Context, tx *sql.Tx, id int64, at time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, queries.Get("claim-question-reminder"), at.UTC(), id)
	if err != nil {
		return false, fmt.Errorf("reply: claim question reminder: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AnswerOpen marks every open question of the incident answered by by,
// in tx: an update that answers them. It returns when each question it
// marked was received, so that the caller can observe how long each
// waited once tx has committed.
func (b *QuestionBook) AnswerOpen(ctx context.Context, tx *sql.Tx, incidentID int64, by string, at time.Time) ([]time.Time, error) {
	rows, err := tx.QueryContext(ctx, queries.Get("answer-open-questions"), at.UTC(), by, incidentID)
	if err != nil {
		return nil, fmt.Errorf("reply: answer questions: %w", err)
	}
	defer rows.Close()
	var asked []time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("reply: answer questions: %w", err)
		}
		asked = append(asked, t.UTC())
	}
	return asked, rows.Err()
}

// List lists an incident's questions, oldest first.
func (b *QuestionBook) List(ctx context.Context, incidentID int64) ([]StoredQuestion, error) {
	rows, err := b.DB.QueryContext(ctx, queries.Get("questions-of-incident"), incidentID)
	if err != nil {
		return nil, fmt.Errorf("reply: questions: %w", err)
	}
	defer rows.Close()
	out := []StoredQuestion{}
	for rows.Next() {
		q, err := scanQuestion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *q)
	}
	return out, rows.Err()
}

func scanQuestion(row interface{ Scan(...any) error }) (*StoredQuestion, error) {
	var q StoredQuestion
	var sent, reminded, answered sql.NullTime
	if err := row.Scan(&q.ID, &q.From, &q.Audience, &q.Subject, &q.Text, &q.ReceivedAt, &sent, &reminded, &answered, &q.AnsweredBy); err != nil {
		return nil, err
	}
	q.ReceivedAt = q.ReceivedAt.UTC()
	q.ForwardedAt, q.RemindedAt, q.AnsweredAt = utcPtr(sent), utcPtr(reminded), utcPtr(answered)
	return &q, nil
}

func utcPtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// AnswerInput is what a lead may add to marking a question answered.
type AnswerInput struct {
	// AnsweredAt is when the answer was given (a call an hour ago); nil:
	// now. Not before the question, not in the future.
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	// Note says how ("by phone"), on the timeline.
	Note string `json:"note,omitempty"`
}

// MarkAnswered records that by answered the incident's question id (0:
// every open one), with a timeline entry, and returns the questions it
// marked. A question already answered stays as it was: the first answer
// is the one the policy and the scorecard measure. Once committed, each
// question's time to answer is observed (Metrics), once per question.
func (b *QuestionBook) MarkAnswered(ctx context.Context, inc *incident.Incident, id int64, by string, in AnswerInput) ([]StoredQuestion, error) {
	now := b.now()
	note := strings.TrimSpace(in.Note)
	if err := errs.CheckLine("note", note, 500, false); err != nil {
		return nil, err
	}
	at := now
	if in.AnsweredAt != nil {
		at = in.AnsweredAt.UTC()
		// A minute's grace for the clock of whoever sent it.
		if at.After(now.Add(time.Minute)) {
			return nil, errs.InvalidField("answered_at", "%s is in the future", at.Format(time.RFC3339))
		}
	}
	var marked []StoredQuestion
	err := b.DB.InTx(ctx, func(tx *sql.Tx) error {
		var open []*StoredQuestion
		if id != 0 {
			q, err := scanQuestion(tx.QueryRowContext(ctx, queries.Get("question-of-incident"), inc.ID, id))
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "no question %d on %s", id, inc.Ref)
			}
			if err != nil {
				return fmt.Errorf("reply: question %d: %w", id, err)
			}
			if q.AnsweredAt != nil {
				return errs.E(errs.Conflict, "question %d on %s was marked answered at %s UTC by %s", id, inc.Ref, q.AnsweredAt.Format("15:04"), q.AnsweredBy)
			}
			open = []*StoredQuestion{q}
		} else {
			rows, err := tx.QueryContext(ctx, queries.Get("questions-of-incident"), inc.ID)
			if err != nil {
				return fmt.Errorf("reply: questions: %w", err)
			}
			for rows.Next() {
				q, err := scanQuestion(rows)
				if err != nil {
					rows.Close()
					return fmt.Errorf("reply: questions: %w", err)
				}
				if q.AnsweredAt == nil {
					open = append(open, q)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("reply: questions: %w", err)
			}
			if len(open) == 0 {
				return errs.E(errs.Conflict, "%s has no open question", inc.Ref)
			}
		}
		var ids []int64
		var askers []string
		for _, q := range open {
			// An answer before its question would be a negative time to answer.
			if at.Before(q.ReceivedAt) {
				return errs.InvalidField("answered_at", "%s is before question %d was asked (%s UTC)", at.Format(time.RFC3339), q.ID, q.ReceivedAt.Format("2006-01-02 15:04:05"))
			}
			if _, err := tx.ExecContext(ctx, queries.Get("answer-question"), at, by, inc.ID, q.ID); err != nil {
				return fmt.Errorf("reply: answer question %d: %w", q.ID, err)
			}
			ids = append(ids, q.ID)
			askers = append(askers, q.From)
		}
		for _, qid := range ids {
			q, err := scanQuestion(tx.QueryRowContext(ctx, queries.Get("question-of-incident"), inc.ID, qid))
			if err != nil {
				return fmt.Errorf("reply: question %d: %w", qid, err)
			}
			marked = append(marked, *q)
		}
		text := fmt.Sprintf("%d %s marked answered (from %s)", len(ids), plural(len(ids), "question", "questions"), strings.Join(askers, ", "))
		data := map[string]any{"questions": ids}
		if in.AnsweredAt != nil {
			text += fmt.Sprintf(", answered at %s UTC", at.Format("15:04"))
			data["answered_at"] = at
		}
		if note != "" {
			text += ": " + note
			data["note"] = note
		}
		_, err := incident.AddEvent(ctx, tx, now, inc.ID, EventQuestionAnswered, by, text, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, q := range marked {
		b.Metrics.Answered(inc.Severity, q.AnsweredAt.Sub(q.ReceivedAt))
	}
	return marked, nil
}

// EventQuestionAnswered is a lead marking questions answered, on the
// timeline.
const EventQuestionAnswered = "question_answered"
