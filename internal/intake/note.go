package intake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Mailer queues the note in the outbox, as every other message goes: the
// same delivery rows before the first byte, retries and bounce handling.
// A draft is not an incident, so its note is a message of its own, in no
// thread (compose.Thread with no Key).
type Mailer interface {
	Queue(ctx context.Context, tx *sql.Tx, m compose.Outgoing) (*compose.Message, error)
}

// NoteArgs is the job that tells one person of a new draft.
type NoteArgs struct {
	DraftID int64  `json:"draft_id"`
	To      string `json:"to"`
}

func (NoteArgs) Kind() string { return "intake_draft_note" }

// InsertOpts: a note is worth a day of retries, not River's default three weeks.
func (NoteArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// NoteWorker works NoteArgs: it queues the note while the draft is still
// undecided (a draft decided before its job ran asks nobody anything).
type NoteWorker struct {
	river.WorkerDefaults[NoteArgs]
	Service *Service
	Mail    Mailer
	// PublicURL, when set, links the note to the draft's page.
	PublicURL string
}

func (w *NoteWorker) Work(ctx context.Context, job *river.Job[NoteArgs]) error {
	d, err := w.Service.get(ctx, w.Service.DB, job.Args.DraftID)
	if err != nil {
		return err
	}
	if d.State != StateDraft {
		return nil // decided before the note went out: nothing to ask
	}
	note := compose.Outgoing{
		Thread: compose.Thread{Audience: "leads", Ref: FormatID(d.ID), ReplyToken: ReplyPrefix + d.ReplyToken},
		Kind:   compose.KindDraftAlert, People: []string{job.Args.To}, Data: w.data(d, w.Service.now()), Actor: "sitrep",
		// A job run again after a crash finds its note queued.
		IdempotencyKey: fmt.Sprintf("draft-note-%d-%s", d.ID, strings.ToLower(job.Args.To)),
	}
	err = w.Service.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := w.Mail.Queue(ctx, tx, note)
		return err
	})
	switch {
	case errs.Is(err, errs.Conflict):
		return nil // queued by an earlier run of this job
	case errs.Is(err, errs.Invalid):
		return river.JobCancel(err) // a template or address that fails will fail again
	case err != nil:
		return fmt.Errorf("intake: note on %s to %s: %w", FormatID(d.ID), job.Args.To, err)
	}
	return nil
}

// data is the note on draft d; the outbox puts each copy in its
// recipient's zone.
func (w *NoteWorker) data(d *Draft, now time.Time) *compose.DraftAlertData {
	view := compose.IncidentView{ID: FormatID(d.ID), Title: d.Title, State: d.State, DetectedVia: "monitoring",
		DetectionDetail: sourceName(d.Source) + " alert " + d.AlertKey, FirstFailureAt: d.FirstFailureAt, DetectedAt: d.ReceivedAt,
		Systems: d.Systems, URL: d.URL}
	page := ""
	if w.PublicURL != "" {
		page = strings.TrimRight(w.PublicURL, "/") + "/drafts/" + FormatID(d.ID)
	}
	return &compose.DraftAlertData{Incident: view, Draft: d.Detail, DraftedBy: sourceName(d.Source), Now: now, Alert: true,
		AlertKey: d.AlertKey, SuggestedSeverity: d.Severity, Fired: d.Fired, LastFiredAt: d.LastSeenAt, DraftPage: page, DraftNumber: d.ID}
}
