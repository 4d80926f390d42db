package postmortem

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Threads of the post-mortem's emails, one per kind so that each keeps
// its own subject (the outbox gives every message of a thread the
// thread's first subject).
const (
	ThreadInvite   = "postmortem"
	ThreadTimeline = "postmortem-timeline"
	ThreadResults  = "postmortem-results"
	ThreadOwners   = "improvement" // + "-<id>": one thread per improvement
)

// Settings are the operator's choices (config postmortem:).
type Settings struct {
	// Groups are invited as ancillary teams; nil: the directory's
	// postmortem audience (product and customer service by default).
	Groups []string
	// OptionalGroups are invited as optional attendees (e.g. exec).
	OptionalGroups []string
	// Facilitator runs the meeting when the incident names none; "":
	// the comms lead.
	Facilitator string
	Duration    time.Duration
	// The window, in business days after the resolution day.
	MinBusinessDays, MaxBusinessDays int
	WorkStart, WorkEnd               string
	Holidays                         []string
	// Building is the organizer's, where rooms are preferred.
	Building string
	// Remote books no room by default; VideoLink is the call to join then.
	Remote    bool
	VideoLink string
	// Phones and PIN dial into the call at VideoLink (config bridge:
	// phone_numbers and pin). The invitation carries them while the
	// post-mortem's link is VideoLink; a post-mortem booked with a link
	// of its own leaves them out, as they dial into another call.
	Phones []string
	PIN    string
	// CreateMeet asks Google for a Meet link.
	CreateMeet bool
	// TimelineBefore: the timeline email goes out this long before the
	// meeting, or at booking when that is sooner.
	TimelineBefore time.Duration
	// RemindBefore: owners are reminded this long before an improvement
	// is due (and once more when it is overdue).
	RemindBefore time.Duration
	// ResponsesEvery is how often attendees' answers are read back from a
	// calendar that keeps them (Google, Microsoft 365), per post-mortem,
	// across replicas; 0: every 5 minutes.
	ResponsesEvery time.Duration
	// WebhookURL gets a JSON POST when results are published, signed with
	// WebhookSecret (HMAC-SHA256).
	WebhookURL    string
	WebhookSecret string
}

// Service runs the post-mortem: who, when, where, booking, and the board.
type Service struct {
	DB        *store.DB
	Incidents *incident.Service
	Mail      incident.Mailer
	Comms     *incident.Comms
	Directory incident.Directory
	Jobs      jobs.Inserter
	// Backend books and answers free/busy; BackendName is "imip",
	// "caldav" or "google".
	Backend     calendar.Backend
	BackendName string
	// Invites, when set, also sends iMIP invitations beside Backend (for
	// CalDAV, which only stores the event). Use s.IMIP().
	Invites *calendar.IMIP
	// Rooms lists the bookable rooms (config, or Google's Directory).
	Rooms    RoomLister
	Rules    *blameless.Rules
	Settings Settings
	// Tracker is the team's backlog: each improvement is filed there when
	// the results are published (and at once when added after); nil: none.
	Tracker Tracker
	// HTTP posts the webhook (default: a client with a 30 s timeout).
	HTTP   *http.Client
	Now    func() time.Time
	Logger *slog.Logger
	// Language, when set, is the organisation's language (BCP 47);
	// unset, the directory's organisation language is read at each use
	// (groups.yaml may change it), and without one, English.
	// The calendar event and the shared timeline are written in it: one
	// calendar object and one timeline go to every attendee.
	Language string
}

