package postmortem

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// States of a post-mortem.
const (
	StateDraft      = "draft"     // attendees gathered, nothing booked
	StateBooking    = "booking"   // a job is booking, moving or cancelling it
	StateBooked     = "booked"    // in the calendars
	StateCancelled  = "cancelled" // cancelled; may be booked again (under a new UID)
	StateFailed     = "failed"    // the backend refused; see BookingError
	opBook          = "book"
	opReschedule    = "reschedule"
	opCancel        = "cancel"
	sourceAdded     = "added"
	sourceReply     = "reply"
	partStatPending = "NEEDS-ACTION"
)

// Participant is one person invited to the post-mortem, and their answer.
type Participant struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	TimeZone string `json:"time_zone,omitempty"`
	Optional bool   `json:"optional,omitempty"`
	// Source says why they are invited: facilitator, lead, responder,
	// group:<name>, optional_group:<name>, added, reply.
	Source string `json:"source"`
	// PartStat is their answer to the invitation (RFC 5545 3.2.12):
	// NEEDS-ACTION until they reply, then ACCEPTED, DECLINED, TENTATIVE.
	PartStat  string     `json:"partstat"`
	RepliedAt *time.Time `json:"replied_at,omitempty"`
}

func (p Participant) attendee() Attendee {
	return Attendee{Email: p.Email, Name: p.Name, TimeZone: p.TimeZone, Optional: p.Optional}
}

// Postmortem is the meeting of one incident.
type Postmortem struct {
	ID           int64             `json:"-"`
	IncidentID   int64             `json:"-"`
	Incident     string            `json:"incident"`
	UID          string            `json:"uid"`
	State        string            `json:"state"`
	PendingOp    string            `json:"pending,omitempty"` // what the booking job is doing
	Sequence     int               `json:"sequence"`
	Facilitator  string            `json:"facilitator"`
	Start        *time.Time        `json:"start,omitempty"`
	End          *time.Time        `json:"end,omitempty"`
	Room         *Room             `json:"room,omitempty"`
	Remote       bool              `json:"remote"`
	VideoLink    string            `json:"video_link,omitempty"`
	Backend      string            `json:"backend"`
	Booking      *calendar.Booking `json:"booking,omitempty"`
	BookingError string            `json:"booking_error,omitempty"`
	Proposals    []Slot            `json:"proposals"`
	Warnings     []string          `json:"warnings,omitempty"`
	Attendees    []Participant     `json:"attendees"`
	BookedAt     *time.Time        `json:"booked_at,omitempty"`
	TimelineSent *time.Time        `json:"timeline_sent_at,omitempty"`
	PublishedAt  *time.Time        `json:"published_at,omitempty"`
	generation   int
}

// scanPostmortem reads a row of postmortem-of-incident, postmortem-by-id or
// postmortem-by-uid, which select the same columns.
func scanPostmortem(row interface{ Scan(...any) error }) (*Postmortem, error) {
	var pm Postmortem
	var start, end, booked, timeline, published sql.NullTime
	var room, booking, proposals, warnings string
	err := row.Scan(&pm.ID, &pm.IncidentID, &pm.UID, &pm.generation, &pm.State, &pm.PendingOp, &pm.Sequence, &pm.Facilitator,
		&start, &end, &room, &pm.Remote, &pm.VideoLink, &pm.Backend, &booking, &pm.BookingError, &proposals, &warnings,
		&booked, &timeline, &published)
	if err != nil {
		return nil, err
	}
	pm.Start, pm.End, pm.BookedAt, pm.TimelineSent, pm.PublishedAt = store.TimePtr(start), store.TimePtr(end), store.TimePtr(booked), store.TimePtr(timeline), store.TimePtr(published)
	if room != "" {
		pm.Room = &Room{}
		if err := json.Unmarshal([]byte(room), pm.Room); err != nil {
			return nil, fmt.Errorf("postmortem: room: %w", err)
		}
	}
	if booking != "" {
		pm.Booking = &calendar.Booking{}
		if err := json.Unmarshal([]byte(booking), pm.Booking); err != nil {
			return nil, fmt.Errorf("postmortem: booking: %w", err)
		}
	}
	pm.Proposals = []Slot{}
	_ = json.Unmarshal([]byte(proposals), &pm.Proposals)
	_ = json.Unmarshal([]byte(warnings), &pm.Warnings)
	return &pm, nil
}

