package google

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/auth/credentials"
	admin "google.golang.org/api/admin/directory/v1"
	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/errs"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

// OAuth scopes sitrep asks for; GOOGLE.md says where to grant them.
const (
	CalendarScope = "https://www.googleapis.com/auth/calendar"
	RoomsScope    = "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly"
)

// ServiceAccount reads a service account's JSON key and acts as
// subject through domain-wide delegation (see GOOGLE.md). Only service
// account keys are accepted: the file comes from config, and another
// credential type there is a mistake, or worse.
func ServiceAccount(keyFile, subject string, scopes ...string) (option.ClientOption, error) {
	if _, err := os.Stat(keyFile); err != nil {
		return nil, fmt.Errorf("calendar: google: key file: %w", err)
	}
	creds, err := credentials.NewCredentialsFromFile(credentials.ServiceAccount, keyFile, &credentials.DetectOptions{
		Scopes:  scopes,
		Subject: subject,
	})
	if err != nil {
		return nil, fmt.Errorf("calendar: google: key file %s: %w", keyFile, err)
	}
	return option.WithAuthCredentials(creds), nil
}

// Calendar books in Calendar Calendar through the v3 API, as the organizer:
// production credentials impersonate them (ServiceAccount). Calendar
// sends the invitations itself (sendUpdates=all).
type Calendar struct {
	svc *gcal.Service
	// CalendarID is the calendar events go in; "primary" is the
	// impersonated user's own.
	CalendarID string
}

var (
	_ calendar.Backend   = (*Calendar)(nil)
	_ calendar.Responder = (*Calendar)(nil)
)

// New builds the backend. Tests point it at a fake with
// option.WithEndpoint and option.WithoutAuthentication.
func New(ctx context.Context, opts ...option.ClientOption) (*Calendar, error) {
	svc, err := gcal.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("calendar: google: %w", err)
	}
	return &Calendar{svc: svc, CalendarID: "primary"}, nil
}

// EventID derives the event id from the UID. Calendar wants base32hex
// characters (a-v, 0-9), 5 to 1024 of them; a hash of the UID gives 52, and
// the same UID always the same id, so a retried insert meets its first try
// as a 409 instead of making a second event.
func EventID(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))
}

// Book inserts the event with the room as a resource attendee, asks for a
// Meet link when ev.CreateMeet, and has Calendar email everyone. A 409 means
// an earlier try got through: Book fetches and returns that event.
func (g *Calendar) Book(ctx context.Context, ev calendar.Event) (*calendar.Booking, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	e := googleEvent(ev)
	e.Id = EventID(ev.UID)
	e.ICalUID = ev.UID
	e.Sequence = int64(ev.Sequence)
	if ev.CreateMeet {
		reqID := ev.RequestID
		if reqID == "" {
			reqID = e.Id // same request id on a retry: one conference, not two
		}
		e.ConferenceData = &gcal.ConferenceData{CreateRequest: &gcal.CreateConferenceRequest{
			RequestId:             reqID,
			ConferenceSolutionKey: &gcal.ConferenceSolutionKey{Type: "hangoutsMeet"},
		}}
	}
	got, err := g.svc.Events.Insert(g.CalendarID, e).
		SendUpdates("all").
		ConferenceDataVersion(1).
		Context(ctx).Do()
	if err != nil {
		if code(err) != http.StatusConflict {
			return nil, googleError("insert "+e.Id, err)
		}
		got, err = g.svc.Events.Get(g.CalendarID, e.Id).Context(ctx).Do()
		if err != nil {
			return nil, googleError("get existing "+e.Id, err)
		}
		if got.Status == "cancelled" {
			// Calendar keeps a deleted event's id for good: this UID is spent.
			return nil, fmt.Errorf("calendar: google: book %s: an event with this UID was cancelled; book under a new UID: %w", e.Id, calendar.ErrGone)
		}
	}
	return googleBooking(got), nil
}

