package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// The public promise: an update with public wording (UpdateInput.Public)
// tells customers when the next public update comes (PublicNext), on the
// public status page and in their email. It is kept like the
// stakeholders' promise (CheckPromises): the comms lead is reminded before
// it is due and when it is due, and the incident lead and the backup are
// told once it is overdue; each stage once, whatever the number of
// replicas. It is its own promise, stored apart (public_next_update_at,
// public_promise_stage): the stakeholders' cadence never moves it, nor it
// theirs. A new public update moves it; resolving ends it.

// PublicPromise is the next public update customers were told to expect.
type PublicPromise struct {
	NextUpdateAt *time.Time `json:"next_update_at,omitempty"`
	// Status is on_time, due_soon, overdue, or none (no public promise
	// outstanding, or the incident is not active).
	Status string `json:"status"`
	Stage  int    `json:"-"`
}

// Timeline event kinds of the public promise: apart from EventReminder
// and EventOverdue, which are the stakeholders' promise's.
const (
	EventPublicReminder = "public_reminder"
	EventPublicOverdue  = "public_overdue"
)

// PublicPromiseOf reads inc's public promise through q.
func (s *Service) PublicPromiseOf(ctx context.Context, q store.Querier, inc *Incident) (PublicPromise, error) {
	var next sql.NullTime
	var p PublicPromise
	err := q.QueryRowContext(ctx, queries.Get("public-promise"), inc.ID).Scan(&next, &p.Stage)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.E(errs.NotFound, "no incident %s", inc.Ref)
	}
	if err != nil {
		return p, fmt.Errorf("incident: public promise of %s: %w", inc.Ref, err)
	}
	p.NextUpdateAt = store.TimePtr(next)
	now := s.now()
	switch {
	case p.NextUpdateAt == nil || !inc.State.Active():
		p.Status = "none"
	case now.After(*p.NextUpdateAt):
		p.Status = "overdue"
	case p.NextUpdateAt.Sub(now) <= s.DueSoon:
		p.Status = "due_soon"
	default:
		p.Status = "on_time"
	}
	return p, nil
}

// RecordPublicUpdate books a public update: next is the new public
// promise, whose reminders start over. It runs in tx, the update's.
func (s *Service) RecordPublicUpdate(ctx context.Context, tx *sql.Tx, id int64, next time.Time) error {
	if _, err := tx.ExecContext(ctx, queries.Get("record-public-update"), next.UTC(), id); err != nil {
		return fmt.Errorf("incident: record public update: %w", err)
	}
	return nil
}

// EndPublicPromise ends incident id's public promise (it is resolved:
// customers are told so, and no public update is due any more).
func EndPublicPromise(ctx context.Context, q store.Querier, id int64) error {
	if _, err := q.ExecContext(ctx, queries.Get("end-public-promise"), id); err != nil {
		return fmt.Errorf("incident: end public promise: %w", err)
	}
	return nil
}

// HadPublicWording reports whether incident id ever had an update with
// public wording: whether customers were ever told of it (the public page
// shows only those).
func HadPublicWording(ctx context.Context, q store.Querier, id int64) (bool, error) {
	rows, err := q.QueryContext(ctx, queries.Get("public-wording"), id)
	if err != nil {
		return false, fmt.Errorf("incident: public wording: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return false, fmt.Errorf("incident: public wording: %w", err)
		}
		var ev struct {
			Public string `json:"public"`
		}
		if json.Unmarshal([]byte(data), &ev) == nil && strings.TrimSpace(ev.Public) != "" {
			return true, nil
		}
	}
	return false, rows.Err()
}

// publicDue is one public promise at or past its reminder time.
type publicDue struct {
	id    int64
	at    time.Time
	stage int
}

func (s *Service) publicPromisesDue(ctx context.Context, horizon time.Time) ([]publicDue, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("public-promises-due"), horizon.UTC())
	if err != nil {
		return nil, fmt.Errorf("incident: public promises due: %w", err)
	}
	defer rows.Close()
	var out []publicDue
	for rows.Next() {
		var d publicDue
		if err := rows.Scan(&d.id, &d.at, &d.stage); err != nil {
			return nil, fmt.Errorf("incident: public promises due: %w", err)
		}
		d.at = d.at.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// advancePublicPromiseStage moves incident id's public promise to stage,
// if it is still at an earlier stage for the same due time; it reports
// whether this call moved it: exactly one caller wins.
func advancePublicPromiseStage(ctx context.Context, tx *sql.Tx, id int64, due time.Time, stage int) (bool, error) {
	res, err := tx.ExecContext(ctx, queries.Get("advance-public-promise-stage"), stage, id, due.UTC())
	if err != nil {
		return false, fmt.Errorf("incident: public promise stage: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// checkPublicPromises is CheckPromises for the public promise: the same
// stages at the same times (ReminderBefore, OverdueAfter), in emails that
// say it is the customers' update that is due. Only while the public page
// is on (PublicPage): without it no customer reads the promise.
func (c *Comms) checkPublicPromises(ctx context.Context, now time.Time) (int, error) {
	if !c.PublicPage {
		return 0, nil
	}
	due, err := c.Incidents.publicPromisesDue(ctx, now.Add(c.ReminderBefore))
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range due {
		stage := StageReminded
		switch {
		case !now.Before(d.at.Add(c.OverdueAfter)):
			stage = StageOverdue
		case !now.Before(d.at):
			stage = StageDue
		}
		if stage <= d.stage {
			continue
		}
		won := false
		err := c.DB.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			won, err = advancePublicPromiseStage(ctx, tx, d.id, d.at, stage)
			if err != nil || !won {
				return err
			}
			inc, err := c.Incidents.GetByID(ctx, tx, d.id)
			if err != nil {
				return err
			}
			return c.queuePublicReminder(ctx, tx, inc, d.at, stage, now)
		})
		if err != nil {
			c.logger().Error("public promise reminder failed", "incident", FormatRef(d.id), "err", err)
			continue
		}
		if won { // another replica, or an earlier run, may have sent it
			sent++
		}
	}
	return sent, nil
}

// publicPromise: the customers' promise is reminded as the
// stakeholders' is, in words that say it is the public update.
var publicPromise = promiseWords{
	reminder: compose.KindPublicReminder, overdue: compose.KindPublicOverdue,
	reminderEvent: EventPublicReminder, overdueEvent: EventPublicOverdue,
	remindText:  "Reminder to %s: the PUBLIC update (customers) is due at %s UTC",
	dueText:     "The PUBLIC update (customers) is due now (%[2]s UTC); reminded %[1]s",
	overdueText: "PUBLIC update (customers) OVERDUE (was due %[2]s UTC); escalated to %[1]s",
	nobody:      "no one to remind of the public update: the incident has no leads and the directory no comms lead",
}

// queuePublicReminder tells the leads that the public update is due or
// overdue (queuePromiseReminder).
func (c *Comms) queuePublicReminder(ctx context.Context, tx *sql.Tx, inc *Incident, due time.Time, stage int, now time.Time) error {
	return c.queuePromiseReminder(ctx, tx, inc, due, stage, now, publicPromise)
}
