package ui

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The incident page carries its scorecard; the report page draws its
// charts as SVG with a title and a description each, and its CSV and JSON
// hold the figures its tables show.
func TestScorecardCardAndReportPage(t *testing.T) {
	t.Parallel()
	e := newUIEnvWith(t, func(s *Server, _ string) { s.Comms.Messages = s.Outbox })
	ctx := context.Background()
	inc := e.declare("Checkout down")
	if _, err := e.s.Comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking into it.", Next: "30m"}); err != nil {
		t.Fatal(err)
	}
	b := e.login("lead@x.test")
	status, page := b.get("/incidents/" + inc.Ref)
	if status != 200 {
		t.Fatalf("incident page: %d\n%s", status, page)
	}
	for _, want := range []string{`id="scorecard-h"`, `data-figure="first-update"`, "0 of 0", "Who was told what and when", "update 1", "not recorded on this server: questions"} {
		if !strings.Contains(strings.ToLower(page), strings.ToLower(want)) {
			t.Errorf("the scorecard card lacks %q", want)
		}
	}

	status, page = b.get("/reports")
	if status != 200 {
		t.Fatalf("report page: %d\n%s", status, page)
	}
	svgs := regexp.MustCompile(`(?s)<svg class="chart" id="([^"]+)"[^>]*role="img" aria-labelledby="([^"]+)-title [^"]+-desc"[^>]*><title id="[^"]+">([^<]+)</title><desc id="[^"]+">([^<]+)</desc>`).FindAllStringSubmatch(page, -1)
	if len(svgs) != 4 {
		t.Fatalf("%d accessible charts on the report page, want 4\n%s", len(svgs), page)
	}
	for _, m := range svgs {
		if m[1] != m[2] || m[3] == "" || m[4] == "" {
			t.Errorf("chart %s: title %q, description %q", m[1], m[3], m[4])
		}
	}
	if !strings.Contains(page, `href="/reports.csv?`) || !strings.Contains(page, `data-row="SEV2"`) {
		t.Errorf("the report page lacks its export or its severity row")
	}
	_, csvText := b.get("/reports.csv")
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil || len(rows) < 2 || rows[1][0] != "total" || rows[1][4] != "1" {
		t.Fatalf("csv: %v\n%s", err, csvText)
	}
	_, js := b.get("/reports.json")
	var rep incident.CommsReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil || rep.Total.Incidents != 1 || rep.Total.FirstUpdate.Count != 1 {
		t.Fatalf("json: %v\n%s", err, js)
	}
	status, page = b.get("/reports?" + url.Values{"from": {"2026-13"}}.Encode())
	if status != 400 || !strings.Contains(page, `id="report-from" name="from" value="2026-13" aria-invalid="true"`) {
		t.Errorf("a month that is none: %d", status)
	}
}
