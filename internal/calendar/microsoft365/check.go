package microsoft365

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Verify proves, for sitrep doctor, that booking can work, reading only:
// a token is issued; Graph lets the app read the organizer's calendar (a
// Calendars permission, and the application access policy); the
// rooms can be listed (Place.Read.All); and getSchedule through the
// organizer's calendar resolves the first room and reads its free/busy.
// Each error says what to fix. With no rooms in the tenant (and no room
// list configured) the room steps are skipped: rooms may come from the
// configuration instead.
func (c *Calendar) Verify(ctx context.Context) error {
	if _, err := c.tokens.Token(ctx); err != nil {
		return fmt.Errorf("calendar: microsoft365: no access token for Microsoft Graph: %w", err)
	}
	var cal struct {
		Name string `json:"name"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: c.userPath("/calendar"), query: url.Values{"$select": {"name"}}}, &cal)
	if err != nil {
		return c.explain("read the calendar of "+c.organizer, err)
	}
	rooms, err := c.Rooms(ctx)
	if err != nil {
		return err
	}
	if len(rooms) == 0 {
		if c.roomList != "" {
			return &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("calendar: microsoft365: the room list %s has no rooms: add room mailboxes to it (Add-DistributionGroupMember -Identity %s -Member <room>)", c.roomList, c.roomList)}
		}
		c.log.Info("calendar: microsoft365: Graph lists no rooms; rooms must come from the configuration", "organizer", c.organizer)
		return nil
	}
	room := rooms[0]
	from := c.now().UTC().Truncate(time.Minute)
	infos, err := c.schedule(ctx, []string{room.Email}, from, from.Add(time.Hour))
	if err != nil {
		return c.explain("free/busy of the room "+room.Email, err)
	}
	for _, info := range infos {
		if info.Error != nil {
			return &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("calendar: microsoft365: Exchange cannot read the free/busy of the room %s (%s %s): check that the room mailbox exists and is in the organizer's organisation (Get-Mailbox -Identity %s -RecipientTypeDetails RoomMailbox)",
				room.Email, info.Error.ResponseCode, strings.TrimSpace(info.Error.Message), room.Email)}
		}
	}
	if len(infos) == 0 {
		return fmt.Errorf("calendar: microsoft365: getSchedule answered nothing for the room %s", room.Email)
	}
	return nil
}
