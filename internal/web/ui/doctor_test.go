package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/doctor"
)

// stubDoctor answers with a fixed report; the checks themselves are tested
// in internal/doctor and, end to end, in cmd/sitrep.
type stubDoctor struct{ runs int }

func (s *stubDoctor) Run(context.Context) *doctor.Report {
	s.runs++
	return &doctor.Report{Results: []doctor.Result{
		{Area: "smtp", Name: "SMTP envelope", Status: doctor.OK, Detail: "accepted; RSET, nothing sent"},
		{Area: "loop", Name: "loop", Status: doctor.Fail, Detail: "the probe <did not arrive>", Fix: "turn plus-addressing on"},
	}}
}

// TestUIDoctorPage: admins run the checks from the page and read each
// verdict with its fix; others may not.
func TestUIDoctorPage(t *testing.T) {
	t.Parallel()
	stub := &stubDoctor{}
	e := newUIEnvWith(t, func(s *Server, _ string) { s.Doctor = stub })
	admin := e.login("admin@x.test")
	code, page := admin.get("/doctor")
	if code != http.StatusOK || !strings.Contains(page, "Not run since") || !strings.Contains(page, `href="/doctor"`) {
		t.Fatalf("doctor page before a run: %d", code)
	}
	resp := admin.post("/doctor", url.Values{"csrf": {admin.csrf}})
	page = body(resp)
	if resp.StatusCode != http.StatusOK || stub.runs != 1 {
		t.Fatalf("run: %d, %d runs", resp.StatusCode, stub.runs)
	}
	for _, want := range []string{"1 ok, 0 warnings, 1 failed", "SMTP envelope", "the probe &lt;did not arrive&gt;", "Fix:</strong> turn plus-addressing on"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report page lacks %q", want)
		}
	}
	if _, page := admin.get("/doctor"); !strings.Contains(page, "turn plus-addressing on") || stub.runs != 1 {
		t.Errorf("the last report is shown again without a new run (%d runs)", stub.runs)
	}
	lead := e.login("lead@x.test")
	if code, page := lead.get("/doctor"); code != http.StatusForbidden || strings.Contains(page, `href="/doctor"`) {
		t.Errorf("a lead: %d", code)
	}
	if resp := lead.post("/doctor", url.Values{"csrf": {lead.csrf}}); resp.StatusCode != http.StatusForbidden || stub.runs != 1 {
		t.Errorf("a lead may not run the checks: %d, %d runs", resp.StatusCode, stub.runs)
	}
}