// load reads the post-mortem of an incident with its attendees; nil, nil
// when there is none yet.
func load(ctx context.Context, q store.Querier, incidentID int64) (*Postmortem, error) {
	pm, err := scanPostmortem(q.QueryRowContext(ctx, queries.Get("postmortem-of-incident"), incidentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postmortem: load: %w", err)
	}
	if pm.Attendees, err = loadAttendees(ctx, q, pm.ID); err != nil {
		return nil, err
	}
	return pm, nil
}

// loadByID reads a post-mortem by its row id.
func loadByID(ctx context.Context, q store.Querier, id int64) (*Postmortem, error) {
	pm, err := scanPostmortem(q.QueryRowContext(ctx, queries.Get("postmortem-by-id"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no post-mortem %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postmortem: load %d: %w", id, err)
	}
	if pm.Attendees, err = loadAttendees(ctx, q, pm.ID); err != nil {
		return nil, err
	}
	return pm, nil
}

// loadByUID reads the post-mortem whose invitations carry uid; nil, nil
// when none does.
func loadByUID(ctx context.Context, q store.Querier, uid string) (*Postmortem, error) {
	pm, err := scanPostmortem(q.QueryRowContext(ctx, queries.Get("postmortem-by-uid"), uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postmortem: load uid: %w", err)
	}
	if pm.Attendees, err = loadAttendees(ctx, q, pm.ID); err != nil {
		return nil, err
	}
	return pm, nil
}

func loadAttendees(ctx context.Context, q store.Querier, pmID int64) ([]Participant, error) {
	rows, err := q.QueryContext(ctx, queries.Get("attendees"), pmID)
	if err != nil {
		return nil, fmt.Errorf("postmortem: attendees: %w", err)
	}
	defer rows.Close()
	out := []Participant{}
	for rows.Next() {
		var p Participant
		var replied sql.NullTime
		if err := rows.Scan(&p.Email, &p.Name, &p.TimeZone, &p.Optional, &p.Source, &p.PartStat, &replied); err != nil {
			return nil, fmt.Errorf("postmortem: attendees: %w", err)
		}
		p.RepliedAt = store.TimePtr(replied)
		out = append(out, p)
	}
	return out, rows.Err()
}

func insertAttendee(ctx context.Context, q store.Querier, pmID int64, p Participant) error {
	_, err := q.ExecContext(ctx, queries.Get("insert-attendee"), pmID, strings.ToLower(p.Email), p.Name, p.TimeZone, p.Optional, p.Source, partStatPending)
	if err != nil {
		return fmt.Errorf("postmortem: add attendee %s: %w", p.Email, err)
	}
	return nil
}

// saveSchedule writes what a booking, move or cancellation changes.
func saveSchedule(ctx context.Context, tx *sql.Tx, pm *Postmortem, now time.Time) error {
	_, err := tx.ExecContext(ctx, queries.Get("save-schedule"),
		pm.UID, pm.generation, pm.State, pm.PendingOp, pm.Sequence, store.NullTime(pm.Start), store.NullTime(pm.End), jsonOrEmpty(pm.Room),
		pm.Remote, pm.VideoLink, pm.Backend, jsonOrEmpty(pm.Booking), pm.BookingError, store.NullTime(pm.BookedAt), pm.Facilitator, now, pm.ID)
	if err != nil {
		return fmt.Errorf("postmortem: save: %w", err)
	}
	return nil
}

func jsonOrEmpty[T any](v *T) string {
	if v == nil {
		return ""
	}
	return store.JSON(v)
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
