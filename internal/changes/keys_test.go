package changes_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
)

func icsAt(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// maintenanceRows lists the stored maintenance windows around now as
// "key start summary", start order.
func maintenanceRows(t *testing.T, s *changes.Service) []string {
	t.Helper()
	list, err := s.List(context.Background(), now.Add(-30*24*time.Hour), now.Add(60*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		c := list[i]
		if c.Kind == changes.Maintenance {
			out = append(out, c.ExternalID+" "+c.At.Format("Jan 02 15:04")+" "+c.Summary)
		}
	}
	return out
}

// TestAMovedOccurrenceIsOneWindow: one occurrence of a weekly window
// moved (RECURRENCE-ID) is listed once, at its new time, under its
// original start, so that planned maintenance knows it for the same
// window; one cancelled (STATUS:CANCELLED on its override) or left out
// (EXDATE) is not stored.
func TestAMovedOccurrenceIsOneWindow(t *testing.T) {
	t.Parallel()
	mon := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	ics := filepath.Join(t.TempDir(), "maintenance.ics")
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:patching@ops\r\nDTSTAMP:" + icsAt(mon) + "\r\nDTSTART:" + icsAt(mon) + "\r\nDTEND:" + icsAt(mon.Add(time.Hour)) +
		"\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE:" + icsAt(mon.Add(3*7*24*time.Hour)) + "\r\nSUMMARY:Edge patching\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:patching@ops\r\nDTSTAMP:" + icsAt(mon) + "\r\nRECURRENCE-ID:" + icsAt(mon.Add(7*24*time.Hour)) +
		"\r\nDTSTART:" + icsAt(mon.Add(7*24*time.Hour+3*time.Hour)) + "\r\nDTEND:" + icsAt(mon.Add(7*24*time.Hour+4*time.Hour)) + "\r\nSUMMARY:Edge patching (late)\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:patching@ops\r\nDTSTAMP:" + icsAt(mon) + "\r\nRECURRENCE-ID:" + icsAt(mon.Add(14*24*time.Hour)) +
		"\r\nDTSTART:" + icsAt(mon.Add(14*24*time.Hour)) + "\r\nDTEND:" + icsAt(mon.Add(14*24*time.Hour+time.Hour)) + "\r\nSTATUS:CANCELLED\r\nSUMMARY:Edge patching\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	if err := os.WriteFile(ics, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := newService(t, &changes.ICS{Location: ics})
	if _, warnings, err := s.Windows(context.Background(), mon.Add(-time.Hour), mon.Add(30*24*time.Hour), nil); err != nil || len(warnings) != 0 {
		t.Fatalf("%v %v", err, warnings)
	}
	want := []string{
		"patching@ops/2026-11-23T22:00:00Z Nov 23 22:00 Edge patching",
		"patching@ops/2026-11-30T22:00:00Z Dec 01 01:00 Edge patching (late)",
	}
	if got := maintenanceRows(t, s); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stored:\n got %q\nwant %q", got, want)
	}
}

// TestAWindowKeyedByItsStartTakesItsUID: a window stored before
// occurrences were told apart (its key "UID/<start>") is the same window
// when read again, now keyed by its UID: one row, the same id; and when
// it moves, that row moves.
func TestAWindowKeyedByItsStartTakesItsUID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := now.Add(3 * time.Hour)
	ics := filepath.Join(t.TempDir(), "maintenance.ics")
	write := func(at time.Time) {
		t.Helper()
		body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:db@ops\r\nDTSTAMP:" + icsAt(now) + "\r\nDTSTART:" + icsAt(at) +
			"\r\nDTEND:" + icsAt(at.Add(time.Hour)) + "\r\nSUMMARY:Checkout database upgrade\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		if err := os.WriteFile(ics, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(start)
	s, _ := newService(t, &changes.ICS{Location: ics})
	end := start.Add(time.Hour)
	old, _, err := s.Record(ctx, changes.Input{Source: "ics", ExternalID: "db@ops/" + start.Format(time.RFC3339), Kind: changes.Maintenance,
		Summary: "Checkout database upgrade", At: start, End: &end})
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := s.Windows(ctx, now, now.Add(24*time.Hour), nil)
	if err != nil || len(ws) != 1 || ws[0].ID != old.ID {
		t.Fatalf("read again: %v %+v, want the one window %d", err, ws, old.ID)
	}
	if got := maintenanceRows(t, s); len(got) != 1 || !strings.HasPrefix(got[0], "db@ops Nov 24 17:20") {
		t.Fatalf("stored %q, want the window under its UID", got)
	}
	write(start.Add(2 * time.Hour))
	ws, _, err = s.Windows(ctx, now, now.Add(24*time.Hour), nil)
	if err != nil || len(ws) != 1 || ws[0].ID != old.ID || !ws[0].Start.Equal(start.Add(2*time.Hour)) || ws[0].Cancelled {
		t.Fatalf("moved: %v %+v", err, ws)
	}
}