// Reschedule patches time, text, attendees and room, with If-Match on the
// booked ETag so that changes made in Calendar Calendar since are not
// silently overwritten (412 → ErrChanged). An attendee's answer changes
// the event's ETag too, and is no reason to refuse a move: when the event
// still has the booked SEQUENCE (which the organizer's moves raise and
// answers do not, RFC 5546 2.1.4), the patch is sent again on its new ETag.
func (g *Calendar) Reschedule(ctx context.Context, b calendar.Booking, ev calendar.Event) (*calendar.Booking, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	e := googleEvent(ev)
	e.Sequence = int64(max(ev.Sequence, b.Sequence+1))
	patch := func(etag string) (*gcal.Event, error) {
		call := g.svc.Events.Patch(g.CalendarID, b.ID, e).SendUpdates("all").ConferenceDataVersion(1).Context(ctx)
		if etag != "" {
			call.Header().Set("If-Match", etag)
		}
		return call.Do()
	}
	got, err := patch(b.ETag)
	if code(err) == http.StatusPreconditionFailed {
		cur, gerr := g.svc.Events.Get(g.CalendarID, b.ID).Context(ctx).Do()
		if gerr == nil && cur.Status != "cancelled" && int(cur.Sequence) == b.Sequence {
			got, err = patch(cur.Etag)
		}
	}
	if err != nil {
		return nil, googleError("patch "+b.ID, err)
	}
	return googleBooking(got), nil
}

// Cancel deletes the event and has Calendar tell everyone. An event deleted
// already gives ErrGone: for a cancel, that means done.
func (g *Calendar) Cancel(ctx context.Context, b calendar.Booking) error {
	if err := g.svc.Events.Delete(g.CalendarID, b.ID).SendUpdates("all").Context(ctx).Do(); err != nil {
		return googleError("delete "+b.ID, err)
	}
	return nil
}

// partStats maps Calendar's attendees[].responseStatus to RFC 5545
// PARTSTAT (3.2.12).
var partStats = map[string]string{
	"needsAction": "NEEDS-ACTION",
	"declined":    "DECLINED",
	"tentative":   "TENTATIVE",
	"accepted":    "ACCEPTED",
}

// Responses reads the attendees' answers with events.get: Calendar sends
// the invitations and takes the answers itself (no iMIP REPLY comes
// back), so this is the only way to see them. Rooms (resources) are left
// out: they accept by themselves and are no attendee's answer. A deleted
// event gives ErrGone.
func (g *Calendar) Responses(ctx context.Context, b calendar.Booking) ([]calendar.Response, error) {
	e, err := g.svc.Events.Get(g.CalendarID, b.ID).Context(ctx).Do()
	if err != nil {
		return nil, googleError("get "+b.ID, err)
	}
	if e.Status == "cancelled" {
		return nil, fmt.Errorf("calendar: google: responses of %s: %w", b.ID, calendar.ErrGone)
	}
	var out []calendar.Response
	for _, a := range e.Attendees {
		if a.Resource || a.Email == "" {
			continue
		}
		ps, ok := partStats[a.ResponseStatus]
		if !ok {
			ps = "NEEDS-ACTION" // a status newer than this code: no answer it knows
		}
		out = append(out, calendar.Response{Email: strings.ToLower(a.Email), PartStat: ps})
	}
	return out, nil
}

// freeBusyBatch is how many calendars go in one query; Calendar answers
// groupTooBig / tooManyCalendarsRequested above 50.
const freeBusyBatch = 50

