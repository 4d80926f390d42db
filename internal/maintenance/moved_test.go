package maintenance_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"
	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/calendar/googlefake"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// A window told about that moves in its calendar gets a "rescheduled"
// note in its thread, once per move, whatever the number of re-reads,
// restarts and crashes; its start note follows the new start. These tests
// move windows in an iCalendar file, in a real CalDAV server (Radicale)
// and in Google Calendar (googlefake), and cancel them there.

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// vevent is one VEVENT; extra is more properties ("STATUS:CANCELLED\r\n").
func vevent(uid, summary string, start time.Time, d time.Duration, extra string) string {
	return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:" + icsTime(t0) + "\r\nDTSTART:" + icsTime(start) + "\r\nDTEND:" + icsTime(start.Add(d)) +
		"\r\nSUMMARY:" + summary + "\r\n" + extra + "END:VEVENT\r\n"
}

func vcalendar(events ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sitrep test//EN\r\n" + strings.Join(events, "") + "END:VCALENDAR\r\n"
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checks runs Check n times and returns the notes queued in all.
func checks(t *testing.T, s *maintenance.Service, n int) int {
	t.Helper()
	total := 0
	for range n {
		total += check(t, s)
	}
	return total
}

// onlyWindow is the one window of the change log around t0.
func onlyWindow(t *testing.T, s *maintenance.Service) *maintenance.Window {
	t.Helper()
	ws, err := s.List(context.Background(), t0.Add(-48*time.Hour), t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 {
		t.Fatalf("%d windows in the change log, want 1: %+v", len(ws), ws)
	}
	return ws[0]
}

// crashOnce is the outbox, failing the first message it is asked to
// queue, as a process killed in the middle of the transaction would: the
// transaction (the step's claim with its email) is rolled back.
type crashOnce struct {
	maintenance.Mailer
	mu      sync.Mutex
	crashed bool
}

func (c *crashOnce) Queue(ctx context.Context, tx *sql.Tx, m compose.Outgoing) (*compose.Message, error) {
	c.mu.Lock()
	crash := !c.crashed
	c.crashed = true
	c.mu.Unlock()
	if crash {
		return nil, errors.New("killed in the middle of the transaction")
	}
	return c.Mailer.Queue(ctx, tx, m)
}

func firstLine(m *enmime.Envelope) string {
	first, _, _ := strings.Cut(m.Text, "\n")
	return first
}

// flat is a mail's text on one line, without Markdown's stars.
func flat(m *enmime.Envelope) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(m.Text, "*", "")), " ")
}

