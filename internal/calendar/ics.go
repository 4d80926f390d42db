package calendar

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// iTIP methods (RFC 5546 1.4) that sitrep sends or reads.
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
	MethodReply   = "REPLY"
)

// ProdID names sitrep as the product that wrote a calendar (RFC 5545 3.7.3).
const ProdID = "-//sitrep//sitrep post-mortem//EN"

// Invite writes the iCalendar object of an iMIP invitation (RFC 6047) for ev:
// method REQUEST books or updates it, CANCEL cancels it (RFC 5546 3.2.2,
// 3.2.5). Attendees' clients match updates by UID and keep the highest
// SEQUENCE, so the caller bumps ev.Sequence on every change it sends.
func Invite(ev Event, method string) ([]byte, error) {
	if method != MethodRequest && method != MethodCancel {
		return nil, fmt.Errorf("calendar: invite: method %q is not REQUEST or CANCEL", method)
	}
	cal, err := VCalendar(ev, method, time.Now())
	if err != nil {
		return nil, err
	}
	return Encode(cal)
}

// VCalendar builds the VCALENDAR for ev. An empty method leaves METHOD out,
// as a CalDAV calendar object resource must (RFC 4791 4.1).
func VCalendar(ev Event, method string, now time.Time) (*ical.Calendar, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, ProdID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	if method != "" {
		cal.Props.SetText(ical.PropMethod, method)
	}

	vev := ical.NewEvent()
	vev.Props.SetText(ical.PropUID, ev.UID)
	setInt(vev.Props, ical.PropSequence, ev.Sequence)
	// Times in UTC: no VTIMEZONE to get wrong; every client shows them in
	// the reader's own zone (RFC 5545 3.3.5, form #2).
	vev.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC().Truncate(time.Second))
	vev.Props.SetDateTime(ical.PropDateTimeStart, ev.Start.UTC())
	vev.Props.SetDateTime(ical.PropDateTimeEnd, ev.End.UTC())
	if ev.Summary != "" {
		vev.Props.SetText(ical.PropSummary, ev.Summary)
	}
	if desc := Description(ev); desc != "" {
		vev.Props.SetText(ical.PropDescription, desc)
	}
	if loc := Location(ev); loc != "" {
		vev.Props.SetText(ical.PropLocation, loc)
	}
	if ev.VideoLink != "" {
		p := ical.NewProp(ical.PropURL)
		p.Value = ev.VideoLink // URI value: no text escaping (RFC 5545 3.3.13)
		vev.Props.Set(p)
	}
	for _, p := range conferenceProps(ev) {
		vev.Props.Add(p)
	}
	status := ical.EventConfirmed
	if method == MethodCancel {
		status = ical.EventCancelled // RFC 5546 3.2.5
	}
	vev.SetStatus(status)

	org := ical.NewProp(ical.PropOrganizer)
	org.Value = mailto(ev.Organizer.Email)
	if ev.Organizer.Name != "" {
		org.Params.Set(ical.ParamCommonName, paramValue(ev.Organizer.Name))
	}
	vev.Props.Add(org)

	for _, a := range ev.Attendees {
		if strings.EqualFold(a.Email, ev.Organizer.Email) {
			continue // the organizer is not invited to their own meeting
		}
		role := "REQ-PARTICIPANT"
		if a.Optional {
			role = "OPT-PARTICIPANT"
		}
		vev.Props.Add(attendeeProp(a.Email, a.Name, "INDIVIDUAL", role))
	}
	if ev.Room != nil && ev.Room.Email != "" {
		// A room attends without taking part (RFC 5545 3.2.3, 3.2.16).
		vev.Props.Add(attendeeProp(ev.Room.Email, ev.Room.Name, "ROOM", "NON-PARTICIPANT"))
	}
	cal.Children = append(cal.Children, vev.Component)
	return cal, nil
}

func attendeeProp(email, name, cutype, role string) *ical.Prop {
	p := ical.NewProp(ical.PropAttendee)
	p.Value = mailto(email)
	if name != "" {
		p.Params.Set(ical.ParamCommonName, paramValue(name))
	}
	p.Params.Set(ical.ParamCalendarUserType, cutype)
	p.Params.Set(ical.ParamRole, role)
	p.Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
	p.Params.Set(ical.ParamRSVP, "TRUE")
	return p
}