// language is the organisation's language: Language, else the
// directory's.
func (s *Service) language() string { return incident.OrganisationLanguage(s.Language, s.Directory) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// IMIP is the iMIP backend wired to this service: invitations go through
// the outbox in the incident's post-mortem thread, and a cancellation
// finds the attendees again from the database.
func (s *Service) IMIP() *calendar.IMIP {
	return &calendar.IMIP{Mail: s}
}

// Get returns the post-mortem of an incident, gathering its attendees the
// first time.
func (s *Service) Get(ctx context.Context, ref string) (*Postmortem, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.ensure(ctx, inc)
}

// ensure loads or creates the post-mortem of inc.
func (s *Service) ensure(ctx context.Context, inc *incident.Incident) (*Postmortem, error) {
	if pm, err := load(ctx, s.DB, inc.ID); pm != nil || err != nil {
		return s.finish(pm, inc), err
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		people, facilitator, err := s.gather(ctx, tx, inc)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, queries.Get("insert-postmortem"),
			inc.ID, s.uid(inc, 1), StateDraft, facilitator, s.Settings.Remote, s.Settings.VideoLink, s.BackendName, now).Scan(&id)
		if store.IsUniqueViolation(err) {
			return nil // another request made it first
		}
		if err != nil {
			return fmt.Errorf("postmortem: create: %w", err)
		}
		for _, p := range people {
			if err := insertAttendee(ctx, tx, id, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pm, err := load(ctx, s.DB, inc.ID)
	return s.finish(pm, inc), err
}

func (s *Service) finish(pm *Postmortem, inc *incident.Incident) *Postmortem {
	if pm != nil {
		pm.Incident = inc.Ref
	}
	return pm
}

// uid is the iCalendar UID of the n-th booking of inc's post-mortem:
// stable across retries, new after a cancellation (Google keeps a
// cancelled event's id for good).
func (s *Service) uid(inc *incident.Incident, generation int) string {
	// The reply address's domain is ours: the hub's mail domain.
	_, domain, _ := strings.Cut(s.Mail.ReplyAddress(""), "@")
	domain = cmp.Or(domain, "sitrep.invalid")
	return fmt.Sprintf("postmortem-%s-%d@%s", strings.ToLower(inc.Ref), generation, domain)
}

// gather builds the attendee list from the incident: the facilitator, the
// leads, the responders who took part (paged on the responders thread, or
// acting on the timeline), the ancillary groups, and the optional groups.
func (s *Service) gather(ctx context.Context, tx *sql.Tx, inc *incident.Incident) ([]Participant, string, error) {
	d := s.Directory.Current()
	var out []Participant
	seen := map[string]int{}
	add := func(email, source string, optional bool, zone string) {
		email = strings.ToLower(strings.TrimSpace(email))
		if email == "" {
			return
		}
		if i, ok := seen[email]; ok {
			if !optional && out[i].Optional { // required wins
				out[i].Optional, out[i].Source = false, source
			}
			return
		}
		p := Participant{Email: email, Source: source, Optional: optional, TimeZone: zone, PartStat: partStatPending}
		if person, ok := d.Person(email); ok {
			p.Name = person.Name
			p.TimeZone = cmp.Or(person.TimeZone, zone)
		}
		seen[email] = len(out)
		out = append(out, p)
	}
	facilitator := s.facilitator(inc, d)
	add(facilitator, "facilitator", false, "")
	add(inc.Roles.IncidentLead, "lead", false, "")
	add(inc.Roles.CommsLead, "lead", false, "")

	responders, err := s.Mail.Recipients(ctx, tx, inc.Thread(compose.Responders))
	if err != nil {
		return nil, "", fmt.Errorf("postmortem: responders: %w", err)
	}
	actors, err := incident.Actors(ctx, tx, inc.ID)
	if err != nil {
		return nil, "", fmt.Errorf("postmortem: actors: %w", err)
	}
	for _, a := range actors {
		if _, ok := d.Person(a); ok { // token names and "sitrep" are not people
			responders = append(responders, a)
		}
	}
	for _, r := range responders {
		add(r, "responder", false, "")
	}

	groups := s.Settings.Groups
	if groups == nil {
		groups = d.Audience(directory.KindPostmortem)
	}
	for _, set := range []struct {
		groups   []string
		optional bool
		source   string
	}{{groups, false, "group:"}, {s.Settings.OptionalGroups, true, "optional_group:"}} {
		for _, g := range set.groups {
			if _, ok := d.Group(g); !ok {
				continue // a directory without that group still gets its post-mortem
			}
			recips, err := d.Expand(g)
			if err != nil {
				return nil, "", err
			}
			for _, r := range recips {
				add(r.Email, set.source+g, set.optional, r.TimeZone)
			}
		}
	}
	return out, facilitator, nil
}

// facilitator is the incident's, else the configured one, else the comms
// lead, else the first facilitator of the directory, else the incident lead.
func (s *Service) facilitator(inc *incident.Incident, d *directory.Directory) string {
	if f := cmp.Or(inc.Roles.Facilitator, s.Settings.Facilitator, inc.Roles.CommsLead); f != "" {
		return strings.ToLower(f)
	}
	if fs := d.PeopleWithRole(directory.RoleFacilitator); len(fs) > 0 {
		return fs[0].Email
	}
	return inc.Roles.IncidentLead
}

// AttendeeInput adds someone, or changes whether they are optional.
type AttendeeInput struct {
	Email    string `json:"email"`
	Optional bool   `json:"optional"`
}

// SetAttendee adds a person to the post-mortem or changes whether they are
// optional. The list is editable until the booking.
func (s *Service) SetAttendee(ctx context.Context, actor, ref string, in AttendeeInput) (*Postmortem, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, errs.InvalidField("email", "want an email address, got %q", in.Email)
	}
	return s.editAttendees(ctx, actor, ref, func(tx *sql.Tx, pm *Postmortem) (string, error) {
		if email == pm.Facilitator && in.Optional {
			return "", errs.InvalidField("optional", "the facilitator cannot be optional")
		}
		for _, p := range pm.Attendees {
			if p.Email == email {
				if _, err := tx.ExecContext(ctx, queries.Get("set-attendee-optional"),
					in.Optional, pm.ID, email); err != nil {
					return "", fmt.Errorf("postmortem: attendee: %w", err)
				}
				return fmt.Sprintf("%s is now %s at the post-mortem", email, map[bool]string{true: "optional", false: "required"}[in.Optional]), nil
			}
		}
		p := Participant{Email: email, Optional: in.Optional, Source: sourceAdded}
		if person, ok := s.Directory.Current().Person(email); ok {
			p.Name, p.TimeZone = person.Name, person.TimeZone
		}
		return fmt.Sprintf("%s added to the post-mortem", email), insertAttendee(ctx, tx, pm.ID, p)
	})
}

// RemoveAttendee takes a person off the list before the booking.
func (s *Service) RemoveAttendee(ctx context.Context, actor, ref, email string) (*Postmortem, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	return s.editAttendees(ctx, actor, ref, func(tx *sql.Tx, pm *Postmortem) (string, error) {
		if email == pm.Facilitator {
			return "", errs.InvalidField("email", "%s facilitates; name another facilitator on the incident first", email)
		}
		res, err := tx.ExecContext(ctx, queries.Get("delete-attendee"), pm.ID, email)
		if err != nil {
			return "", fmt.Errorf("postmortem: remove attendee: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", errs.E(errs.NotFound, "%s is not invited to the post-mortem of %s", email, pm.Incident)
		}
		return fmt.Sprintf("%s removed from the post-mortem", email), nil
	})
}

func (s *Service) editAttendees(ctx context.Context, actor, ref string, edit func(tx *sql.Tx, pm *Postmortem) (string, error)) (*Postmortem, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	pm, err := s.ensure(ctx, inc)
	if err != nil {
		return nil, err
	}
	if pm.State == StateBooking || pm.State == StateBooked {
		return nil, errs.E(errs.Conflict, "the post-mortem of %s is %s; attendees change before booking (cancel and book again to change them)", inc.Ref, pm.State)
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		text, err := edit(tx, pm)
		if err != nil {
			return err
		}
		_, err = incident.AddEvent(ctx, tx, s.now(), inc.ID, "postmortem_attendees", actor, text, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, ref)
}

// ProposeInput asks for slots.
type ProposeInput struct {
	Remote *bool `json:"remote"` // nil: as configured (or as last asked)
	Want   int   `json:"want"`
}

// Proposal is the answer to Propose.
type Proposal struct {
	Postmortem *Postmortem `json:"postmortem"`
	Slots      []Slot      `json:"slots"`
}

// Propose finds the best few slots one to two business days after the
// resolution, with a room, and keeps them for Book to choose from. No slot
// in the window is an errs.Conflict that names the nearest ones outside it.
func (s *Service) Propose(ctx context.Context, ref string, in ProposeInput) (*Proposal, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if inc.ResolvedAt == nil {
		return nil, &errs.Error{Code: errs.Conflict, Field: "state", Message: fmt.Sprintf("%s is %s; the post-mortem follows the resolution", inc.Ref, inc.State)}
	}
	pm, err := s.ensure(ctx, inc)
	if err != nil {
		return nil, err
	}
	if in.Remote != nil {
		pm.Remote = *in.Remote
	}
	slots, err := s.propose(ctx, pm, inc, in.Want)
	if err != nil {
		return nil, err
	}
	var warnings []string
	if len(slots) > 0 {
		warnings = slots[0].Warnings
	}
	if _, err := s.DB.ExecContext(ctx, queries.Get("save-proposals"),
		store.JSON(slots), store.JSON(warnings), pm.Remote, s.now(), pm.ID); err != nil {
		return nil, fmt.Errorf("postmortem: proposals: %w", err)
	}
	pm.Proposals, pm.Warnings = slots, warnings
	return &Proposal{Postmortem: pm, Slots: slots}, nil
}

func (s *Service) propose(ctx context.Context, pm *Postmortem, inc *incident.Incident, want int) ([]Slot, error) {
	req := s.slotRequest(pm, inc)
	req.Want = want
	var rooms []Room
	if !pm.Remote {
		var err error
		if rooms, err = s.rooms(ctx); err != nil {
			return nil, err
		}
	}
	return ProposeSlots(ctx, req, s.Backend, rooms)
}

func (s *Service) rooms(ctx context.Context) ([]Room, error) {
	if s.Rooms == nil {
		return nil, nil
	}
	rooms, err := s.Rooms.Rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("postmortem: rooms: %w", err)
	}
	return rooms, nil
}

func (s *Service) slotRequest(pm *Postmortem, inc *incident.Incident) SlotRequest {
	req := SlotRequest{ResolvedAt: *inc.ResolvedAt, Duration: s.Settings.Duration, MinBusinessDays: s.Settings.MinBusinessDays,
		MaxBusinessDays: s.Settings.MaxBusinessDays, WorkStart: s.Settings.WorkStart, WorkEnd: s.Settings.WorkEnd,
		Holidays: s.Settings.Holidays, Remote: pm.Remote, Building: s.Settings.Building}
	for _, p := range pm.Attendees {
		if p.Email == pm.Facilitator {
			req.Organizer = p.attendee()
			continue
		}
		req.Attendees = append(req.Attendees, p.attendee())
	}
	if req.Organizer.Email == "" { // the facilitator was taken off the list by hand
		req.Organizer = Attendee{Email: pm.Facilitator}
	}
	return req
}

// BookInput says which slot to book.
type BookInput struct {
	// Slot is a proposal's number (1, 2, ...) or a start time in RFC 3339.
	Slot string `json:"slot"`
	// Auto books the best proposal, proposing afresh.
	Auto      bool   `json:"auto"`
	Remote    *bool  `json:"remote"`
	VideoLink string `json:"video_link"`
}

// Book books the post-mortem at the chosen slot: a job does the calendar
// work (retried when the backend asks to), and the incident moves to
// postmortem now.
func (s *Service) Book(ctx context.Context, actor, ref string, in BookInput) (*Postmortem, error) {
	return s.schedule(ctx, actor, ref, opBook, in)
}

// Reschedule moves a booked post-mortem to another slot (SEQUENCE+1, a
// new REQUEST to everyone).
func (s *Service) Reschedule(ctx context.Context, actor, ref string, in BookInput) (*Postmortem, error) {
	return s.schedule(ctx, actor, ref, opReschedule, in)
}

// Cancel cancels a booked post-mortem (METHOD:CANCEL to everyone).
func (s *Service) Cancel(ctx context.Context, actor, ref string) (*Postmortem, error) {
	return s.schedule(ctx, actor, ref, opCancel, BookInput{})
}

func (s *Service) schedule(ctx context.Context, actor, ref, op string, in BookInput) (*Postmortem, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if inc.ResolvedAt == nil || inc.State == incident.Closed {
		return nil, &errs.Error{Code: errs.Conflict, Field: "state", Message: fmt.Sprintf("%s is %s; a post-mortem is booked after the resolution and before closing", inc.Ref, inc.State)}
	}
	pm, err := s.ensure(ctx, inc)
	if err != nil {
		return nil, err
	}
	switch {
	case pm.State == StateBooking:
		return nil, errs.E(errs.Conflict, "the post-mortem of %s is being %s; wait for it to finish", inc.Ref, map[string]string{opBook: "booked", opReschedule: "moved", opCancel: "cancelled"}[pm.PendingOp])
	case op == opBook && pm.State == StateBooked:
		return nil, errs.E(errs.Conflict, "the post-mortem of %s is already booked for %s; reschedule or cancel it", inc.Ref, pm.Start.Format(time.RFC3339))
	case op != opBook && pm.State != StateBooked:
		return nil, errs.E(errs.Conflict, "the post-mortem of %s is %s, not booked", inc.Ref, pm.State)
	}
	if in.Remote != nil {
		pm.Remote = *in.Remote
	}
	if in.VideoLink != "" {
		pm.VideoLink = in.VideoLink
	}
	if op != opCancel {
		slot, err := s.chooseSlot(ctx, pm, inc, in)
		if err != nil {
			return nil, err
		}
		pm.Start, pm.End, pm.Room = &slot.Start, &slot.End, slot.Room
		pm.Remote = pm.Remote || slot.Room == nil
	}
	if op == opBook && pm.Booking != nil { // booked and cancelled before: a new UID
		pm.generation++
		pm.UID, pm.Sequence, pm.Booking = s.uid(inc, pm.generation), 0, nil
	} else if op != opBook {
		pm.Sequence++ // RFC 5546 2.1.4: a change the attendees must see
	}
	pm.State, pm.PendingOp, pm.BookingError, pm.Backend = StateBooking, op, "", s.BackendName
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := saveSchedule(ctx, tx, pm, now); err != nil {
			return err
		}
		if _, err := s.Jobs.InsertTx(ctx, tx, BookArgs{PostmortemID: pm.ID, Op: op, Sequence: pm.Sequence, UID: pm.UID}, nil); err != nil {
			return fmt.Errorf("postmortem: queue booking: %w", err)
		}
		if op == opBook && inc.State == incident.Resolved {
			if err := s.Incidents.TransitionTx(ctx, tx, actor, inc.ID, incident.Postmortem, "post-mortem booked"); err != nil {
				return err
			}
		}
		text := map[string]string{opBook: "Post-mortem being booked", opReschedule: "Post-mortem being moved", opCancel: "Post-mortem being cancelled"}[op]
		if op != opCancel {
			text += " for " + s.describe(pm)
		}
		_, err := incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_"+op, actor, text, map[string]any{"uid": pm.UID, "sequence": pm.Sequence})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, ref)
}

// describe is "Tue 3 Mar 15:00 UTC in Atlas (HQ, floor 3)" or "... remote".
func (s *Service) describe(pm *Postmortem) string {
	if pm.Start == nil {
		return "no time yet"
	}
	where := "remote"
	if pm.Room != nil {
		where = "in " + pm.Room.Location()
	}
	if pm.VideoLink != "" {
		where += " (" + pm.VideoLink + ")"
	}
	return pm.Start.UTC().Format("Mon 2 Jan 15:04 UTC") + ", " + where
}

// chooseSlot turns BookInput into a slot: the best fresh proposal, a
// stored proposal by number, or a time checked against free/busy now.
func (s *Service) chooseSlot(ctx context.Context, pm *Postmortem, inc *incident.Incident, in BookInput) (Slot, error) {
	switch {
	case in.Auto:
		slots, err := s.propose(ctx, pm, inc, 1)
		if err != nil {
			return Slot{}, err
		}
		return slots[0], nil
	case strings.TrimSpace(in.Slot) == "":
		return Slot{}, errs.InvalidField("slot", "say which slot (a proposal's number or a time), or auto")
	}
	if n, err := strconv.Atoi(strings.TrimSpace(in.Slot)); err == nil {
		if n < 1 || n > len(pm.Proposals) {
			return Slot{}, errs.InvalidField("slot", "there are %d proposals; propose first, then book one of them by number", len(pm.Proposals))
		}
		slot := pm.Proposals[n-1]
		if pm.Remote {
			slot.Room = nil
		}
		return s.checkSlot(ctx, pm, slot.Start, slot.Room)
	}
	start, err := time.Parse(time.RFC3339, strings.TrimSpace(in.Slot))
	if err != nil {
		return Slot{}, errs.InvalidField("slot", "want a proposal number or an RFC 3339 time like 2026-03-05T14:00:00Z, got %q", in.Slot)
	}
	return s.checkSlot(ctx, pm, start, nil)
}

// checkSlot asks free/busy about one time: every required attendee free
// and, unless remote, a room that seats everyone (room, when given, if it
// is still free).
func (s *Service) checkSlot(ctx context.Context, pm *Postmortem, start time.Time, room *Room) (Slot, error) {
	dur := cmp.Or(s.Settings.Duration, time.Hour)
	slot := Slot{Start: start.UTC(), End: start.UTC().Add(dur)}
	iv := Interval{Start: slot.Start, End: slot.End}
	var rooms []Room
	if !pm.Remote {
		var err error
		if room != nil {
			rooms = []Room{*room}
		} else if rooms, err = s.rooms(ctx); err != nil {
			return Slot{}, err
		}
	}
	emails := []string{}
	for _, p := range pm.Attendees {
		if !p.Optional {
			emails = append(emails, p.Email)
		}
	}
	for _, r := range rooms {
		emails = append(emails, r.Email)
	}
	busy, err := s.Backend.Busy(ctx, emails, slot.Start.Add(-time.Minute), slot.End.Add(time.Minute))
	if err != nil {
		return Slot{}, fmt.Errorf("postmortem: free/busy: %w", err)
	}
	isBusy := func(email string) bool {
		for k, list := range busy {
			if strings.EqualFold(k, email) && slices.ContainsFunc(list, iv.Overlaps) {
				return true
			}
		}
		return false
	}
	var taken []string
	for _, p := range pm.Attendees {
		if !p.Optional && isBusy(p.Email) {
			taken = append(taken, cmp.Or(p.Name, p.Email))
		}
	}
	if len(taken) > 0 {
		return Slot{}, &errs.Error{Code: errs.Conflict, Field: "slot", Message: fmt.Sprintf("busy at %s: %s; propose again", slot.Start.Format(time.RFC3339), strings.Join(taken, ", "))}
	}
	if pm.Remote || len(rooms) == 0 {
		slot.Reasons = []string{"remote"}
		return slot, nil
	}
	picked, err := PickRoom(rooms, len(pm.Attendees), s.Settings.Building, func(r Room) bool { return !isBusy(r.Email) })
	if err != nil {
		return Slot{}, err
	}
	slot.Room = picked
	slot.Reasons = []string{roomReason(picked, s.Settings.Building)}
	return slot, nil
}

// event is the calendar event of pm. The organizer is the hub's reply
// address for the incident, with the facilitator's name, so that
// attendees' iMIP replies come back through the inbox (RFC 6047 2.2).
func (s *Service) event(ctx context.Context, q store.Querier, pm *Postmortem, inc *incident.Incident) (calendar.Event, error) {
	if pm.Start == nil || pm.End == nil {
		return calendar.Event{}, errs.E(errs.Conflict, "the post-mortem of %s has no time", inc.Ref)
	}
	d := s.Directory.Current()
	orgName := pm.Facilitator
	if p, ok := d.Person(pm.Facilitator); ok && p.Name != "" {
		orgName = p.Name
	}
	ev := calendar.Event{
		UID: pm.UID, Sequence: pm.Sequence, Summary: newProse(s.language()).t("calendar_title", "ID", inc.Ref, "Title", inc.Title),
		Start: *pm.Start, End: *pm.End, Organizer: Attendee{Email: s.Comms.ReplyTo(inc), Name: orgName},
		Room: pm.Room, VideoLink: pm.VideoLink, CreateMeet: s.Settings.CreateMeet, RequestID: fmt.Sprintf("%s/%d", pm.UID, pm.Sequence),
	}
	if pm.Remote {
		ev.Room = nil
	}
	if pm.VideoLink == "" || pm.VideoLink == s.Settings.VideoLink {
		ev.Phones, ev.PIN = s.Settings.Phones, s.Settings.PIN
	}
	for _, p := range pm.Attendees {
		ev.Attendees = append(ev.Attendees, p.attendee())
	}
	sh, err := s.shared(ctx, q, pm, inc)
	if err != nil {
		return calendar.Event{}, err
	}
	ev.Description = agenda(sh, newProse(s.language()))
	return ev, nil
}

// agenda is the invitation's description: the agenda and the timeline, as
// plain text for calendar clients. Every attendee's calendar keeps it, so
// it is written from the shared view only, in the organisation's language.
func agenda(sh Shared, p prose) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n1. %s\n2. %s\n3. %s\n\n%s\n",
		p.t("agenda_heading", "ID", sh.Incident.ID, "Title", sh.Incident.Title), p.t("agenda"),
		p.t("agenda_timeline"), p.t("agenda_issues"), p.t("agenda_improvements"), p.t("timeline_utc"))
	for _, e := range sh.Entries {
		what := e.What
		if e.Who != "" {
			what = p.t("entry_who", "What", e.What, "Who", e.Who)
		}
		fmt.Fprintf(&b, "%s  %s\n", e.At.UTC().Format("2006-01-02 15:04"), what)
	}
	if len(sh.Communication) > 0 {
		b.WriteString("\n" + p.t("communication") + "\n")
		for _, line := range sh.Communication {
			b.WriteString("- " + line + "\n")
		}
	}
	b.WriteString("\n" + p.t("reply_to_correct") + "\n")
	return b.String()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

// EventByUID is the calendar event of the post-mortem with that UID (the
// iMIP backend needs it to cancel: RFC 5546 3.2.5 names everyone again).
func (s *Service) EventByUID(ctx context.Context, uid string) (calendar.Event, error) {
	pm, err := loadByUID(ctx, s.DB, uid)
	if err != nil {
		return calendar.Event{}, err
	}
	if pm == nil {
		return calendar.Event{}, errs.E(errs.NotFound, "no post-mortem with UID %q", uid)
	}
	inc, err := s.Incidents.GetByID(ctx, s.DB, pm.IncidentID)
	if err != nil {
		return calendar.Event{}, err
	}
	return s.event(ctx, s.DB, pm, inc)
}

// SendInvite queues an iMIP invitation (RFC 6047) to everyone on ev, the
// room included, in the incident's post-mortem thread. The outbox's
// idempotency key (UID, SEQUENCE, method) makes a retried job's second
// send a no-op.
func (s *Service) SendInvite(ctx context.Context, ev calendar.Event, method string, ics []byte) error {
	pm, err := loadByUID(ctx, s.DB, ev.UID)
	if err != nil {
		return err
	}
	if pm == nil {
		return errs.E(errs.NotFound, "no post-mortem with UID %q", ev.UID)
	}
	inc, err := s.Incidents.GetByID(ctx, s.DB, pm.IncidentID)
	if err != nil {
		return err
	}
	sh, err := s.shared(ctx, s.DB, pm, inc)
	if err != nil {
		return err
	}
	var people []string
	for _, a := range ev.Attendees {
		people = append(people, a.Email)
	}
	location := ""
	if ev.Room != nil {
		location = ev.Room.Location()
		if ev.Room.Email != "" {
			people = append(people, ev.Room.Email) // a room mailbox accepts or declines by itself
		}
	}
	data := compose.PostmortemInviteData{Incident: sh.Incident, Start: ev.Start, End: ev.End, Location: location,
		VideoLink: ev.VideoLink, Facilitator: ev.Organizer.Name, Method: method, Sequence: ev.Sequence, Entries: sh.Entries,
		Communication: sh.Communication, Now: s.now()}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(ThreadInvite), Kind: compose.KindPostmortemInvite,
			People: people, Data: data, Actor: "sitrep", Calendar: ics, CalendarMethod: method,
			IdempotencyKey: fmt.Sprintf("%s/%d/%s", ev.UID, ev.Sequence, method)})
		return err
	})
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.Conflict {
		return nil // sent by an earlier try of this job
	}
	return err
}