// TestMovedWindowIsRescheduledOnce: a window of an iCalendar file,
// announced, then moved two hours later in the file. A crash in the
// middle of the note's transaction sends nothing and loses nothing: the
// next read sends the note, once; a hundred more reads and a restart send
// nothing more. The note, in the window's thread, gives the new and the
// old time in the reader's zone; nothing goes out at the old start, and
// the start and end notes follow the new time.
func TestMovedWindowIsRescheduledOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ics := filepath.Join(t.TempDir(), "maintenance.ics")
	start := t0.Add(6 * time.Hour) // 15:00 EST
	writeFile(t, ics, vcalendar(vevent("db-upgrade@ops", "Checkout database upgrade", start, 2*time.Hour, "")))
	h.changes.Calendars = []changes.Calendar{&changes.ICS{Location: ics}}
	s := h.service(false)
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the announcement", n)
	}
	w := onlyWindow(t, s)

	moved := t0.Add(9 * time.Hour) // 18:00 EST
	writeFile(t, ics, vcalendar(vevent("db-upgrade@ops", "Checkout database upgrade", moved, 2*time.Hour, "")))
	crashing := h.service(false)
	crashing.Mail = &crashOnce{Mailer: h.outbox}
	if n := check(t, crashing); n != 0 {
		t.Fatalf("a crash in the note's transaction: %d notes", n)
	}
	if msgs := h.messages(t, w.ID); len(msgs) != 1 {
		t.Fatalf("after the crash, %d messages in the thread, want the announcement alone", len(msgs))
	}
	if n := check(t, h.service(false)); n != 1 {
		t.Fatalf("after the crash: %d notes, want the rescheduled note", n)
	}
	if n := checks(t, s, 100); n != 0 {
		t.Fatalf("a hundred re-reads: %d notes", n)
	}
	if n := check(t, h.service(false)); n != 0 {
		t.Fatalf("after a restart: %d notes", n)
	}
	got := onlyWindow(t, s)
	if got.ID != w.ID || !got.Start.Equal(moved) || got.State != maintenance.Announced || got.Notices[maintenance.RescheduledStep(1)] == nil {
		t.Fatalf("the moved window: %+v", got)
	}
	if n := got.Notices[maintenance.RescheduledStep(1)]; !n.Start.Equal(moved) || !n.End.Equal(moved.Add(2*time.Hour)) || !n.Sent {
		t.Errorf("the rescheduled notice: %+v", n)
	}

	h.clock.set(start)
	if n := check(t, s); n != 0 {
		t.Fatalf("at the old start: %d notes", n)
	}
	h.clock.set(moved)
	if n := check(t, s); n != 1 {
		t.Fatalf("at the new start: %d notes, want the start note", n)
	}
	h.clock.set(moved.Add(2 * time.Hour))
	if n := checks(t, s, 3); n != 1 {
		t.Fatalf("at the new end: %d notes, want the end note", n)
	}

	h.deliver(t, w.ID)
	mail := h.received("cs@x.test")
	if len(mail) != 4 {
		t.Fatalf("customer service got %d messages, want 4: %v", len(mail), subjects(mail))
	}
	if first := firstLine(mail[1]); !strings.Contains(first, "Rescheduled: now from Tue 24 Nov 2026 18:00 EST (23:00 UTC)") {
		t.Errorf("the rescheduled note's first line: %q", first)
	}
	if text := flat(mail[1]); !strings.Contains(text, "Checkout database upgrade on checkout has moved: it is now planned from Tue 24 Nov 2026 18:00 EST (23:00 UTC) to Tue 24 Nov 2026 20:00 EST (01:00 UTC), instead of Tue 24 Nov 2026 15:00 EST (20:00 UTC) to Tue 24 Nov 2026 17:00 EST (22:00 UTC).") {
		t.Errorf("the rescheduled note:\n%s", mail[1].Text)
	}
	if !strings.Contains(mail[1].GetHeader("References"), mail[0].GetHeader("Message-Id")) || mail[1].GetHeader("Subject") != mail[0].GetHeader("Subject") {
		t.Errorf("the rescheduled note is not in the window's thread: %q, References %q", mail[1].GetHeader("Subject"), mail[1].GetHeader("References"))
	}
	if first := firstLine(mail[2]); !strings.Contains(first, "Maintenance has started, until 20:00 EST (01:00 UTC)") {
		t.Errorf("the start note follows the new time: %q", first)
	}
	if n := len(h.received("exec@x.test")) + len(h.received("eve@x.test")); n != 0 {
		t.Errorf("%d notes to people who do not hear of checkout", n)
	}
}

