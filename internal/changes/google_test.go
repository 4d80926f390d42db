package changes_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/sitrep-dev/sitrep/internal/calendar/googlefake"
	"github.com/sitrep-dev/sitrep/internal/changes"
)

const maintenanceCalendar = "ops-maintenance@group.calendar.example.test"

// googleEvent puts an event on the fake's calendar through the real
// client, as the team announcing the work would.
func googleEvent(t *testing.T, svc *gcal.Service, summary, description string, start time.Time, d time.Duration) *gcal.Event {
	t.Helper()
	ev, err := svc.Events.Insert(maintenanceCalendar, &gcal.Event{Summary: summary, Description: description,
		Start: &gcal.EventDateTime{DateTime: start.Format(time.RFC3339)}, End: &gcal.EventDateTime{DateTime: start.Add(d).Format(time.RFC3339)}}).Do()
	if err != nil {
		t.Fatalf("insert %q: %v", summary, err)
	}
	return ev
}

// A Google Calendar as the maintenance calendar: the window 10 hours
// before the first failure is listed after the deployment 3 hours before;
// one 30 hours before is not; a cancelled window is not; and a calendar
// Google cannot be reached for is a warning on the view, not a failure.
func TestIncidentChangesFromGoogleCalendar(t *testing.T) {
	t.Parallel()
	fake := googlefake.New()
	defer fake.Close()
	ctx := context.Background()
	opts := []option.ClientOption{option.WithEndpoint(fake.CalendarEndpoint()), option.WithoutAuthentication()}
	svc, err := gcal.NewService(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	win := googleEvent(t, svc, "Core switch firmware upgrade", "Network team; edge routers in eu-west.", firstFailure.Add(-10*time.Hour), time.Hour)
	googleEvent(t, svc, "Storage array firmware", "", firstFailure.Add(-30*time.Hour), time.Hour)
	gone := googleEvent(t, svc, "Load balancer swap (called off)", "", firstFailure.Add(-5*time.Hour), time.Hour)
	if err := svc.Events.Delete(maintenanceCalendar, gone.Id).Do(); err != nil {
		t.Fatal(err)
	}

	cal, err := changes.NewGoogle(ctx, maintenanceCalendar, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s, inc := newService(t, cal)
	deploy(t, s, "acme/checkout-api", "v2.14.0", 3*time.Hour)
	view, err := s.ForIncident(ctx, inc.Ref, 0)
	if err != nil || len(view.Warnings) != 0 {
		t.Fatalf("view: %v %v", err, view.Warnings)
	}
	var got []string
	for _, c := range view.Changes {
		got = append(got, c.Kind+" "+c.Service+c.Summary+" "+c.Before)
	}
	want := []string{"deployment acme/checkout-api 3h0m0s", "maintenance Core switch firmware upgrade 10h0m0s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changes in the 24h before the first failure:\n got %q\nwant %q", got, want)
	}
	m := view.Changes[1]
	if m.Source != "google" || m.URL != win.HtmlLink || m.End == nil || !m.End.Equal(firstFailure.Add(-9*time.Hour)) ||
		strings.Join(m.Systems, ",") != "edge" || !view.Changes[0].TouchesSuspected || m.TouchesSuspected {
		t.Errorf("the window as read from Google: %+v", m)
	}
	// The fake answered what the client asked, as Google documents it.
	var listed bool
	for _, r := range fake.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/calendars/"+maintenanceCalendar+"/events") {
			listed = r.Status == 200 && r.Query.Get("singleEvents") == "true" && r.Query.Get("orderBy") == "startTime" && r.Query.Get("timeMin") != ""
		}
	}
	if !listed {
		t.Errorf("no events.list with singleEvents, orderBy and a time range: %+v", fake.Requests())
	}

	fake.Close()
	view, err = s.ForIncident(ctx, inc.Ref, 0)
	if err != nil {
		t.Fatalf("an unreachable Google Calendar must not fail the view: %v", err)
	}
	if len(view.Warnings) != 1 || !strings.HasPrefix(view.Warnings[0], "maintenance calendar unreachable: Google Calendar "+maintenanceCalendar) {
		t.Errorf("warnings: %q", view.Warnings)
	}
	if len(view.Changes) != 2 {
		t.Errorf("what was read before stays listed: %+v", view.Changes)
	}
}
