package changes_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// The first failure of every test incident, and "now" a little after.
var (
	firstFailure = time.Date(2026, 11, 24, 13, 40, 0, 0, time.UTC)
	now          = firstFailure.Add(40 * time.Minute)
)

func clock() time.Time { return now }

// systems stands in for the directory's escalation lists.
type systems []string

func (s systems) Systems() []string { return s }

func newService(t *testing.T, cals ...changes.Calendar) (*changes.Service, *incident.Incident) {
	t.Helper()
	db := storetest.Open(t)
	inc := &incident.Service{DB: db, Now: clock}
	ff := firstFailure
	declared, err := inc.Declare(context.Background(), "lead@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV1",
		FirstFailureAt: &ff, Scope: incident.Scope{Systems: []string{"checkout", "payments-db"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &changes.Service{DB: db, Incidents: inc, Calendars: cals, Now: clock,
		KnownSystems: systems{"checkout", "payments-db", "edge"}}, declared
}

func deploy(t *testing.T, s *changes.Service, service, version string, before time.Duration) *changes.Change {
	t.Helper()
	c, created, err := s.Record(context.Background(), changes.Input{Source: "cli", Service: service, Version: version,
		Environment: "production", TriggeredBy: "release-bot", At: firstFailure.Add(-before)})
	if err != nil || !created {
		t.Fatalf("record %s %s: created=%v %v", service, version, created, err)
	}
	return c
}

// radicaleCalendar makes the "maintenance" calendar of user ops on a real
// Radicale with MKCALENDAR (RFC 4791 5.3.1) and PUTs each VEVENT into it.
func radicaleCalendar(t *testing.T, events ...string) *changes.CalDAV {
	t.Helper()
	r := testenv.StartRadicale(t, "ops")
	do := func(method, path, ctype, body string) {
		req, _ := http.NewRequest(method, r.URL+path, strings.NewReader(body))
		req.SetBasicAuth("ops", r.Password("ops"))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, r.LogTail())
		}
	}
	do("MKCALENDAR", "/ops/maintenance/", "application/xml; charset=utf-8", `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>Maintenance</D:displayname>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`)
	for i, ev := range events {
		body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sitrep test//EN\r\n" + ev + "END:VCALENDAR\r\n"
		do("PUT", "/ops/maintenance/ev"+string(rune('a'+i))+".ics", "text/calendar; charset=utf-8", body)
	}
	cal, err := changes.NewCalDAV(r.URL, "ops", r.Password("ops"), "/ops/maintenance/")
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func vevent(uid, summary, description string, start time.Time, d time.Duration) string {
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:" + f(now) + "\r\nDTSTART:" + f(start) + "\r\nDTEND:" + f(start.Add(d)) +
		"\r\nSUMMARY:" + summary + "\r\nDESCRIPTION:" + description + "\r\nEND:VEVENT\r\n"
}

// The "must show": a deployment 3 hours before the first failure on
// a suspected system and a maintenance window from a real CalDAV server 10
// hours before are both listed, closest first, the deployment highlighted;
// a deployment 30 hours before is not listed.
func TestIncidentChangesFromWebhookAndCalDAV(t *testing.T) {
	t.Parallel()
	cal := radicaleCalendar(t,
		vevent("net-maint-1@ops", "Core switch firmware upgrade", "Network team, eu-west racks 4-9.", firstFailure.Add(-10*time.Hour), time.Hour),
		vevent("old-maint@ops", "Storage array firmware", "", firstFailure.Add(-40*time.Hour), time.Hour),
	)
	s, inc := newService(t, cal)
	ctx := context.Background()
	recent := deploy(t, s, "acme/checkout-api", "v2.14.0", 3*time.Hour)
	deploy(t, s, "acme/checkout-api", "v2.13.9", 30*time.Hour)
	deploy(t, s, "search", "v9", 20*time.Minute-40*time.Minute) // after the first failure: not a candidate

	view, err := s.ForIncident(ctx, inc.Ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Warnings) != 0 {
		t.Fatalf("warnings: %v", view.Warnings)
	}
	if view.ReferenceIs != "first_failure" || !view.Reference.Equal(firstFailure) || view.Window != "24h0m0s" {
		t.Errorf("reference %s %s window %s", view.ReferenceIs, view.Reference, view.Window)
	}
	var got []string
	for _, c := range view.Changes {
		got = append(got, c.Kind+" "+c.Service+c.Summary+" "+c.Before)
	}
	want := []string{"deployment acme/checkout-api 3h0m0s", "maintenance Core switch firmware upgrade 10h0m0s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changes in the 24h before the first failure:\n got %q\nwant %q", got, want)
	}
	if !view.Changes[0].TouchesSuspected || view.Changes[1].TouchesSuspected {
		t.Errorf("only the checkout deployment touches the suspected systems: %+v", view.Changes)
	}
	if view.Changes[1].Source != "caldav" || view.Changes[1].End == nil || !view.Changes[1].End.Equal(firstFailure.Add(-9*time.Hour)) {
		t.Errorf("maintenance window: %+v", view.Changes[1])
	}

	// Read again: the calendar event is stored once, not once per read.
	again, err := s.ForIncident(ctx, inc.Ref, 0)
	if err != nil || len(again.Changes) != 2 || again.Changes[1].ID != view.Changes[1].ID {
		t.Fatalf("second read: %v %+v", err, again)
	}
	// A wider window reaches the 30-hour deployment and the 40-hour maintenance.
	wide, err := s.ForIncident(ctx, inc.Ref, 48*time.Hour)
	if err != nil || len(wide.Changes) != 4 || wide.Changes[3].Summary != "Storage array firmware" {
		t.Fatalf("48h window: %v %+v", err, wide)
	}

	// The lead suspects the deployment, then confirms it.
	if _, err := s.Mark(ctx, "lead@x.test", inc.Ref, recent.ID, changes.Suspected); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mark(ctx, "lead@x.test", inc.Ref, recent.ID, changes.Suspected); !errs.Is(err, errs.Conflict) {
		t.Errorf("suspecting twice: want conflict, got %v", err)
	}
	causes, err := s.ConfirmedCauses(ctx, inc.ID)
	if err != nil || len(causes) != 0 {
		t.Fatalf("a suspicion is not a cause: %v %q", err, causes)
	}
	if _, err := s.Mark(ctx, "lead@x.test", inc.Ref, recent.ID, changes.Confirmed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mark(ctx, "lead@x.test", inc.Ref, recent.ID, changes.Suspected); !errs.Is(err, errs.Conflict) {
		t.Errorf("a confirmed cause cannot go back to suspected: %v", err)
	}
	causes, err = s.ConfirmedCauses(ctx, inc.ID)
	if err != nil || len(causes) != 1 {
		t.Fatalf("confirmed causes: %v %q", err, causes)
	}
	if want := "Deployment of acme/checkout-api v2.14.0 to production at 2026-11-24 10:40 UTC, 3h before the first failure"; causes[0] != want {
		t.Errorf("cause line\n got %q\nwant %q", causes[0], want)
	}
	if strings.Contains(causes[0], "release-bot") {
		t.Error("the root-cause line names no one: the summary is blameless")
	}
	view, _ = s.ForIncident(ctx, inc.Ref, 0)
	if view.Changes[0].Suspicion != changes.Confirmed || view.Changes[1].Suspicion != "" {
		t.Errorf("suspicion in the view: %+v", view.Changes)
	}
	tl, err := s.Incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range tl {
		if strings.HasPrefix(ev.Kind, "change_") {
			kinds = append(kinds, ev.Kind+": "+ev.Text)
		}
	}
	if len(kinds) != 2 || !strings.HasPrefix(kinds[0], "change_suspected: Suspected change: Deployment of acme/checkout-api") ||
		!strings.HasPrefix(kinds[1], "change_confirmed: Confirmed cause:") {
		t.Errorf("timeline: %q", kinds)
	}

	if _, err := s.Mark(ctx, "lead@x.test", inc.Ref, 9999, changes.Suspected); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown change: %v", err)
	}
	if _, err := s.Mark(ctx, "lead@x.test", "INC-77", recent.ID, changes.Suspected); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown incident: %v", err)
	}
}

