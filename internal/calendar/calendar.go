// Package calendar books post-mortems in people's calendars. One small
// interface, Backend, has three implementations: iMIP (an iCalendar invite by
// email, RFC 6047), CalDAV (RFC 4791, for any CalDAV server) and Google
// Calendar (the v3 REST API, with rooms from the Admin SDK Directory API).
//
// A post-mortem keeps one UID for its whole life (RFC 5545 3.8.4.7): every
// backend derives its own identifiers from it, so a retried job books the same
// event again instead of a second one.
package calendar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Attendee is a person invited to the post-mortem.
type Attendee struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	TimeZone string `json:"time_zone,omitempty"` // IANA name, "Europe/Berlin"; "" = the organizer's
	Optional bool   `json:"optional,omitempty"`
}

// Label is the attendee's name if known, else the address.
func (a Attendee) Label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Email
}

// Room is a bookable meeting room: a resource calendar in Google Workspace, a
// room address elsewhere.
type Room struct {
	Email    string   `json:"email"` // resource calendar address
	Name     string   `json:"name"`
	Building string   `json:"building,omitempty"`
	Floor    string   `json:"floor,omitempty"`
	Capacity int      `json:"capacity"`
	Features []string `json:"features,omitempty"` // "Whiteboard", "Video"
}

// FeatureWhiteboard is the feature a post-mortem room needs (the outage
// guide: "a room with a large white board").
const FeatureWhiteboard = "Whiteboard"

// Has reports whether the room lists the feature, ignoring case and spaces
// ("White board" and "whiteboard" are the same thing to people who type them).
func (r Room) Has(feature string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	for _, f := range r.Features {
		if norm(f) == norm(feature) {
			return true
		}
	}
	return false
}

// Location is how the room reads in an invitation's location line.
func (r Room) Location() string {
	parts := []string{r.Name}
	if r.Building != "" {
		parts = append(parts, r.Building)
	}
	if r.Floor != "" {
		parts = append(parts, "floor "+r.Floor)
	}
	return strings.Join(parts, ", ")
}

// Interval is a half-open span of time [Start, End).
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Overlaps reports whether the two intervals share any instant.
func (i Interval) Overlaps(o Interval) bool {
	return i.Start.Before(o.End) && o.Start.Before(i.End)
}

// FreeBusy answers when people (and rooms, by their address) are busy. An
// address the backend knows nothing about maps to no intervals.
type FreeBusy interface {
	Busy(ctx context.Context, emails []string, from, to time.Time) (map[string][]Interval, error)
}

// Event is one post-mortem meeting as every backend sees it.
type Event struct {
	UID         string // stable per post-mortem; RFC 5545 3.8.4.7
	Sequence    int    // RFC 5545 3.8.7.4; bump on every significant change
	Summary     string
	Description string // agenda and timeline, plain text
	Start, End  time.Time
	Organizer   Attendee
	Attendees   []Attendee
	Room        *Room
	VideoLink   string
	// Phones and PIN are the conference bridge's dial-in numbers and its
	// PIN, for people who join by telephone (config bridge:).
	Phones     []string
	PIN        string
	CreateMeet bool   // Google: ask for a Meet link; Microsoft 365: a Teams meeting
	RequestID  string // idempotency key for the backend's create call
}

// Validate reports what a backend cannot book.
func (ev Event) Validate() error {
	var problems []string
	if ev.UID == "" {
		problems = append(problems, "no UID")
	}
	if ev.Start.IsZero() || !ev.End.After(ev.Start) {
		problems = append(problems, "end must be after start")
	}
	if ev.Organizer.Email == "" {
		problems = append(problems, "no organizer")
	}
	if ev.Sequence < 0 {
		problems = append(problems, "negative sequence")
	}
	if len(problems) > 0 {
		return fmt.Errorf("calendar: event %q: %s", ev.UID, strings.Join(problems, "; "))
	}
	return nil
}

// Booking is what a backend returns for a booked event: enough to change or
// cancel it later. Store it with the post-mortem.
type Booking struct {
	Backend  string `json:"backend"` // "imip", "caldav", "google", "microsoft365"
	ID       string `json:"id"`      // backend's identifier: UID, object path, event id
	HTMLLink string `json:"html_link,omitempty"`
	MeetLink string `json:"meet_link,omitempty"` // Google Meet or Teams join URL
	ETag     string `json:"etag,omitempty"`
	Sequence int    `json:"sequence"`
}

// Backend books, moves and cancels post-mortems, and answers free/busy.
type Backend interface {
	Book(ctx context.Context, ev Event) (*Booking, error)
	Reschedule(ctx context.Context, b Booking, ev Event) (*Booking, error)
	Cancel(ctx context.Context, b Booking) error
	FreeBusy
}

// Response is one attendee's answer to the invitation as the backend
// reports it.
type Response struct {
	Email    string // lower case
	PartStat string // ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION (RFC 5545 3.2.12)
}

// Responder is a Backend that reads attendees' answers back from the
// calendar (Google, Microsoft 365). iMIP and CalDAV do not need it: their
// answers arrive by email as iMIP REPLYs.
type Responder interface {
	Responses(ctx context.Context, b Booking) ([]Response, error)
}

// ErrGone says the event no longer exists at the backend (deleted by someone,
// or HTTP 410): reschedule by booking anew, and treat a cancel as done.
var ErrGone = errors.New("calendar: event gone")

// ErrChanged says the event was changed at the backend since it was booked
// (an ETag no longer matches): fetch it again before changing it.
var ErrChanged = errors.New("calendar: event changed elsewhere")

// RetryableError is a failure worth retrying later with backoff: rate limits,
// server errors, and networks that fail.
type RetryableError struct {
	Backend    string
	Status     int    // HTTP status, 0 when there was none
	Reason     string // "rateLimitExceeded", "backendError", ...
	RetryAfter time.Duration
	Err        error
}

func (e *RetryableError) Error() string {
	s := fmt.Sprintf("calendar: %s: retryable", e.Backend)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.Status)
		if e.Reason != "" {
			s += " " + e.Reason
		}
		s += ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *RetryableError) Unwrap() error { return e.Err }

// ParseRetryAfter reads an HTTP Retry-After header (RFC 9110 10.2.3):
// delay-seconds or an HTTP-date, as how long to wait from now; 0 when the
// header is absent, malformed, or in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// IsRetryable reports whether err, or any error it wraps, is a RetryableError.
func IsRetryable(err error) bool {
	var r *RetryableError
	return errors.As(err, &r)
}
