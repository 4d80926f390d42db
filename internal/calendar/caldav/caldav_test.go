package caldav

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/testenv"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

const hub = "hub@example.test"

func newRadicaleCalDAV(t *testing.T) (*Calendar, *testenv.Radicale) {
	t.Helper()
	r := testenv.StartRadicale(t, hub)
	c, err := New(r.URL, hub, r.Password(hub), "/"+hub+"/postmortems/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.EnsureCalendar(ctx, "Post-mortems"); err != nil {
		t.Fatalf("EnsureCalendar: %v\n%s", err, r.LogTail())
	}
	// A second call finds it and does not fail.
	if err := c.EnsureCalendar(ctx, "Post-mortems"); err != nil {
		t.Fatalf("EnsureCalendar again: %v", err)
	}
	return c, r
}

// rawGet reads an object straight from Radicale, not through the backend.
func rawGet(t *testing.T, r *testenv.Radicale, p string) (int, string) {
	t.Helper()
	u := url.URL{Path: p}
	req, _ := http.NewRequest(http.MethodGet, r.URL+u.EscapedPath(), nil)
	req.SetBasicAuth(hub, r.Password(hub))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// Unfold (RFC 5545 3.1) so the test can look for whole lines.
	return resp.StatusCode, strings.ReplaceAll(string(b), "\r\n ", "")
}

func TestCalDAVAgainstRadicale(t *testing.T) {
	t.Parallel()
	c, r := newRadicaleCalDAV(t)
	ctx := context.Background()
	ev := calendar.SampleEvent()
	ev.Sequence = 0

	b, err := c.Book(ctx, ev)
	if err != nil {
		t.Fatalf("Book: %v\n%s", err, r.LogTail())
	}
	if b.Backend != "caldav" || b.ETag == "" || !strings.HasSuffix(b.ID, ".ics") {
		t.Errorf("booking = %+v", b)
	}
	status, body := rawGet(t, r, b.ID)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", b.ID, status)
	}
	for _, want := range []string{"UID:" + ev.UID, "DTSTART:20260310T140000Z", "SEQUENCE:0", "ATTENDEE;"} {
		if !strings.Contains(body, want) {
			t.Errorf("stored object lacks %q:\n%s", want, body)
		}
	}
	// RFC 4791 4.1: a calendar object resource carries no METHOD.
	if strings.Contains(body, "METHOD:") {
		t.Errorf("stored object has a METHOD:\n%s", body)
	}

	// A retried job books again: the same object, not a second one.
	again, err := c.Book(ctx, ev)
	if err != nil {
		t.Fatalf("Book again: %v", err)
	}
	if again.ID != b.ID || again.ETag != b.ETag {
		t.Errorf("second Book = %+v, want the first %+v", again, b)
	}
	from, to := ev.Start.Add(-time.Hour), ev.End.Add(time.Hour)
	busy, err := c.Busy(ctx, []string{hub, "someone@example.test"}, from, to)
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	if len(busy[hub]) != 1 || !busy[hub][0].Start.Equal(ev.Start) || !busy[hub][0].End.Equal(ev.End) {
		t.Errorf("busy[%s] = %v, want one hour at %v", hub, busy[hub], ev.Start)
	}
	if len(busy["someone@example.test"]) != 0 {
		t.Errorf("busy for an address Calendar cannot know: %v", busy)
	}
	// Outside the event's time, the query finds nothing.
	busy, err = c.Busy(ctx, []string{hub}, ev.End.Add(time.Hour), ev.End.Add(3*time.Hour))
	if err != nil || len(busy[hub]) != 0 {
		t.Errorf("busy after the event = %v, %v", busy, err)
	}

	moved := ev
	moved.Start = ev.Start.Add(24 * time.Hour)
	moved.End = ev.End.Add(24 * time.Hour)
	b2, err := c.Reschedule(ctx, *b, moved)
	if err != nil {
		t.Fatalf("Reschedule: %v", err)
	}
	if b2.Sequence != 1 || b2.ETag == b.ETag {
		t.Errorf("rescheduled booking = %+v, want sequence 1 and a new ETag", b2)
	}
	_, body = rawGet(t, r, b.ID)
	if !strings.Contains(body, "DTSTART:20260311T140000Z") || !strings.Contains(body, "SEQUENCE:1") {
		t.Errorf("rescheduled object:\n%s", body)
	}
	// The old ETag no longer matches: a stale booking cannot overwrite.
	if _, err := c.Reschedule(ctx, *b, ev); !errors.Is(err, calendar.ErrChanged) {
		t.Errorf("Reschedule with a stale ETag: %v, want ErrChanged", err)
	}

	if err := c.Cancel(ctx, *b2); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if status, _ := rawGet(t, r, b.ID); status != http.StatusNotFound {
		t.Errorf("GET after cancel: %d, want 404", status)
	}
	if err := c.Cancel(ctx, *b2); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("second Cancel: %v, want ErrGone", err)
	}
	if _, err := c.Reschedule(ctx, *b2, moved); !errors.Is(err, calendar.ErrGone) {
		t.Errorf("Reschedule after cancel: %v, want ErrGone", err)
	}
}

func TestCalDAVWrongPassword(t *testing.T) {
	t.Parallel()
	r := testenv.StartRadicale(t, hub)
	c, err := New(r.URL, hub, "wrong", "/"+hub+"/postmortems/")
	if err != nil {
		t.Fatal(err)
	}
	err = c.EnsureCalendar(context.Background(), "x")
	if err == nil || calendar.IsRetryable(err) || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v, want a non-retryable 401", err)
	}
}

func TestObjectName(t *testing.T) {
	t.Parallel()
	if got := objectName("pm-INC-42@sitrep.example.test"); got != "pm-INC-42@sitrep.example.test.ics" {
		t.Errorf("plain UID: %q", got)
	}
	for _, uid := range []string{"../../etc", "a/b", "x y", ""} {
		got := objectName(uid)
		if strings.ContainsAny(strings.TrimSuffix(got, ".ics"), "/. ") || len(got) < 10 {
			t.Errorf("objectName(%q) = %q", uid, got)
		}
	}
}