// A calendar that cannot be reached is reported in the view; the deployments
// are listed all the same.
func TestUnreachableCalendarIsReportedNotFatal(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	dav, err := changes.NewCalDAV("http://"+addr, "ops", "x", "/ops/maintenance/")
	if err != nil {
		t.Fatal(err)
	}
	s, inc := newService(t, dav, &changes.ICS{Location: "testdata/no-such-file.ics"})
	deploy(t, s, "checkout", "v1", time.Hour)
	view, err := s.ForIncident(context.Background(), inc.Ref, 0)
	if err != nil {
		t.Fatalf("an unreachable calendar must not fail the view: %v", err)
	}
	if len(view.Changes) != 1 || !view.Changes[0].TouchesSuspected {
		t.Errorf("changes: %+v", view.Changes)
	}
	if len(view.Warnings) != 2 || !strings.HasPrefix(view.Warnings[0], "maintenance calendar unreachable: http://"+addr+"/ops/maintenance/") ||
		!strings.HasPrefix(view.Warnings[1], "maintenance calendar unreachable: testdata/no-such-file.ics") {
		t.Errorf("warnings: %q", view.Warnings)
	}
}

func TestICSFileWindows(t *testing.T) {
	t.Parallel()
	s, inc := newService(t, &changes.ICS{Location: "testdata/maintenance.ics"})
	view, err := s.ForIncident(context.Background(), inc.Ref, 0)
	if err != nil || len(view.Warnings) != 0 {
		t.Fatalf("%v %v", err, view.Warnings)
	}
	var got []string
	for _, c := range view.Changes {
		got = append(got, c.At.Format("Jan 02 15:04")+" "+c.Summary+" "+strings.Join(c.Systems, ","))
	}
	// The weekly patching recurs on Mondays (RRULE) and the Monday 22:00
	// occurrence is in the window; the cancelled flush and the old one are not.
	want := []string{"Nov 24 02:00 Database failover test payments-db", "Nov 23 22:00 Weekly OS patching: edge proxies edge"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	if !view.Changes[0].TouchesSuspected || view.Changes[1].TouchesSuspected {
		t.Errorf("the failover names payments-db, a suspected system; the patching does not: %+v", view.Changes)
	}
	if view.Changes[0].URL != "https://wiki.example.com/maint/failover-test" {
		t.Errorf("url: %q", view.Changes[0].URL)
	}
}

func TestSameDeploymentTwiceIsStoredOnce(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	body := payload(t, "github_deployment_status.json")
	for i := 0; i < 2; i++ {
		in, _, err := changes.ParseDeployment(http.Header{"X-Github-Event": {"deployment_status"}}, body)
		if err != nil {
			t.Fatal(err)
		}
		c, created, err := s.Record(ctx, *in)
		if err != nil || created != (i == 0) || c.Service != "Codertocat/Hello-World" {
			t.Fatalf("post %d: created=%v %+v %v", i+1, created, c, err)
		}
	}
	// Without an id, the same content is the same deployment.
	in := changes.Input{Service: "checkout", Version: "v3", At: firstFailure.Add(-time.Hour)}
	a, created1, err1 := s.Record(ctx, in)
	b, created2, err2 := s.Record(ctx, in)
	if err1 != nil || err2 != nil || !created1 || created2 || a.ID != b.ID {
		t.Fatalf("generic twice: %v %v %v %v", created1, created2, err1, err2)
	}
	if _, created, _ := s.Record(ctx, changes.Input{Service: "checkout", Version: "v4", At: firstFailure.Add(-time.Hour)}); !created {
		t.Error("another version is another deployment")
	}
	all, err := s.List(ctx, time.Time{}, now)
	if err != nil || len(all) != 3 {
		t.Fatalf("stored: %v %d", err, len(all))
	}
}

func TestRecordRefusesBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	for field, in := range map[string]changes.Input{
		"service": {Version: "v1"},
		"url":     {Service: "x", URL: "javascript:alert(1)"},
		"at":      {Service: "x", At: now.Add(time.Hour)},
		"version": {Service: "x", Version: "a\nb"},
	} {
		if _, _, err := s.Record(context.Background(), in); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestTouches(t *testing.T) {
	t.Parallel()
	suspected := []string{"checkout", "payments-db"}
	for _, tc := range []struct {
		c    changes.Change
		want bool
	}{
		{changes.Change{Kind: "deployment", Service: "checkout"}, true},
		{changes.Change{Kind: "deployment", Service: "Checkout"}, true},
		{changes.Change{Kind: "deployment", Service: "acme/checkout-api"}, true},
		{changes.Change{Kind: "deployment", Service: "checkout_web"}, true},
		{changes.Change{Kind: "deployment", Service: "checkouts"}, false},
		{changes.Change{Kind: "deployment", Service: "payments"}, false},
		{changes.Change{Kind: "deployment", Service: "payments-db-migrations"}, true},
		{changes.Change{Kind: "deployment", Service: "search", Summary: "unblocks checkout"}, false},
		{changes.Change{Kind: "deployment", Service: "infra", Systems: []string{"payments-db"}}, true},
		{changes.Change{Kind: "maintenance", Summary: "Failover of PAYMENTS-DB"}, true},
		{changes.Change{Kind: "maintenance", Summary: "Switch upgrade", Details: "affects checkout in eu-west"}, true},
		{changes.Change{Kind: "maintenance", Summary: "Switch upgrade"}, false},
	} {
		if got := changes.Touches(tc.c, suspected); got != tc.want {
			t.Errorf("%+v: touches=%v, want %v", tc.c, got, tc.want)
		}
	}
}
