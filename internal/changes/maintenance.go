package changes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
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
	// Maintenance lists the events that overlap [from, to], cancelled ones
	// included (Window.Cancelled).
	Maintenance(ctx context.Context, from, to time.Time) ([]Window, error)
}

// Finder is a calendar that can say where some of its windows are now,
// whatever their time: planned maintenance asks it about the windows a
// read no longer found at their time, to tell a window that moved far
// from one that is gone.
type Finder interface {
	// Find looks up the windows keyed keys (Window.Key, or the key one
	// event had before occurrences were told apart) and returns, by the
	// key asked, those the calendar still has, at their time now
	// (Cancelled when it cancelled them). A key missing from the answer
	// is a window the calendar no longer has.
	Find(ctx context.Context, keys []string) (map[string]Window, error)
}

// Window is one planned maintenance: one VEVENT, or one occurrence of a
// recurring one.
type Window struct {
	UID string
	// Recurrence is an occurrence's original start (RFC 5545 3.8.4.4,
	// RECURRENCE-ID): the occurrence keeps it when it is moved. Zero for
	// an event that does not recur.
	Recurrence time.Time
	Summary    string
	Details    string
	URL        string
	Start      time.Time
	End        time.Time
	// Cancelled: the calendar says the work will not take place
	// (STATUS:CANCELLED; a deleted Google event).
	Cancelled bool
}

// Key is the window's identity in the change log (its external id): its
// UID, and for one occurrence of a recurring event the occurrence's
// original start. Moving an event, or one occurrence, keeps its key: the
// window is the same one, at another time.
func (w Window) Key() string {
	if w.Recurrence.IsZero() {
		return w.UID
	}
	return w.UID + "/" + w.Recurrence.UTC().Format(time.RFC3339)
}

// legacyKey is how one event was keyed before occurrences were told
// apart from events: "UID/<start>". A window stored so takes its Key the
// next time it is read.
func (w Window) legacyKey() string { return w.UID + "/" + w.Start.UTC().Format(time.RFC3339) }

// splitKey is a key's UID and, for an occurrence's (or a legacy key), the
// time after its last slash; zero when there is none.
func splitKey(key string) (uid string, rec time.Time) {
	if i := strings.LastIndexByte(key, '/'); i > 0 {
		if t, err := time.Parse(time.RFC3339, key[i+1:]); err == nil {
			return key[:i], t.UTC()
		}
	}
	return key, time.Time{}
}

func (w Window) input(source string, known []string) Input {
	end := w.End
	return Input{Source: source, ExternalID: w.Key(), Kind: Maintenance,
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

var (
	_ Calendar = (*ICS)(nil)
	_ Finder   = (*ICS)(nil)
)

func (c *ICS) Name() string   { return redact(c.Location) }
func (c *ICS) Source() string { return "ics" }

// Maintenance reads the file and lists its events in [from, to].
func (c *ICS) Maintenance(ctx context.Context, from, to time.Time) ([]Window, error) {
	cal, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	return windows([]*ical.Calendar{cal}, from, to), nil
}

// Find reads the file and looks keys up in it.
func (c *ICS) Find(ctx context.Context, keys []string) (map[string]Window, error) {
	cal, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	return find([]*ical.Calendar{cal}, keys), nil
}

func (c *ICS) read(ctx context.Context) (*ical.Calendar, error) {
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
	return cal, nil
}

// CalDAV reads maintenance windows from a CalDAV calendar collection with a
// calendar-query REPORT and a time-range filter (RFC 4791 7.8.1, 9.9).
type CalDAV struct {
	URL  string // the server's collection URL
	path string
	dav  *caldav.Client
}

var (
	_ Calendar = (*CalDAV)(nil)
	_ Finder   = (*CalDAV)(nil)
)

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

// Find asks the server for the events of each key's UID (a
// calendar-query with a prop-filter on UID, RFC 4791 9.7.2), whatever
// their time, and looks the keys up in them.
func (c *CalDAV) Find(ctx context.Context, keys []string) (map[string]Window, error) {
	var cals []*ical.Calendar
	asked := map[string]bool{}
	for _, key := range keys {
		uid, _ := splitKey(key)
		for _, u := range []string{uid, key} { // a UID may itself end in "/<time>"
			if asked[u] {
				continue
			}
			asked[u] = true
			q := &caldav.CalendarQuery{
				CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
				CompFilter: caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{
					Name: "VEVENT", Props: []caldav.PropFilter{{Name: ical.PropUID, TextMatch: &caldav.TextMatch{Text: u}}},
				}}},
			}
			objs, err := c.dav.QueryCalendar(ctx, c.path, q)
			if err != nil {
				return nil, fmt.Errorf("caldav: query %s for %q: %w", c.path, u, err)
			}
			for _, o := range objs {
				if o.Data != nil {
					cals = append(cals, o.Data)
				}
			}
		}
	}
	return find(cals, keys), nil
}

