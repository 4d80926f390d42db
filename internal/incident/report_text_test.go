package incident_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// A report's timeline entry says how the reporter reaches the service
// after "via", as the status email's reports line does, and how the
// report came in separately: a report of someone on the web, filed with
// the CLI, read "via cli" (issue 17).
func TestReportTimelineSaysAccessAndChannelApart(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	inc := declare(t, s)
	ctx := context.Background()
	for _, in := range []incident.ReportInput{
		{Email: "ann@x.test", Location: "Berlin", Access: "web", Observed: "Login spins\nforever", Channel: "cli"},
		{Email: "bob@x.test", Channel: "web"},
	} {
		if _, err := s.AddReport(ctx, s.DB, "vp@x.test", inc.Ref, in); err != nil {
			t.Fatal(err)
		}
	}
	events, err := s.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, ev := range events {
		if ev.Kind == incident.EventReport {
			texts = append(texts, ev.Text)
			if ev.Data["observed"] == nil || ev.Data["channel"] == nil {
				t.Errorf("report event without the report's fields: %+v", ev.Data)
			}
		}
	}
	want := []string{
		"Report from ann@x.test in Berlin via web: Login spins forever (filed with the CLI)",
		"Report from bob@x.test (filed on the web page)",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("report events:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
}
