package postmortem

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// BookArgs is one booking, move or cancellation for the calendar backend.
// Sequence and UID pin the job to the change that queued it: a job
// overtaken by a later change does nothing.
type BookArgs struct {
	PostmortemID int64  `json:"postmortem_id"`
	Op           string `json:"op"` // book | reschedule | cancel
	Sequence     int    `json:"sequence"`
	UID          string `json:"uid"`
}

func (BookArgs) Kind() string { return "postmortem_book" }

// bookAttempts bounds the retries of a backend that keeps failing
// (River's backoff: about 1 s, 16 s, 81 s, 4 min, ... ~2.8 h in all).
const bookAttempts = 10

func (BookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: bookAttempts} }

// BookWorker works BookArgs.
type BookWorker struct {
	river.WorkerDefaults[BookArgs]
	Service *Service
}

// Register adds the post-mortem's workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &BookWorker{Service: s})
	river.AddWorker(workers, &WebhookWorker{Service: s})
}

// Timeout: a calendar call is seconds; a minute bounds a hung server.
func (w *BookWorker) Timeout(*river.Job[BookArgs]) time.Duration { return time.Minute }

func (w *BookWorker) Work(ctx context.Context, job *river.Job[BookArgs]) error {
	s := w.Service
	a := job.Args
	pm, err := loadByID(ctx, s.DB, a.PostmortemID)
	if err != nil {
		return err
	}
	if pm.State != StateBooking || pm.PendingOp != a.Op || pm.Sequence != a.Sequence || pm.UID != a.UID {
		return nil // overtaken by a later change
	}
	inc, err := s.Incidents.GetByID(ctx, s.DB, pm.IncidentID)
	if err != nil {
		return err
	}
	pm.Incident = inc.Ref
	ev, err := s.event(ctx, s.DB, pm, inc)
	if err != nil {
		return s.failed(ctx, pm, inc, err)
	}
	booking, err := s.call(ctx, a.Op, pm, ev)
	if err != nil {
		if wait, ok := retryAfter(err, job.JobRow); ok {
			// The backend named its wait: keep it instead of River's
			// backoff, which would come back sooner and be refused again.
			_, _ = s.DB.ExecContext(ctx, queries.Get("set-booking-error"),
				fmt.Sprintf("attempt %d of %d asked to wait %s, retrying then: %v", job.Attempt, job.MaxAttempts, wait, err), pm.ID)
			s.logger().Warn("postmortem: calendar asked to wait", "incident", inc.Ref, "op", a.Op, "retry_after", wait)
			return river.JobSnooze(wait)
		}
		if retryable(s.BackendName, err) && job.Attempt < job.MaxAttempts {
			// Reported while it is retried: the API and the CLI show it.
			_, _ = s.DB.ExecContext(ctx, queries.Get("set-booking-error"),
				fmt.Sprintf("attempt %d of %d failed, retrying: %v", job.Attempt, job.MaxAttempts, err), pm.ID)
			return err
		}
		return s.failed(ctx, pm, inc, err)
	}
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		text := ""
		switch a.Op {
		case opCancel:
			pm.State = StateCancelled
			text = "Post-mortem cancelled; attendees were sent the cancellation"
		default:
			pm.State, pm.Booking = StateBooked, booking
			pm.Sequence = max(pm.Sequence, booking.Sequence)
			if a.Op == opBook {
				pm.BookedAt = &now
			}
			text = fmt.Sprintf("Post-mortem %s through %s: %s", map[string]string{opBook: "booked", opReschedule: "moved"}[a.Op], s.BackendName, s.describe(pm))
			if booking.HTMLLink != "" {
				text += " " + booking.HTMLLink
			}
			if booking.MeetLink != "" {
				// The meeting's own link (Teams, Meet): on the incident, for
				// whoever joins from its page.
				text += " · join: " + booking.MeetLink
			}
		}
		pm.PendingOp, pm.BookingError = "", ""
		if err := saveSchedule(ctx, tx, pm, now); err != nil {
			return err
		}
		if _, err := incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_"+pm.State, "sitrep", text,
			map[string]any{"uid": pm.UID, "sequence": pm.Sequence, "backend": s.BackendName}); err != nil {
			return err
		}
		if pm.State == StateBooked && pm.Start.Sub(now) <= s.timelineBefore() {
			return s.queueTimeline(ctx, tx, pm, inc, now) // the day before is already past: now
		}
		return nil
	})
}

