package calendar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

func testEvent() Event { return SampleEvent() }

// icalendarPython finds a Python with the icalendar module: Debian's
// python3-icalendar lives in /usr/bin/python3, which a pyenv or venv
// python3 earlier on PATH does not see.
func icalendarPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import icalendar").Run(); err == nil {
			return py
		}
	}
	testenv.Unavailable(t, "calendar: python3-icalendar not installed")
	return ""
}

// pyParse is an independent parser's view of an invite.
const pyParse = `
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
out = {k: str(cal.get(k)) for k in ("METHOD", "PRODID", "VERSION")}
evs = list(cal.walk("VEVENT"))
out["n_events"] = len(evs)
ev = evs[0]
for k in ("UID", "SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "URL"):
    out[k] = str(ev.get(k)) if ev.get(k) is not None else None
out["SEQUENCE"] = int(ev.get("SEQUENCE"))
for k in ("DTSTART", "DTEND", "DTSTAMP"):
    d = ev.decoded(k)
    out[k] = d.isoformat()
    out[k + "_utc"] = d.utcoffset() is not None and d.utcoffset().total_seconds() == 0
org = ev.get("ORGANIZER")
out["ORGANIZER"] = {"value": str(org), "params": dict(org.params)}
atts = ev.get("ATTENDEE")
if not isinstance(atts, list):
    atts = [atts]
out["ATTENDEE"] = [{"value": str(a), "params": dict(a.params)} for a in atts]
json.dump(out, sys.stdout)
`

type pyProp struct {
	Value  string            `json:"value"`
	Params map[string]string `json:"params"`
}

type pyInvite struct {
	Method, Prodid, Version                  string
	NEvents                                  int `json:"n_events"`
	UID, Summary, Description, Location, URL string
	Status                                   string
	Sequence                                 int
	DTStart, DTEnd, DTStamp                  string
	DTStartUTC                               bool `json:"DTSTART_utc"`
	DTEndUTC                                 bool `json:"DTEND_utc"`
	DTStampUTC                               bool `json:"DTSTAMP_utc"`
	Organizer                                pyProp
	Attendee                                 []pyProp
}

func parseWithPython(t *testing.T, py string, ics []byte) pyInvite {
	t.Helper()
	cmd := exec.Command(py, "-c", pyParse)
	cmd.Stdin = bytes.NewReader(ics)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python icalendar rejected the invite: %v\n%s\n%s", err, stderr.String(), ics)
	}
	var got pyInvite
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	return got
}

