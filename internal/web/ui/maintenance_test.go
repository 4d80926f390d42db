package ui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
)

// Planned maintenance in the browser: the incident's changes card says
// what was told of a window (announced to whom, reminded at its start,
// cancelled), and a draft opened by an alert during a window is marked in
// the list and on its page, also when it was suppressed.
func TestUIShowsMaintenanceToldAndDraftsDuringIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var m *maintenance.Service
	e := newUIEnvWith(t, func(s *Server, _ string) {
		m = &maintenance.Service{DB: s.Incidents.DB, Changes: s.Changes, Directory: s.Directory, Mail: s.Outbox, AnnounceBefore: 24 * time.Hour}
		s.Maintenance = m
		s.Intake = &intake.Service{DB: s.Incidents.DB, Incidents: s.Incidents, Jobs: s.Outbox.Jobs,
			Secrets: map[string]string{intake.Generic: "k"}, Notify: []string{"vp@x.test"}, KnownSystems: s.Directory,
			Maintenance: m, SuppressDuringMaintenance: true}
	})
	now := time.Now().UTC()
	told, err := m.Declare(ctx, "ops@x.test", maintenance.DeclareInput{Title: "Database upgrade", Systems: []string{"checkout"},
		Start: now.Add(-30 * time.Minute), End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(ctx); err != nil { // started: the first note
		t.Fatal(err)
	}
	cancelled, err := m.Declare(ctx, "ops@x.test", maintenance.DeclareInput{Title: "Switch firmware", Systems: []string{"checkout"},
		Start: now.Add(-20 * time.Minute), End: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Cancel(ctx, "ops@x.test", cancelled.Ref); err != nil {
		t.Fatal(err)
	}
	first := now.Add(-10 * time.Minute)
	inc, err := e.incidents.Declare(ctx, "test", incident.DeclareInput{Title: "Checkout slow", Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"checkout"}}, FirstFailureAt: &first})
	if err != nil {
		t.Fatal(err)
	}
	alert := `{"key":"co-5xx","status":"firing","title":"Checkout 5xx","system":"checkout","started_at":"` + first.Format(time.RFC3339) + `"}`
	if _, err := e.s.Intake.Receive(ctx, intake.Generic, http.Header{"Authorization": {"Bearer k"}}, nil, []byte(alert)); err != nil {
		t.Fatal(err)
	}

	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/" + inc.Ref)
	for _, want := range []string{"Database upgrade", "Told: reminded at the start", "Switch firmware", "Told: <strong>cancelled</strong>", "(before anyone was told)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the changes card lacks %q", want)
		}
	}
	if strings.Contains(page, "Told: announced") {
		t.Errorf("%s started before anyone announced it, yet shows as announced", told.Ref)
	}
	_, page = lead.get("/incidents")
	if !strings.Contains(page, "during planned maintenance: Database upgrade") || !strings.Contains(page, "suppressed: nobody told") {
		t.Errorf("the drafts list does not mark the draft:\n%s", page)
	}
	_, page = lead.get("/drafts/DRAFT-1")
	if !strings.Contains(page, "during planned maintenance: Database upgrade") || !strings.Contains(page, "suppressed: nobody was told") {
		t.Errorf("the draft's page does not mark it")
	}

	// The status page lists the window going on and one starting in three
	// days, and neither the cancelled one nor one ended or too far ahead.
	for _, in := range []maintenance.DeclareInput{
		{Title: "Payments provider failover drill", Systems: []string{"checkout"}, Start: now.Add(72 * time.Hour), End: now.Add(73 * time.Hour),
			Details: "Card payments may fail for up to 5 minutes."},
		{Title: "Datacenter move", Systems: []string{"checkout"}, Start: now.Add(30 * 24 * time.Hour), End: now.Add(31 * 24 * time.Hour)},
	} {
		if _, err := m.Declare(ctx, "ops@x.test", in); err != nil {
			t.Fatal(err)
		}
	}
	_, page = lead.get("/status")
	at := strings.Index(page, `<h2 id="maintenance-h">Planned maintenance</h2>`)
	if at < 0 {
		t.Fatalf("the status page has no planned maintenance:\n%s", page)
	}
	section, _, _ := strings.Cut(page[at:], "</ul>")
	for _, want := range []string{told.Ref + " · Database upgrade", "in progress", "Payments provider failover drill", "planned",
		"Card payments may fail for up to 5 minutes."} {
		if !strings.Contains(section, want) {
			t.Errorf("the status page's planned maintenance lacks %q:\n%s", want, section)
		}
	}
	for _, gone := range []string{"Switch firmware", "Datacenter move"} {
		if strings.Contains(section, gone) {
			t.Errorf("the status page lists %q", gone)
		}
	}
}