// RecordRSVP files an attendee's iMIP REPLY (RFC 5546 3.2.3): their
// PARTSTAT, on the list and on the timeline. A reply to an older SEQUENCE
// is out of date and ignored (RFC 5546 2.1.5); a reply to a UID that is not
// a post-mortem's is none of ours and ignored too. Someone not invited who
// answers (a forwarded invitation) is added as optional.
func (s *Service) RecordRSVP(ctx context.Context, tx *sql.Tx, r calendar.Reply) error {
	pm, err := loadByUID(ctx, tx, r.UID)
	if err != nil || pm == nil {
		return err
	}
	if r.Sequence < pm.Sequence {
		s.logger().Info("postmortem: outdated calendar reply ignored", "uid", r.UID, "sequence", r.Sequence, "current", pm.Sequence)
		return nil
	}
	email := strings.ToLower(strings.TrimSpace(r.Attendee))
	if email == "" {
		return nil
	}
	now := s.now()
	res, err := tx.ExecContext(ctx, queries.Get("record-rsvp"),
		r.PartStat, now, pm.ID, email)
	if err != nil {
		return fmt.Errorf("postmortem: rsvp: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if pm.Room != nil && strings.EqualFold(pm.Room.Email, email) {
			s.logger().Info("postmortem: room answered", "uid", r.UID, "room", email, "partstat", r.PartStat)
		} else {
			p := Participant{Email: email, Optional: true, Source: sourceReply}
			if person, ok := s.Directory.Current().Person(email); ok {
				p.Name, p.TimeZone = person.Name, person.TimeZone
			}
			if err := insertAttendee(ctx, tx, pm.ID, p); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, queries.Get("record-rsvp"),
				r.PartStat, now, pm.ID, email); err != nil {
				return fmt.Errorf("postmortem: rsvp: %w", err)
			}
		}
	}
	word := map[string]string{"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentatively accepted", "DELEGATED": "delegated"}[r.PartStat]
	_, err = incident.AddEvent(ctx, tx, now, pm.IncidentID, "postmortem_rsvp", email,
		fmt.Sprintf("%s %s the post-mortem invitation", email, cmp.Or(word, "answered ("+r.PartStat+")")), map[string]any{"partstat": r.PartStat})
	return err
}

