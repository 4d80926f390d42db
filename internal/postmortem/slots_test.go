package postmortem

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// busyMap is a FreeBusy from a fixed table.
type busyMap map[string][]Interval

func (b busyMap) Busy(_ context.Context, emails []string, from, to time.Time) (map[string][]Interval, error) {
	out := map[string][]Interval{}
	for _, e := range emails {
		for _, iv := range b[e] {
			if iv.Overlaps(Interval{Start: from, End: to}) {
				out[e] = append(out[e], iv)
			}
		}
	}
	return out, nil
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

const ny, berlin = "America/New_York", "Europe/Berlin"

var atlas = Room{Email: "atlas@rooms.test", Name: "Atlas", Building: "HQ", Capacity: 8, Features: []string{"Whiteboard", "Video"}}

func baseRequest(t *testing.T, resolved time.Time) SlotRequest {
	return SlotRequest{
		ResolvedAt: resolved,
		Organizer:  Attendee{Email: "fran@x.test", Name: "Fran", TimeZone: ny},
		Attendees: []Attendee{
			{Email: "bob@x.test", Name: "Bob", TimeZone: ny},
			{Email: "cara@x.test", Name: "Cara", TimeZone: ny},
		},
		Building: "HQ",
	}
}

func starts(t *testing.T, slots []Slot, loc *time.Location) []string {
	t.Helper()
	var out []string
	for _, s := range slots {
		out = append(out, s.Start.In(loc).Format("Mon 2 Jan 15:04"))
	}
	return out
}

func wantStarts(t *testing.T, slots []Slot, loc *time.Location, want ...string) {
	t.Helper()
	got := strings.Join(starts(t, slots, loc), ", ")
	if got != strings.Join(want, ", ") {
		t.Errorf("slots = %s\nwant     %s", got, strings.Join(want, ", "))
	}
}

func TestWeekendSkipped(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	// Resolved Friday afternoon: the window is Monday and Tuesday.
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	slots, err := ProposeSlots(context.Background(), req, busyMap{}, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	// Earliest first, an hour each, none overlapping.
	wantStarts(t, slots, loc, "Mon 13 Apr 09:00", "Mon 13 Apr 10:00", "Mon 13 Apr 11:00")
	s := slots[0]
	if s.End.Sub(s.Start) != time.Hour || s.Room == nil || s.Room.Name != "Atlas" {
		t.Errorf("slot = %+v", s)
	}
	if !has(s.Reasons, "everyone free") || !has(s.Reasons, "room Atlas (8 seats, whiteboard)") {
		t.Errorf("reasons = %q", s.Reasons)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings = %q", s.Warnings)
	}
}

func TestHolidaySkipped(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	// Resolved Thursday 24 December; Friday is a holiday, then the weekend.
	req := baseRequest(t, time.Date(2026, 12, 24, 11, 0, 0, 0, loc))
	req.Holidays = []string{"2026-12-25"}
	req.Want = 1
	slots, err := ProposeSlots(context.Background(), req, busyMap{}, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	wantStarts(t, slots, loc, "Mon 28 Dec 09:00")

	// Without the holiday, Friday is business day 1.
	req.Holidays = nil
	slots, err = ProposeSlots(context.Background(), req, busyMap{}, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	wantStarts(t, slots, loc, "Fri 25 Dec 09:00")
}

func TestTwoTimeZonesOverlap(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	// Mid-April both zones are on summer time: Berlin is 6 hours ahead, so
	// New York 09:00–11:00 is Berlin 15:00–17:00, the only shared hours.
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	req.Attendees = append(req.Attendees, Attendee{Email: "ana@x.test", Name: "Ana", TimeZone: berlin})
	slots, err := ProposeSlots(context.Background(), req, busyMap{}, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	// Both shared hours on Monday, then Tuesday's first, before any time
	// that keeps Ana past 17:00.
	wantStarts(t, slots, loc, "Mon 13 Apr 09:00", "Mon 13 Apr 10:00", "Tue 14 Apr 09:00")
	for _, s := range slots {
		for _, r := range s.Reasons {
			if strings.Contains(r, "outside working hours") {
				t.Errorf("%v: %q", s.Start, r)
			}
		}
	}

	// Ana busy in the shared hours of both days: the slots keep her late,
	// and say so.
	berlinLoc := mustLoc(t, berlin)
	busy := busyMap{"ana@x.test": {
		{Start: time.Date(2026, 4, 13, 15, 0, 0, 0, berlinLoc), End: time.Date(2026, 4, 13, 17, 0, 0, 0, berlinLoc)},
		{Start: time.Date(2026, 4, 14, 15, 0, 0, 0, berlinLoc), End: time.Date(2026, 4, 14, 17, 0, 0, 0, berlinLoc)},
	}}
	slots, err = ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	wantStarts(t, slots, loc, "Mon 13 Apr 11:00", "Mon 13 Apr 12:00", "Mon 13 Apr 13:00")
	if !has(slots[0].Reasons, "Ana (Europe/Berlin) outside working hours") {
		t.Errorf("reasons = %q", slots[0].Reasons)
	}
}

func TestSomeoneBusy(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	busy := busyMap{"bob@x.test": {{Start: time.Date(2026, 4, 13, 9, 0, 0, 0, loc), End: time.Date(2026, 4, 13, 12, 30, 0, 0, loc)}}}
	slots, err := ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	wantStarts(t, slots, loc, "Mon 13 Apr 12:30", "Mon 13 Apr 13:30", "Mon 13 Apr 14:30")

	// The organizer counts as required too.
	busy = busyMap{"fran@x.test": {{Start: time.Date(2026, 4, 13, 0, 0, 0, 0, loc), End: time.Date(2026, 4, 13, 16, 0, 0, 0, loc)}}}
	slots, err = ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	wantStarts(t, slots, loc, "Mon 13 Apr 16:00", "Tue 14 Apr 09:00", "Tue 14 Apr 10:00")
}

func TestOptionalAttendeesRanked(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	req.Attendees = append(req.Attendees,
		Attendee{Email: "eve@x.test", Name: "Eve", TimeZone: ny, Optional: true},
		Attendee{Email: "pat@x.test", Name: "Pat", TimeZone: ny, Optional: true})
	busy := busyMap{
		// Eve is out on Monday; Pat on Tuesday morning.
		"eve@x.test": {{Start: time.Date(2026, 4, 13, 0, 0, 0, 0, loc), End: time.Date(2026, 4, 14, 0, 0, 0, 0, loc)}},
		"pat@x.test": {{Start: time.Date(2026, 4, 14, 9, 0, 0, 0, loc), End: time.Date(2026, 4, 14, 11, 0, 0, 0, loc)}},
	}
	slots, err := ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	// Tuesday from 11:00 has everyone; then a slot missing one optional
	// person beats none at all, earliest first.
	wantStarts(t, slots, loc, "Tue 14 Apr 11:00", "Tue 14 Apr 12:00", "Tue 14 Apr 13:00")
	if !has(slots[0].Reasons, "everyone free") {
		t.Errorf("reasons = %q", slots[0].Reasons)
	}
	req.Want = 7
	slots, err = ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	last := slots[len(slots)-1]
	if !has(last.Reasons, "optional: Eve busy") && !has(last.Reasons, "optional: Pat busy") {
		t.Errorf("7th slot %v reasons = %q, want an optional attendee busy", last.Start, last.Reasons)
	}
}

func TestNoRoomBigEnoughProposesRemote(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	for _, n := range []string{"d", "e", "f", "g"} {
		req.Attendees = append(req.Attendees, Attendee{Email: n + "@x.test", TimeZone: ny})
	}
	small := []Room{{Email: "hut@rooms.test", Name: "Hut", Capacity: 4, Features: []string{"Whiteboard"}}, {Email: "den@rooms.test", Name: "Den", Capacity: 6}}
	slots, err := ProposeSlots(context.Background(), req, busyMap{}, small)
	if err != nil {
		t.Fatal(err)
	}
	s := slots[0]
	if s.Room != nil {
		t.Errorf("room %+v for 7 people", s.Room)
	}
	if !has(s.Reasons, "no room with a whiteboard for 7; remote") || !hasPrefix(s.Reasons, "the largest room, Den, seats 6") {
		t.Errorf("reasons = %q", s.Reasons)
	}
}

func TestRoomBusyPicksAnother(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	req.Want = 1
	big := Room{Email: "hall@rooms.test", Name: "Hall", Building: "HQ", Capacity: 30, Features: []string{"Whiteboard"}}
	busy := busyMap{"atlas@rooms.test": {{Start: time.Date(2026, 4, 13, 9, 0, 0, 0, loc), End: time.Date(2026, 4, 13, 10, 0, 0, 0, loc)}}}
	slots, err := ProposeSlots(context.Background(), req, busy, []Room{big, atlas})
	if err != nil {
		t.Fatal(err)
	}
	if slots[0].Room == nil || slots[0].Room.Name != "Hall" || !slots[0].Start.Equal(time.Date(2026, 4, 13, 9, 0, 0, 0, loc)) {
		t.Errorf("slot = %+v, want Monday 09:00 in Hall (Atlas taken)", slots[0])
	}
	// With only Atlas, 09:00 has no room: 10:00 it is.
	slots, err = ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	wantStarts(t, slots, loc, "Mon 13 Apr 10:00")
}

func TestNoSlotInWindow(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	busy := busyMap{"bob@x.test": {{Start: time.Date(2026, 4, 13, 0, 0, 0, 0, loc), End: time.Date(2026, 4, 15, 0, 0, 0, 0, loc)}}}
	_, err := ProposeSlots(context.Background(), req, busy, []Room{atlas})
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	var ns *NoSlotError
	if !errors.As(err, &ns) {
		t.Fatalf("err %T is not a NoSlotError", err)
	}
	if !strings.Contains(err.Error(), "from Mon 13 Apr to Tue 14 Apr") || !strings.Contains(err.Error(), "nearest outside it: Wed 15 Apr 09:00 EDT") {
		t.Errorf("message = %q", err.Error())
	}
	// Wednesday morning is closer to the window than Friday's evening.
	wantStarts(t, NearestOutsideWindow(err), loc, "Wed 15 Apr 09:00", "Wed 15 Apr 10:00", "Wed 15 Apr 11:00")
	if NearestOutsideWindow(errors.New("other")) != nil {
		t.Error("options from an unrelated error")
	}
}

func TestAttendeeWithoutZone(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	req.Attendees = append(req.Attendees, Attendee{Email: "zed@x.test", Name: "Zed"})
	slots, err := ProposeSlots(context.Background(), req, busyMap{}, []Room{atlas})
	if err != nil {
		t.Fatal(err)
	}
	if !has(slots[0].Warnings, "Zed has no time zone; assumed America/New_York (the organizer's)") {
		t.Errorf("warnings = %q", slots[0].Warnings)
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, ny)
	good := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, loc))
	for name, mutate := range map[string]func(*SlotRequest){
		"no resolution": func(r *SlotRequest) { r.ResolvedAt = time.Time{} },
		"bad zone":      func(r *SlotRequest) { r.Attendees[0].TimeZone = "Mars/Olympus" },
		"bad hours":     func(r *SlotRequest) { r.WorkStart = "9am" },
		"short day":     func(r *SlotRequest) { r.WorkStart, r.WorkEnd = "09:00", "09:30" },
		"bad holiday":   func(r *SlotRequest) { r.Holidays = []string{"25/12/2026"} },
		"empty window":  func(r *SlotRequest) { r.MinBusinessDays, r.MaxBusinessDays = 3, 2 },
	} {
		req := good
		req.Attendees = append([]Attendee(nil), good.Attendees...)
		mutate(&req)
		if _, err := ProposeSlots(context.Background(), req, busyMap{}, nil); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

type failingFreeBusy struct{}

func (failingFreeBusy) Busy(context.Context, []string, time.Time, time.Time) (map[string][]Interval, error) {
	return nil, errors.New("calendar down")
}

func TestFreeBusyFailure(t *testing.T) {
	t.Parallel()
	req := baseRequest(t, time.Date(2026, 4, 10, 15, 0, 0, 0, mustLoc(t, ny)))
	if _, err := ProposeSlots(context.Background(), req, failingFreeBusy{}, nil); err == nil || !strings.Contains(err.Error(), "calendar down") {
		t.Errorf("err = %v", err)
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasPrefix(list []string, p string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, p) {
			return true
		}
	}
	return false
}
