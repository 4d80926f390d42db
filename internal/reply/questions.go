package reply

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)

// Questions decides when stakeholders' questions reach the comms lead. The
// first after a quiet spell goes at once; those that follow within Window
// of the last email wait and go together when the window ends, so that
// twenty-two people asking in one minute make two emails, not twenty-two.
type Questions struct {
	// Jobs schedules the email that ends a window. Nil: every question
	// goes at once.
	Jobs jobs.Inserter
	// Window is the least time between two emails of questions; 0 sends
	// every question at once.
	Window time.Duration
}

// QuestionsArgs is the job that sends the questions collected in a
// window. Two jobs for one window are harmless: the second finds nothing.
type QuestionsArgs struct {
	Incident int64 `json:"incident"`
}

// Kind names the job for the queue.
func (QuestionsArgs) Kind() string { return "reply_questions" }

// QuestionsWorker runs QuestionsArgs.
type QuestionsWorker struct {
	river.WorkerDefaults[QuestionsArgs]
	Service *Service
}

// Work sends the incident's waiting questions, if any are left.
func (w *QuestionsWorker) Work(ctx context.Context, job *river.Job[QuestionsArgs]) error {
	s := w.Service
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		inc, err := s.Incidents.GetByID(ctx, tx, job.Args.Incident)
		if err != nil {
			return err
		}
		_, err = s.sendQuestions(ctx, tx, inc)
		return err
	})
}

// Register adds the reply flow's job to workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &QuestionsWorker{Service: s})
}

// forwardQuestion stores q for the comms lead, in the caller's
// transaction, and sends it with any others waiting unless the last email
// of questions went less than a window ago; then the email that ends the
// window is scheduled. It reports whether an email was queued now.
func (s *Service) forwardQuestion(ctx context.Context, tx *sql.Tx, inboundID int64, inc *incident.Incident, q compose.Question) (bool, error) {
	if _, err := tx.ExecContext(ctx, queries.Get("insert-question"), inc.ID, inboundID, q.From, q.Audience, q.Subject, q.Text, q.ReceivedAt); err != nil {
		return false, fmt.Errorf("reply: store question: %w", err)
	}
	if w := s.Questions; w.Window > 0 && w.Jobs != nil {
		var last time.Time
		err := tx.QueryRowContext(ctx, queries.Get("last-questions-sent"), inc.ID).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("reply: last questions sent: %w", err)
		}
		if end := last.Add(w.Window); err == nil && s.now().Before(end) {
			if _, err := w.Jobs.InsertTx(ctx, tx, QuestionsArgs{Incident: inc.ID}, &river.InsertOpts{ScheduledAt: end}); err != nil {
				return false, fmt.Errorf("reply: schedule questions: %w", err)
			}
			return false, nil
		}
	}
	return s.sendQuestions(ctx, tx, inc)
}

// sendQuestions queues one email to the comms lead with every question of
// the incident still waiting, and marks them sent, in tx.
func (s *Service) sendQuestions(ctx context.Context, tx *sql.Tx, inc *incident.Incident) (bool, error) {
	now := s.now()
	rows, err := tx.QueryContext(ctx, queries.Get("claim-questions"), now, inc.ID)
	if err != nil {
		return false, fmt.Errorf("reply: claim questions: %w", err)
	}
	var qs []compose.Question
	for rows.Next() {
		var q compose.Question
		if err := rows.Scan(&q.From, &q.Audience, &q.Subject, &q.Text, &q.ReceivedAt); err != nil {
			rows.Close()
			return false, fmt.Errorf("reply: claim questions: %w", err)
		}
		qs = append(qs, q)
	}
	if err := rows.Close(); err != nil {
		return false, fmt.Errorf("reply: claim questions: %w", err)
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("reply: claim questions: %w", err)
	}
	to := commsContact(inc)
	if len(qs) == 0 || to == "" {
		return false, nil
	}
	slices.SortFunc(qs, func(a, b compose.Question) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	_, err = s.Mail.Queue(ctx, tx, compose.Outgoing{
		Thread: inc.Thread(compose.Leads), Kind: compose.KindStakeholderReply, People: []string{to},
		Data:  compose.StakeholderReplyData{Incident: s.Comms.View(inc), Questions: qs, Now: now},
		Actor: "sitrep",
	})
	return err == nil, err
}
