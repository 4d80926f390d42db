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
// Exchange also changes the organizer's copy when it records an
// attendee's answer, and with it the ETag (graphfake models this): once
// anyone has answered, the booked ETag is stale and the caller meets
// ErrChanged; a booking with no ETag is updated unconditionally.
func (c *Calendar) Reschedule(ctx context.Context, b calendar.Booking, ev calendar.Event) (*calendar.Booking, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	var got graphEvent
	err := c.do(ctx, request{method: http.MethodPatch, path: c.eventPath(b.ID, ""), body: c.eventProps(ev, true), ifMatch: b.ETag}, &got)
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

// bodyHTML is the invitation's body: the description (agenda and timeline)
// line by line, then how to join: the video link, the dial-in numbers
// (each a tel: link that dials the PIN too) and the PIN.
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
	var join []string
	if ev.VideoLink != "" {
		link := html.EscapeString(ev.VideoLink)
		if u, err := url.Parse(ev.VideoLink); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			link = `<a href="` + html.EscapeString(u.String()) + `">` + link + `</a>`
		}
		join = append(join, "Join: "+link)
	}
	if len(ev.Phones) > 0 {
		var phones []string
		for _, p := range ev.Phones {
			phones = append(phones, telLink(p, ev.PIN))
		}
		join = append(join, "Dial in: "+strings.Join(phones, ", "))
	}
	if ev.PIN != "" {
		join = append(join, "PIN: "+html.EscapeString(ev.PIN))
	}
	if len(join) > 0 {
		b.WriteString("<p>" + strings.Join(join, "<br>\n") + "</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// telLink is a phone number as a tel: link (RFC 3966) that, on a phone,
// waits and dials the PIN too: "+1 555 0100" → tel:+15550100,,123456#.
func telLink(phone, pin string) string {
	digits := func(s string, plus bool) string {
		var d strings.Builder
		for i, r := range s {
			if r >= '0' && r <= '9' || plus && r == '+' && i == strings.IndexFunc(s, func(r rune) bool { return r != ' ' }) {
				d.WriteRune(r)
			}
		}
		return d.String()
	}
	number := digits(phone, true)
	if strings.Trim(number, "+") == "" {
		return html.EscapeString(phone)
	}
	tel := "tel:" + number
	if p := digits(pin, false); p != "" {
		tel += ",," + p + "#"
	}
	return `<a href="` + html.EscapeString(tel) + `">` + html.EscapeString(phone) + `</a>`
}
