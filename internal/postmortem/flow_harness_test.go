package postmortem_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// captured is one SMTP transaction the fake sender took.
type captured struct {
	to  []string
	raw []byte
}

// captureSender accepts every recipient and keeps the messages.
type captureSender struct {
	mu   sync.Mutex
	msgs []captured
}

func (c *captureSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, captured{to: append([]string{}, to...), raw: append([]byte{}, msg...)})
	return make([]error, len(to)), nil
}

func (c *captureSender) Concurrency() int { return 2 }

// to lists the messages to one address whose subject contains want.
func (c *captureSender) to(addr, want string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, m := range c.msgs {
		for _, r := range m.to {
			if strings.EqualFold(r, addr) && strings.Contains(subjectOf(m.raw), want) {
				out = append(out, m.raw)
			}
		}
	}
	return out
}

func subjectOf(raw []byte) string {
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil && e == nil {
		return ""
	}
	s, _ := e.Header.Text("Subject")
	return s
}

// calendarPart returns the text/calendar part of a message and its method.
func calendarPart(t *testing.T, raw []byte) ([]byte, string) {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil && e == nil {
		t.Fatalf("parse message: %v", err)
	}
	var ics []byte
	var method string
	_ = e.Walk(func(path []int, p *gomessage.Entity, err error) error {
		if err != nil {
			return err
		}
		ct, params, _ := p.Header.ContentType()
		if ct == "text/calendar" && ics == nil {
			ics, _ = io.ReadAll(p.Body)
			method = params["method"]
		}
		return nil
	})
	if ics == nil {
		t.Fatalf("no text/calendar part in:\n%s", raw)
	}
	return ics, method
}

// The organisation: the comms lead in New York facilitates, the incident
// lead and a responder are in Berlin, product and customer service are
// ancillary, the exec team optional.
const domain = "example.test"

func org() string {
	people := []struct{ local, name, zone, roles, team string }{
		{"vp", "Vera Price", "America/New_York", "[comms-lead]", "engineering"},
		{"lead", "Lars Eder", "Europe/Berlin", "[incident-lead]", "sre"},
		{"r1", "Rita Weber", "Europe/Berlin", "", "payments"},
		{"r2", "Ron Stone", "America/New_York", "", "payments"},
		{"pm1", "Paula Marsh", "America/New_York", "", "product"},
		{"cs1", "Carl Sims", "", "", "support"},
		{"ceo", "Cora Ellis", "America/New_York", "", "exec"},
		{"owner", "Olga Nunez", "Europe/Berlin", "", "sre"},
		{"fac", "Fay Adler", "Europe/Berlin", "[facilitator]", "sre"},
	}
	var b strings.Builder
	b.WriteString("organization: Test Org\npeople:\n")
	for _, p := range people {
		fmt.Fprintf(&b, "  - email: %s@%s\n    name: %s\n    team: %s\n", p.local, domain, p.name, p.team)
		if p.zone != "" {
			fmt.Fprintf(&b, "    time_zone: %s\n", p.zone)
		}
		if p.roles != "" {
			fmt.Fprintf(&b, "    roles: %s\n", p.roles)
		}
		if p.local == "owner" {
			b.WriteString("    github: olga-n\n") // the backlog assigns her issues to it
		}
	}
	b.WriteString(`groups:
  - name: product
    members: [pm1@example.test]
  - name: customer-service
    time_zone: Europe/Berlin
    members: [cs1@example.test]
  - name: exec
    members: [ceo@example.test]
escalations:
  - system: checkout
    responders: [r1@example.test, r2@example.test]
`)
	return b.String()
}

// rooms: Atlas is the smallest whiteboard room that seats the seven.
var rooms = []calendar.Room{
	{Email: "hall@example.test", Name: "Hall", Building: "HQ", Capacity: 40},
	{Email: "nook@example.test", Name: "Nook", Building: "HQ", Capacity: 4, Features: []string{"Whiteboard"}},
	{Email: "atlas@example.test", Name: "Atlas", Building: "HQ", Floor: "3", Capacity: 12, Features: []string{"Whiteboard", "Video"}},
}

type harness struct {
	db        *store.DB
	dir       *directory.Store
	incidents *incident.Service
	outbox    *outbox.Outbox
	comms     *incident.Comms
	svc       *postmortem.Service
	clock     *clock
	sent      *captureSender
}

type options struct {
	smtpAddr string                                      // real SMTP; "" = the capturing sender
	backend  func(h *harness) (calendar.Backend, string) // nil = iMIP
	settings func(*postmortem.Settings)
}