// TestMovedBackAndForth: each move is its own note, even back to a time
// told before; a move after the window ended, or of one that was never
// told about, sends nothing, and a window deleted from its calendar once
// it took place stays ended.
func TestMovedBackAndForth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ics := filepath.Join(t.TempDir(), "maintenance.ics")
	a, b := t0.Add(5*time.Hour), t0.Add(7*time.Hour)
	quiet := t0.Add(72 * time.Hour) // beyond announce_before: never told
	put := func(at, q time.Time) {
		writeFile(t, ics, vcalendar(vevent("lb@ops", "Checkout load balancer swap", at, time.Hour, ""),
			vevent("later@ops", "Checkout cache rebuild", q, time.Hour, "")))
	}
	put(a, quiet)
	h.changes.Calendars = []changes.Calendar{&changes.ICS{Location: ics}}
	s := h.service(false)
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the first window's announcement", n)
	}
	for i, at := range []time.Time{b, a, b} {
		put(at, quiet.Add(time.Duration(i+1)*time.Hour))
		if n := checks(t, s, 5); n != 1 {
			t.Fatalf("move %d: %d notes, want 1", i+1, n)
		}
	}
	h.clock.set(b.Add(2 * time.Hour))
	if n := check(t, s); n != 1 {
		t.Fatalf("after the end: %d notes, want the end note", n)
	}
	put(a.Add(-2*time.Hour), quiet)
	if n := checks(t, s, 3); n != 0 {
		t.Fatalf("a move after the end: %d notes", n)
	}
	// Deleted from the calendar once over: it took place; nothing is said.
	writeFile(t, ics, vcalendar(vevent("later@ops", "Checkout cache rebuild", quiet, time.Hour, "")))
	if n := checks(t, s, 2); n != 0 {
		t.Fatalf("deleted after the end: %d notes", n)
	}
	h.clock.set(b.Add(2*time.Hour + changes.GoneAfter))
	if n := checks(t, s, 2); n != 0 {
		t.Fatalf("deleted after the end, %s on: %d notes", changes.GoneAfter, n)
	}
	if w := onlyTitled(t, s, "Checkout load balancer swap"); w.State != maintenance.Ended || w.CancelledInCalendar {
		t.Errorf("a window deleted from its calendar after it took place: %+v, want ended", w)
	}
	ws, err := s.List(context.Background(), t0.Add(-48*time.Hour), t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		switch w.Title {
		case "Checkout load balancer swap":
			for i := 1; i <= 3; i++ {
				if w.Notices[maintenance.RescheduledStep(i)] == nil {
					t.Errorf("no rescheduled-%d notice: %v", i, w.Notices)
				}
			}
			if len(h.messages(t, w.ID)) != 5 {
				t.Errorf("%d messages in the thread, want 5 (announced, moved three times, ended)", len(h.messages(t, w.ID)))
			}
		case "Checkout cache rebuild":
			if len(w.Notices) != 0 {
				t.Errorf("a window never told about got notices when it moved: %v", w.Notices)
			}
		}
	}
}

// TestCancelledInTheCalendar: STATUS:CANCELLED after the announcement
// sends the cancelled note, once; a window cancelled before it was
// announced tells nobody and is never announced (in manual mode too,
// where a window read is not told until someone announces it).
func TestCancelledInTheCalendar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, manual := range []bool{false, true} {
		h := newHarness(t)
		ics := filepath.Join(t.TempDir(), "maintenance.ics")
		soon, later := t0.Add(4*time.Hour), t0.Add(20*time.Hour)
		cancelled := "STATUS:CANCELLED\r\n"
		writeFile(t, ics, vcalendar(vevent("soon@ops", "Checkout failover test", soon, time.Hour, ""),
			vevent("later@ops", "Checkout cache flush", later, time.Hour, "")))
		h.changes.Calendars = []changes.Calendar{&changes.ICS{Location: ics}}
		s := h.service(manual)
		want := 2
		if manual {
			want = 0
		}
		if n := check(t, s); n != want {
			t.Fatalf("manual %v: %d notes, want %d", manual, n, want)
		}
		told := onlyTitled(t, s, "Checkout failover test")
		if manual {
			if _, err := s.Announce(ctx, "ops@x.test", told.Ref); err != nil {
				t.Fatal(err)
			}
		}
		// Both cancelled in the calendar; the second only was never told
		// about (in auto mode, it was: it is within announce_before).
		writeFile(t, ics, vcalendar(vevent("soon@ops", "Checkout failover test", soon, time.Hour, cancelled),
			vevent("later@ops", "Checkout cache flush", later, time.Hour, cancelled)))
		// The cancelled notes go to those who were told: both windows in
		// auto mode, the one announced by hand in manual mode.
		if want = 2; manual {
			want = 1
		}
		if n := check(t, s); n != want {
			t.Fatalf("manual %v, cancelled in the calendar: %d notes, want %d cancelled notes", manual, n, want)
		}
		if n := checks(t, h.service(manual), 100); n != 0 {
			t.Fatalf("a hundred re-reads after the cancellation: %d notes", n)
		}
		for _, at := range []time.Time{soon, later, later.Add(2 * time.Hour)} {
			h.clock.set(at)
			if n := check(t, s); n != 0 {
				t.Errorf("at %s: %d notes for cancelled windows", at, n)
			}
		}
		for title, sent := range map[string]bool{"Checkout failover test": true, "Checkout cache flush": !manual} {
			w := onlyTitled(t, s, title)
			n := w.Notices[maintenance.Cancelled]
			if w.State != maintenance.Cancelled || !w.CancelledInCalendar || n == nil || n.Actor != "calendar" || n.Sent != sent {
				t.Errorf("manual %v, %s: %+v (cancelled %+v), want cancelled in its calendar, told %v", manual, title, w, n, sent)
			}
			if msgs := len(h.messages(t, w.ID)); msgs != map[bool]int{true: 2, false: 0}[sent] {
				t.Errorf("manual %v, %s: %d messages", manual, title, msgs)
			}
		}
		if _, on, err := s.During(ctx, []string{"checkout"}, soon.Add(30*time.Minute)); err != nil || on {
			t.Errorf("During a window cancelled in its calendar: %v %v", on, err)
		}
		w := onlyTitled(t, s, "Checkout failover test")
		h.deliver(t, w.ID)
		if mail := h.received("cs@x.test"); len(mail) != 2 || !strings.Contains(firstLine(mail[1]), "Cancelled: the maintenance planned from") {
			t.Errorf("customer service got %v", subjects(mail))
		}
	}
}

