// Package postmortem runs the meeting after an incident: the outage guide's
// "a day or two after the issue occurred, make time for a full post mortem",
// in a room with a whiteboard, with the engineers and the teams around them.
package postmortem

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Attendee is someone invited; see calendar.Attendee.
type Attendee = calendar.Attendee

// Interval is a span of busy time; see calendar.Interval.
type Interval = calendar.Interval

// FreeBusy tells when people and rooms are busy. Every calendar.Backend
// is one.
type FreeBusy interface {
	Busy(ctx context.Context, emails []string, from, to time.Time) (map[string][]Interval, error)
}

// Every calendar backend answers free/busy.
var _ FreeBusy = calendar.Backend(nil)

// SlotRequest asks for post-mortem times.
type SlotRequest struct {
	ResolvedAt time.Time
	Organizer  Attendee
	Attendees  []Attendee
	Duration   time.Duration // default 60 minutes
	// The window: business days after the resolution day, counted in the
	// organizer's zone, weekends and Holidays skipped; day 0 is the
	// resolution day. Both zero means the defaults, 1 and 2.
	MinBusinessDays, MaxBusinessDays int
	WorkStart, WorkEnd               string   // "09:00", "17:00", in each person's zone
	Holidays                         []string // "2026-12-25", in the organizer's zone
	Step                             time.Duration
	Want                             int  // how many slots to propose; default 3
	Remote                           bool // no room wanted
	Building                         string
}

// Slot is one proposed time, with why it was chosen and what is not ideal.
type Slot struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Room     *Room     `json:"room,omitempty"`
	Reasons  []string  `json:"reasons"`
	Warnings []string  `json:"warnings,omitempty"`

	outside, optionalBusy int // for ranking: required people outside hours, optional ones busy
}

// NoSlotError says no slot fits the window, and offers the nearest ones
// outside it. It unwraps to an errs.Conflict error.
type NoSlotError struct {
	Nearest []Slot
	err     *errs.Error
}

func (e *NoSlotError) Error() string { return e.err.Error() }
func (e *NoSlotError) Unwrap() error { return e.err }

// NearestOutsideWindow returns the options a NoSlotError carries (none for
// any other error).
func NearestOutsideWindow(err error) []Slot {
	var ns *NoSlotError
	if errors.As(err, &ns) {
		return ns.Nearest
	}
	return nil
}

// lookAhead is how many business days past the window the nearest options
// are looked for.
const lookAhead = 5