// resolvedAt is a Friday afternoon; Monday is a holiday, so the window of
// one to two business days is Tuesday and Wednesday.
var resolvedAt = time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{db: storetest.Open(t), clock: &clock{t: resolvedAt.Add(-2 * time.Hour)}, sent: &captureSender{}}
	h.dir = &directory.Store{DB: h.db}
	if _, err := h.dir.SyncFile(ctx, []byte(org()), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	h.incidents = &incident.Service{DB: h.db, People: h.dir, Now: h.clock.Now, DueSoon: 10 * time.Minute}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(h.db)
	if err != nil {
		t.Fatal(err)
	}
	var sender outbox.Sender = h.sent
	if o.smtpAddr != "" {
		host, port, _ := net.SplitHostPort(o.smtpAddr)
		p, _ := strconv.Atoi(port)
		pool, err := outbox.NewPool(outbox.SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 2, Timeout: 10 * time.Second, HELO: "sitrep.test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		sender = pool
	}
	h.outbox = &outbox.Outbox{
		DB: h.db, Jobs: ins, Renderer: renderer, Directory: h.dir, Now: h.clock.Now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
		Sender: sender, BatchSize: 10,
		Lease: 5 * time.Second, MaxAttempts: 3,
	}
	h.comms = &incident.Comms{DB: h.db, Incidents: h.incidents, Directory: h.dir, Mail: h.outbox, Now: h.clock.Now, ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute,
		Messages: h.outbox, QuestionLog: &reply.Service{DB: h.db}} // the scorecard, for the pre-read's communication facts
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, h.comms)
	settings := postmortem.Settings{OptionalGroups: []string{"exec"}, Holidays: []string{"2026-03-09"}, Building: "HQ"}
	if o.settings != nil {
		o.settings(&settings)
	}
	h.svc = &postmortem.Service{DB: h.db, Incidents: h.incidents, Mail: h.outbox, Comms: h.comms, Directory: h.dir, Jobs: ins,
		Rooms: calendar.StaticRooms(rooms), Settings: settings, Now: h.clock.Now}
	if o.backend != nil {
		h.svc.Backend, h.svc.BackendName = o.backend(h)
	} else {
		h.svc.Backend, h.svc.BackendName = h.svc.IMIP(), "imip"
	}

	workers := river.NewWorkers()
	h.outbox.Register(workers)
	h.svc.Register(workers)
	worker, err := jobs.NewWorker(h.db, jobs.Config{Workers: workers, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		worker.Stop(c)
	})
	return h
}

// resolved declares INC-1 on checkout (the heads-up pages r1 and r2) and
// resolves it at resolvedAt.
func (h *harness) resolved(t *testing.T) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "vp@example.test", incident.DeclareInput{Title: "Checkout unavailable", Severity: "SEV1",
		Scope: incident.Scope{DetectedVia: "monitoring", Systems: []string{"checkout"}},
		Roles: incident.Roles{IncidentLead: "lead@example.test", CommsLead: "vp@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Set(resolvedAt)
	if inc, err = h.incidents.Transition(ctx, "lead@example.test", inc.Ref, incident.Resolved, "rolled back"); err != nil {
		t.Fatal(err)
	}
	return inc
}

// waitState waits for the booking job to leave the booking state.
func (h *harness) waitState(t *testing.T, ref, want string) *postmortem.Postmortem {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pm, err := h.svc.Get(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if pm.State == want {
			return pm
		}
		if time.Now().After(deadline) {
			t.Fatalf("post-mortem state %s (error %q), want %s", pm.State, pm.BookingError, want)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (h *harness) inTx(t *testing.T, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := h.db.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// pyInvite is an independent parser's (python3-icalendar's) view of an
// invitation.
type pyInvite struct {
	Method, UID, Status, Summary, Description, Location string
	Sequence                                            int
	DTStart                                             string
	Organizer                                           struct {
		Value  string            `json:"value"`
		Params map[string]string `json:"params"`
	}
	Attendee []struct {
		Value  string            `json:"value"`
		Params map[string]string `json:"params"`
	}
}

const pyParse = `
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
ev = list(cal.walk("VEVENT"))[0]
out = {"Method": str(cal.get("METHOD"))}
for k in ("UID", "STATUS", "SUMMARY", "DESCRIPTION", "LOCATION"):
    out[k.capitalize()] = str(ev.get(k)) if ev.get(k) is not None else ""
out["Sequence"] = int(ev.get("SEQUENCE"))
out["DTStart"] = ev.decoded("DTSTART").isoformat()
org = ev.get("ORGANIZER")
out["Organizer"] = {"value": str(org), "params": dict(org.params)}
atts = ev.get("ATTENDEE")
if not isinstance(atts, list):
    atts = [atts]
out["Attendee"] = [{"value": str(a), "params": dict(a.params)} for a in atts]
json.dump(out, sys.stdout)
`

func parseWithPython(t *testing.T, ics []byte) pyInvite {
	t.Helper()
	py := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import icalendar").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		testenv.Unavailable(t, "postmortem: python3-icalendar not installed")
		return pyInvite{}
	}
	cmd := exec.Command(py, "-c", pyParse)
	cmd.Stdin = bytes.NewReader(ics)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-icalendar rejected the invitation: %v\n%s\n%s", err, stderr.String(), ics)
	}
	var inv pyInvite
	if err := json.Unmarshal(out, &inv); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	return inv
}

func (inv pyInvite) attendee(email string) (map[string]string, bool) {
	for _, a := range inv.Attendee {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(a.Value), "mailto:"), email) {
			return a.Params, true
		}
	}
	return nil, false
}