// onlyTitled is the window of the change log titled title.
func onlyTitled(t *testing.T, s *maintenance.Service, title string) *maintenance.Window {
	t.Helper()
	ws, err := s.List(context.Background(), t0.Add(-48*time.Hour), t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Title == title {
			return w
		}
	}
	t.Fatalf("no window %q in %+v", title, ws)
	return nil
}

// radicale is a maintenance calendar on a real CalDAV server, with one
// event resource whose body the test writes and deletes.
type radicale struct {
	t   *testing.T
	srv *testenv.Radicale
}

func newRadicale(t *testing.T) (*radicale, *changes.CalDAV) {
	t.Helper()
	r := &radicale{t: t, srv: testenv.StartRadicale(t, "ops")}
	r.do("MKCALENDAR", "/ops/maintenance/", "application/xml; charset=utf-8", `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>Maintenance</D:displayname>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`)
	cal, err := changes.NewCalDAV(r.srv.URL, "ops", r.srv.Password("ops"), "/ops/maintenance/")
	if err != nil {
		t.Fatal(err)
	}
	return r, cal
}

func (r *radicale) do(method, path, ctype, body string) {
	r.t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	req.SetBasicAuth("ops", r.srv.Password("ops"))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		r.t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, r.srv.LogTail())
	}
}

func (r *radicale) put(name, ics string) {
	r.do("PUT", "/ops/maintenance/"+name, "text/calendar; charset=utf-8", ics)
}

// TestMovedAndDeletedInCalDAV: on Radicale, an announced window moved ten
// days later (far outside what the announcer reads) is found where it
// went and rescheduled, once; deleted from the calendar, it is missing
// first, and after changes.GoneAfter cancelled, once: the thread hears
// each, and a hundred re-reads add nothing.
func TestMovedAndDeletedInCalDAV(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	cal, caldav := newRadicale(t)
	start := t0.Add(5 * time.Hour)
	cal.put("fw.ics", vcalendar(vevent("fw@ops", "Checkout firewall firmware", start, time.Hour, "")))
	cal.put("other.ics", vcalendar(vevent("other@ops", "Payments window elsewhere", t0.Add(20*24*time.Hour), time.Hour, "")))
	h.changes.Calendars = []changes.Calendar{caldav}
	s := h.service(false)
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the announcement", n)
	}
	w := onlyWindow(t, s)

	far := t0.Add(10 * 24 * time.Hour)
	cal.put("fw.ics", vcalendar(vevent("fw@ops", "Checkout firewall firmware", far, time.Hour, "")))
	if n := check(t, s); n != 1 {
		t.Fatalf("moved ten days later: %d notes, want the rescheduled note", n)
	}
	if n := checks(t, s, 100); n != 0 {
		t.Fatalf("a hundred re-reads: %d notes", n)
	}
	if got, err := s.Get(ctx, w.Ref); err != nil || !got.Start.Equal(far) || got.State != maintenance.Announced {
		t.Fatalf("the moved window: %+v %v", got, err)
	}

	cal.do("DELETE", "/ops/maintenance/fw.ics", "", "")
	if n := checks(t, s, 3); n != 0 {
		t.Fatalf("just deleted: %d notes, want none yet (missing, not yet gone)", n)
	}
	h.clock.set(t0.Add(changes.GoneAfter))
	if n := check(t, s); n != 1 {
		t.Fatalf("deleted for %s: %d notes, want the cancelled note", changes.GoneAfter, n)
	}
	if n := checks(t, h.service(false), 100); n != 0 {
		t.Fatalf("a hundred re-reads after the cancellation: %d notes", n)
	}
	got, err := s.Get(ctx, w.Ref)
	if err != nil || got.State != maintenance.Cancelled || !got.CancelledInCalendar {
		t.Fatalf("the deleted window: %+v %v", got, err)
	}
	h.deliver(t, w.ID)
	mail := h.received("cs@x.test")
	if len(mail) != 3 {
		t.Fatalf("customer service got %d messages, want 3: %v", len(mail), subjects(mail))
	}
	if first := firstLine(mail[1]); !strings.Contains(first, "Rescheduled: now from Fri 4 Dec 2026 09:00 EST (14:00 UTC)") {
		t.Errorf("the rescheduled note's first line: %q", first)
	}
	if first := firstLine(mail[2]); !strings.Contains(first, "Cancelled: the maintenance planned from Fri 4 Dec 2026 09:00 EST (14:00 UTC) will not take place") {
		t.Errorf("the cancelled note's first line: %q", first)
	}
}