// ProposeSlots finds up to req.Want times for the post-mortem inside the
// organizer's working hours on the window's business days, when the
// organizer and every required attendee are free and, unless the meeting is
// remote, a room that seats everyone is free. Proposals never overlap each
// other. They are ranked: every required attendee inside their own working
// hours first, then fewer optional attendees busy, then earlier.
func ProposeSlots(ctx context.Context, req SlotRequest, fb FreeBusy, rooms []Room) ([]Slot, error) {
	p, err := newPlanner(req, rooms)
	if err != nil {
		return nil, err
	}
	req = p.req // with defaults
	lastDay := req.MaxBusinessDays + lookAhead
	days := p.businessDays(lastDay)
	from := req.ResolvedAt
	to := days[len(days)-1].AddDate(0, 0, 2) // attendees' zones reach past the organizer's day
	busy, err := fb.Busy(ctx, p.emails(), from, to)
	if err != nil {
		return nil, fmt.Errorf("postmortem: free/busy: %w", err)
	}
	p.busy = busy

	var inWindow, before, after []Slot
	for n, day := range days {
		for _, s := range p.daySlots(day) {
			switch {
			case n < req.MinBusinessDays:
				before = append(before, s)
			case n > req.MaxBusinessDays:
				after = append(after, s)
			default:
				inWindow = append(inWindow, s)
			}
		}
	}
	if picked := p.pick(inWindow, p.better); len(picked) > 0 {
		return picked, nil
	}

	// Nothing in the window: the closest times on either side of it.
	winStart, winEnd := p.windowBounds(days)
	distance := func(s Slot) time.Duration {
		if s.End.After(winStart) && s.Start.Before(winEnd) {
			return 0
		}
		if !s.End.After(winStart) {
			return winStart.Sub(s.End)
		}
		return s.Start.Sub(winEnd)
	}
	nearest := p.pick(append(before, after...), func(a, b Slot) int {
		return cmp.Or(cmp.Compare(distance(a), distance(b)), p.better(a, b))
	})
	slices.SortFunc(nearest, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	msg := fmt.Sprintf("no %d-minute slot %s when the organizer and all %d required attendees%s are free",
		int(req.Duration/time.Minute), p.windowText(days), p.required(), map[bool]string{true: "", false: " and a room"}[p.remote])
	if len(nearest) > 0 {
		var opts []string
		for _, s := range nearest {
			opts = append(opts, s.Start.In(p.orgLoc).Format("Mon 2 Jan 15:04 MST"))
		}
		msg += "; nearest outside it: " + strings.Join(opts, ", ")
	} else {
		msg += fmt.Sprintf(", nor in the %d business days after", lookAhead)
	}
	return nil, &NoSlotError{Nearest: nearest, err: errs.E(errs.Conflict, "%s", msg)}
}

type person struct {
	Attendee
	loc      *time.Location
	assumed  bool // no zone of their own: the organizer's
	required bool
}

type planner struct {
	req       SlotRequest
	orgLoc    *time.Location
	people    []person // organizer first
	workStart time.Duration
	workEnd   time.Duration
	holidays  map[string]bool
	rooms     []Room
	remote    bool
	remoteWhy []string // reasons every slot gets when there is no room
	headcount int
	busy      map[string][]Interval
	warnings  []string
}

func newPlanner(req SlotRequest, rooms []Room) (*planner, error) {
	req.Duration = cmp.Or(req.Duration, 60*time.Minute)
	req.Step = cmp.Or(req.Step, 30*time.Minute)
	req.Want = cmp.Or(req.Want, 3)
	req.WorkStart = cmp.Or(req.WorkStart, "09:00")
	req.WorkEnd = cmp.Or(req.WorkEnd, "17:00")
	if req.MinBusinessDays == 0 && req.MaxBusinessDays == 0 {
		req.MinBusinessDays, req.MaxBusinessDays = 1, 2
	}
	p := &planner{req: req, holidays: map[string]bool{}}

	var problems []error
	if req.ResolvedAt.IsZero() {
		problems = append(problems, errs.InvalidField("resolved_at", "is required"))
	}
	if req.Organizer.Email == "" {
		problems = append(problems, errs.InvalidField("organizer.email", "is required"))
	}
	if req.Duration < 0 || req.Step <= 0 || req.Want < 0 {
		problems = append(problems, errs.InvalidField("duration", "duration, step and want must be positive"))
	}
	if req.MinBusinessDays < 0 || req.MaxBusinessDays < req.MinBusinessDays {
		problems = append(problems, errs.InvalidField("max_business_days", "the window %d–%d is empty", req.MinBusinessDays, req.MaxBusinessDays))
	}
	var err error
	if p.workStart, err = clock(req.WorkStart); err != nil {
		problems = append(problems, errs.InvalidField("work_start", "%v", err))
	}
	if p.workEnd, err = clock(req.WorkEnd); err != nil {
		problems = append(problems, errs.InvalidField("work_end", "%v", err))
	}
	if err == nil && p.workEnd-p.workStart < req.Duration {
		problems = append(problems, errs.InvalidField("work_end", "working hours %s–%s are shorter than the meeting", req.WorkStart, req.WorkEnd))
	}
	for i, h := range req.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			problems = append(problems, errs.InvalidField(fmt.Sprintf("holidays[%d]", i), "%q is not a YYYY-MM-DD date", h))
		}
		p.holidays[h] = true
	}

	p.orgLoc = time.UTC
	if tz := req.Organizer.TimeZone; tz != "" {
		if p.orgLoc, err = time.LoadLocation(tz); err != nil {
			problems = append(problems, errs.InvalidField("organizer.time_zone", "unknown time zone %q", tz))
			p.orgLoc = time.UTC
		}
	} else {
		p.warnings = append(p.warnings, "the organizer has no time zone; working hours and business days in UTC")
	}
	p.people = append(p.people, person{Attendee: req.Organizer, loc: p.orgLoc, required: true})
	seen := map[string]bool{strings.ToLower(req.Organizer.Email): true}
	for i, a := range req.Attendees {
		key := strings.ToLower(a.Email)
		if a.Email == "" {
			problems = append(problems, errs.InvalidField(fmt.Sprintf("attendees[%d].email", i), "is required"))
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		pp := person{Attendee: a, loc: p.orgLoc, required: !a.Optional}
		if a.TimeZone == "" {
			pp.assumed = true
			p.warnings = append(p.warnings, fmt.Sprintf("%s has no time zone; assumed %s (the organizer's)", a.Label(), p.orgLoc))
		} else if pp.loc, err = time.LoadLocation(a.TimeZone); err != nil {
			problems = append(problems, errs.InvalidField(fmt.Sprintf("attendees[%d].time_zone", i), "unknown time zone %q", a.TimeZone))
			pp.loc = p.orgLoc
		}
		p.people = append(p.people, pp)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	p.req = req
	p.headcount = len(p.people)

	// A room is needed unless remote; if none can seat everyone, every slot
	// is proposed remote, saying so.
	p.remote = req.Remote || len(rooms) == 0
	switch {
	case req.Remote:
		p.remoteWhy = []string{"remote, as asked"}
	case len(rooms) == 0:
		p.remoteWhy = []string{"remote: no rooms configured"}
	default:
		if _, err := PickRoom(rooms, p.headcount, req.Building, nil); err != nil {
			var nr *NoRoomError
			if errors.As(err, &nr) && nr.Largest != nil {
				p.remote = true
				p.remoteWhy = []string{
					fmt.Sprintf("no room with a whiteboard for %d; remote", p.headcount),
					fmt.Sprintf("the largest room, %s, seats %d: split into groups there, or meet remotely", nr.Largest.Name, nr.Largest.Capacity),
				}
			}
		}
	}
	p.rooms = rooms
	return p, nil
}

// clock parses "HH:MM" as a time of day.
func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// businessDays lists midnight (organizer's zone) of the resolution day (as
// day 0) and the business days 1..n after it.
func (p *planner) businessDays(n int) []time.Time {
	r := p.req.ResolvedAt.In(p.orgLoc)
	day := time.Date(r.Year(), r.Month(), r.Day(), 0, 0, 0, 0, p.orgLoc)
	days := []time.Time{day}
	for len(days) <= n {
		day = day.AddDate(0, 0, 1)
		if p.businessDay(day) {
			days = append(days, day)
		}
	}
	return days
}

func (p *planner) businessDay(day time.Time) bool {
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !p.holidays[day.Format(time.DateOnly)]
}

// at is a wall-clock time on a date in loc. time.Date resolves DST gaps.
func at(day time.Time, loc *time.Location, clock time.Duration) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Add(clock)
}

