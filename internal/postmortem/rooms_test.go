package postmortem

import (
	"errors"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func TestPickRoom(t *testing.T) {
	t.Parallel()
	rooms := []Room{
		{Email: "hall@r", Name: "Hall", Building: "HQ", Capacity: 40, Features: []string{"Whiteboard"}},
		{Email: "atlas@r", Name: "Atlas", Building: "HQ", Capacity: 8, Features: []string{"Whiteboard", "Video"}},
		{Email: "nook@r", Name: "Nook", Building: "HQ", Capacity: 6},
		{Email: "annex@r", Name: "Annex", Building: "Annex", Capacity: 6, Features: []string{"White board"}},
		{Email: "tiny@r", Name: "Tiny", Building: "HQ", Capacity: 3, Features: []string{"Whiteboard"}},
	}
	all := func(Room) bool { return true }
	for _, tc := range []struct {
		name     string
		people   int
		building string
		free     func(Room) bool
		want     string
	}{
		{"smallest with a whiteboard in the building", 6, "HQ", all, "Atlas"},
		{"a whiteboard beats the building", 6, "Annex", all, "Annex"},
		{"a whiteboard beats a smaller room without", 5, "HQ", all, "Atlas"},
		{"busy rooms are skipped; the building beats size", 6, "HQ", func(r Room) bool { return r.Name != "Atlas" }, "Hall"},
		{"another building when the own has none free", 6, "HQ", func(r Room) bool { return r.Building != "HQ" }, "Annex"},
		{"without a whiteboard if nothing else", 6, "HQ", func(r Room) bool { return r.Name == "Nook" }, "Nook"},
		{"no building given: smallest fit", 2, "", all, "Tiny"},
		{"free may be nil", 20, "HQ", nil, "Hall"},
	} {
		got, err := PickRoom(rooms, tc.people, tc.building, tc.free)
		if err != nil || got.Name != tc.want {
			t.Errorf("%s: got %v, %v; want %s", tc.name, got, err, tc.want)
		}
	}

	_, err := PickRoom(rooms, 41, "HQ", all)
	var nr *NoRoomError
	if !errors.As(err, &nr) || nr.Largest == nil || nr.Largest.Name != "Hall" || nr.AllBusy || !errs.Is(err, errs.Conflict) {
		t.Errorf("41 people: %v", err)
	}
	_, err = PickRoom(rooms, 10, "HQ", func(Room) bool { return false })
	if !errors.As(err, &nr) || !nr.AllBusy {
		t.Errorf("all busy: %v", err)
	}
	if _, err = PickRoom(nil, 2, "", nil); !errs.Is(err, errs.Conflict) {
		t.Errorf("no rooms: %v", err)
	}
}
