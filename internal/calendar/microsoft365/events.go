package microsoft365

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

// graphEvent is what sitrep reads of an event.
type graphEvent struct {
	ID            string `json:"id"`
	ETag          string `json:"@odata.etag"`
	WebLink       string `json:"webLink"`
	TransactionID string `json:"transactionId"`
	OnlineMeeting *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
	Attendees []graphAttendee `json:"attendees"`
}

type graphAttendee struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"emailAddress"`
	Type   string `json:"type"`
	Status *struct {
		Response string `json:"response"`
	} `json:"status"`
}

// TransactionID is the transactionId of the event booked for ev: Graph
// returns the event already made when a create is retried with the same
// one ("to avoid redundant POST operations in case of client retries").
// It is a hash of the UID and the sequence: a retried job carries both
// unchanged, and a booking anew after the event was deleted in Outlook (a
// later sequence) must not meet the deleted one. Graph documents no length
// limit; 46 characters stay well inside any.
func TransactionID(ev calendar.Event) string {
	sum := sha256.Sum256([]byte(ev.UID + "\n" + strconv.Itoa(ev.Sequence)))
	return "sitrep-" + hex.EncodeToString(sum[:])[:39]
}

// Book creates the event in the organizer's calendar with the room as a
// resource attendee and its location, a Teams meeting when asked, and the
// bridge's link, phones and PIN in the body; Exchange sends the
// invitations. A retry after a lost answer or a 429 meets the event the
// first try made, by its transactionId. Graph's iCalUId is its own (it is
// read-only), so the booking keeps Graph's event id.
func (c *Calendar) Book(ctx context.Context, ev calendar.Event) (*calendar.Booking, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	props := c.eventProps(ev, false)
	props["transactionId"] = TransactionID(ev)
	var got graphEvent
	if err := c.do(ctx, request{method: http.MethodPost, path: c.userPath("/events"), body: props}, &got); err != nil {
		return nil, c.explain("create the event", err)
	}
	if got.ID == "" {
		return nil, fmt.Errorf("calendar: microsoft365: create the event: Graph answered an event without an id")
	}
	b := c.booking(got, ev.Sequence)
	if c.online(ev) && b.MeetLink == "" {
		c.log.Warn("calendar: microsoft365: a Teams meeting was asked for, and Graph answered no join link; is Teams enabled for the organizer mailbox?", "event", got.ID, "organizer", c.organizer)
	}
	return b, nil
}

// Reschedule updates time, text, attendees and room, with If-Match on the
// booked ETag so that a change made in Outlook since is not overwritten
// (412 → calendar.ErrChanged). An event deleted meanwhile gives
// calendar.ErrGone: book it anew.
//
// Exchange also changes the organizer's copy, and so its ETag, when it
// records an attendee's answer; that is no reason to refuse a move. Graph
// has no SEQUENCE to tell the two apart (Google's backend compares it), so
// every write also sets an extended property of sitrep's own holding the
// time and room it wrote: after a 412 the event is read again, and when its
// time and room are still those sitrep wrote, the update is sent again on
// the new ETag; when someone moved it in Outlook, ErrChanged.
func (c *Calendar) Reschedule(ctx context.Context, b calendar.Booking, ev calendar.Event) (*calendar.Booking, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	patch := func(etag string) (graphEvent, error) {
		var got graphEvent
		err := c.do(ctx, request{method: http.MethodPatch, path: c.eventPath(b.ID, ""), body: c.eventProps(ev, true), ifMatch: etag}, &got)
		return got, err
	}
	got, err := patch(b.ETag)
	if statusOf(err) == http.StatusPreconditionFailed {
		if cur, ok := c.unchangedSinceWritten(ctx, b.ID); ok {
			got, err = patch(cur)
		}
	}
	switch st := statusOf(err); {
	case err == nil:
	case st == http.StatusNotFound || st == http.StatusGone:
		return nil, fmt.Errorf("calendar: microsoft365: update %s: %w (%v)", b.ID, calendar.ErrGone, err)
	case st == http.StatusPreconditionFailed || st == http.StatusConflict:
		return nil, fmt.Errorf("calendar: microsoft365: update %s: %w (%v)", b.ID, calendar.ErrChanged, err)
	default:
		return nil, c.explain("update the event", err)
	}
	nb := c.booking(got, max(ev.Sequence, b.Sequence+1))
	if nb.MeetLink == "" {
		nb.MeetLink = b.MeetLink
	}
	if nb.ID == "" {
		nb.ID = b.ID
	}
	return nb, nil
}

// Cancel cancels the meeting: Exchange sends the cancellation with the
// comment and removes it from the organizer's calendar. An event gone
// already gives calendar.ErrGone, which for a cancel means done.
func (c *Calendar) Cancel(ctx context.Context, b calendar.Booking) error {
	err := c.do(ctx, request{method: http.MethodPost, path: c.eventPath(b.ID, "/cancel"), body: map[string]any{"Comment": c.cancelComment}}, nil)
	switch st := statusOf(err); {
	case err == nil:
		return nil
	case st == http.StatusNotFound || st == http.StatusGone:
		return fmt.Errorf("calendar: microsoft365: cancel %s: %w (%v)", b.ID, calendar.ErrGone, err)
	}
	return c.explain("cancel the event", err)
}

// Responses reads the attendees' answers from the organizer's copy of the
// event: accepted → ACCEPTED, declined → DECLINED, tentativelyAccepted →
// TENTATIVE, none or notResponded → NEEDS-ACTION. The room (a resource
// attendee) is left out.
func (c *Calendar) Responses(ctx context.Context, b calendar.Booking) ([]calendar.Response, error) {
	var got graphEvent
	err := c.do(ctx, request{method: http.MethodGet, path: c.eventPath(b.ID, ""), query: url.Values{"$select": {"attendees"}}}, &got)
	switch st := statusOf(err); {
	case err == nil:
	case st == http.StatusNotFound || st == http.StatusGone:
		return nil, fmt.Errorf("calendar: microsoft365: read answers of %s: %w (%v)", b.ID, calendar.ErrGone, err)
	default:
		return nil, c.explain("read the attendees' answers", err)
	}
	var out []calendar.Response
	for _, a := range got.Attendees {
		if strings.EqualFold(a.Type, "resource") || a.EmailAddress.Address == "" {
			continue
		}
		resp := ""
		if a.Status != nil {
			resp = a.Status.Response
		}
		out = append(out, calendar.Response{Email: strings.ToLower(a.EmailAddress.Address), PartStat: partStat(resp)})
	}
	return out, nil
}

// writtenProperty is the extended property (Outlook's named property in a
// property set of sitrep's own) where every write records the time and
// room it set, so that a later 412 can tell an answer from a move.
const writtenProperty = "String {6d3f8a2e-51c4-4b7a-9e0d-2c8b7f4a1e93} Name sitrep.written"

// written is writtenProperty's value for an event at start–end in room.
func written(start, end time.Time, room string) string {
	return start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339) + " " + strings.ToLower(room)
}

func writtenOf(ev calendar.Event) string {
	room := ""
	if ev.Room != nil {
		room = ev.Room.Email
	}
	return written(ev.Start, ev.End, room)
}

// unchangedSinceWritten reads the event again and returns its ETag when
// its time and room are still those sitrep last wrote.
func (c *Calendar) unchangedSinceWritten(ctx context.Context, id string) (etag string, ok bool) {
	var cur struct {
		ETag     string           `json:"@odata.etag"`
		Start    dateTimeTimeZone `json:"start"`
		End      dateTimeTimeZone `json:"end"`
		Location *struct {
			LocationEmailAddress string `json:"locationEmailAddress"`
		} `json:"location"`
		Written []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		} `json:"singleValueExtendedProperties"`
	}
	q := url.Values{"$select": {"start,end,location"}, "$expand": {"singleValueExtendedProperties($filter=id eq '" + writtenProperty + "')"}}
	if err := c.do(ctx, request{method: http.MethodGet, path: c.eventPath(id, ""), query: q}, &cur); err != nil || len(cur.Written) == 0 {
		return "", false
	}
	start, err1 := cur.Start.time()
	end, err2 := cur.End.time()
	if err1 != nil || err2 != nil {
		return "", false
	}
	room := ""
	if cur.Location != nil {
		room = cur.Location.LocationEmailAddress
	}
	if cur.Written[0].Value != written(start, end, room) {
		c.log.Info("calendar: microsoft365: the event was changed in Outlook since sitrep wrote it", "event", id)
		return "", false
	}
	return cur.ETag, cur.ETag != ""
}

func partStat(response string) string {
	switch strings.ToLower(response) {
	case "accepted", "organizer":
		return "ACCEPTED"
	case "declined":
		return "DECLINED"
	case "tentativelyaccepted":
		return "TENTATIVE"
	}
	return "NEEDS-ACTION"
}

func (c *Calendar) eventPath(id, rest string) string {
	return c.userPath("/events/" + url.PathEscape(id) + rest)
}

func (c *Calendar) booking(e graphEvent, sequence int) *calendar.Booking {
	b := &calendar.Booking{Backend: Backend, ID: e.ID, HTMLLink: e.WebLink, ETag: e.ETag, Sequence: sequence}
	if e.OnlineMeeting != nil {
		b.MeetLink = e.OnlineMeeting.JoinURL
	}
	return b
}

func (c *Calendar) online(ev calendar.Event) bool { return ev.CreateMeet || c.teams }

// eventProps is the body of a create or an update. An update names the
// location even when there is none (null clears a room given up).
func (c *Calendar) eventProps(ev calendar.Event, update bool) map[string]any {
	props := map[string]any{
		"subject": ev.Summary,
		"body":    map[string]any{"contentType": "html", "content": bodyHTML(ev)},
		"start":   dateTimeTZ(ev.Start),
		"end":     dateTimeTZ(ev.End),
	}
	attendees := []any{}
	seen := map[string]bool{strings.ToLower(c.organizer): true} // the organizer is not invited to their own meeting
	for _, a := range ev.Attendees {
		k := strings.ToLower(strings.TrimSpace(a.Email))
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		typ := "required"
		if a.Optional {
			typ = "optional"
		}
		attendees = append(attendees, map[string]any{"emailAddress": emailAddress(a.Email, a.Name), "type": typ})
	}
	var location any
	if r := ev.Room; r != nil && r.Email != "" {
		if !seen[strings.ToLower(r.Email)] {
			attendees = append(attendees, map[string]any{"emailAddress": emailAddress(r.Email, r.Name), "type": "resource"})
		}
		location = map[string]any{"displayName": r.Location(), "locationEmailAddress": r.Email, "locationType": "conferenceRoom"}
	} else if ev.VideoLink != "" {
		location = map[string]any{"displayName": ev.VideoLink, "locationType": "default"}
	}
	props["attendees"] = attendees
	if location != nil || update {
		props["location"] = location
	}
	if c.online(ev) {
		props["isOnlineMeeting"] = true
		props["onlineMeetingProvider"] = "teamsForBusiness"
	}
	props["singleValueExtendedProperties"] = []any{map[string]any{"id": writtenProperty, "value": writtenOf(ev)}}
	return props
}

func emailAddress(address, name string) map[string]any {
	m := map[string]any{"address": address}
	if name != "" {
		m["name"] = name
	}
	return m
}

// dateTimeTZ is a dateTimeTimeZone in UTC: Outlook shows it in each
// reader's own zone.
func dateTimeTZ(t time.Time) map[string]any {
	return map[string]any{"dateTime": t.UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"}
}

// bodyHTML is the invitation's body: the description (agenda and
// timeline) line by line, then how to join with calendar.Join's labels:
// the video link, each dial-in number as a tel: link that dials the PIN
// too (calendar.TelURI), and the PIN.
func bodyHTML(ev calendar.Event) string {
	var b strings.Builder
	b.WriteString("<html><body>\n")
	desc := strings.TrimRight(strings.ReplaceAll(ev.Description, "\r\n", "\n"), "\n")
	for _, para := range strings.Split(desc, "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		lines := strings.Split(para, "\n")
		for i, l := range lines {
			lines[i] = strings.ReplaceAll(html.EscapeString(l), "  ", "&nbsp; ")
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>\n") + "</p>\n")
	}
	if calendar.Join(ev) != "" {
		join := []string{"Join:"}
		if ev.VideoLink != "" {
			link := html.EscapeString(ev.VideoLink)
			if u, err := url.Parse(ev.VideoLink); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
				link = `<a href="` + html.EscapeString(u.String()) + `">` + link + `</a>`
			}
			join = append(join, "Video: "+link)
		}
		for _, ph := range ev.Phones {
			line := html.EscapeString(ph)
			if uri, ok := calendar.TelURI(ph, ev.PIN); ok {
				line = `<a href="` + html.EscapeString(uri) + `">` + line + `</a>`
			}
			join = append(join, "Phone: "+line)
		}
		if ev.PIN != "" && len(ev.Phones) > 0 {
			join = append(join, "PIN: "+html.EscapeString(ev.PIN))
		}
		b.WriteString("<p>" + strings.Join(join, "<br>\n") + "</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