// RecordCalendarReply parses an iMIP REPLY's iCalendar object and records
// it; the inbox's OnCalendarReply hook calls it with the text/calendar part.
func (s *Service) RecordCalendarReply(ctx context.Context, tx *sql.Tx, ics []byte) error {
	r, err := calendar.ParseReply(ics)
	if err != nil {
		s.logger().Warn("postmortem: calendar reply not understood", "err", err)
		return nil // the message is kept by the inbox; nothing to record
	}
	return s.RecordRSVP(ctx, tx, r)
}

// participants are the people (not the room) the post-mortem's emails go to.
func participants(pm *Postmortem) []string {
	var out []string
	for _, p := range pm.Attendees {
		if p.PartStat != "DECLINED" || p.Email == pm.Facilitator {
			out = append(out, p.Email)
		}
	}
	return out
}

// queueTimeline sends the timeline to the participants ("reply to add or
// correct an item"), once per post-mortem: whoever sets timeline_sent_at
// first sends it.
func (s *Service) queueTimeline(ctx context.Context, tx *sql.Tx, pm *Postmortem, inc *incident.Incident, now time.Time) error {
	res, err := tx.ExecContext(ctx, queries.Get("claim-timeline"), now, pm.ID)
	if err != nil {
		return fmt.Errorf("postmortem: timeline: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	sh, err := s.shared(ctx, tx, pm, inc)
	if err != nil {
		return err
	}
	location := "" // remote: the template says so in each reader's language
	if pm.Room != nil && !pm.Remote {
		location = pm.Room.Location()
	}
	data := compose.TimelineData{Incident: sh.Incident, Entries: sh.Entries, Communication: sh.Communication, PostMortemAt: *pm.Start, Location: location,
		VideoLink: pm.VideoLink, Now: now}
	if _, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(ThreadTimeline), Kind: compose.KindTimeline,
		People: participants(pm), Data: data, Actor: "sitrep"}); err != nil {
		return fmt.Errorf("postmortem: timeline email: %w", err)
	}
	_, err = incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_timeline", "sitrep",
		fmt.Sprintf("Timeline sent to %d participants to read and correct before the post-mortem", len(participants(pm))), nil)
	return err
}

func (s *Service) timelineBefore() time.Duration {
	return cmp.Or(s.Settings.TimelineBefore, 24*time.Hour)
}

// CheckTimelines sends the timeline of every booked post-mortem that
// starts within TimelineBefore and has not had it. Safe on every replica.
func (s *Service) CheckTimelines(ctx context.Context) error {
	now := s.now()
	rows, err := s.DB.QueryContext(ctx, queries.Get("timelines-due"), StateBooked, now.Add(s.timelineBefore()), now)
	if err != nil {
		return fmt.Errorf("postmortem: timelines due: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("postmortem: timelines due: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			pm, err := load(ctx, tx, id)
			if err != nil || pm == nil {
				return err
			}
			inc, err := s.Incidents.GetByID(ctx, tx, id)
			if err != nil {
				return err
			}
			return s.queueTimeline(ctx, tx, pm, inc, now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