// Busy asks Calendar's free/busy for people and rooms. Calendars Calendar will
// not show (another domain, not shared) come back with no busy time: the
// caller cannot tell them from free ones, as with Calendar's own scheduler.
func (g *Calendar) Busy(ctx context.Context, emails []string, from, to time.Time) (map[string][]calendar.Interval, error) {
	out := make(map[string][]calendar.Interval, len(emails))
	for i := 0; i < len(emails); i += freeBusyBatch {
		batch := emails[i:min(i+freeBusyBatch, len(emails))]
		req := &gcal.FreeBusyRequest{TimeMin: from.UTC().Format(time.RFC3339), TimeMax: to.UTC().Format(time.RFC3339)}
		for _, e := range batch {
			req.Items = append(req.Items, &gcal.FreeBusyRequestItem{Id: e})
		}
		resp, err := g.svc.Freebusy.Query(req).Context(ctx).Do()
		if err != nil {
			return nil, googleError("free/busy", err)
		}
		for _, e := range batch {
			cal, ok := resp.Calendars[e]
			if !ok {
				continue
			}
			for _, p := range cal.Busy {
				s, err1 := time.Parse(time.RFC3339, p.Start)
				en, err2 := time.Parse(time.RFC3339, p.End)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("calendar: google: free/busy of %s: bad period %q–%q", e, p.Start, p.End)
				}
				out[e] = append(out[e], calendar.Interval{Start: s, End: en})
			}
		}
	}
	return out, nil
}

func googleEvent(ev calendar.Event) *gcal.Event {
	e := &gcal.Event{
		Summary: ev.Summary,
		// The dial-in numbers and PIN go in the description: conferenceData
		// of a conference that is not Meet takes a Workspace add-on.
		Description: calendar.Description(ev),
		Location:    calendar.Location(ev),
		Start:       &gcal.EventDateTime{DateTime: ev.Start.UTC().Format(time.RFC3339)},
		End:         &gcal.EventDateTime{DateTime: ev.End.UTC().Format(time.RFC3339)},
		// Facilitators own the meeting; guests propose changes instead.
		GuestsCanModify: false,
	}
	if tz := ev.Organizer.TimeZone; tz != "" {
		e.Start.TimeZone, e.End.TimeZone = tz, tz
	}
	for _, a := range ev.Attendees {
		if strings.EqualFold(a.Email, ev.Organizer.Email) {
			continue
		}
		e.Attendees = append(e.Attendees, &gcal.EventAttendee{Email: a.Email, DisplayName: a.Name, Optional: a.Optional})
	}
	if ev.Room != nil && ev.Room.Email != "" {
		e.Attendees = append(e.Attendees, &gcal.EventAttendee{Email: ev.Room.Email, DisplayName: ev.Room.Name, Resource: true})
	}
	return e
}

func googleBooking(e *gcal.Event) *calendar.Booking {
	b := &calendar.Booking{Backend: "google", ID: e.Id, HTMLLink: e.HtmlLink, ETag: e.Etag, Sequence: int(e.Sequence), MeetLink: e.HangoutLink}
	if e.ConferenceData != nil {
		for _, ep := range e.ConferenceData.EntryPoints {
			if ep.EntryPointType == "video" {
				b.MeetLink = ep.Uri
				break
			}
		}
	}
	return b
}

func code(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// googleError sorts Calendar's answer into what a caller acts on
// (developers.google.com/workspace/calendar/api/guides/errors): retry later,
// gone, changed, or a configuration mistake to report.
func googleError(what string, err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		// No HTTP answer: the network, a timeout, a cancelled context.
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("calendar: google: %s: %w", what, err)
		}
		return &calendar.RetryableError{Backend: "google", Err: fmt.Errorf("%s: %w", what, err)}
	}
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	// Google's error guide asks for exponential backoff; where an answer
	// names a wait (Retry-After, as its front ends send with some 429s
	// and 503s), the caller waits that long instead.
	retryAfter := calendar.ParseRetryAfter(ge.Header.Get("Retry-After"), time.Now())
	switch {
	case ge.Code == http.StatusTooManyRequests, ge.Code >= 500,
		ge.Code == http.StatusForbidden && (reason == "rateLimitExceeded" || reason == "userRateLimitExceeded" || reason == "quotaExceeded"):
		return &calendar.RetryableError{Backend: "google", Status: ge.Code, Reason: reason, RetryAfter: retryAfter, Err: fmt.Errorf("%s: %w", what, err)}
	case ge.Code == http.StatusForbidden && reason == "forbiddenForServiceAccounts":
		return &errs.Error{Code: errs.Forbidden, Message: "calendar: google: " + what +
			": a service account cannot invite attendees without domain-wide delegation; grant it and set the organizer to impersonate (GOOGLE.md)"}
	case ge.Code == http.StatusGone, ge.Code == http.StatusNotFound:
		return fmt.Errorf("calendar: google: %s: %w (%v)", what, calendar.ErrGone, err)
	case ge.Code == http.StatusPreconditionFailed:
		return fmt.Errorf("calendar: google: %s: %w (%v)", what, calendar.ErrChanged, err)
	}
	return fmt.Errorf("calendar: google: %s: %w", what, err)
}