func TestInviteParsedByPythonIcalendar(t *testing.T) {
	t.Parallel()
	py := icalendarPython(t)
	ev := testEvent()
	ics, err := Invite(ev, MethodRequest)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(ics), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets, over RFC 5545's 75: %q", i+1, len(line), line)
		}
	}
	if !bytes.HasSuffix(ics, []byte("END:VCALENDAR\r\n")) {
		t.Errorf("invite does not end with END:VCALENDAR CRLF")
	}
	got := parseWithPython(t, py, ics)

	want := map[string][2]string{
		"METHOD":      {got.Method, "REQUEST"},
		"PRODID":      {got.Prodid, ProdID},
		"VERSION":     {got.Version, "2.0"},
		"UID":         {got.UID, ev.UID},
		"SUMMARY":     {got.Summary, ev.Summary},
		"DESCRIPTION": {got.Description, ev.Description + "\n\nJoin:\nVideo: " + ev.VideoLink},
		"LOCATION":    {got.Location, "Atlas, HQ, floor 3"},
		"URL":         {got.URL, ev.VideoLink},
		"STATUS":      {got.Status, "CONFIRMED"},
		"DTSTART":     {got.DTStart, "2026-03-10T14:00:00+00:00"},
		"DTEND":       {got.DTEnd, "2026-03-10T15:00:00+00:00"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if got.NEvents != 1 || got.Sequence != 2 {
		t.Errorf("events %d sequence %d, want 1 and 2", got.NEvents, got.Sequence)
	}
	if !got.DTStartUTC || !got.DTEndUTC || !got.DTStampUTC {
		t.Errorf("times not in UTC: start %v end %v stamp %v", got.DTStartUTC, got.DTEndUTC, got.DTStampUTC)
	}
	if got.Organizer.Value != "mailto:facilitator@example.test" || got.Organizer.Params["CN"] != "Fran Facilitator" {
		t.Errorf("ORGANIZER = %+v", got.Organizer)
	}
	atts := map[string]map[string]string{}
	for _, a := range got.Attendee {
		atts[a.Value] = a.Params
	}
	if len(atts) != 3 {
		t.Fatalf("ATTENDEE = %+v, want Ana, Eve and the room (not the organizer)", got.Attendee)
	}
	checkParams := func(addr string, want map[string]string) {
		t.Helper()
		p, ok := atts[addr]
		if !ok {
			t.Errorf("no ATTENDEE %s", addr)
			return
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("ATTENDEE %s %s = %q, want %q", addr, k, p[k], v)
			}
		}
	}
	checkParams("mailto:ana@example.test", map[string]string{"CN": "Ana, SRE", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE", "CUTYPE": "INDIVIDUAL"})
	checkParams("mailto:exec@example.test", map[string]string{"CN": "Eve 'the boss' Exec", "ROLE": "OPT-PARTICIPANT", "RSVP": "TRUE"})
	checkParams("mailto:atlas@resource.example.test", map[string]string{"CN": "Atlas", "CUTYPE": "ROOM", "ROLE": "NON-PARTICIPANT"})
}

// TestInviteCarriesTheBridge: the video link and the dial-in reach every
// client three ways: LOCATION (no room) and URL, RFC 7986 CONFERENCE
// properties for clients that offer a join button, and the description's
// "Join:" block that every client shows.
func TestInviteCarriesTheBridge(t *testing.T) {
	t.Parallel()
	ev := testEvent()
	ev.Room = nil
	ev.Phones = []string{"+1 555 0100", "+44 (20) 7946-0000", "0800 123 456"}
	ev.PIN = "4711#"
	ics, err := Invite(ev, MethodRequest)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(ics), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets, over RFC 5545's 75: %q", i+1, len(line), line)
		}
	}
	cal, err := Decode(bytes.NewReader(ics))
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, ics)
	}
	vev := cal.Events()[0]
	text := func(name string) string {
		t.Helper()
		v, err := vev.Props.Text(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	if got := text("LOCATION"); got != ev.VideoLink {
		t.Errorf("LOCATION = %q, want the video link when there is no room", got)
	}
	if p := vev.Props.Get("URL"); p == nil || p.Value != ev.VideoLink {
		t.Errorf("URL = %+v", p)
	}
	wantJoin := "Join:\nVideo: https://meet.example.test/abc-defg-hij\nPhone: +1 555 0100\nPhone: +44 (20) 7946-0000\nPhone: 0800 123 456\nPIN: 4711#"
	if got := text("DESCRIPTION"); got != ev.Description+"\n\n"+wantJoin {
		t.Errorf("DESCRIPTION ends %q, want the agenda then\n%s", got[max(0, len(got)-len(wantJoin)-10):], wantJoin)
	}
	type conf struct{ uri, value, feature, label string }
	var got []conf
	for _, p := range vev.Props.Values("CONFERENCE") {
		got = append(got, conf{p.Value, p.Params.Get("VALUE"), strings.Join(p.Params["FEATURE"], ","), p.Params.Get("LABEL")})
	}
	want := []conf{
		{"https://meet.example.test/abc-defg-hij", "URI", "AUDIO,VIDEO", "Video call"},
		{"tel:+1-555-0100,,4711%23", "URI", "PHONE", "Dial-in +1 555 0100 (PIN 4711#)"},
		{"tel:+44-20-7946-0000,,4711%23", "URI", "PHONE", "Dial-in +44 (20) 7946-0000 (PIN 4711#)"},
		// 0800 123 456 is not global: no tel: URI, the description has it.
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CONFERENCE\n got %v\nwant %v", got, want)
	}
	if py := icalendarPython(t); py != "" {
		if inv := parseWithPython(t, py, ics); inv.Location != ev.VideoLink || !strings.HasSuffix(inv.Description, wantJoin) {
			t.Errorf("python-icalendar reads LOCATION %q, DESCRIPTION ending %q", inv.Location, inv.Description[max(0, len(inv.Description)-80):])
		}
	}
}

func TestTelURI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ phone, pin, want string }{
		{"+1 555 0100", "", "tel:+1-555-0100"},
		{"+15550100", "4711#", "tel:+15550100,,4711%23"},
		{" +49 30 1234-56 ", "12 34 56", "tel:+49-30-1234-56,,123456"},
		{"+1 555 0100", "ask the lead", "tel:+1-555-0100"},
		{"555 0100", "", ""},
		{"+1 555 CALL", "", ""},
		{"+", "", ""},
	} {
		got, ok := TelURI(c.phone, c.pin)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("TelURI(%q, %q) = %q, %v; want %q", c.phone, c.pin, got, ok, c.want)
		}
	}
}