// series is one UID's events: the event itself (master; nil when a
// calendar holds only overrides), and the occurrences it overrides
// (RFC 5545 RECURRENCE-ID: one occurrence moved, renamed or cancelled),
// by their original start.
type series struct {
	master    *ical.Event
	overrides map[int64]*ical.Event // by RECURRENCE-ID, Unix seconds
}

// seriesOf groups the events of cals by UID, in the order first seen.
func seriesOf(cals []*ical.Calendar) (map[string]*series, []string) {
	all := map[string]*series{}
	var order []string
	for _, cal := range cals {
		for i := range cal.Children {
			if cal.Children[i].Name != ical.CompEvent {
				continue
			}
			ev := &ical.Event{Component: cal.Children[i]}
			uid, _ := ev.Props.Text(ical.PropUID)
			if uid == "" {
				start, err := ev.DateTimeStart(time.UTC)
				if err != nil {
					continue
				}
				summary, _ := ev.Props.Text(ical.PropSummary)
				uid = "nouid:" + start.Format(time.RFC3339) + ":" + oneLine(summary)
			}
			sr := all[uid]
			if sr == nil {
				sr = &series{overrides: map[int64]*ical.Event{}}
				all[uid] = sr
				order = append(order, uid)
			}
			if ev.Props.Get(ical.PropRecurrenceID) != nil {
				rid, err := ev.Props.DateTime(ical.PropRecurrenceID, time.UTC)
				if err != nil {
					continue
				}
				sr.overrides[rid.Unix()] = ev
				continue
			}
			if sr.master == nil { // the first definition wins
				sr.master = ev
			}
		}
	}
	return all, order
}

// recurs reports whether the series repeats (its event has an RRULE).
func (sr *series) recurs() bool {
	return sr.master != nil && sr.master.Props.Get(ical.PropRecurrenceRule) != nil
}

// eventWindow is ev as a window of uid: its time, words and status.
func eventWindow(ev *ical.Event, uid string) (Window, bool) {
	start, err := ev.DateTimeStart(time.UTC)
	if err != nil {
		return Window{}, false
	}
	end, err := ev.DateTimeEnd(time.UTC)
	if err != nil || !end.After(start) {
		end = start.Add(24 * time.Hour) // RFC 5545 3.6.1: a DATE start without end lasts the day
	}
	summary, _ := ev.Props.Text(ical.PropSummary)
	details, _ := ev.Props.Text(ical.PropDescription)
	link := ""
	if p := ev.Props.Get(ical.PropURL); p != nil { // a URI value: Text refuses it
		link = p.Value
	}
	st, _ := ev.Status()
	return Window{UID: uid, Summary: oneLine(summary), Details: details, URL: link, Start: start.UTC(), End: end.UTC(),
		Cancelled: st == ical.EventCancelled}, true
}

