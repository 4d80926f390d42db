package postmortem

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

// responsesAfterEnd is how long after the meeting answers are still read:
// someone who could not come may say so late, and the list of who was
// there is read the day after; later ones are history.
const responsesAfterEnd = 24 * time.Hour

func (s *Service) responsesEvery() time.Duration {
	return cmp.Or(s.Settings.ResponsesEvery, 5*time.Minute)
}

// CheckResponses reads attendees' answers back from a calendar that keeps
// them (the Backend is a calendar.Responder: Google, Microsoft 365), for
// the post-mortems booked through it whose meeting is ahead or ended less
// than a day ago, each at most once per ResponsesEvery. An answer that
// changed since the last read is recorded as an iMIP REPLY would be
// (RecordRSVP, at the current SEQUENCE): the attendee list shows it and
// the timeline says "X declined the post-mortem invitation" once, not at
// every read. Safe on every replica: a post-mortem is claimed for the
// interval before its calendar is asked.
func (s *Service) CheckResponses(ctx context.Context) error {
	r, ok := s.Backend.(calendar.Responder)
	if !ok {
		return nil // answers come by email (iMIP REPLY), through the inbox
	}
	now := s.now()
	every := s.responsesEvery()
	rows, err := s.DB.QueryContext(ctx, queries.Get("responses-to-read"), s.BackendName, now.Add(-responsesAfterEnd), now.Add(-every))
	if err != nil {
		return fmt.Errorf("postmortem: answers to read: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("postmortem: answers to read: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postmortem: answers to read: %w", err)
	}
	var failed []error
	for _, id := range ids {
		if err := s.readResponses(ctx, r, id, now, every); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// One calendar that fails does not keep the others' answers
			// out; it is asked again after the interval.
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// readResponses claims one post-mortem for the interval, asks the
// calendar, and records the answers that differ from the list.
func (s *Service) readResponses(ctx context.Context, r calendar.Responder, id int64, now time.Time, every time.Duration) error {
	res, err := s.DB.ExecContext(ctx, queries.Get("claim-responses"), now, id, now.Add(-every))
	if err != nil {
		return fmt.Errorf("postmortem: claim answers: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another replica read them within the interval
	}
	pm, err := loadByID(ctx, s.DB, id)
	if err != nil {
		return err
	}
	if pm.State != StateBooked || pm.Booking == nil {
		return nil
	}
	answers, err := r.Responses(ctx, *pm.Booking)
	if errors.Is(err, calendar.ErrGone) {
		// Deleted in the calendar: a move books it again, a cancellation
		// is done already; there is nothing to read until then.
		s.logger().Warn("postmortem: event gone from the calendar; answers not read", "uid", pm.UID, "booking", pm.Booking.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("postmortem: answers to %s: %w", pm.UID, err)
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := loadByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.UID != pm.UID || cur.State != StateBooked {
			return nil // moved or cancelled while the calendar answered: next time
		}
		have := map[string]string{}
		for _, p := range cur.Attendees {
			have[p.Email] = p.PartStat
		}
		for _, a := range answers {
			email := strings.ToLower(strings.TrimSpace(a.Email))
			switch {
			case email == "" || a.PartStat == "" || a.PartStat == partStatPending:
				continue // no answer (or one taken back): nothing to say
			case cur.Room != nil && strings.EqualFold(cur.Room.Email, email):
				continue // a room's acceptance is no attendee's answer
			case have[email] == a.PartStat:
				continue // read before
			}
			if err := s.RecordRSVP(ctx, tx, calendar.Reply{UID: cur.UID, Sequence: cur.Sequence, Attendee: email, PartStat: a.PartStat}); err != nil {
				return err
			}
		}
		return nil
	})
}