// daySlots lists the feasible slots of one of the organizer's days.
func (p *planner) daySlots(day time.Time) []Slot {
	if !p.businessDay(day) {
		return nil // day 0, the resolution day, may be a weekend
	}
	var out []Slot
	end := at(day, p.orgLoc, p.workEnd)
	for s := at(day, p.orgLoc, p.workStart); !s.Add(p.req.Duration).After(end); s = s.Add(p.req.Step) {
		if s.Before(p.req.ResolvedAt) {
			continue
		}
		if slot, ok := p.evaluate(s, s.Add(p.req.Duration)); ok {
			out = append(out, slot)
		}
	}
	return out
}

// evaluate checks one time; ok is false when a required person or every
// fitting room is busy.
func (p *planner) evaluate(start, end time.Time) (Slot, bool) {
	iv := Interval{Start: start, End: end}
	slot := Slot{Start: start.In(p.orgLoc), End: end.In(p.orgLoc), Warnings: slices.Clone(p.warnings)}
	var optBusy, outside []string
	for _, pp := range p.people {
		if p.isBusy(pp.Email, iv) {
			if pp.required {
				return Slot{}, false
			}
			optBusy = append(optBusy, pp.Label())
			continue
		}
		if !p.inWorkingHours(pp, iv) {
			label := fmt.Sprintf("%s (%s) outside working hours", pp.Label(), pp.loc)
			if pp.required {
				slot.outside++
			} else {
				label = "optional: " + label
			}
			outside = append(outside, label)
		}
	}
	slot.optionalBusy = len(optBusy)
	if len(optBusy) == 0 {
		slot.Reasons = append(slot.Reasons, "everyone free")
	} else {
		slot.Reasons = append(slot.Reasons, "all required attendees free")
		for _, who := range optBusy {
			slot.Reasons = append(slot.Reasons, "optional: "+who+" busy")
		}
	}
	slot.Reasons = append(slot.Reasons, outside...)
	if p.remote {
		slot.Reasons = append(slot.Reasons, p.remoteWhy...)
		return slot, true
	}
	room, err := PickRoom(p.rooms, p.headcount, p.req.Building, func(r Room) bool { return !p.isBusy(r.Email, iv) })
	if err != nil {
		return Slot{}, false
	}
	slot.Room = room
	slot.Reasons = append(slot.Reasons, roomReason(room, p.req.Building))
	return slot, true
}

