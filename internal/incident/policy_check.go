package incident

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// The reminders the communication policy adds to the next-update
// promise's (CheckPromises): the first status update, due
// first_update_within after the declaration, and the stakeholders'
// questions, due answer_within after each arrived. Each goes out once,
// whatever the number of replicas or runs: its stage or mark is claimed
// in the transaction that queues its email, so a crash between the two
// leaves neither.

// Questions is what the policy needs of the stakeholders' questions,
// which the reply flow stores (internal/reply). A question is answered
// when a lead says so; reminded once when it has waited too long.
type Questions interface {
	// Waiting lists the incidents with a question neither answered nor
	// reminded yet, received at or before receivedBefore.
	Waiting(ctx context.Context, q store.Querier, receivedBefore time.Time) ([]int64, error)
	// WaitingOf lists incident's questions neither answered nor reminded,
	// received at or before receivedBefore, oldest first.
	WaitingOf(ctx context.Context, q store.Querier, incident int64, receivedBefore time.Time) ([]WaitingQuestion, error)
	// ClaimReminder marks question id reminded at at, in tx, if it is
	// still neither answered nor reminded; it reports whether this call
	// marked it: exactly one caller wins, on any number of replicas.
	ClaimReminder(ctx context.Context, tx *sql.Tx, id int64, at time.Time) (bool, error)
	// AnswerOpen marks every open question of incident answered by by at
	// at, in tx, and returns when each question it marked was received.
	AnswerOpen(ctx context.Context, tx *sql.Tx, incident int64, by string, at time.Time) ([]time.Time, error)
}

// WaitingQuestion is a stakeholder's question not yet answered.
type WaitingQuestion struct {
	ID       int64
	Question compose.Question
}

// EventQuestionReminder is the reminder of unanswered questions on the
// timeline.
const EventQuestionReminder = "question_reminder"

// answerQuestions marks inc's open questions answered by an update that
// says it answers them, in tx (the update's).
// It returns when each question it marked was received.
func (c *Comms) answerQuestions(ctx context.Context, tx *sql.Tx, inc *Incident, actor string, answers bool, now time.Time) ([]time.Time, error) {
	if !answers || c.Questions == nil {
		return nil, nil
	}
	asked, err := c.Questions.AnswerOpen(ctx, tx, inc.ID, actor, now)
	if err != nil {
		return nil, fmt.Errorf("incident: answer questions of %s: %w", inc.Ref, err)
	}
	return asked, nil
}

// checkPolicy sends the policy's reminders that are due at now and
// reports how many emails it queued. A failure on one incident is logged
// and the others go on, as in CheckPromises.
func (c *Comms) checkPolicy(ctx context.Context, now time.Time) (int, error) {
	sent, err := c.checkFirstUpdates(ctx, now)
	if err != nil {
		return sent, err
	}
	more, err := c.checkQuestions(ctx, now)
	return sent + more, err
}

// First-update stages (incidents.first_update_stage).
const (
	firstUpdateReminded = 1
	firstUpdateOverdue  = 2
)

// firstUpdateLead is how long before the first update's deadline the
// comms lead is reminded: reminder_before, but never more than half the
// time the policy gives, so that a 5-minute first update is not reminded
// at the moment of the declaration.
func (c *Comms) firstUpdateLead(within time.Duration) time.Duration {
	return min(c.ReminderBefore, within/2)
}

// checkFirstUpdates reminds the comms lead of an active incident that
// has had no status update as its policy's first-update deadline nears,
// and alerts the incident lead and the backup (as for an overdue update)
// OverdueAfter past it.
func (c *Comms) checkFirstUpdates(ctx context.Context, now time.Time) (int, error) {
	rows, err := c.DB.QueryContext(ctx, queries.Get("first-updates-waiting"), EventUpdateQueued)
	if err != nil {
		return 0, fmt.Errorf("incident: first updates: %w", err)
	}
	type waiting struct {
		id    int64
		stage int
	}
	var list []waiting
	for rows.Next() {
		var w waiting
		if err := rows.Scan(&w.id, &w.stage); err != nil {
			rows.Close()
			return 0, fmt.Errorf("incident: first updates: %w", err)
		}
		list = append(list, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("incident: first updates: %w", err)
	}
	sent := 0
	for _, w := range list {
		inc, err := c.Incidents.GetByID(ctx, c.DB, w.id)
		if err != nil {
			return sent, err
		}
		p := c.PolicyOf(inc.Severity)
		if p.FirstUpdateWithin <= 0 {
			continue
		}
		due := inc.DeclaredAt.Add(p.FirstUpdateWithin)
		stage := 0
		switch {
		case !now.Before(due.Add(c.OverdueAfter)):
			stage = firstUpdateOverdue
		case !now.Before(due.Add(-c.firstUpdateLead(p.FirstUpdateWithin))):
			stage = firstUpdateReminded
		}
		if stage <= w.stage {
			continue
		}
		won := false
		err = c.DB.InTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, queries.Get("advance-first-update-stage"), stage, inc.ID, EventUpdateQueued)
			if err != nil {
				return fmt.Errorf("incident: first update stage: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return err
			}
			won = true
			return c.queueFirstUpdateReminder(ctx, tx, inc, p, due, stage, now)
		})
		if err != nil {
			c.logger().Error("first-update reminder failed", "incident", inc.Ref, "err", err)
			continue
		}
		if won {
			sent++
		}
	}
	return sent, nil
}

