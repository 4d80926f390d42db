package intake

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
)

// Sender hands one message to the SMTP server; the outbox's pool
// satisfies it (outbox.Sender).
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) (perRcpt []error, err error)
}

// Mail is what the note to the comms lead needs of the mail side. A draft
// is not an incident, so the note cannot go through the outbox's incident
// threads; it is rendered by the same templates and sent through the same
// SMTP pool by a River job of its own, retried until it is accepted.
type Mail struct {
	Renderer  *compose.Renderer
	Sender    Sender
	From      string // "sitrep <status@example.com>"
	Domain    string
	ReplyPart string
	PublicURL string
	// Person gives a recipient's name and time zone, if the directory knows them.
	Person func(email string) (name, zone string, ok bool)
}

// NoteArgs is the job that tells one person of a new draft.
type NoteArgs struct {
	DraftID int64  `json:"draft_id"`
	To      string `json:"to"`
}

func (NoteArgs) Kind() string { return "intake_draft_note" }

// InsertOpts: a note is worth a day of retries, not River's default three weeks.
func (NoteArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// NoteWorker works NoteArgs.
type NoteWorker struct {
	river.WorkerDefaults[NoteArgs]
	Service *Service
	Mail    *Mail
}

func (w *NoteWorker) Work(ctx context.Context, job *river.Job[NoteArgs]) error {
	d, err := w.Service.get(ctx, w.Service.DB, job.Args.DraftID)
	if err != nil {
		return err
	}
	if d.State != StateDraft {
		return nil // decided before the note went out: nothing to ask
	}
	msg, err := w.Mail.Build(d, job.Args.To, w.Service.now())
	if err != nil {
		return river.JobCancel(err) // a template that fails will fail again
	}
	_, from := w.Mail.fromAddress()
	perRcpt, err := w.Mail.Sender.Send(ctx, from, []string{job.Args.To}, msg)
	if err == nil && len(perRcpt) > 0 {
		err = perRcpt[0]
	}
	if err != nil {
		return fmt.Errorf("intake: note on %s to %s: %w", FormatID(d.ID), job.Args.To, err)
	}
	return nil
}

// Build renders the note on draft d for one recipient.
func (m *Mail) Build(d *Draft, to string, now time.Time) ([]byte, error) {
	name, zone := "", ""
	if m.Person != nil {
		name, zone, _ = m.Person(to)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	view := compose.IncidentView{ID: FormatID(d.ID), Title: d.Title, State: d.State, DetectedVia: "monitoring",
		DetectionDetail: sourceName(d.Source) + " alert " + d.AlertKey, FirstFailureAt: d.FirstFailureAt, DetectedAt: d.ReceivedAt,
		Systems: d.Systems, URL: d.URL}
	var b strings.Builder
	if d.Detail != "" {
		b.WriteString(d.Detail + "\n\n")
	}
	fmt.Fprintf(&b, "Source: %s, alert `%s`. Suggested severity: %s.", sourceName(d.Source), d.AlertKey, firstNonEmpty(d.Severity, "none"))
	if d.Fired > 1 {
		fmt.Fprintf(&b, " Fired %d times, last at %s UTC.", d.Fired, d.LastSeenAt.Format("15:04:05"))
	}
	if m.PublicURL != "" {
		fmt.Fprintf(&b, "\n\nOr on the web, with the reports filed so far: %s/drafts/%s; from the command line: `sitrep draft declare %d` / `sitrep draft dismiss %d`.",
			strings.TrimRight(m.PublicURL, "/"), FormatID(d.ID), d.ID, d.ID)
	}
	rendered, err := m.Renderer.Render(compose.KindDraftAlert, &compose.DraftAlertData{Incident: view, Draft: b.String(),
		DraftedBy: sourceName(d.Source), Now: now, Zone: loc, Alert: true})
	if err != nil {
		return nil, err
	}
	fromName, fromAddr := m.fromAddress()
	display := to
	if name != "" {
		display = name
	}
	return compose.Build(compose.Envelope{FromName: fromName, FromAddr: fromAddr, ToDisplay: display,
		ReplyTo: m.ReplyPart + "+" + ReplyPrefix + d.ReplyToken + "@" + m.Domain, MessageID: compose.NewMessageID(m.Domain),
		Date: now, AutoSubmitted: true}, rendered)
}

func (m *Mail) fromAddress() (name, addr string) {
	name, addr, ok := strings.Cut(m.From, "<")
	if !ok {
		return "sitrep", strings.TrimSpace(m.From)
	}
	return strings.Trim(strings.TrimSpace(name), `"`), strings.TrimSuffix(strings.TrimSpace(addr), ">")
}
