package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/intake"
)

// Drafts in the browser: the incidents page lists the alerts waiting for a
// decision; a draft's page takes reports (the possibly-isolated flag
// shown), declares (reports carried over, the heads-up sent) or dismisses;
// a second decision is refused with a message; a viewer sees no forms; the
// monitor's text is escaped.
func TestUIDraftReportsDeclareAndDismiss(t *testing.T) {
	t.Parallel()
	e := newUIEnvWith(t, func(s *Server, _ string) {
		s.Intake = &intake.Service{DB: s.Incidents.DB, Incidents: s.Incidents, Jobs: s.Outbox.Jobs,
			Secrets: map[string]string{intake.Generic: "k"}, Notify: []string{"vp@x.test"},
			KnownSystems: s.Directory}
	})
	ctx := context.Background()
	for _, a := range []string{
		`{"key":"co-5xx","status":"firing","title":"Checkout 5xx <script>alert(1)</script>","system":"checkout","started_at":"2026-03-01T10:00:00Z","severity":"critical"}`,
		`{"key":"disk","status":"firing","title":"Disk almost full","system":"checkout","started_at":"2026-03-01T10:05:00Z"}`,
	} {
		if _, err := e.s.Intake.Receive(ctx, intake.Generic, http.Header{"Authorization": {"Bearer k"}}, nil, []byte(a)); err != nil {
			t.Fatal(err)
		}
	}
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents")
	if !strings.Contains(page, "Waiting for a decision") || !strings.Contains(page, `href="/drafts/DRAFT-1"`) || !strings.Contains(page, `href="/drafts/DRAFT-2"`) ||
		strings.Contains(page, "<script>alert(1)") {
		t.Fatalf("incidents page: the open drafts, escaped:\n%s", page)
	}

	viewer := e.login("viewer@x.test")
	if status, vp := viewer.get("/drafts/DRAFT-1"); status != 200 || strings.Contains(vp, "/declare") || strings.Contains(vp, "Add a report") {
		t.Fatalf("a viewer sees the draft without forms: %d", status)
	}

	lead.get("/drafts/DRAFT-1")
	resp := lead.post("/drafts/DRAFT-1/reports", url.Values{"csrf": {lead.csrf}, "email": {"nobody"}, "observed": {"kept text"}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "kept text") ||
		!regexp.MustCompile(`id="report-email"[^>]*aria-invalid="true"`).MatchString(text) {
		t.Fatalf("a bad report: %d", resp.StatusCode)
	}
	resp = lead.post("/drafts/DRAFT-1/reports", url.Values{"csrf": {lead.csrf}, "email": {"ann@customer.test"}, "location": {"Berlin office"},
		"access": {"office wifi"}, "observed": {"card form spins"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/drafts/DRAFT-1?reported=1#reports-h" {
		t.Fatalf("report: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = lead.get("/drafts/DRAFT-1?reported=1")
	if !strings.Contains(page, "Report filed.") || !strings.Contains(page, "Possibly isolated: verify before mobilising.") ||
		!strings.Contains(page, "card form spins") || !strings.Contains(page, "Checkout 5xx &lt;script&gt;") {
		t.Fatalf("draft page after a report:\n%s", page)
	}
	for _, tag := range unlabelledInputs(page) {
		t.Errorf("draft page: %s has no label", tag)
	}

	resp = lead.post("/drafts/DRAFT-1/declare", url.Values{"csrf": {lead.csrf}, "severity": {"SEV1"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents/INC-1?declared=1" {
		t.Fatalf("declare: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	inc, err := e.incidents.Get(ctx, "INC-1")
	if err != nil || inc.Severity != "SEV1" || inc.Scope.DetectedVia != "monitoring" {
		t.Fatalf("declared: %+v %v", inc, err)
	}
	_, page = lead.get("/incidents/INC-1?declared=1")
	if !strings.Contains(section(page, "reports-h"), "ann@customer.test") || !strings.Contains(page, "Heads-up sent") {
		t.Fatalf("the incident carries the draft's report and sent the heads-up:\n%s", section(page, "reports-h"))
	}
	// A stale page declaring again: refused, with who did it.
	resp = lead.post("/drafts/DRAFT-1/declare", url.Values{"csrf": {lead.csrf}, "severity": {"SEV2"}})
	if text := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text, "DRAFT-1 is already declared as INC-1") {
		t.Fatalf("declaring twice: %d", resp.StatusCode)
	}
	// A report on the declared draft goes to the incident.
	resp = lead.post("/drafts/DRAFT-1/reports", url.Values{"csrf": {lead.csrf}, "email": {"bo@customer.test"}, "location": {"US"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/incidents/INC-1?reported=1") {
		t.Fatalf("report after the declaration: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp = lead.post("/drafts/DRAFT-2/dismiss", url.Values{"csrf": {lead.csrf}, "reason": {"planned disk migration"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dismiss: %d", resp.StatusCode)
	}
	_, page = lead.get("/drafts/DRAFT-2?dismissed=1")
	if !strings.Contains(page, "Dismissed.") || !strings.Contains(page, "planned disk migration") || strings.Contains(page, "/declare") {
		t.Fatalf("dismissed draft page:\n%s", page)
	}
	if _, page = lead.get("/incidents"); strings.Contains(page, "Waiting for a decision") {
		t.Error("no draft waits any more")
	}
	if status, _ := lead.get("/drafts/DRAFT-99"); status != http.StatusNotFound {
		t.Errorf("unknown draft: %d", status)
	}
}
