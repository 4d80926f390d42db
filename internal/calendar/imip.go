package calendar

import (
	"context"
	"fmt"
	"time"
)

// IMIP books by email: it writes the iCalendar invitation and hands it to
// its Mail, which the post-mortem sends through the outbox (RFC 6047: a
// text/calendar part with the method parameter). Mail has no free/busy, so
// Busy says everyone is free.
type IMIP struct {
	Mail InviteMail
}

// InviteMail is what booking by email needs of whoever sends the mail.
type InviteMail interface {
	SendInvite(ctx context.Context, ev Event, method string, ics []byte) error
	// EventByUID looks up a booked event, for Cancel: a CANCEL must name
	// the organizer and every attendee again (RFC 5546 3.2.5).
	EventByUID(ctx context.Context, uid string) (Event, error)
}

var _ Backend = (*IMIP)(nil)

// Book sends the REQUEST. A retried job sends it again; clients match it to
// the first by UID and SEQUENCE and show one event.
func (m *IMIP) Book(ctx context.Context, ev Event) (*Booking, error) {
	if err := m.send(ctx, ev, MethodRequest); err != nil {
		return nil, err
	}
	return &Booking{Backend: "imip", ID: ev.UID, Sequence: ev.Sequence}, nil
}

// Reschedule sends the REQUEST again with a higher SEQUENCE, which clients
// take as an update of the event they hold (RFC 5546 2.1.4).
func (m *IMIP) Reschedule(ctx context.Context, b Booking, ev Event) (*Booking, error) {
	if ev.UID != b.ID {
		return nil, fmt.Errorf("calendar: imip: reschedule %q with event %q", b.ID, ev.UID)
	}
	ev.Sequence = max(ev.Sequence, b.Sequence+1)
	if err := m.send(ctx, ev, MethodRequest); err != nil {
		return nil, err
	}
	return &Booking{Backend: "imip", ID: ev.UID, Sequence: ev.Sequence}, nil
}

// Cancel sends a CANCEL with a higher SEQUENCE to everyone on the event.
func (m *IMIP) Cancel(ctx context.Context, b Booking) error {
	if m.Mail == nil {
		return fmt.Errorf("calendar: imip: cancel %q: no mail configured", b.ID)
	}
	ev, err := m.Mail.EventByUID(ctx, b.ID)
	if err != nil {
		return fmt.Errorf("calendar: imip: cancel %q: %w", b.ID, err)
	}
	ev.Sequence = max(ev.Sequence, b.Sequence+1)
	return m.send(ctx, ev, MethodCancel)
}

// Busy knows nothing: mail carries no free/busy.
func (m *IMIP) Busy(ctx context.Context, emails []string, from, to time.Time) (map[string][]Interval, error) {
	return map[string][]Interval{}, nil
}

func (m *IMIP) send(ctx context.Context, ev Event, method string) error {
	if m.Mail == nil {
		return fmt.Errorf("calendar: imip: no mail configured")
	}
	ics, err := Invite(ev, method)
	if err != nil {
		return fmt.Errorf("calendar: imip: %w", err)
	}
	if err := m.Mail.SendInvite(ctx, ev, method, ics); err != nil {
		return fmt.Errorf("calendar: imip: send %s %q: %w", method, ev.UID, err)
	}
	return nil
}