func TestInviteCancel(t *testing.T) {
	t.Parallel()
	py := icalendarPython(t)
	ev := testEvent()
	ev.Sequence = 3
	ics, err := Invite(ev, MethodCancel)
	if err != nil {
		t.Fatal(err)
	}
	got := parseWithPython(t, py, ics)
	if got.Method != "CANCEL" || got.Status != "CANCELLED" || got.Sequence != 3 || got.UID != ev.UID {
		t.Errorf("cancel: method %q status %q sequence %d uid %q", got.Method, got.Status, got.Sequence, got.UID)
	}
	if len(got.Attendee) != 3 {
		t.Errorf("cancel names %d attendees, want all 3 (RFC 5546 3.2.5)", len(got.Attendee))
	}
}

func TestInviteRejects(t *testing.T) {
	t.Parallel()
	ev := testEvent()
	if _, err := Invite(ev, "PUBLISH"); err == nil {
		t.Error("method PUBLISH accepted")
	}
	bad := ev
	bad.End = bad.Start
	if _, err := Invite(bad, MethodRequest); err == nil {
		t.Error("zero-length event accepted")
	}
	bad = ev
	bad.UID = ""
	if _, err := Invite(bad, MethodRequest); err == nil {
		t.Error("event without UID accepted")
	}
}

// pyReply writes the REPLY a mail client sends when Ana accepts.
const pyReply = `
import sys, datetime, icalendar
cal = icalendar.Calendar()
cal.add("prodid", "-//Some Mail Client//EN")
cal.add("version", "2.0")
cal.add("method", "REPLY")
ev = icalendar.Event()
ev.add("uid", sys.argv[1])
ev.add("sequence", int(sys.argv[2]))
ev.add("dtstamp", datetime.datetime(2026, 3, 9, 12, 0, tzinfo=datetime.timezone.utc))
ev.add("dtstart", datetime.datetime(2026, 3, 10, 14, 0, tzinfo=datetime.timezone.utc))
a = icalendar.vCalAddress("MAILTO:ana@example.test")
a.params["PARTSTAT"] = icalendar.vText("ACCEPTED")
a.params["CN"] = icalendar.vText("Ana, SRE")
ev.add("attendee", a)
ev.add("organizer", icalendar.vCalAddress("mailto:facilitator@example.test"))
cal.add_component(ev)
sys.stdout.buffer.write(cal.to_ical())
`

