package changes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// Calendar is a maintenance calendar: where planned work is announced.
type Calendar interface {
	// Name says which calendar, for warnings ("maintenance.ics", a URL).
	Name() string
	// Source is the change log's source for its events (ics, caldav).
	Source() string
	// Maintenance lists the events that overlap [from, to].
	Maintenance(ctx context.Context, from, to time.Time) ([]Window, error)
}

// Window is one planned maintenance: one VEVENT, or one occurrence of a
// recurring one.
type Window struct {
	UID     string
	Summary string
	Details string
	URL     string
	Start   time.Time
	End     time.Time
}

func (w Window) input(source string, known []string) Input {
	end := w.End
	// One occurrence of a recurring event is its own change: the UID
	// (RFC 5545 3.8.4.7) is shared by every occurrence, the start is not.
	return Input{Source: source, ExternalID: w.UID + "/" + w.Start.UTC().Format(time.RFC3339), Kind: Maintenance,
		Summary: w.Summary, Details: w.Details, URL: w.URL, At: w.Start, End: &end,
		Systems: mentions(w.Summary+"\n"+w.Details, known)}
}

// ICS reads maintenance windows from an iCalendar file (RFC 5545), a local
// path or an http(s) URL (a published calendar's "secret address in iCal
// format"). It is read again on every incident view.
type ICS struct {
	Location string
	HTTP     *http.Client
}

var _ Calendar = (*ICS)(nil)

func (c *ICS) Name() string   { return redact(c.Location) }
func (c *ICS) Source() string { return "ics" }

// Maintenance reads the file and lists its events in [from, to].
func (c *ICS) Maintenance(ctx context.Context, from, to time.Time) ([]Window, error) {
	var r io.Reader
	if strings.HasPrefix(c.Location, "http://") || strings.HasPrefix(c.Location, "https://") {
		hc := c.HTTP
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Location, nil)
		if err != nil {
			return nil, fmt.Errorf("ics: %w", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("ics: get: %w", redactErr(err, c.Location))
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("ics: get: server answered %s", resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 20<<20))
		if err != nil {
			return nil, fmt.Errorf("ics: read: %w", err)
		}
		r = bytes.NewReader(b)
	} else {
		b, err := os.ReadFile(c.Location)
		if err != nil {
			return nil, fmt.Errorf("ics: %w", err)
		}
		r = bytes.NewReader(b)
	}
	cal, err := decodeICS(r)
	if err != nil {
		return nil, fmt.Errorf("ics: %w", err)
	}
	return windows([]*ical.Calendar{cal}, from, to), nil
}

// CalDAV reads maintenance windows from a CalDAV calendar collection with a
// calendar-query REPORT and a time-range filter (RFC 4791 7.8.1, 9.9).
type CalDAV struct {
	URL  string // the server's collection URL
	path string
	dav  *caldav.Client
}

var _ Calendar = (*CalDAV)(nil)

