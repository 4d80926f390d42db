package postmortem_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/caldav"
	"github.com/sitrep-dev/sitrep/internal/calendar/google"
	"github.com/sitrep-dev/sitrep/internal/calendar/googlefake"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// What only the incident's leads may read, and what each attendee of the
// post-mortem must not find in the invitation, its calendar event or the
// timeline sent before the meeting (issue 17).
const (
	boardQuestion  = "Should we tell the board? BOARDQ-5d1e"
	reporterAddr   = "zed.quinn.7731@customer-mail.test"
	reporterName   = "Zed Quinn"
	reporterWords  = "PRIVREPORT-44af my daughter's birthday order"
	reporterPlace  = "Tórshavn"
	reporterAnswer = "PRIVCONF-2b9c"
)

// Responders and the incident lead, by name: the guide's post-mortem uses
// roles and teams. (Vera Price facilitates, and is named as such.)
var responderNames = []string{"Rita Weber", "Ron Stone", "Lars Eder"}

// forbidden lists every string no attendee-facing text may hold.
func forbidden() []string {
	return append([]string{"BOARDQ-5d1e", "tell the board", reporterAddr, "zed.quinn.7731", reporterName, "PRIVREPORT-44af",
		"birthday", reporterPlace, reporterAnswer}, responderNames...)
}

// answers is the inbox's record of what became of each message.
type answers struct {
	mu  sync.Mutex
	out map[int64]mailmsg.Outcome
}

func (a *answers) Finish(_ context.Context, _ *sql.Tx, id int64, out mailmsg.Outcome) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, done := a.out[id]; done {
		return mailmsg.ErrAlreadyDone
	}
	a.out[id] = out
	return nil
}

