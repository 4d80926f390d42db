package maintenance_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
)

func declare(t *testing.T, s *maintenance.Service, systems []string, start, end time.Time) *maintenance.Window {
	t.Helper()
	w, err := s.Declare(context.Background(), "ops@x.test", maintenance.DeclareInput{Title: "Database upgrade", Systems: systems,
		Start: start, End: end, Details: "PostgreSQL 16 to 17."})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func check(t *testing.T, s *maintenance.Service) int {
	t.Helper()
	n, err := s.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAnnouncedRemindedEndedOnceEach: a window declared two days ahead is
// announced a day before it starts, noted at its start and at its end,
// each once: checked again, by a restarted process, and by two replicas at
// once, nothing more goes out. The three notes reach the notified group's
// member in one thread, and nobody else.
func TestAnnouncedRemindedEndedOnceEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	s := h.service(false)
	start, end := t0.Add(48*time.Hour), t0.Add(50*time.Hour)
	w := declare(t, s, []string{"Checkout"}, start, end)
	if w.State != "planned" || w.Ref != maintenance.Ref(w.ID) || len(w.Systems) != 1 || w.Systems[0] != "checkout" {
		t.Fatalf("declared %+v", w)
	}

	if n := check(t, s); n != 0 {
		t.Fatalf("two days ahead: %d notes, want none yet", n)
	}
	h.clock.set(start.Add(-24 * time.Hour))
	if n := check(t, s); n != 1 {
		t.Fatalf("a day ahead: %d notes, want the announcement", n)
	}
	if n := check(t, s); n != 0 {
		t.Fatalf("checked again: %d notes", n)
	}
	if n := check(t, h.service(false)); n != 0 {
		t.Fatalf("after a restart: %d notes", n)
	}

	h.clock.set(start)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := h.service(false).Check(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	if counts[0]+counts[1] != 1 {
		t.Fatalf("two replicas at the start: %v notes, want one between them", counts)
	}
	h.clock.set(end.Add(time.Minute))
	if n := check(t, h.service(false)); n != 1 {
		t.Fatalf("at the end: %d notes, want the ended note", n)
	}
	h.clock.set(end.Add(2 * time.Hour))
	if n := check(t, s); n != 0 {
		t.Fatalf("after the end: %d notes", n)
	}

	got, err := s.Get(ctx, w.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != maintenance.Ended {
		t.Errorf("state %q, want ended", got.State)
	}
	for _, step := range []string{maintenance.Announced, maintenance.Started, maintenance.Ended} {
		n := got.Notices[step]
		if n == nil || !n.Sent || len(n.Groups) != 1 || n.Groups[0] != "customer-service" {
			t.Errorf("%s: %+v, want sent to customer-service", step, n)
		}
	}
	if msgs := h.messages(t, w.ID); len(msgs) != 3 {
		t.Fatalf("%d messages in the window's thread, want 3", len(msgs))
	}

	h.deliver(t, w.ID)
	mail := h.received("cs@x.test")
	if len(mail) != 3 {
		t.Fatalf("customer service got %d messages, want 3", len(mail))
	}
	firsts := []string{"Planned maintenance from Thu 26 Nov 2026 09:00 EST (14:00 UTC)", "Maintenance has started, until 11:00 EST (16:00 UTC)",
		"Maintenance ended at 11:01 EST (16:01 UTC)"}
	root := mail[0].GetHeader("Message-Id")
	for i, m := range mail {
		if subj := m.GetHeader("Subject"); subj != "[MAINT-"+itoa(w.ID)+"] Planned maintenance: Database upgrade" {
			t.Errorf("message %d: subject %q", i, subj)
		}
		first, _, _ := strings.Cut(m.Text, "\n")
		if !strings.Contains(first, firsts[i]) {
			t.Errorf("message %d: first line %q, want %q", i, first, firsts[i])
		}
		if rt := m.GetHeader("Reply-To"); !strings.Contains(rt, "status+maint-"+itoa(w.ID)+"@sitrep.test") {
			t.Errorf("message %d: Reply-To %q", i, rt)
		}
		if i > 0 && !strings.Contains(m.GetHeader("References"), root) {
			t.Errorf("message %d: References %q lacks the thread's first %s", i, m.GetHeader("References"), root)
		}
	}
	for _, other := range []string{"exec@x.test", "eve@x.test", "ann@x.test"} {
		if n := len(h.received(other)); n != 0 {
			t.Errorf("%s got %d messages about checkout's maintenance", other, n)
		}
	}
}

// TestSystemWithoutNotifyFallsBackToTheStatusAudience: payments names no
// group, so the status audience (executives) hears, in their language.
func TestSystemWithoutNotifyFallsBackToTheStatusAudience(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service(false)
	w := declare(t, s, []string{"payments"}, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the announcement", n)
	}
	h.deliver(t, w.ID)
	mail := h.received("exec@x.test")
	if len(mail) != 1 || !strings.Contains(mail[0].GetHeader("Subject"), "Geplante Wartung: Database upgrade") {
		t.Fatalf("the executive (German) got %d messages: %v", len(mail), subjects(mail))
	}
	if !strings.Contains(mail[0].Text, "Di., 24. Nov. 2026, 17:00 CET (16:00 UTC)") {
		t.Errorf("the start is not in Berlin's time:\n%s", mail[0].Text)
	}
	if n := len(h.received("cs@x.test")); n != 0 {
		t.Errorf("customer service got %d messages about payments", n)
	}
}

// TestCancelledAfterItsAnnouncement: the thread hears it is cancelled, and
// then nothing more (no start, no end). A second cancel is a conflict.
func TestCancelledAfterItsAnnouncement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	s := h.service(false)
	start := t0.Add(3 * time.Hour)
	w := declare(t, s, []string{"checkout"}, start, start.Add(time.Hour))
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the announcement", n)
	}
	got, err := s.Cancel(ctx, "ops@x.test", w.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != maintenance.Cancelled || got.Notices[maintenance.Cancelled] == nil || !got.Notices[maintenance.Cancelled].Sent {
		t.Fatalf("after cancel: %+v", got)
	}
	if _, err := s.Cancel(ctx, "ops@x.test", w.Ref); !errs.Is(err, errs.Conflict) {
		t.Errorf("second cancel: %v, want a conflict", err)
	}
	for _, at := range []time.Time{start, start.Add(2 * time.Hour)} {
		h.clock.set(at)
		if n := check(t, h.service(false)); n != 0 {
			t.Errorf("at %s: %d notes for a cancelled window", at, n)
		}
	}
	h.deliver(t, w.ID)
	mail := h.received("cs@x.test")
	if len(mail) != 2 {
		t.Fatalf("customer service got %d messages, want the announcement and the cancellation", len(mail))
	}
	if first, _, _ := strings.Cut(mail[1].Text, "\n"); !strings.Contains(first, "Cancelled: the maintenance planned from") {
		t.Errorf("second message's first line %q", first)
	}
	if title, on, err := s.During(ctx, []string{"checkout"}, start.Add(30*time.Minute)); err != nil || on {
		t.Errorf("During a cancelled window = %q, %v, %v; want none", title, on, err)
	}
}

// TestCancelledBeforeItsAnnouncementTellsNobody: recorded, never announced.
func TestCancelledBeforeItsAnnouncementTellsNobody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	s := h.service(false)
	start := t0.Add(72 * time.Hour)
	w := declare(t, s, []string{"checkout"}, start, start.Add(time.Hour))
	got, err := s.Cancel(ctx, "ops@x.test", w.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Notices[maintenance.Cancelled]; got.State != maintenance.Cancelled || n == nil || n.Sent {
		t.Fatalf("after cancel: %+v", got)
	}
	for _, at := range []time.Time{start.Add(-time.Hour), start, start.Add(2 * time.Hour)} {
		h.clock.set(at)
		if n := check(t, s); n != 0 {
			t.Errorf("at %s: %d notes", at, n)
		}
	}
	if msgs := h.messages(t, w.ID); len(msgs) != 0 {
		t.Errorf("%d messages for a window cancelled before anyone was told", len(msgs))
	}
}

// TestManualAnnouncesOnlyWhatSomeoneAnnounces: with announce: manual the
// check tells nothing of its own; an announced window then gets its start
// and end notes.
func TestManualAnnouncesOnlyWhatSomeoneAnnounces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	s := h.service(true)
	quiet := declare(t, s, []string{"checkout"}, t0.Add(time.Hour), t0.Add(2*time.Hour))
	told := declare(t, s, []string{"checkout"}, t0.Add(time.Hour), t0.Add(2*time.Hour))
	if n := check(t, s); n != 0 {
		t.Fatalf("manual: %d notes before anyone announced", n)
	}
	if _, err := s.Announce(ctx, "ops@x.test", told.Ref); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce(ctx, "ops@x.test", told.Ref); !errs.Is(err, errs.Conflict) {
		t.Errorf("announced twice: %v, want a conflict", err)
	}
	h.clock.set(t0.Add(time.Hour))
	if n := check(t, s); n != 1 {
		t.Errorf("at the start: %d notes, want the announced window's", n)
	}
	h.clock.set(t0.Add(2 * time.Hour))
	if n := check(t, s); n != 1 {
		t.Errorf("at the end: %d notes, want the announced window's", n)
	}
	if n := len(h.messages(t, quiet.ID)); n != 0 {
		t.Errorf("the window nobody announced has %d messages", n)
	}
	if n := len(h.messages(t, told.ID)); n != 3 {
		t.Errorf("the announced window has %d messages, want 3", n)
	}
}

// TestDeclareRefusesBadInputAndChangesNothing: every refusal names its
// field, and the change log holds no window afterwards.
func TestDeclareRefusesBadInputAndChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	s := h.service(false)
	start := t0.Add(time.Hour)
	for name, c := range map[string]struct {
		in    maintenance.DeclareInput
		field string
	}{
		"end before start": {maintenance.DeclareInput{Title: "x", Systems: []string{"checkout"}, Start: start, End: start.Add(-time.Minute)}, "end"},
		"unknown system":   {maintenance.DeclareInput{Title: "x", Systems: []string{"checkout", "warp-drive"}, Start: start, End: start.Add(time.Hour)}, "systems"},
		"no system":        {maintenance.DeclareInput{Title: "x", Start: start, End: start.Add(time.Hour)}, "systems"},
		"in the past":      {maintenance.DeclareInput{Title: "x", Systems: []string{"checkout"}, Start: t0.Add(-3 * time.Hour), End: t0.Add(-time.Hour)}, "end"},
		"no title":         {maintenance.DeclareInput{Systems: []string{"checkout"}, Start: start, End: start.Add(time.Hour)}, "title"},
		"title two lines":  {maintenance.DeclareInput{Title: "a\nb", Systems: []string{"checkout"}, Start: start, End: start.Add(time.Hour)}, "title"},
		"no start":         {maintenance.DeclareInput{Title: "x", Systems: []string{"checkout"}, End: start}, "start"},
	} {
		_, err := s.Declare(ctx, "ops@x.test", c.in)
		var e *errs.Error
		if !errs.Is(err, errs.Invalid) || !asErr(err, &e) || e.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", name, err, c.field)
		}
	}
	ws, err := s.List(ctx, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 0 {
		t.Errorf("refused windows were stored: %+v", ws)
	}
}

