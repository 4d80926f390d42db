package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// CheckPromises keeps the next-update promise: a reminder to the comms
// lead before the update is due, another when it is due, and an
// escalation to the incident lead and the backup when it is overdue. Each
// stage goes out once per promise, whatever the number of replicas: the
// stage advances in the same transaction that queues the email.
func (o *Outbox) CheckPromises(ctx context.Context) (int, error) {
	now := o.now()
	due, err := o.Incidents.PromisesDue(ctx, now.Add(o.ReminderBefore))
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, inc := range due {
		at := *inc.Promise.NextUpdateAt
		stage := incident.StageReminded
		switch {
		case !now.Before(at.Add(o.OverdueAfter)):
			stage = incident.StageOverdue
		case !now.Before(at):
			stage = incident.StageDue
		}
		if stage <= inc.Promise.Stage {
			continue
		}
		err := o.DB.InTx(ctx, func(tx *sql.Tx) error {
			won, err := incident.AdvancePromiseStage(ctx, tx, inc.ID, at, stage)
			if err != nil || !won {
				return err
			}
			return o.queueReminder(ctx, tx, inc, at, stage, now)
		})
		if err != nil {
			o.logger().Error("promise reminder failed", "incident", inc.Ref, "err", err)
			continue
		}
		sent++
	}
	return sent, nil
}

func (o *Outbox) queueReminder(ctx context.Context, tx *sql.Tx, inc *incident.Incident, due time.Time, stage int, now time.Time) error {
	d := o.Directory.Current()
	kind, event := compose.KindReminder, incident.EventReminder
	var to []string
	if stage == incident.StageOverdue {
		kind, event = compose.KindOverdue, incident.EventOverdue
		to = append(to, inc.Roles.IncidentLead)
		if o.Backup != "" {
			to = append(to, o.Backup)
		}
		to = append(to, inc.Roles.CommsLead)
	} else {
		to = append(to, inc.Roles.CommsLead)
		if inc.Roles.CommsLead == "" {
			to = append(to, inc.Roles.IncidentLead)
		}
	}
	to = compact(to)
	if len(to) == 0 {
		for _, p := range d.PeopleWithRole(directory.RoleCommsLead) {
			to = append(to, p.Email)
		}
	}
	if len(to) == 0 {
		o.logger().Warn("no one to remind: the incident has no leads and the directory no comms lead", "incident", inc.Ref)
		return nil
	}
	data := compose.ReminderData{Incident: o.View(inc), DueAt: due, Now: now, Overdue: stage == incident.StageOverdue}
	if _, err := o.Queue(ctx, tx, Request{Incident: inc, Kind: kind, Audience: Leads, People: to, Data: data, Actor: "sitrep"}); err != nil {
		return err
	}
	var text string
	switch stage {
	case incident.StageReminded:
		text = fmt.Sprintf("Reminder to %s: next update due at %s UTC", strings.Join(to, ", "), due.Format("15:04"))
	case incident.StageDue:
		text = fmt.Sprintf("Next update due now (%s UTC); reminded %s", due.Format("15:04"), strings.Join(to, ", "))
	default:
		text = fmt.Sprintf("Update OVERDUE (was due %s UTC); escalated to %s", due.Format("15:04"), strings.Join(to, ", "))
	}
	_, err := incident.AddEvent(ctx, tx, now, inc.ID, event, "sitrep", text, map[string]any{"due": due, "stage": stage, "to": to})
	return err
}

func compact(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// DueMessages lists messages with deliveries that are due and that no
// worker is on: queued ones whose job was lost with a crashed replica,
// deferred ones whose retry time has come, and claimed ones whose lease
// ran out. The sweep queues a delivery job for each; claims keep two jobs
// on one message from sending a recipient twice.
func (o *Outbox) DueMessages(ctx context.Context) ([]int64, error) {
	now := o.now()
	// A live worker marks its message active at every batch; a message
	// quiet for this long has lost its worker. Guessing wrong only starts
	// a second job, which the claims keep from sending anyone twice.
	quiet := 15 * time.Second
	if o.Lease > 0 && o.Lease < quiet {
		quiet = o.Lease
	}
	stale := now.Add(-quiet)
	rows, err := o.DB.QueryContext(ctx, `SELECT DISTINCT d.message_id FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE (d.state = 'queued' AND m.created_at < $2 AND (m.last_activity_at IS NULL OR m.last_activity_at < $2))
   OR (d.state = 'deferred' AND d.next_attempt_at <= $1)
   OR (d.state = 'sending' AND d.lease_until < $3)
LIMIT 200`, now, stale, time.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("outbox: due messages: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("outbox: due messages: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Sweep queues a delivery job for every message with due deliveries
// nobody is working on.
func (o *Outbox) Sweep(ctx context.Context) error {
	ids, err := o.DueMessages(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := o.DB.InTx(ctx, func(tx *sql.Tx) error {
			_, err := o.Jobs.InsertTx(ctx, tx, DeliverArgs{MessageID: id}, nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("outbox: sweep: %w", err)
		}
	}
	return nil
}

// Register adds the outbox's job workers.
func (o *Outbox) Register(workers *river.Workers) {
	river.AddWorker(workers, &DeliverWorker{Outbox: o})
}
