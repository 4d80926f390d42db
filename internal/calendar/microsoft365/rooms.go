package microsoft365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// graphRoom is what sitrep reads of a room place.
type graphRoom struct {
	EmailAddress string   `json:"emailAddress"`
	DisplayName  string   `json:"displayName"`
	Capacity     *flexInt `json:"capacity"`
	Building     string   `json:"building"`
	FloorNumber  *flexInt `json:"floorNumber"`
	FloorLabel   string   `json:"floorLabel"`
	Tags         []string `json:"tags"`
	BookingType  string   `json:"bookingType"`
}

// flexInt reads an Int32 that Graph may send as a number or, as the List
// places documentation's example shows capacity, as a string.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = flexInt(v)
	return nil
}

// maxPages bounds the pages of rooms followed.
const maxPages = 1000

// Rooms lists the tenant's rooms (GET /places/microsoft.graph.room), or the
// rooms of the configured room list, all pages of them. A room has its
// address, display name, capacity, building and floor (floorLabel, else
// floorNumber), and features: its tags and those RoomFeatures gives it.
//
// Graph has no whiteboard field: a whiteboard is known from the room's
// tags (Set-Place -Identity room@example.com -Tags Whiteboard, in Exchange
// Online PowerShell) or from room_features in the configuration. A room
// whose bookingType is "reserved" (kept for one person) is left out.
func (c *Calendar) Rooms(ctx context.Context) ([]calendar.Room, error) {
	path := "/places/microsoft.graph.room"
	if c.roomList != "" {
		path = "/places/" + url.PathEscape(c.roomList) + "/microsoft.graph.roomlist/rooms"
	}
	var rooms []calendar.Room
	rq := request{method: http.MethodGet, path: path}
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("calendar: microsoft365: list rooms: more than %d pages", maxPages)
		}
		var page struct {
			Value    []graphRoom `json:"value"`
			NextLink string      `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, rq, &page); err != nil {
			return nil, c.roomsError(ctx, err)
		}
		for _, r := range page.Value {
			if r.EmailAddress == "" || strings.EqualFold(r.BookingType, "reserved") {
				continue
			}
			rooms = append(rooms, c.room(r))
		}
		if page.NextLink == "" {
			return rooms, nil
		}
		rq = request{method: http.MethodGet, url: page.NextLink}
	}
}

func (c *Calendar) room(r graphRoom) calendar.Room {
	room := calendar.Room{Email: r.EmailAddress, Name: r.DisplayName, Building: r.Building, Floor: r.FloorLabel}
	if room.Name == "" {
		room.Name = r.EmailAddress
	}
	if r.Capacity != nil {
		room.Capacity = int(*r.Capacity)
	}
	if room.Floor == "" && r.FloorNumber != nil {
		room.Floor = strconv.Itoa(int(*r.FloorNumber))
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	seen := map[string]bool{}
	for _, f := range append(append([]string{}, r.Tags...), c.features[strings.ToLower(r.EmailAddress)]...) {
		if f = strings.TrimSpace(f); f != "" && !seen[norm(f)] {
			seen[norm(f)] = true
			room.Features = append(room.Features, f)
		}
	}
	return room
}

// roomsError explains a failed room listing; an unknown room list is named,
// with the room lists the tenant has.
func (c *Calendar) roomsError(ctx context.Context, err error) error {
	if statusOf(err) == http.StatusNotFound && c.roomList != "" {
		msg := fmt.Sprintf("calendar: microsoft365: list rooms: there is no room list %s (%v)", c.roomList, err)
		if lists, lerr := c.RoomLists(ctx); lerr == nil {
			if len(lists) == 0 {
				msg += "; the tenant has no room lists (New-DistributionGroup -RoomList), so leave room_list empty to use every room"
			} else {
				msg += "; the tenant's room lists are " + strings.Join(lists, ", ")
			}
		}
		return &errs.Error{Code: errs.NotFound, Message: msg}
	}
	// A 403 without an access policy's mark: the permission is missing.
	if ge := (*GraphError)(nil); errors.As(err, &ge) && ge.Status == http.StatusForbidden && !isPolicyRefusal(ge) {
		return &errs.Error{Code: errs.Forbidden, Message: fmt.Sprintf("calendar: microsoft365: list rooms: Graph refused %s (%v): add the Microsoft Graph application permission %s and grant admin consent (App registrations > the app > API permissions)",
			c.app(), ge, permPlaces)}
	}
	return c.explain("list rooms", err)
}

// RoomLists returns the addresses of the tenant's room lists
// (GET /places/microsoft.graph.roomlist).
func (c *Calendar) RoomLists(ctx context.Context) ([]string, error) {
	var out []string
	rq := request{method: http.MethodGet, path: "/places/microsoft.graph.roomlist"}
	for pages := 0; pages < maxPages; pages++ {
		var page struct {
			Value []struct {
				EmailAddress string `json:"emailAddress"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, rq, &page); err != nil {
			return nil, c.explain("list room lists", err)
		}
		for _, l := range page.Value {
			if l.EmailAddress != "" {
				out = append(out, l.EmailAddress)
			}
		}
		if page.NextLink == "" {
			return out, nil
		}
		rq = request{method: http.MethodGet, url: page.NextLink}
	}
	return nil, fmt.Errorf("calendar: microsoft365: list room lists: more than %d pages", maxPages)
}

var _ json.Unmarshaler = (*flexInt)(nil)