func (p *planner) isBusy(email string, iv Interval) bool {
	if email == "" {
		return false
	}
	for k, list := range p.busy {
		if !strings.EqualFold(k, email) {
			continue
		}
		for _, b := range list {
			if b.Overlaps(iv) {
				return true
			}
		}
	}
	return false
}

// inWorkingHours reports whether the interval falls inside the person's
// working hours on a weekday of their own calendar. The organizer's holidays
// are not assumed to be everyone's.
func (p *planner) inWorkingHours(pp person, iv Interval) bool {
	s, e := iv.Start.In(pp.loc), iv.End.In(pp.loc)
	if wd := s.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !s.Before(at(s, pp.loc, p.workStart)) && !e.After(at(s, pp.loc, p.workEnd))
}

// better orders slots: fewer required people outside working hours, fewer
// optional ones busy, then earlier.
func (p *planner) better(a, b Slot) int {
	return cmp.Or(
		cmp.Compare(a.outside, b.outside),
		cmp.Compare(a.optionalBusy, b.optionalBusy),
		a.Start.Compare(b.Start),
	)
}

// pick sorts by order and takes up to Want slots that do not overlap.
func (p *planner) pick(slots []Slot, order func(a, b Slot) int) []Slot {
	slices.SortStableFunc(slots, order)
	var out []Slot
	for _, s := range slots {
		if len(out) == p.req.Want {
			break
		}
		clash := false
		for _, o := range out {
			if (Interval{Start: s.Start, End: s.End}).Overlaps(Interval{Start: o.Start, End: o.End}) {
				clash = true
				break
			}
		}
		if !clash {
			out = append(out, s)
		}
	}
	return out
}

func (p *planner) required() int {
	n := 0
	for _, pp := range p.people[1:] {
		if pp.required {
			n++
		}
	}
	return n
}

// windowBounds is the start of the window's first day and the end of its
// last, in the organizer's working hours.
func (p *planner) windowBounds(days []time.Time) (time.Time, time.Time) {
	first := days[p.req.MinBusinessDays]
	last := days[p.req.MaxBusinessDays]
	return at(first, p.orgLoc, p.workStart), at(last, p.orgLoc, p.workEnd)
}

func (p *planner) windowText(days []time.Time) string {
	first := days[p.req.MinBusinessDays].Format("Mon 2 Jan")
	last := days[p.req.MaxBusinessDays].Format("Mon 2 Jan")
	if first == last {
		return "on " + first
	}
	return "from " + first + " to " + last
}

func (p *planner) emails() []string {
	var out []string
	for _, pp := range p.people {
		out = append(out, pp.Email)
	}
	if !p.remote {
		for _, r := range p.rooms {
			if r.Email != "" && r.Capacity >= p.headcount {
				out = append(out, r.Email)
			}
		}
	}
	return out
}
