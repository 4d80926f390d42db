package caldav

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

// Calendar keeps the post-mortem in one calendar collection of a Calendar server
// (RFC 4791): the organizer's, or a shared "post-mortems" calendar. It does
// not invite anyone: few servers do RFC 6638 scheduling (Radicale does not),
// so invitations still go by iMIP.
type Calendar struct {
	base     *url.URL // scheme and host
	calendar string   // collection path, unescaped, with a trailing slash
	user     string
	password string
	http     *http.Client
	dav      *caldav.Client
	// Owner is the address whose free/busy the calendar answers for
	// (default: the user name when it is an address).
	Owner string
}

var _ calendar.Backend = (*Calendar)(nil)

// New talks to the server at serverURL ("https://dav.example.com") as
// user, keeping events in calendarPath, an unescaped path
// ("/hub@example.test/postmortems/"). A full URL is accepted as calendarPath
// too.
func New(serverURL, user, password, calendarPath string) (*Calendar, error) {
	base, err := url.Parse(serverURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("calendar: caldav: server URL %q is not an absolute URL", serverURL)
	}
	if strings.HasPrefix(calendarPath, "http://") || strings.HasPrefix(calendarPath, "https://") {
		u, err := url.Parse(calendarPath)
		if err != nil {
			return nil, fmt.Errorf("calendar: caldav: calendar %q: %w", calendarPath, err)
		}
		calendarPath = u.Path
	}
	if !strings.HasPrefix(calendarPath, "/") {
		return nil, fmt.Errorf("calendar: caldav: calendar path %q must start with /", calendarPath)
	}
	if !strings.HasSuffix(calendarPath, "/") {
		calendarPath += "/"
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	dav, err := caldav.NewClient(webdav.HTTPClientWithBasicAuth(hc, user, password), base.Scheme+"://"+base.Host)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: %w", err)
	}
	c := &Calendar{base: base, calendar: calendarPath, user: user, password: password, http: hc, dav: dav}
	if strings.Contains(user, "@") {
		c.Owner = user
	}
	return c, nil
}

// EnsureCalendar creates the calendar collection with MKCALENDAR (RFC 4791
// 5.3.1) unless it exists.
func (c *Calendar) EnsureCalendar(ctx context.Context, displayName string) error {
	resp, err := c.do(ctx, "PROPFIND", c.calendar, map[string]string{"Depth": "0"}, nil)
	if err != nil {
		return fmt.Errorf("calendar: caldav: find %s: %w", c.calendar, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusMultiStatus || resp.StatusCode == http.StatusOK {
		return nil
	}
	if resp.StatusCode != http.StatusNotFound {
		return c.statusError("find "+c.calendar, resp)
	}
	var body bytes.Buffer
	body.WriteString(`<?xml version="1.0" encoding="utf-8"?>` +
		`<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>` +
		`<D:displayname>`)
	xmlEscape(&body, displayName)
	body.WriteString(`</D:displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/>` +
		`</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`)
	resp, err = c.do(ctx, "MKCALENDAR", c.calendar, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, body.Bytes())
	if err != nil {
		return fmt.Errorf("calendar: caldav: mkcalendar %s: %w", c.calendar, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return c.statusError("mkcalendar "+c.calendar, resp)
	}
	return nil
}

// Book PUTs the event at <calendar>/<uid>.ics with If-None-Match: * (RFC
// 4791 5.3.2, RFC 9110 13.1.2), so a retried job never makes a second one:
// if the object exists with the same UID, that is the earlier try, and Book
// returns it.
func (c *Calendar) Book(ctx context.Context, ev calendar.Event) (*calendar.Booking, error) {
	p := c.calendar + objectName(ev.UID)
	body, err := objectBody(ev)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: book: %w", err)
	}
	resp, err := c.do(ctx, http.MethodPut, p, map[string]string{
		"Content-Type":  ical.MIMEType + "; charset=utf-8",
		"If-None-Match": "*",
	}, body)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: book %s: %w", p, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusNoContent:
		return c.booking(ctx, p, resp.Header.Get("ETag"), ev.Sequence)
	case resp.StatusCode == http.StatusPreconditionFailed:
		obj, err := c.get(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("calendar: caldav: book %s: exists, and: %w", p, err)
		}
		if obj.uid != ev.UID {
			return nil, fmt.Errorf("calendar: caldav: book %s: the path holds another event (UID %q)", p, obj.uid)
		}
		return &calendar.Booking{Backend: "caldav", ID: p, ETag: obj.etag, Sequence: obj.sequence}, nil
	default:
		return nil, c.statusError("book "+p, resp)
	}
}

// Reschedule PUTs the changed event over the booked one with SEQUENCE
// raised and If-Match on the booked ETag: a calendar changed by someone
// else since gives ErrChanged instead of being overwritten.
func (c *Calendar) Reschedule(ctx context.Context, b calendar.Booking, ev calendar.Event) (*calendar.Booking, error) {
	ev.Sequence = max(ev.Sequence, b.Sequence+1)
	body, err := objectBody(ev)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: reschedule: %w", err)
	}
	h := map[string]string{"Content-Type": ical.MIMEType + "; charset=utf-8"}
	if b.ETag != "" {
		h["If-Match"] = quoteETag(b.ETag)
	} else {
		h["If-Match"] = "*" // only if it still exists
	}
	resp, err := c.do(ctx, http.MethodPut, b.ID, h, body)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: reschedule %s: %w", b.ID, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
		return c.booking(ctx, b.ID, resp.Header.Get("ETag"), ev.Sequence)
	case http.StatusPreconditionFailed:
		// If-Match fails on a changed object and on a missing one alike.
		if _, err := c.get(ctx, b.ID); errors.Is(err, calendar.ErrGone) {
			return nil, fmt.Errorf("calendar: caldav: reschedule %s: %w", b.ID, calendar.ErrGone)
		}
		return nil, fmt.Errorf("calendar: caldav: reschedule %s: %w", b.ID, calendar.ErrChanged)
	case http.StatusNotFound, http.StatusGone:
		return nil, fmt.Errorf("calendar: caldav: reschedule %s: %w", b.ID, calendar.ErrGone)
	default:
		return nil, c.statusError("reschedule "+b.ID, resp)
	}
}

