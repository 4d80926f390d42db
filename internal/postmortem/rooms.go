package postmortem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Room is a bookable meeting room; see calendar.Room.
type Room = calendar.Room

// RoomLister lists the bookable rooms: calendar.StaticRooms from the
// configuration, or google.Rooms from Google's Directory.
type RoomLister interface {
	Rooms(ctx context.Context) ([]Room, error)
}

var _ RoomLister = calendar.StaticRooms(nil)

// NoRoomError says why no room could be picked. It unwraps to an
// errs.Conflict error, so callers that only want the code get it.
type NoRoomError struct {
	Needed  int   // seats wanted
	Largest *Room // the biggest room there is, nil if there are none
	// AllBusy is true when rooms big enough exist but none is free.
	AllBusy bool
	err     *errs.Error
}

func (e *NoRoomError) Error() string { return e.err.Error() }
func (e *NoRoomError) Unwrap() error { return e.err }

// PickRoom chooses where the post-mortem happens: the outage guide asks for
// "a room with a large white board and sufficient seating". Among the rooms
// that are free (free may be nil) and seat everyone it prefers, in order, a
// whiteboard, the organizer's building, and the fewest seats (leave the
// big rooms to others); the name breaks ties so the choice is stable.
func PickRoom(rooms []Room, attendees int, building string, free func(Room) bool) (*Room, error) {
	var fits []Room
	var largest *Room
	for i := range rooms {
		r := rooms[i]
		if largest == nil || r.Capacity > largest.Capacity {
			largest = &rooms[i]
		}
		if r.Capacity >= attendees {
			fits = append(fits, r)
		}
	}
	if len(fits) == 0 {
		e := &NoRoomError{Needed: attendees}
		if largest != nil {
			l := *largest
			e.Largest = &l
			e.err = errs.E(errs.Conflict, "no room seats %d; the largest, %s, seats %d", attendees, l.Name, l.Capacity)
		} else {
			e.err = errs.E(errs.Conflict, "no rooms are configured")
		}
		return nil, e
	}
	var avail []Room
	for _, r := range fits {
		if free == nil || free(r) {
			avail = append(avail, r)
		}
	}
	if len(avail) == 0 {
		return nil, &NoRoomError{Needed: attendees, AllBusy: true,
			err: errs.E(errs.Conflict, "every room that seats %d is taken", attendees)}
	}
	rank := func(r Room) (int, int) {
		wb, here := 1, 1
		if r.Has(calendar.FeatureWhiteboard) {
			wb = 0
		}
		if building == "" || strings.EqualFold(r.Building, building) {
			here = 0
		}
		return wb, here
	}
	best := slices.MinFunc(avail, func(a, b Room) int {
		aw, ah := rank(a)
		bw, bh := rank(b)
		return cmp.Or(cmp.Compare(aw, bw), cmp.Compare(ah, bh), cmp.Compare(a.Capacity, b.Capacity), cmp.Compare(a.Name, b.Name))
	})
	return &best, nil
}

// roomReason is how a picked room reads in a slot's reasons:
// "room Atlas (8 seats, whiteboard)".
func roomReason(r *Room, building string) string {
	details := []string{fmt.Sprintf("%d seats", r.Capacity)}
	if r.Has(calendar.FeatureWhiteboard) {
		details = append(details, "whiteboard")
	} else {
		details = append(details, "no whiteboard")
	}
	if building != "" && !strings.EqualFold(r.Building, building) {
		details = append(details, "in "+cmp.Or(r.Building, "another building"))
	}
	return fmt.Sprintf("room %s (%s)", r.Name, strings.Join(details, ", "))
}