// receive hands a message to the reply use case as the inbox would.
func receive(t *testing.T, svc *reply.Service, id int64, raw string) {
	t.Helper()
	m, err := mailmsg.Parse([]byte(strings.ReplaceAll(raw, "\n", "\r\n")), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := mailmsg.Outcome{Class: string(mailmsg.Classify(m)), Sender: strings.ToLower(m.From.Email), SenderName: m.From.Name,
		Subject: m.Subject, NewText: m.NewText}
	if err := svc.Handle(context.Background(), &mailmsg.Received{ID: id, Message: m, Outcome: out}); err != nil {
		t.Fatal(err)
	}
}

// privateIncident plays an incident whose timeline holds what the
// attendees must not read: the heads-up names the paged responders, a
// reporter with a distinctive address reports in their own words, the
// CEO asks the comms lead a question by mail, the incident lead's note
// names a responder, and the reporter confirms the fix in their words.
// Then it is resolved and its post-mortem booked.
func privateIncident(t *testing.T, h *harness) (*incident.Incident, *postmortem.Postmortem) {
	t.Helper()
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "vp@example.test", incident.DeclareInput{Title: "Checkout unavailable", Severity: "SEV1",
		Scope: incident.Scope{DetectedVia: "monitoring", Systems: []string{"checkout"}},
		Roles: incident.Roles{IncidentLead: "lead@example.test", CommsLead: "vp@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.incidents.AddReport(ctx, h.db, "vp@example.test", inc.Ref, incident.ReportInput{Email: reporterAddr, Name: reporterName,
		Location: reporterPlace, Observed: "The payment page spins forever: " + reporterWords, Channel: "email"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{
		Status: "Payments fail at checkout; we are rolling back the last release.", Groups: []string{"product"}}); err != nil {
		t.Fatal(err)
	}
	replies := &reply.Service{DB: h.db, Incidents: h.incidents, Comms: h.comms, Mail: h.outbox, Directory: h.dir,
		Inbox: &answers{out: map[int64]mailmsg.Outcome{}}, Now: h.clock.Now, LocalPart: "status"}
	res := &resolution.Service{DB: h.db, Incidents: h.incidents, Mail: h.outbox, Comms: h.comms, Directory: h.dir, Now: h.clock.Now}
	replies.Resolution = res
	receive(t, replies, 1, "From: Cora Ellis <ceo@example.test>\nTo: "+h.comms.ReplyTo(inc)+
		"\nSubject: Re: [INC-1] Checkout unavailable\nMessage-ID: <q1@example.test>\nDate: Fri, 6 Mar 2026 14:00:00 +0000\n"+
		"Content-Type: text/plain; charset=utf-8\n\n"+boardQuestion+"\n")
	if _, err := h.incidents.AddNote(ctx, "lead@example.test", inc.Ref, "Rita Weber rolled back release 2026.03.2"); err != nil {
		t.Fatal(err)
	}

	h.clock.Set(resolvedAt)
	if _, err := res.Resolve(ctx, "lead@example.test", inc.Ref, resolution.ResolveInput{
		RootCause: "A schema change locked the orders table", Fix: "Rolled back release 2026.03.2", Impact: "No payments for 40 minutes"}); err != nil {
		t.Fatal(err)
	}
	receive(t, replies, 2, "From: "+reporterName+" <"+reporterAddr+">\nTo: "+h.comms.ReplyTo(inc)+
		"\nSubject: Re: [INC-1] Is it fixed for you?\nMessage-ID: <c1@customer-mail.test>\nDate: Fri, 6 Mar 2026 15:30:00 +0000\n"+
		"Content-Type: text/plain; charset=utf-8\n\nYes, it works again, thank you. "+reporterAnswer+"\n")

	// The timeline holds all of it, for the leads.
	tl, err := h.incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	kinds := map[string]bool{}
	for _, ev := range tl {
		all.WriteString(ev.Text + "\n")
		kinds[ev.Kind] = true
	}
	for _, want := range []string{"BOARDQ-5d1e", reporterAddr, "Rita Weber", reporterAnswer} {
		if !strings.Contains(all.String(), want) {
			t.Fatalf("the scenario did not put %q on the timeline:\n%s", want, all.String())
		}
	}
	if !kinds["confirmation"] {
		t.Fatalf("the reporter's answer was not filed as a confirmation:\n%s", all.String())
	}

	if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
		t.Fatal(err)
	}
	pm := h.waitState(t, inc.Ref, postmortem.StateBooked)
	// Asking a question or reporting makes nobody a responder to invite.
	for _, p := range pm.Attendees {
		if p.Source == "responder" && (p.Email == "ceo@example.test" || p.Email == reporterAddr) {
			t.Errorf("%s is invited as a responder for asking or reporting", p.Email)
		}
	}
	// The pre-read: the timeline sent to the participants before the meeting.
	h.clock.Set(pm.Start.Add(-20 * time.Hour))
	if err := h.svc.CheckTimelines(ctx); err != nil {
		t.Fatal(err)
	}
	return inc, pm
}

// bodyParts returns the decoded text/plain and text/html parts of a
// message, and its text/calendar part if any.
func bodyParts(t *testing.T, raw []byte) (text, html string, ics []byte) {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil && e == nil {
		t.Fatalf("parse message: %v", err)
	}
	_ = e.Walk(func(_ []int, p *gomessage.Entity, err error) error {
		if err != nil {
			return err
		}
		ct, _, _ := p.Header.ContentType()
		switch ct {
		case "text/plain":
			b, _ := io.ReadAll(p.Body)
			text += string(b)
		case "text/html":
			b, _ := io.ReadAll(p.Body)
			html += string(b)
		case "text/calendar":
			ics, _ = io.ReadAll(p.Body)
		}
		return nil
	})
	if text == "" || html == "" {
		t.Fatalf("message without a text and an HTML part:\n%s", raw)
	}
	return text, html, ics
}

// icsWithoutAttendees is every unfolded property of an iCalendar object
// but the ATTENDEE lines, whose CN must name the person to reach them.
func icsWithoutAttendees(ics []byte) string {
	var b strings.Builder
	unfolded := strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "").Replace(string(ics))
	for _, line := range strings.Split(unfolded, "\n") {
		if !strings.HasPrefix(strings.ToUpper(line), "ATTENDEE") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// assertShared checks one text the attendees read: nothing private in it,
// and the outage's story still there.
func assertShared(t *testing.T, where, text string, story bool) {
	t.Helper()
	flat := strings.Join(strings.Fields(strings.NewReplacer("\\,", ",", "\\;", ";", "\\n", " ").Replace(text)), " ")
	for _, bad := range forbidden() {
		if strings.Contains(strings.ToLower(flat), strings.ToLower(bad)) {
			t.Errorf("%s shows %q to every attendee:\n%s", where, bad, text)
		}
	}
	if !story {
		return
	}
	for _, want := range []string{
		"Declared INC-1",
		"Heads-up sent to 2 responders",
		"Problem reported by a reporter",
		"rolling back the last release", // the status update, as its audience read it
		"rolled back release 2026.03.2", // the lead's note, with the name replaced
		"A reporter confirmed the fix (1 confirmation so far)",
		// How it was communicated: the scorecard as facts, naming no one
		// (the CEO's question is counted, never quoted or attributed).
		"First status update: under a minute after the declaration (13:00 UTC).",
		"Next-update promises kept: 0 of 1.",
		"The 13:30 UTC promise was not met: the resolution came 1 h 30 min after it.",
		"Stakeholders' questions: 1 asked, none answered on the record.",
		"Asked to confirm the fix: 1; answered: 1 (1 confirmed, 0 still broken, 0 unclear).",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("%s lost %q from the timeline:\n%s", where, want, text)
		}
	}
}

// mailTo checks the invitation and the pre-read as an attendee who is
// none of the people the timeline is about (product) receives them.
func mailTo(t *testing.T, h *harness, wantICS bool) {
	t.Helper()
	const to = "pm1@example.test"
	waitFor(t, "the invitation", func() bool { return len(h.sent.to(to, "Post-mortem:")) > 0 })
	waitFor(t, "the pre-read", func() bool { return len(h.sent.to(to, "Post-mortem timeline")) > 0 })
	for _, raw := range h.sent.to(to, "Post-mortem:") {
		text, html, ics := bodyParts(t, raw)
		assertShared(t, "the invitation's text", text, true)
		assertShared(t, "the invitation's HTML", html, true)
		if wantICS {
			if ics == nil {
				t.Fatal("the invitation has no text/calendar part")
			}
			assertShared(t, "the invitation's .ics", icsWithoutAttendees(ics), true)
			for _, bad := range []string{"BOARDQ-5d1e", reporterAddr, reporterName, reporterAnswer} {
				if strings.Contains(string(ics), bad) {
					t.Errorf("the .ics holds %q in some property", bad)
				}
			}
		}
	}
	for _, raw := range h.sent.to(to, "Post-mortem timeline") {
		text, html, _ := bodyParts(t, raw)
		assertShared(t, "the pre-read's text", text, true)
		assertShared(t, "the pre-read's HTML", html, true)
	}
}

// TestAttendeesReadOnlyWhatTheyMay is issue 17's "privacy in shared
// documents": the stakeholder's question, the reporter's address and
// words, and the responders' names stay off the invitation email (text
// and HTML), the .ics, the calendar event every backend stores, and the
// timeline sent before the meeting; the outage's story stays on them.
func TestAttendeesReadOnlyWhatTheyMay(t *testing.T) {
	t.Parallel()

	t.Run("imip", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, options{})
		privateIncident(t, h)
		mailTo(t, h, true)
	})

	t.Run("caldav", func(t *testing.T) {
		t.Parallel()
		const hub = "hub@example.test"
		r := testenv.StartRadicale(t, hub)
		h := newHarness(t, options{backend: func(h *harness) (calendar.Backend, string) {
			dav, err := caldav.New(r.URL, hub, r.Password(hub), "/"+hub+"/postmortems/")
			if err != nil {
				t.Fatal(err)
			}
			if err := dav.EnsureCalendar(context.Background(), "Post-mortems"); err != nil {
				t.Fatalf("%v\n%s", err, r.LogTail())
			}
			h.svc.Invites = h.svc.IMIP()
			return dav, "caldav"
		}})
		_, pm := privateIncident(t, h)
		u := url.URL{Path: pm.Booking.ID}
		req, _ := http.NewRequest(http.MethodGet, r.URL+u.EscapedPath(), nil)
		req.SetBasicAuth(hub, r.Password(hub))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "DESCRIPTION") {
			t.Fatalf("Radicale has %d:\n%s", resp.StatusCode, body)
		}
		assertShared(t, "the CalDAV event", icsWithoutAttendees(body), true)
		mailTo(t, h, true)
	})

	t.Run("google", func(t *testing.T) {
		t.Parallel()
		fake := googlefake.New()
		t.Cleanup(fake.Close)
		fake.Primary = "vp@example.test"
		opts := []option.ClientOption{option.WithHTTPClient(fake.Client()), option.WithoutAuthentication(), option.WithEndpoint(fake.CalendarEndpoint())}
		h := newHarness(t, options{
			settings: func(s *postmortem.Settings) { s.Remote = true },
			backend: func(h *harness) (calendar.Backend, string) {
				g, err := google.New(context.Background(), opts...)
				if err != nil {
					t.Fatal(err)
				}
				return g, "google"
			},
		})
		_, pm := privateIncident(t, h)
		ev, ok := fake.Event("primary", pm.Booking.ID)
		if !ok {
			t.Fatal("no event in the Google fake")
		}
		if d, _ := ev["description"].(string); d == "" {
			t.Fatalf("the Google event has no description: %v", ev)
		}
		delete(ev, "attendees") // each guest's displayName is how Google shows them
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		assertShared(t, "the Google event", string(body), false)
		desc, _ := ev["description"].(string)
		assertShared(t, "the Google event's description", desc, true)
		// The pre-read still goes by mail.
		waitFor(t, "the pre-read", func() bool { return len(h.sent.to("pm1@example.test", "Post-mortem timeline")) > 0 })
		text, html, _ := bodyParts(t, h.sent.to("pm1@example.test", "Post-mortem timeline")[0])
		assertShared(t, "the pre-read's text", text, true)
		assertShared(t, "the pre-read's HTML", html, true)
	})
}
