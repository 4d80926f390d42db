package changes

import (
	"context"
	"fmt"
	"time"

	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"
)

// GoogleReadScope is what the maintenance calendar needs: reading events.
// Domain-wide delegation grants scopes one by one, so it must be granted
// as well as the post-mortem's read-write scope (see internal/calendar/GOOGLE.md).
const GoogleReadScope = "https://www.googleapis.com/auth/calendar.readonly"

// Google reads maintenance windows from a Google Calendar with
// events.list: singleEvents expands recurring windows into occurrences,
// and the time range is the server's, so only the window is fetched.
type Google struct {
	CalendarID string // ops-maintenance@group.calendar.google.com
	svc        *gcal.Service
}

var (
	_ Calendar = (*Google)(nil)
	_ Finder   = (*Google)(nil)
)

// NewGoogle reads calendarID. Production passes a service account's
// credentials (google.ServiceAccount with GoogleReadScope); tests
// point it at googlefake with option.WithEndpoint.
func NewGoogle(ctx context.Context, calendarID string, opts ...option.ClientOption) (*Google, error) {
	if calendarID == "" {
		return nil, fmt.Errorf("google: no calendar id")
	}
	svc, err := gcal.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("google: %w", err)
	}
	return &Google{CalendarID: calendarID, svc: svc}, nil
}

func (g *Google) Name() string   { return "Google Calendar " + g.CalendarID }
func (g *Google) Source() string { return "google" }

// Maintenance lists the events overlapping [from, to], one per occurrence
// (each keyed by its original start, which Google keeps when one is
// moved).
func (g *Google) Maintenance(ctx context.Context, from, to time.Time) ([]Window, error) {
	var out []Window
	call := g.svc.Events.List(g.CalendarID).Context(ctx).
		TimeMin(from.UTC().Format(time.RFC3339)).TimeMax(to.UTC().Format(time.RFC3339)).
		SingleEvents(true).OrderBy("startTime").MaxResults(250)
	err := call.Pages(ctx, func(page *gcal.Events) error {
		ws, err := googleWindows(page)
		out = append(out, ws...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("google: list %s: %w", g.CalendarID, err)
	}
	return out, nil
}

// Find lists, for each key, the events of its UID (events.list with
// iCalUID, deleted ones too, status "cancelled"), whatever their time:
// the event itself, or the occurrence that originally started at the
// key's time (within a year of it).
func (g *Google) Find(ctx context.Context, keys []string) (map[string]Window, error) {
	out := map[string]Window{}
	for _, key := range keys {
		uid, rec := splitKey(key)
		call := g.svc.Events.List(g.CalendarID).Context(ctx).ICalUID(uid).ShowDeleted(true).SingleEvents(true).MaxResults(250)
		if !rec.IsZero() {
			call = call.TimeMin(rec.Add(-366 * 24 * time.Hour).Format(time.RFC3339)).TimeMax(rec.Add(366 * 24 * time.Hour).Format(time.RFC3339))
		}
		var found []Window
		err := call.Pages(ctx, func(page *gcal.Events) error {
			ws, err := googleWindows(page)
			found = append(found, ws...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("google: find %q in %s: %w", uid, g.CalendarID, err)
		}
		for _, w := range found {
			if w.UID != uid {
				continue
			}
			if w.Recurrence.IsZero() || w.Recurrence.Equal(rec) {
				out[key] = w
				break
			}
		}
	}
	return out, nil
}

// googleWindows are a page's events as windows; an all-day window starts
// at midnight where the calendar is.
func googleWindows(page *gcal.Events) ([]Window, error) {
	zone := time.UTC
	if loc, err := time.LoadLocation(page.TimeZone); err == nil && page.TimeZone != "" {
		zone = loc
	}
	var out []Window
	for _, ev := range page.Items {
		start, err := googleTime(ev.Start, zone)
		if err != nil {
			if ev.Status == "cancelled" {
				continue // a cancelled occurrence may come without its times
			}
			return out, fmt.Errorf("event %s start: %w", ev.Id, err)
		}
		end, err := googleTime(ev.End, zone)
		if err != nil {
			if ev.Status == "cancelled" {
				continue
			}
			return out, fmt.Errorf("event %s end: %w", ev.Id, err)
		}
		uid := ev.ICalUID
		if uid == "" {
			uid = ev.Id
		}
		w := Window{UID: uid, Summary: oneLine(ev.Summary), Details: ev.Description, URL: ev.HtmlLink, Start: start.UTC(), End: end.UTC(),
			Cancelled: ev.Status == "cancelled"}
		if ev.RecurringEventId != "" && ev.OriginalStartTime != nil {
			if rec, err := googleTime(ev.OriginalStartTime, zone); err == nil {
				w.Recurrence = rec.UTC()
			}
		}
		out = append(out, w)
	}
	return out, nil
}

// googleTime reads an EventDateTime: a timed event's RFC 3339 dateTime, or
// an all-day event's date at midnight in the calendar's zone.
func googleTime(t *gcal.EventDateTime, zone *time.Location) (time.Time, error) {
	switch {
	case t == nil:
		return time.Time{}, fmt.Errorf("missing")
	case t.DateTime != "":
		return time.Parse(time.RFC3339, t.DateTime)
	case t.Date != "":
		return time.ParseInLocation("2006-01-02", t.Date, zone)
	}
	return time.Time{}, fmt.Errorf("neither dateTime nor date")
}