// Location is where the event takes place, as LOCATION says it: the room
// when there is one, else the video link, which calendar clients turn into
// a link to click ("Join") where the location is a URL.
func Location(ev Event) string {
	if ev.Room != nil {
		return ev.Room.Location()
	}
	return ev.VideoLink
}

// Description is the event's text with the "Join:" block after it: the
// video link, each dial-in number and the PIN. Every client shows
// DESCRIPTION, so this is where people who join by telephone find the
// numbers whatever their client makes of CONFERENCE (Outlook and Google
// ignore it) or of a location that is a room.
func Description(ev Event) string {
	join := Join(ev)
	switch {
	case join == "":
		return ev.Description
	case ev.Description == "":
		return join
	}
	return strings.TrimRight(ev.Description, "\n") + "\n\n" + join
}

// Join is how to join the call, for a description: "" when the event has
// no video link and no dial-in numbers. The labels are English, as the
// phone numbers' and the link's own text is whatever language: a
// description is one text for every attendee.
func Join(ev Event) string {
	if ev.VideoLink == "" && len(ev.Phones) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Join:\n")
	if ev.VideoLink != "" {
		b.WriteString("Video: " + ev.VideoLink + "\n")
	}
	for _, ph := range ev.Phones {
		b.WriteString("Phone: " + ph + "\n")
	}
	if ev.PIN != "" && len(ev.Phones) > 0 {
		b.WriteString("PIN: " + ev.PIN + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// conferenceProps are RFC 7986 5.11 CONFERENCE properties: the video link,
// and a tel: URI (RFC 3966) for each dial-in number that is written in the
// global form ("+1 555 0100"; a local number would need a phone-context
// nobody configured, so it stays in the description only). The PIN rides
// in the URI after pauses, as RFC 7986's own example dials "tel:
// +1-412-555-0123,,,654321" and phones dial a comma as a pause; the label
// says it for people too.
func conferenceProps(ev Event) []*ical.Prop {
	var out []*ical.Prop
	conf := func(uri, label string, features ...string) {
		p := ical.NewProp("CONFERENCE")
		p.Value = uri
		p.Params.Set(ical.ParamValue, string(ical.ValueURI))
		p.Params["FEATURE"] = features
		p.Params.Set("LABEL", paramValue(label))
		out = append(out, p)
	}
	if ev.VideoLink != "" {
		conf(ev.VideoLink, "Video call", "AUDIO", "VIDEO")
	}
	for _, ph := range ev.Phones {
		uri, ok := TelURI(ph, ev.PIN)
		if !ok {
			continue
		}
		label := "Dial-in " + ph
		if ev.PIN != "" {
			label += " (PIN " + ev.PIN + ")"
		}
		conf(uri, label, "PHONE")
	}
	return out
}

// TelURI writes a dial-in number as a tel: URI (RFC 3966 3): the global
// number with its spaces as visual separators ("-"), then, when there is
// a PIN, two pauses and the PIN, its "#" escaped (a bare "#" would start
// a URI fragment, RFC 3966 5.1.5). ok is false for a number not in the
// global "+..." form, or with characters a telephone number has none of.
func TelURI(phone, pin string) (uri string, ok bool) {
	num := strings.TrimSpace(phone)
	if !strings.HasPrefix(num, "+") {
		return "", false
	}
	var b strings.Builder
	b.WriteString("tel:+")
	digits := 0
	sep := false
	for _, r := range num[1:] {
		switch {
		case r >= '0' && r <= '9':
			if sep && digits > 0 {
				b.WriteByte('-')
			}
			sep = false
			b.WriteRune(r)
			digits++
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
			sep = true
		default:
			return "", false
		}
	}
	if digits == 0 {
		return "", false
	}
	if dial, ok := dialPIN(pin); ok && dial != "" {
		b.WriteString(",," + dial)
	}
	return b.String(), true
}

// dialPIN is the PIN as keypad presses in a URI: digits, "*" and "#" (as
// %23); spaces and dashes people write in it dropped. A PIN with anything
// else is not for a keypad: ok is false, and the URI dials the number alone.
func dialPIN(pin string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(pin) {
		switch {
		case r >= '0' && r <= '9', r == '*':
			b.WriteRune(r)
		case r == '#':
			b.WriteString("%23")
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	return b.String(), true
}

func setInt(props ical.Props, name string, v int) {
	p := ical.NewProp(name)
	p.Value = strconv.Itoa(v)
	props.Set(p)
}

func mailto(email string) string { return "mailto:" + email }

// paramValue makes s safe as a parameter value: RFC 5545 3.1 allows no
// DQUOTE or control characters in one (go-ical quotes ",;:" itself).
func paramValue(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
}

// Encode writes cal and folds its lines.
func Encode(cal *ical.Calendar) ([]byte, error) {
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("calendar: encode: %w", err)
	}
	return fold(buf.Bytes()), nil
}

// fold breaks content lines longer than 75 octets with CRLF and a space,
// never inside a UTF-8 sequence (RFC 5545 3.1). go-ical writes them unfolded.
func fold(b []byte) []byte {
	const max = 75
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\r\n")) {
		body := bytes.TrimSuffix(line, []byte("\r\n"))
		limit := max
		for len(body) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(body[cut]) {
				cut--
			}
			out.Write(body[:cut])
			out.WriteString("\r\n ")
			body = body[cut:]
			limit = max - 1 // the leading space counts
		}
		out.Write(body)
		if len(line) != len(body) {
			out.WriteString("\r\n")
		}
	}
	return out.Bytes()
}

// Reply is an attendee's answer to an invitation (RFC 5546 3.2.3).
type Reply struct {
	UID      string
	Sequence int
	Attendee string // address, without "mailto:"
	PartStat string // ACCEPTED, DECLINED, TENTATIVE, DELEGATED (RFC 5545 3.2.12)
}

// ParseReply reads a METHOD:REPLY iCalendar object, as mail clients send back
// when someone answers an invitation.
func ParseReply(ics []byte) (Reply, error) {
	cal, err := Decode(bytes.NewReader(ics))
	if err != nil {
		return Reply{}, errs.E(errs.Invalid, "calendar reply: not iCalendar: %v", err)
	}
	if m, _ := cal.Props.Text(ical.PropMethod); !strings.EqualFold(m, MethodReply) {
		return Reply{}, errs.E(errs.Invalid, "calendar reply: METHOD is %q, not REPLY", m)
	}
	events := cal.Events()
	if len(events) == 0 {
		return Reply{}, errs.E(errs.Invalid, "calendar reply: no VEVENT")
	}
	vev := events[0]
	var r Reply
	if r.UID, err = vev.Props.Text(ical.PropUID); err != nil || r.UID == "" {
		return Reply{}, errs.E(errs.Invalid, "calendar reply: no UID")
	}
	if p := vev.Props.Get(ical.PropSequence); p != nil {
		if r.Sequence, err = p.Int(); err != nil {
			return Reply{}, errs.E(errs.Invalid, "calendar reply: SEQUENCE %q: %v", p.Value, err)
		}
	}
	// RFC 5546 3.2.3: a REPLY carries exactly the one replying ATTENDEE.
	atts := vev.Props.Values(ical.PropAttendee)
	if len(atts) != 1 {
		return Reply{}, errs.E(errs.Invalid, "calendar reply: %d ATTENDEE properties, want 1", len(atts))
	}
	r.Attendee = strings.TrimSpace(atts[0].Value)
	if len(r.Attendee) >= 7 && strings.EqualFold(r.Attendee[:7], "mailto:") {
		r.Attendee = r.Attendee[7:]
	}
	r.PartStat = strings.ToUpper(atts[0].Params.Get(ical.ParamParticipationStatus))
	if r.PartStat == "" {
		r.PartStat = "NEEDS-ACTION" // RFC 5545 3.2.12 default
	}
	return r, nil
}

// Decode reads one iCalendar object. go-ical's decoder panics on some
// malformed content lines (found by FuzzParseReply: "0;0="); replies come
// from strangers' mail, so a panic becomes an error.
func Decode(r io.Reader) (cal *ical.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("malformed iCalendar (%v)", p)
		}
	}()
	return ical.NewDecoder(r).Decode()
}