// TestMovedAndDeletedInGoogleCalendar: the same with Google Calendar's
// API (googlefake): a move by events.patch, a deletion by events.delete,
// which Google keeps as a cancelled event.
func TestMovedAndDeletedInGoogleCalendar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	fake := googlefake.New()
	t.Cleanup(fake.Close)
	opts := []option.ClientOption{option.WithEndpoint(fake.CalendarEndpoint()), option.WithoutAuthentication()}
	svc, err := gcal.NewService(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	const calID = "ops-maintenance@group.calendar.example.test"
	start := t0.Add(3 * time.Hour)
	ev, err := svc.Events.Insert(calID, &gcal.Event{Summary: "Checkout certificate rotation",
		Start: &gcal.EventDateTime{DateTime: start.Format(time.RFC3339)}, End: &gcal.EventDateTime{DateTime: start.Add(time.Hour).Format(time.RFC3339)}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	g, err := changes.NewGoogle(ctx, calID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	h.changes.Calendars = []changes.Calendar{g}
	s := h.service(false)
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the announcement", n)
	}
	w := onlyWindow(t, s)
	moved := t0.Add(3 * 24 * time.Hour)
	if _, err := svc.Events.Patch(calID, ev.Id, &gcal.Event{Start: &gcal.EventDateTime{DateTime: moved.Format(time.RFC3339)},
		End: &gcal.EventDateTime{DateTime: moved.Add(time.Hour).Format(time.RFC3339)}}).Do(); err != nil {
		t.Fatal(err)
	}
	if n := checks(t, s, 100); n != 1 {
		t.Fatalf("moved, then read a hundred times: %d notes, want the rescheduled note alone", n)
	}
	if err := svc.Events.Delete(calID, ev.Id).Do(); err != nil {
		t.Fatal(err)
	}
	if n := checks(t, s, 100); n != 1 {
		t.Fatalf("deleted (a cancelled event to Google), then read a hundred times: %d notes, want the cancelled note alone", n)
	}
	got, err := s.Get(ctx, w.Ref)
	if err != nil || got.State != maintenance.Cancelled || !got.Start.Equal(moved) || got.Notices[maintenance.RescheduledStep(1)] == nil {
		t.Fatalf("the window: %+v %v", got, err)
	}
}

// TestRescheduledNoteInEveryLanguage: the note in each catalog's words,
// with no English left.
func TestRescheduledNoteInEveryLanguage(t *testing.T) {
	t.Parallel()
	r, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"de": "wurde verschoben", "fr": "est reprogrammée", "es": "se ha reprogramado", "ja": "日程が変更されました"} {
		d := compose.SampleData(compose.KindMaintenance).(compose.MaintenanceData)
		d.Step, d.OldStart, d.OldEnd = compose.MaintenanceRescheduled, d.Start.Add(-2*time.Hour), d.End.Add(-2*time.Hour)
		out, err := r.RenderIn(lang, compose.KindMaintenance, &d)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if !strings.Contains(out.Text, want) {
			t.Errorf("%s: %q not in\n%s", lang, want, out.Text)
		}
		for _, en := range append(cat.Prose("maintenance_moved"), "planned", "Sent to") {
			if strings.Contains(out.Text, en) {
				t.Errorf("%s: English %q in:\n%s", lang, en, out.Text)
			}
		}
	}
}