// Rooms lists meeting rooms from the Admin SDK Directory API. It needs
// its own credentials: reading resources takes an administrator to
// impersonate, not the organizer (GOOGLE.md).
type Rooms struct {
	svc *admin.Service
	// Customer is the Workspace account; "my_customer" is the
	// impersonated administrator's own.
	Customer string
}

// NewRooms builds the room lister.
func NewRooms(ctx context.Context, opts ...option.ClientOption) (*Rooms, error) {
	svc, err := admin.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("calendar: google rooms: %w", err)
	}
	return &Rooms{svc: svc, Customer: "my_customer"}, nil
}

// Rooms lists every conference room, all pages of them. Building is the
// Directory's buildingId, so the organizer's building must be given as an
// id too.
func (r *Rooms) Rooms(ctx context.Context) ([]calendar.Room, error) {
	var rooms []calendar.Room
	err := r.svc.Resources.Calendars.List(r.Customer).MaxResults(500).Pages(ctx, func(page *admin.CalendarResources) error {
		for _, res := range page.Items {
			if res.ResourceCategory != "" && res.ResourceCategory != "CONFERENCE_ROOM" {
				continue // phone booths' neighbours: projectors, cars, desks
			}
			name := res.ResourceName
			if res.GeneratedResourceName != "" {
				name = res.GeneratedResourceName
			}
			rooms = append(rooms, calendar.Room{
				Email:    res.ResourceEmail,
				Name:     name,
				Building: res.BuildingId,
				Floor:    res.FloorName,
				Capacity: int(res.Capacity),
				Features: featureNames(res.FeatureInstances),
			})
		}
		return nil
	})
	if err != nil {
		return nil, googleError("list rooms", err)
	}
	return rooms, nil
}

// featureNames reads featureInstances[].feature.name; the Go client leaves
// the field untyped, so it arrives as decoded JSON.
func featureNames(v any) []string {
	list, _ := v.([]any)
	var names []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		f, _ := m["feature"].(map[string]any)
		if name, _ := f["name"].(string); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// Delegation is a service account acting as Subject for Scopes
// through domain-wide delegation.
type Delegation struct {
	KeyFile, Subject string
	Scopes           []string
}

// Verify fetches a token: the one step that proves the key is valid and
// that the Admin console grants the client these scopes (Calendar answers
// unauthorized_client otherwise). Nothing is read or changed.
func (g Delegation) Verify(ctx context.Context) error {
	if _, err := os.Stat(g.KeyFile); err != nil {
		return fmt.Errorf("calendar: google: key file: %w", err)
	}
	creds, err := credentials.NewCredentialsFromFile(credentials.ServiceAccount, g.KeyFile, &credentials.DetectOptions{Scopes: g.Scopes, Subject: g.Subject})
	if err != nil {
		return fmt.Errorf("calendar: google: key file %s: %w", g.KeyFile, err)
	}
	if _, err := creds.Token(ctx); err != nil {
		if strings.Contains(err.Error(), "unauthorized_client") {
			return fmt.Errorf("calendar: google: the service account may not act as %s for %s: domain-wide delegation is missing for these scopes (%w)", g.Subject, strings.Join(g.Scopes, ", "), err)
		}
		return fmt.Errorf("calendar: google: token for %s: %w", g.Subject, err)
	}
	return nil
}