// occurrence is the occurrence of sr that originally started at rec: its
// override when there is one, else the series' event at rec, when its
// recurrence set (RRULE, less EXDATE) has rec; ok false otherwise.
func (sr *series) occurrence(uid string, rec time.Time) (Window, bool) {
	var master Window
	haveMaster := false
	if sr.master != nil {
		master, haveMaster = eventWindow(sr.master, uid)
	}
	if ov := sr.overrides[rec.Unix()]; ov != nil {
		w, ok := eventWindow(ov, uid)
		w.Recurrence = rec
		w.Cancelled = w.Cancelled || (haveMaster && master.Cancelled)
		return w, ok
	}
	if !haveMaster || !sr.recurs() {
		return Window{}, false
	}
	set, err := sr.master.RecurrenceSet(time.UTC)
	if err != nil || set == nil {
		return Window{}, false
	}
	for _, s := range set.Between(rec.Add(-time.Second), rec.Add(time.Second), true) {
		if s.Equal(rec) {
			d := master.End.Sub(master.Start)
			master.Start, master.End, master.Recurrence = rec, rec.Add(d), rec
			return master, true
		}
	}
	return Window{}, false
}

// windows lists the events of cals overlapping [from, to], cancelled ones
// included. Events with an RRULE (RFC 5545 3.8.5.3, less EXDATE) are
// expanded into occurrences, each keyed by its original start, with the
// overrides (RECURRENCE-ID) applied: a moved occurrence is listed once,
// at its new time (and when only its original time is in the span, so
// that the change log learns where it went). RDATE is not read (go-ical's
// recurrence set reads it wrongly).
func windows(cals []*ical.Calendar, from, to time.Time) []Window {
	var out []Window
	overlaps := func(start, end time.Time) bool { return !start.After(to) && !end.Before(from) }
	all, order := seriesOf(cals)
	for _, uid := range order {
		sr := all[uid]
		if sr.master != nil && !sr.recurs() {
			if w, ok := eventWindow(sr.master, uid); ok && overlaps(w.Start, w.End) {
				out = append(out, w)
			}
			continue
		}
		var dur time.Duration
		var master Window
		if sr.master != nil {
			var ok bool
			if master, ok = eventWindow(sr.master, uid); ok {
				dur = master.End.Sub(master.Start)
			}
		}
		rids := make([]int64, 0, len(sr.overrides))
		for rid := range sr.overrides {
			rids = append(rids, rid)
		}
		slices.Sort(rids)
		for _, rid := range rids {
			rec := time.Unix(rid, 0).UTC()
			if w, ok := sr.occurrence(uid, rec); ok && (overlaps(w.Start, w.End) || overlaps(rec, rec.Add(dur))) {
				out = append(out, w)
			}
		}
		if sr.master == nil || master.Start.IsZero() {
			continue
		}
		set, err := sr.master.RecurrenceSet(time.UTC)
		if err != nil || set == nil {
			continue
		}
		for _, s := range set.Between(from.Add(-dur), to, true) {
			if _, moved := sr.overrides[s.Unix()]; moved {
				continue
			}
			w := master
			w.Start, w.End, w.Recurrence = s.UTC(), s.Add(dur).UTC(), s.UTC()
			if overlaps(w.Start, w.End) {
				out = append(out, w)
			}
		}
	}
	return out
}

// find looks keys up in cals: for each key the calendars still have, the
// window at its time now, by the key asked. An event that does not recur
// is found by its UID whatever the rest of its key (the key it had before
// occurrences were told apart named its start); an occurrence by its UID
// and original start.
func find(cals []*ical.Calendar, keys []string) map[string]Window {
	all, _ := seriesOf(cals)
	out := map[string]Window{}
	for _, key := range keys {
		uid, rec := splitKey(key)
		sr := all[uid]
		if sr == nil && all[key] != nil { // a UID that ends in "/<time>"
			uid, rec, sr = key, time.Time{}, all[key]
		}
		if sr == nil {
			continue
		}
		if sr.master != nil && !sr.recurs() {
			if w, ok := eventWindow(sr.master, uid); ok {
				out[key] = w
			}
			continue
		}
		if rec.IsZero() {
			continue // it recurs now: the event that did not is gone
		}
		if w, ok := sr.occurrence(uid, rec); ok {
			out[key] = w
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