// Cancel DELETEs the event. One already gone gives ErrGone: for a cancel,
// that means done.
func (c *Calendar) Cancel(ctx context.Context, b calendar.Booking) error {
	resp, err := c.do(ctx, http.MethodDelete, b.ID, nil, nil)
	if err != nil {
		return fmt.Errorf("calendar: caldav: cancel %s: %w", b.ID, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusAccepted:
		return nil
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("calendar: caldav: cancel %s: %w", b.ID, calendar.ErrGone)
	default:
		return c.statusError("cancel "+b.ID, resp)
	}
}

// Busy answers for the calendar's Owner only, from a calendar-query REPORT
// with a time-range filter (RFC 4791 7.8.1, 9.9); other addresses are unknown
// to a Calendar server without scheduling. Cancelled and transparent events
// do not count; recurring ones are expanded.
func (c *Calendar) Busy(ctx context.Context, emails []string, from, to time.Time) (map[string][]calendar.Interval, error) {
	out := map[string][]calendar.Interval{}
	asked := false
	for _, e := range emails {
		if c.Owner != "" && strings.EqualFold(e, c.Owner) {
			asked = true
		}
	}
	if !asked {
		return out, nil
	}
	q := &caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter: caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{
			Name: "VEVENT", Start: from.UTC(), End: to.UTC(),
		}}},
	}
	objs, err := c.dav.QueryCalendar(ctx, c.calendar, q)
	if err != nil {
		return nil, retryableIfTransient("caldav", fmt.Errorf("free/busy query %s: %w", c.calendar, err))
	}
	window := calendar.Interval{Start: from, End: to}
	var busy []calendar.Interval
	for _, o := range objs {
		if o.Data == nil {
			continue
		}
		for _, vev := range o.Data.Events() {
			busy = append(busy, eventBusy(vev, window)...)
		}
	}
	for _, e := range emails {
		if strings.EqualFold(e, c.Owner) {
			out[e] = busy
		}
	}
	return out, nil
}

// eventBusy lists when one VEVENT makes its owner busy inside window.
func eventBusy(vev ical.Event, window calendar.Interval) []calendar.Interval {
	if st, _ := vev.Status(); st == ical.EventCancelled {
		return nil
	}
	// RFC 5545 3.8.2.7: TRANSPARENT events do not block time.
	if tr, _ := vev.Props.Text(ical.PropTransparency); strings.EqualFold(tr, "TRANSPARENT") {
		return nil
	}
	start, err := vev.DateTimeStart(time.UTC)
	if err != nil {
		return nil
	}
	end, err := vev.DateTimeEnd(time.UTC)
	if err != nil || !end.After(start) {
		end = start.Add(24 * time.Hour) // an all-day event without DTEND
	}
	dur := end.Sub(start)
	var out []calendar.Interval
	if vev.Props.Get(ical.PropRecurrenceRule) != nil {
		set, err := vev.RecurrenceSet(time.UTC)
		if err == nil && set != nil {
			for _, s := range set.Between(window.Start.Add(-dur), window.End, true) {
				iv := calendar.Interval{Start: s, End: s.Add(dur)}
				if iv.Overlaps(window) {
					out = append(out, iv)
				}
			}
			return out
		}
	}
	if iv := (calendar.Interval{Start: start, End: end}); iv.Overlaps(window) {
		out = append(out, iv)
	}
	return out
}