func TestParseReplyFromPythonIcalendar(t *testing.T) {
	t.Parallel()
	py := icalendarPython(t)
	ev := testEvent()
	out, err := exec.Command(py, "-c", pyReply, ev.UID, "2").Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	r, err := ParseReply(out)
	if err != nil {
		t.Fatalf("ParseReply: %v\n%s", err, out)
	}
	want := Reply{UID: ev.UID, Sequence: 2, Attendee: "ana@example.test", PartStat: "ACCEPTED"}
	if r != want {
		t.Errorf("reply = %+v, want %+v", r, want)
	}
}

func TestParseReplyRejects(t *testing.T) {
	t.Parallel()
	req, err := Invite(testEvent(), MethodRequest)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"a REQUEST":    req,
		"not calendar": []byte("hello"),
		"two attendees": []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n" +
			"ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@x\r\nATTENDEE;PARTSTAT=DECLINED:mailto:b@x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
	} {
		if _, err := ParseReply(in); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u\r\nSEQUENCE:1\r\nDTSTAMP:20260101T000000Z\r\n" +
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseReply(in)
		if err == nil && r.UID == "" {
			t.Errorf("accepted a reply without UID")
		}
	})
}

func TestFoldKeepsUTF8(t *testing.T) {
	t.Parallel()
	line := "DESCRIPTION:" + strings.Repeat("é", 100) + "\r\n"
	got := fold([]byte(line))
	for _, l := range strings.Split(strings.TrimSuffix(string(got), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("folded line of %d octets", len(l))
		}
		if !strings.HasPrefix(l, "DESCRIPTION") && !strings.HasPrefix(l, " ") {
			t.Errorf("continuation %q does not start with a space", l)
		}
	}
	unfolded := strings.ReplaceAll(string(got), "\r\n ", "")
	if unfolded != line {
		t.Errorf("unfolding does not give the line back")
	}
}

func TestIMIPSendsRequestsAndCancel(t *testing.T) {
	t.Parallel()
	ev := testEvent()
	type sent struct {
		method string
		seq    int
		ics    string
	}
	var log []sent
	m := &IMIP{Mail: inviteLog{
		send: func(e Event, method string, ics []byte) { log = append(log, sent{method, e.Sequence, string(ics)}) },
		ev:   ev,
	}}
	ctx := context.Background()
	b, err := m.Book(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	moved := ev
	moved.Start = moved.Start.Add(24 * time.Hour)
	moved.End = moved.End.Add(24 * time.Hour)
	b2, err := m.Reschedule(ctx, *b, moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Cancel(ctx, *b2); err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].method != MethodRequest || log[1].method != MethodRequest || log[2].method != MethodCancel {
		t.Fatalf("sent %+v", log)
	}
	if !(log[0].seq < log[1].seq && log[1].seq < log[2].seq) {
		t.Errorf("sequences %d, %d, %d do not rise", log[0].seq, log[1].seq, log[2].seq)
	}
	if !strings.Contains(log[1].ics, "DTSTART:20260311T140000Z") {
		t.Errorf("reschedule does not carry the new start:\n%s", log[1].ics)
	}
	if !strings.Contains(log[2].ics, "STATUS:CANCELLED") {
		t.Errorf("cancel is not CANCELLED")
	}
}

// inviteLog is an InviteMail that notes what would be sent and knows one
// booked event.
type inviteLog struct {
	send func(ev Event, method string, ics []byte)
	ev   Event
}

func (l inviteLog) SendInvite(_ context.Context, ev Event, method string, ics []byte) error {
	l.send(ev, method, ics)
	return nil
}

func (l inviteLog) EventByUID(context.Context, string) (Event, error) { return l.ev, nil }

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		" 5 ":                           5 * time.Second,
		"-3":                            0,
		"Tue, 10 Mar 2026 14:02:00 GMT": 2 * time.Minute,
		"Tue, 10 Mar 2026 13:00:00 GMT": 0,
		"soon":                          0,
	} {
		if got := ParseRetryAfter(v, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