// call does the backend's part of op, then the iMIP invitations when the
// backend does not send its own (CalDAV).
func (s *Service) call(ctx context.Context, op string, pm *Postmortem, ev calendar.Event) (*calendar.Booking, error) {
	var b *calendar.Booking
	var err error
	prev := calendar.Booking{Backend: "imip", ID: ev.UID, Sequence: max(0, ev.Sequence-1)}
	switch op {
	case opBook:
		if b, err = s.Backend.Book(ctx, ev); err != nil {
			return nil, err
		}
		if s.Invites != nil {
			_, err = s.Invites.Book(ctx, ev)
		}
	case opReschedule:
		if pm.Booking == nil {
			return nil, fmt.Errorf("postmortem: reschedule %s: nothing booked", pm.UID)
		}
		b, err = s.Backend.Reschedule(ctx, *pm.Booking, ev)
		if errors.Is(err, calendar.ErrGone) { // deleted in the calendar meanwhile: book it again
			b, err = s.Backend.Book(ctx, ev)
		}
		if err != nil {
			return nil, err
		}
		if s.Invites != nil {
			_, err = s.Invites.Reschedule(ctx, prev, ev)
		}
	case opCancel:
		if pm.Booking != nil {
			if err = s.Backend.Cancel(ctx, *pm.Booking); errors.Is(err, calendar.ErrGone) {
				err = nil // gone already is cancelled
			}
			if err != nil {
				return nil, err
			}
		}
		if s.Invites != nil {
			err = s.Invites.Cancel(ctx, prev)
		}
		b = pm.Booking
	default:
		return nil, fmt.Errorf("postmortem: unknown booking op %q", op)
	}
	return b, err
}

// failed records a booking that will not happen (a refusal, or retries
// spent) and says so on the timeline. A failed move or cancellation leaves
// the earlier booking in force.
func (s *Service) failed(ctx context.Context, pm *Postmortem, inc *incident.Incident, cause error) error {
	now := s.now()
	op := pm.PendingOp
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		pm.BookingError = cause.Error()
		pm.PendingOp = ""
		if op == opBook {
			pm.State = StateFailed
		} else {
			pm.State = StateBooked
		}
		if err := saveSchedule(ctx, tx, pm, now); err != nil {
			return err
		}
		_, err := incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_failed", "sitrep",
			fmt.Sprintf("Post-mortem %s through %s FAILED: %v", map[string]string{opBook: "booking", opReschedule: "move", opCancel: "cancellation"}[op], s.BackendName, cause), nil)
		return err
	})
	if err != nil {
		return err
	}
	s.logger().Error("postmortem: booking failed", "incident", inc.Ref, "op", op, "err", cause)
	return river.JobCancel(cause)
}

// maxRetryAfter bounds one wait a backend asks for: a post-mortem a day
// or two away should not sleep past it on one answer; after this long the
// job asks again, and is told again if need be.
const maxRetryAfter = 30 * time.Minute

// retryAfter is the wait a RetryableError names, for a snooze. A snooze
// does not count as an attempt, so the snoozes are bounded apart (River
// counts them in the job's metadata): a backend that keeps asking to wait
// falls back to the counted retries and, in the end, a failed booking.
func retryAfter(err error, job *rivertype.JobRow) (time.Duration, bool) {
	var r *calendar.RetryableError
	if !errors.As(err, &r) || r.RetryAfter <= 0 {
		return 0, false
	}
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &meta)
	if meta.Snoozes >= bookAttempts {
		return 0, false
	}
	return min(r.RetryAfter, maxRetryAfter), true
}

// retryable: what the backend says is worth retrying; and, for iMIP, any
// failure to queue the invitation that is not a domain error (the
// database was busy or away, not a bad request).
func retryable(backend string, err error) bool {
	if calendar.IsRetryable(err) {
		return true
	}
	var e *errs.Error
	return backend == "imip" && !errors.As(err, &e)
}