type davObject struct {
	uid      string
	sequence int
	etag     string
	cal      *ical.Calendar
}

func (c *Calendar) get(ctx context.Context, p string) (*davObject, error) {
	resp, err := c.do(ctx, http.MethodGet, p, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		return nil, calendar.ErrGone
	default:
		return nil, c.statusError("get "+p, resp)
	}
	cal, err := calendar.Decode(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", p, err)
	}
	obj := &davObject{etag: unquoteETag(resp.Header.Get("ETag")), cal: cal}
	if evs := cal.Events(); len(evs) > 0 {
		obj.uid, _ = evs[0].Props.Text(ical.PropUID)
		if sp := evs[0].Props.Get(ical.PropSequence); sp != nil {
			obj.sequence, _ = sp.Int()
		}
	}
	return obj, nil
}

// booking builds the Booking after a write. Servers may leave the ETag out
// of a PUT response when they changed the body (RFC 4791 5.3.4); then it is
// read back.
func (c *Calendar) booking(ctx context.Context, p, etag string, seq int) (*calendar.Booking, error) {
	b := &calendar.Booking{Backend: "caldav", ID: p, ETag: unquoteETag(etag), Sequence: seq}
	if b.ETag == "" {
		obj, err := c.get(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("calendar: caldav: read back %s: %w", p, err)
		}
		b.ETag = obj.etag
	}
	return b, nil
}

func (c *Calendar) do(ctx context.Context, method, p string, header map[string]string, body []byte) (*http.Response, error) {
	u := url.URL{Scheme: c.base.Scheme, Host: c.base.Host, Path: p}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.password)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &calendar.RetryableError{Backend: "caldav", Err: err}
	}
	return resp, nil
}

func (c *Calendar) statusError(what string, resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("%s: HTTP %s: %s", what, resp.Status, strings.TrimSpace(string(msg)))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		r := &calendar.RetryableError{Backend: "caldav", Status: resp.StatusCode, Err: err}
		r.RetryAfter = calendar.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return r
	}
	return fmt.Errorf("calendar: caldav: %w", err)
}

// retryableIfTransient marks go-webdav's errors for 5xx and 429 retryable;
// its error type is internal, so the status is read from the message.
func retryableIfTransient(backend string, err error) error {
	if calendar.IsRetryable(err) {
		return err
	}
	if m := regexp.MustCompile(`\b(429|5\d\d)\b`).FindString(err.Error()); m != "" {
		code, _ := strconv.Atoi(m)
		return &calendar.RetryableError{Backend: backend, Status: code, Err: err}
	}
	return fmt.Errorf("calendar: %s: %w", backend, err)
}

// objectBody is the calendar object resource: METHOD-less, one VEVENT
// (RFC 4791 4.1).
func objectBody(ev calendar.Event) ([]byte, error) {
	cal, err := calendar.VCalendar(ev, "", time.Now())
	if err != nil {
		return nil, err
	}
	return calendar.Encode(cal)
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,200}$`)

// objectName is the resource name for a UID: the UID itself when it is a
// plain name, else a hash of it, so odd UIDs cannot escape the collection.
func objectName(uid string) string {
	if safeName.MatchString(uid) && !strings.Contains(uid, "..") {
		return uid + ".ics"
	}
	sum := sha256.Sum256([]byte(uid))
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])) + ".ics"
}

func quoteETag(e string) string {
	if strings.HasPrefix(e, `"`) || strings.HasPrefix(e, `W/"`) {
		return e
	}
	return strconv.Quote(e)
}

func unquoteETag(e string) string {
	if u, err := strconv.Unquote(e); err == nil {
		return u
	}
	return e
}

func xmlEscape(w *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	w.WriteString(r.Replace(s))
}

// Verify logs in and looks at the calendar collection without changing
// anything (PROPFIND, Depth 0): what sitrep doctor checks.
func (c *Calendar) Verify(ctx context.Context) error {
	resp, err := c.do(ctx, "PROPFIND", c.calendar, map[string]string{"Depth": "0"}, nil)
	if err != nil {
		return fmt.Errorf("calendar: caldav: %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusMultiStatus, http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("calendar: caldav: login as %s refused (HTTP %s)", c.user, resp.Status)
	case http.StatusNotFound:
		return fmt.Errorf("calendar: caldav: logged in, but the calendar %s does not exist (sitrep serve creates it at start)", c.calendar)
	}
	return c.statusError("find "+c.calendar, resp)
}