// NewCalDAV talks to serverURL ("https://dav.example.com") as user and
// reads calendarPath ("/ops/maintenance/"; a full URL is accepted too).
func NewCalDAV(serverURL, user, password, calendarPath string) (*CalDAV, error) {
	base, err := url.Parse(serverURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("caldav: server URL %q is not an absolute http(s) URL", serverURL)
	}
	if strings.HasPrefix(calendarPath, "http://") || strings.HasPrefix(calendarPath, "https://") {
		u, err := url.Parse(calendarPath)
		if err != nil {
			return nil, fmt.Errorf("caldav: calendar %q: %w", calendarPath, err)
		}
		calendarPath = u.Path
	}
	if calendarPath == "" {
		calendarPath = base.Path
	}
	if !strings.HasPrefix(calendarPath, "/") {
		return nil, fmt.Errorf("caldav: calendar path %q must start with /", calendarPath)
	}
	if !strings.HasSuffix(calendarPath, "/") {
		calendarPath += "/"
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	dav, err := caldav.NewClient(webdav.HTTPClientWithBasicAuth(hc, user, password), base.Scheme+"://"+base.Host)
	if err != nil {
		return nil, fmt.Errorf("caldav: %w", err)
	}
	return &CalDAV{URL: base.Scheme + "://" + base.Host + calendarPath, path: calendarPath, dav: dav}, nil
}

func (c *CalDAV) Name() string   { return c.URL }
func (c *CalDAV) Source() string { return "caldav" }

// Maintenance asks the server for the events overlapping [from, to].
func (c *CalDAV) Maintenance(ctx context.Context, from, to time.Time) ([]Window, error) {
	q := &caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter: caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{
			Name: "VEVENT", Start: from.UTC(), End: to.UTC(),
		}}},
	}
	objs, err := c.dav.QueryCalendar(ctx, c.path, q)
	if err != nil {
		return nil, fmt.Errorf("caldav: query %s: %w", c.path, err)
	}
	cals := make([]*ical.Calendar, 0, len(objs))
	for _, o := range objs {
		if o.Data != nil {
			cals = append(cals, o.Data)
		}
	}
	return windows(cals, from, to), nil
}

// windows lists the events of cals overlapping [from, to]. Events with an
// RRULE (RFC 5545 3.8.5.3, less EXDATE) are expanded into occurrences;
// RDATE is not (go-ical's recurrence set reads it wrongly), nor are
// RECURRENCE-ID overrides applied: a moved occurrence shows at both times.
// Cancelled events are not maintenance.
func windows(cals []*ical.Calendar, from, to time.Time) []Window {
	var out []Window
	for _, cal := range cals {
		for _, ev := range cal.Events() {
			if st, _ := ev.Status(); st == ical.EventCancelled {
				continue
			}
			start, err := ev.DateTimeStart(time.UTC)
			if err != nil {
				continue
			}
			end, err := ev.DateTimeEnd(time.UTC)
			if err != nil || !end.After(start) {
				end = start.Add(24 * time.Hour) // RFC 5545 3.6.1: a DATE start without end lasts the day
			}
			uid, _ := ev.Props.Text(ical.PropUID)
			summary, _ := ev.Props.Text(ical.PropSummary)
			details, _ := ev.Props.Text(ical.PropDescription)
			link := ""
			if p := ev.Props.Get(ical.PropURL); p != nil { // a URI value: Text refuses it
				link = p.Value
			}
			w := Window{UID: uid, Summary: oneLine(summary), Details: details, URL: link}
			if uid == "" {
				w.UID = "nouid:" + start.Format(time.RFC3339) + ":" + w.Summary
			}
			dur := end.Sub(start)
			starts := []time.Time{start}
			if ev.Props.Get(ical.PropRecurrenceRule) != nil {
				if set, err := ev.RecurrenceSet(time.UTC); err == nil && set != nil {
					starts = set.Between(from.Add(-dur), to, true)
				}
			}
			for _, s := range starts {
				e := s.Add(dur)
				if s.After(to) || e.Before(from) {
					continue
				}
				w.Start, w.End = s.UTC(), e.UTC()
				out = append(out, w)
			}
		}
	}
	return out
}

// decodeICS reads one iCalendar object. go-ical's decoder panics on some
// malformed lines (see internal/calendar's fuzz corpus); a calendar file
// is outside input, so a panic becomes an error.
func decodeICS(r io.Reader) (cal *ical.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("malformed iCalendar (%v)", p)
		}
	}()
	cal, err = ical.NewDecoder(r).Decode()
	if err != nil {
		return nil, fmt.Errorf("malformed iCalendar: %w", err)
	}
	return cal, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// redact hides credentials and query secrets of a calendar URL (a Google
// "secret address" carries its key in the path; keep the host only).
func redact(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return loc
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func redactErr(err error, loc string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), loc, redact(loc)))
}