// queueFirstUpdateReminder queues the reminder (stage 1, to the comms
// lead) or the escalation (stage 2, to whom an overdue update goes) of
// inc's first update, due at due, with its timeline entry, in tx.
func (c *Comms) queueFirstUpdateReminder(ctx context.Context, tx *sql.Tx, inc *Incident, p Policy, due time.Time, stage int, now time.Time) error {
	d := c.Directory.Current()
	kind, event := compose.KindReminder, EventReminder
	var to []string
	if stage == firstUpdateOverdue {
		kind, event = compose.KindOverdue, EventOverdue
		to = compact(c.overdueTo(d, inc))
	} else {
		to = c.commsContacts(d, inc)
	}
	if len(to) == 0 {
		c.logger().Warn("no one to remind of the first update: the incident has no leads and the directory no comms lead", "incident", inc.Ref)
		return nil
	}
	data := compose.ReminderData{Incident: c.View(inc), DueAt: due, Now: now, Overdue: stage == firstUpdateOverdue, FirstUpdate: true, Within: p.FirstUpdateWithin}
	if _, err := c.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Leads), Kind: kind, People: to, Data: data, Actor: "sitrep"}); err != nil {
		return err
	}
	text := fmt.Sprintf("Reminder to %s: no status update yet; the %s policy wants the first by %s UTC (%s after the declaration)",
		strings.Join(to, ", "), inc.Severity, due.Format("15:04"), shortDuration(p.FirstUpdateWithin))
	if stage == firstUpdateOverdue {
		text = fmt.Sprintf("First status update OVERDUE (due %s UTC, %s after the declaration); escalated to %s",
			due.Format("15:04"), shortDuration(p.FirstUpdateWithin), strings.Join(to, ", "))
	}
	_, err := AddEvent(ctx, tx, now, inc.ID, event, "sitrep", text,
		map[string]any{"first_update": true, "due": due, "stage": stage, "to": to})
	return err
}

// commsContacts is who is reminded: the comms lead, else the incident
// lead, else the directory's comms leads.
func (c *Comms) commsContacts(d *directory.Directory, inc *Incident) []string {
	to := compact([]string{inc.Roles.CommsLead})
	if len(to) == 0 {
		to = compact([]string{inc.Roles.IncidentLead})
	}
	if len(to) == 0 {
		for _, p := range d.PeopleWithRole(directory.RoleCommsLead) {
			to = append(to, p.Email)
		}
		to = compact(to)
	}
	return to
}

// checkQuestions reminds the comms lead, once per question, of the
// stakeholders' questions that have waited longer than their incident's
// policy gives to answer them: one email per incident per run, with
// every question due in it.
func (c *Comms) checkQuestions(ctx context.Context, now time.Time) (int, error) {
	if c.Questions == nil {
		return 0, nil
	}
	shortest := time.Duration(0)
	for _, sev := range Severities {
		if w := c.PolicyOf(sev).AnswerWithin; w > 0 && (shortest == 0 || w < shortest) {
			shortest = w
		}
	}
	if shortest == 0 {
		return 0, nil
	}
	ids, err := c.Questions.Waiting(ctx, c.DB, now.Add(-shortest))
	if err != nil {
		return 0, fmt.Errorf("incident: questions waiting: %w", err)
	}
	sent := 0
	for _, id := range ids {
		inc, err := c.Incidents.GetByID(ctx, c.DB, id)
		if err != nil {
			return sent, err
		}
		within := c.PolicyOf(inc.Severity).AnswerWithin
		if within <= 0 {
			continue
		}
		won := false
		err = c.DB.InTx(ctx, func(tx *sql.Tx) error {
			due, err := c.Questions.WaitingOf(ctx, tx, inc.ID, now.Add(-within))
			if err != nil {
				return err
			}
			var claimed []WaitingQuestion
			for _, q := range due {
				ok, err := c.Questions.ClaimReminder(ctx, tx, q.ID, now)
				if err != nil {
					return err
				}
				if ok {
					claimed = append(claimed, q)
				}
			}
			if len(claimed) == 0 {
				return nil
			}
			won = true
			return c.queueQuestionReminder(ctx, tx, inc, claimed, within, now)
		})
		if err != nil {
			c.logger().Error("question reminder failed", "incident", inc.Ref, "err", err)
			continue
		}
		if won {
			sent++
		}
	}
	return sent, nil
}

// queueQuestionReminder queues the reminder of qs to the comms lead, with
// its timeline entry, in tx.
func (c *Comms) queueQuestionReminder(ctx context.Context, tx *sql.Tx, inc *Incident, qs []WaitingQuestion, within time.Duration, now time.Time) error {
	to := c.commsContacts(c.Directory.Current(), inc)
	if len(to) == 0 {
		c.logger().Warn("no one to remind of unanswered questions: the incident has no leads and the directory no comms lead", "incident", inc.Ref)
		return nil
	}
	questions := make([]compose.Question, len(qs))
	ids := make([]int64, len(qs))
	askers := make([]string, len(qs))
	for i, q := range qs {
		questions[i], ids[i], askers[i] = q.Question, q.ID, q.Question.From
	}
	data := compose.QuestionDueData{Incident: c.View(inc), Questions: questions, Within: within, Now: now}
	if _, err := c.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Leads), Kind: compose.KindQuestionDue, People: to, Data: data, Actor: "sitrep"}); err != nil {
		return err
	}
	text := fmt.Sprintf("Reminder to %s: %d %s unanswered for more than %s (from %s)", strings.Join(to, ", "), len(qs),
		plural(len(qs), "question", "questions"), shortDuration(within), strings.Join(askers, ", "))
	_, err := AddEvent(ctx, tx, now, inc.ID, EventQuestionReminder, "sitrep", text,
		map[string]any{"questions": ids, "answer_within": within.String(), "to": to})
	return err
}
