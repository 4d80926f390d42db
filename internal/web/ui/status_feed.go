package ui

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/web/statuspage"
)

// The status page's feeds: Atom (RFC 4287) of the status updates, all of
// them (/status/feed.atom) or one incident's (/status/INC-42/feed.atom),
// and iCalendar (RFC 5545) of the post-mortems and maintenance windows
// (/status/calendar.ics). A feed reader cannot sign in: beside the
// session and the open networks, they take an API token (statusAccess).

// statusBase is the absolute URL of the web UI for links in feeds: the
// public URL, else the address the request came to.
func (s *Server) statusBase(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimSuffix(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// statusSite tells this installation's feed ids from another's.
func (s *Server) statusSite(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimSuffix(s.PublicURL, "/")
	}
	return r.Host
}

func (s *Server) feedOptions(r *http.Request) statuspage.FeedOptions {
	base := s.statusBase(r)
	return statuspage.FeedOptions{Site: s.statusSite(r),
		LinkOf:  func(ref string) string { return base + "/status/" + ref },
		TitleOf: func(inc *statuspage.Incident) string { return inc.Ref + " · " + inc.Title + " (" + inc.Severity + ")" }}
}

func writeFeed(w http.ResponseWriter, f statuspage.Feed) error {
	var buf bytes.Buffer
	if err := statuspage.WriteAtom(&buf, f); err != nil {
		return err
	}
	w.Header().Set("Content-Type", statuspage.AtomType)
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *Server) uiStatusFeed(w http.ResponseWriter, r *http.Request, _ statusReader) error {
	b, err := s.statusReaderOf().Board(r.Context(), statuspage.Internal)
	if err != nil {
		return err
	}
	base := s.statusBase(r)
	return writeFeed(w, statuspage.Feed{ID: statuspage.FeedID(s.statusSite(r), "internal"), Title: "Status updates",
		Self: base + "/status/feed.atom", Alternate: base + "/status", Author: "sitrep",
		Entries: statuspage.Entries(b.All(), statuspage.Internal, s.feedOptions(r))})
}

func (s *Server) uiStatusIncidentFeed(w http.ResponseWriter, r *http.Request, _ statusReader) error {
	inc, err := s.statusReaderOf().Incident(r.Context(), statuspage.Internal, r.PathValue("ref"))
	if err != nil {
		return err
	}
	base := s.statusBase(r)
	return writeFeed(w, statuspage.Feed{ID: statuspage.FeedID(s.statusSite(r), "internal/"+inc.Ref), Title: inc.Ref + " · " + inc.Title,
		Self: base + "/status/" + inc.Ref + "/feed.atom", Alternate: base + "/status/" + inc.Ref, Author: "sitrep", Updated: inc.DeclaredAt,
		Entries: statuspage.Entries([]*statuspage.Incident{inc}, statuspage.Internal, s.feedOptions(r))})
}

// The calendar's window: the history's length back, a year ahead.
const calendarAhead = 365 * 24 * time.Hour

// calendarProdID names the calendar's writer (RFC 5545 3.7.3).
const calendarProdID = "-//sitrep//sitrep status calendar//EN"

func (s *Server) uiStatusCalendar(w http.ResponseWriter, r *http.Request, _ statusReader) error {
	now := s.now()
	from, to := now.Add(-statuspage.DefaultHistory), now.Add(calendarAhead)
	var pms []postmortem.Postmortem
	if s.Postmortem != nil {
		var err error
		if pms, err = s.Postmortem.Scheduled(r.Context(), from, to); err != nil {
			return err
		}
	}
	windows, err := s.calendarWindows(r.Context(), from, to)
	if err != nil {
		return err
	}
	titles := map[string]string{}
	for _, pm := range pms {
		if inc, err := s.Incidents.Get(r.Context(), pm.Incident); err == nil {
			titles[pm.Incident] = inc.Title
		} else if errs.CodeOf(err) != errs.NotFound {
			return err
		}
	}
	body, err := statusCalendar(s.statusBase(r), s.statusSite(r), now, pms, titles, windows)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="sitrep-status.ics"`)
	_, err = w.Write(body)
	return err
}

// calWindow is a maintenance window in the calendar.
type calWindow struct {
	ID                  int64
	Ref, Title, Details string
	URL                 string
	Systems             []string
	Start, End          time.Time
	Cancelled           bool
}

// calendarWindows are the maintenance windows of [from, to]: planned
// maintenance's, which knows a cancelled one, else the change log's.
func (s *Server) calendarWindows(ctx context.Context, from, to time.Time) ([]calWindow, error) {
	var out []calWindow
	switch {
	case s.Maintenance != nil:
		list, err := s.Maintenance.List(ctx, from, to)
		if err != nil {
			return nil, err
		}
		for _, w := range list {
			out = append(out, calWindow{ID: w.ID, Ref: w.Ref, Title: w.Title, Details: w.Details, URL: w.URL, Systems: w.Systems,
				Start: w.Start, End: w.End, Cancelled: w.State == maintenance.Cancelled})
		}
	case s.Changes != nil:
		list, err := s.Changes.List(ctx, from, to)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if c.Kind != changes.Maintenance {
				continue
			}
			w := calWindow{ID: c.ID, Ref: maintenance.Ref(c.ID), Title: changeTitle(c), Details: c.Details, URL: c.URL, Systems: c.Systems, Start: c.At, End: c.At}
			if c.End != nil {
				w.End = *c.End
			}
			out = append(out, w)
		}
	}
	return out, nil
}

// statusCalendar writes the post-mortems and maintenance windows as one
// published calendar. Every text goes through go-ical's escaping
// (RFC 5545 3.3.11) and calendar.Encode's folding (3.1). It names no
// attendee: the feed is for everyone who may read the status page.
func statusCalendar(base, site string, now time.Time, pms []postmortem.Postmortem, titles map[string]string, windows []calWindow) ([]byte, error) {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, calendarProdID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText(ical.PropMethod, "PUBLISH")
	cal.Props.SetText("X-WR-CALNAME", "sitrep: post-mortems and maintenance")
	cal.Props.SetText(ical.PropName, "sitrep: post-mortems and maintenance")
	refresh := ical.NewProp(ical.PropRefreshInterval)
	refresh.SetValueType(ical.ValueDuration)
	refresh.Value = "PT15M"
	cal.Props.Set(refresh)
	host := uidHost(site)
	for _, pm := range pms {
		if pm.Start == nil || pm.End == nil {
			continue
		}
		ev := ical.NewEvent()
		// Not the invitation's UID: a calendar that has the invitation
		// and subscribes to this feed keeps two events, not one that
		// flips between them.
		ev.Props.SetText(ical.PropUID, "status-"+pm.UID)
		stamp := now
		if pm.BookedAt != nil {
			stamp = *pm.BookedAt
		}
		ev.Props.SetDateTime(ical.PropDateTimeStamp, stamp.UTC())
		ev.Props.SetDateTime(ical.PropDateTimeStart, pm.Start.UTC())
		ev.Props.SetDateTime(ical.PropDateTimeEnd, pm.End.UTC())
		setInt(ev.Props, ical.PropSequence, pm.Sequence)
		summary := "Post-mortem: " + pm.Incident
		if t := titles[pm.Incident]; t != "" {
			summary += " " + t
		}
		ev.Props.SetText(ical.PropSummary, summary)
		var where []string
		if pm.Room != nil {
			where = append(where, pm.Room.Location())
		}
		if pm.VideoLink != "" {
			where = append(where, pm.VideoLink)
		}
		if len(where) > 0 {
			ev.Props.SetText(ical.PropLocation, strings.Join(where, " · "))
		}
		link := base + "/status/" + pm.Incident
		ev.Props.SetText(ical.PropDescription, "The blameless post-mortem of "+pm.Incident+". Its status updates: "+link)
		setURL(ev.Props, link)
		ev.Props.SetText(ical.PropCategories, "POST-MORTEM")
		ev.Props.SetText(ical.PropStatus, "CONFIRMED")
		ev.Props.SetText(ical.PropTransparency, "OPAQUE")
		cal.Children = append(cal.Children, ev.Component)
	}
	for _, c := range windows {
		ev := ical.NewEvent()
		ev.Props.SetText(ical.PropUID, fmt.Sprintf("status-maintenance-%d@%s", c.ID, host))
		ev.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
		end := c.End
		if !end.After(c.Start) {
			end = c.Start.Add(time.Hour) // a window without its end: an hour, not nothing
		}
		ev.Props.SetDateTime(ical.PropDateTimeStart, c.Start.UTC())
		ev.Props.SetDateTime(ical.PropDateTimeEnd, end.UTC())
		ev.Props.SetText(ical.PropSummary, "Maintenance: "+c.Ref+" "+c.Title)
		var desc []string
		if c.Details != "" {
			desc = append(desc, c.Details)
		}
		if len(c.Systems) > 0 {
			desc = append(desc, "Systems: "+strings.Join(c.Systems, ", "))
		}
		if len(desc) > 0 {
			ev.Props.SetText(ical.PropDescription, strings.Join(desc, "\n\n"))
		}
		if strings.HasPrefix(c.URL, "https://") || strings.HasPrefix(c.URL, "http://") {
			setURL(ev.Props, c.URL)
		}
		if c.Cancelled {
			ev.Props.SetText(ical.PropStatus, "CANCELLED") // RFC 5545 3.8.1.11: clients strike it out
		} else {
			ev.Props.SetText(ical.PropStatus, "CONFIRMED")
		}
		ev.Props.SetText(ical.PropCategories, "MAINTENANCE")
		ev.Props.SetText(ical.PropTransparency, "TRANSPARENT")
		cal.Children = append(cal.Children, ev.Component)
	}
	if len(cal.Children) == 0 {
		// RFC 5545 3.6 wants at least one component; an empty calendar
		// with a note says why, rather than an error a client shows.
		ev := ical.NewEvent()
		ev.Props.SetText(ical.PropUID, "status-empty@"+host)
		ev.Props.SetDateTime(ical.PropDateTimeStamp, time.Unix(0, 0).UTC())
		ev.Props.SetDate(ical.PropDateTimeStart, time.Unix(0, 0).UTC())
		ev.Props.SetText(ical.PropSummary, "No post-mortem or maintenance scheduled")
		ev.Props.SetText(ical.PropTransparency, "TRANSPARENT")
		cal.Children = append(cal.Children, ev.Component)
	}
	return calendar.Encode(cal)
}

func setURL(props ical.Props, u string) {
	p := ical.NewProp(ical.PropURL)
	p.SetValueType(ical.ValueURI)
	p.Value = u
	props.Set(p)
}

func setInt(props ical.Props, name string, v int) {
	p := ical.NewProp(name)
	p.SetValueType(ical.ValueInt)
	p.Value = fmt.Sprint(v)
	props.Set(p)
}

// uidHost is the host part of the calendar's UIDs (RFC 5545 3.8.4.7
// recommends one): the site's host name.
func uidHost(site string) string {
	h := site
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	h, _, _ = strings.Cut(h, "/")
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" {
		return "sitrep.invalid"
	}
	return h
}