// TestDuring answers for a window going on and touching the systems only.
func TestDuring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	s := h.service(false)
	declare(t, s, []string{"checkout"}, t0.Add(time.Hour), t0.Add(2*time.Hour))
	for _, c := range []struct {
		systems []string
		at      time.Time
		want    bool
	}{
		{[]string{"checkout"}, t0.Add(90 * time.Minute), true},
		{[]string{"payments", "checkout"}, t0.Add(time.Hour), true},
		{[]string{"payments"}, t0.Add(90 * time.Minute), false},
		{[]string{"checkout"}, t0.Add(30 * time.Minute), false},
		{[]string{"checkout"}, t0.Add(2 * time.Hour), false},
	} {
		title, on, err := s.During(ctx, c.systems, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if on != c.want || (on && title != "Database upgrade") {
			t.Errorf("During(%v, %s) = %q, %v; want %v", c.systems, c.at, title, on, c.want)
		}
	}
}

// TestCalendarWindowIsAnnouncedToo: a window read from an iCalendar file,
// whose summary names checkout, is announced like a declared one.
func TestCalendarWindowIsAnnouncedToo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	start := t0.Add(6 * time.Hour)
	ics := filepath.Join(t.TempDir(), "maintenance.ics")
	cal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:fw@ops\r\nDTSTAMP:" + f(t0) +
		"\r\nDTSTART:" + f(start) + "\r\nDTEND:" + f(start.Add(time.Hour)) +
		"\r\nSUMMARY:Checkout load balancer firmware\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(ics, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	h.changes.Calendars = []changes.Calendar{&changes.ICS{Location: ics}}
	s := h.service(false)
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the calendar window's announcement", n)
	}
	ws, err := s.List(context.Background(), t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Source != "ics" || ws[0].State != maintenance.Announced || len(ws[0].Systems) != 1 || ws[0].Systems[0] != "checkout" {
		t.Fatalf("windows %+v", ws)
	}
	h.deliver(t, ws[0].ID)
	if mail := h.received("cs@x.test"); len(mail) != 1 || !strings.Contains(mail[0].GetHeader("Subject"), "Checkout load balancer firmware") {
		t.Errorf("customer service got %v", subjects(mail))
	}
}
