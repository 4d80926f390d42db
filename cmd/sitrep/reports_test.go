package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"
)

// mailText is the plain-text part of a message, decoded, as a mail client
// would show it.
func mailText(t *testing.T, raw []byte) string {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	return env.Text
}

// The must-show, both ways a declaration starts: one report filed
// with `sitrep declare --report` is flagged possibly isolated in the
// declare output and in the heads-up's scope; three people in two regions
// reporting on a monitoring draft are not, in `sitrep draft show`, in the
// declare output, in the heads-up and in the status email; and the
// reporters of both are the people asked to confirm the fix.
func TestReportSummaryInDeclareOutputAndEmails(t *testing.T) {
	t.Parallel()
	const secret = "generic-secret-42"
	cfg := testConfig(t)
	cfg.Intake.Generic.Secret = secret
	e, h := startHub(t, cfg)
	sb := h.sandbox
	const responder = "lena.vogel@sitrep.example" // checkout's first responder in the example organisation

	// One report, given with the declaration.
	out := cli(t, e, "declare", "--title", "Checkout slow", "--severity", "SEV3", "--systems", "checkout", "--detected-via", "employee",
		"--report", "ops.berlin@sitrep.example; where=Berlin office; how=web; office wifi; saw=checkout page times out")
	if !strings.Contains(out, "1 report from 1 person in berlin office via web; office wifi") ||
		!strings.Contains(out, "POSSIBLY ISOLATED (a single reporter): verify before mobilising") {
		t.Fatalf("declare output with one report:\n%s", out)
	}
	heads := mailText(t, waitMail(t, sb, responder, "Heads-up: Checkout slow").Raw)
	if !strings.Contains(heads, "1 report from 1 person in berlin office") || !strings.Contains(heads, "possibly isolated (a single reporter)") {
		t.Fatalf("the heads-up must carry the report and its flag:\n%s", heads)
	}

	// A monitoring draft collects three reports from two regions before
	// anyone declares it.
	req, _ := http.NewRequest("POST", e.getenv("SITREP_SERVER")+"/api/v1/intake/generic", strings.NewReader(
		`{"key":"checkout-5xx","status":"firing","title":"Checkout 5xx above 5%","system":"checkout","started_at":"`+
			time.Now().UTC().Add(-15*time.Minute).Format(time.RFC3339)+`","severity":"critical"}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var receipt struct {
		Created []int64 `json:"created"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&receipt)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || len(receipt.Created) != 1 {
		t.Fatalf("generic alert: %d %+v", resp.StatusCode, receipt)
	}
	draft := "DRAFT-1"
	out = cli(t, e, "report", draft, "--from", "ana@customer.test", "--where", "EU", "--how", "web", "--saw", "card declined")
	if !strings.Contains(out, "Report filed on DRAFT-1") || !strings.Contains(out, "POSSIBLY ISOLATED (a single reporter)") {
		t.Fatalf("first report on the draft:\n%s", out)
	}
	cli(t, e, "report", draft, "--from", "bo@customer.test", "--where", "EU", "--how", "web", "--saw", "spinner forever")
	out = cli(t, e, "report", draft, "--from", "cy@customer.test", "--where", "US", "--how", "mobile app", "--saw", "error 502")
	if !strings.Contains(out, "3 reports from 3 people in eu, us via mobile app, web") || strings.Contains(out, "ISOLATED") {
		t.Fatalf("third report on the draft:\n%s", out)
	}
	if show := cli(t, e, "draft", "show", "1"); !strings.Contains(show, "3 reports from 3 people in eu, us") {
		t.Fatalf("draft show must summarise its reports:\n%s", show)
	}
	out = cli(t, e, "draft", "declare", "1", "--severity", "SEV1")
	if !strings.Contains(out, "Declared INC-2") || !strings.Contains(out, "3 reports from 3 people in eu, us via mobile app, web") || strings.Contains(out, "ISOLATED") {
		t.Fatalf("declare output from the draft:\n%s", out)
	}
	heads = mailText(t, waitMail(t, sb, responder, "Heads-up: Checkout 5xx").Raw)
	if !strings.Contains(heads, "3 reports from 3 people in eu, us") || strings.Contains(heads, "isolated") {
		t.Fatalf("the heads-up from the draft:\n%s", heads)
	}
	// The reports are the incident's now, with their original times.
	inc2, err := h.incidents.Reports(context.Background(), "INC-2")
	if err != nil || len(inc2) != 3 || inc2[0].Email != "ana@customer.test" || time.Since(inc2[0].ReportedAt) > time.Minute {
		t.Fatalf("INC-2's reports: %+v %v", inc2, err)
	}
	// A report on the declared draft goes to its incident.
	out = cli(t, e, "report", draft, "--from", "di@customer.test", "--where", "US", "--how", "api", "--saw", "HTTP 503")
	if !strings.Contains(out, "Report filed on INC-2 (DRAFT-1 was declared as INC-2)") || !strings.Contains(out, "4 reports from 4 people") {
		t.Fatalf("report after the declaration:\n%s", out)
	}

	// The status email's scope, to a stakeholder group.
	cli(t, e, "update", "INC-2", "--status", "Payments provider is failing; switching over.", "--to", "exec")
	g, _ := h.directory.Current().Group("exec")
	status := mailText(t, waitMail(t, sb, g.Members[0], "[INC-2] Checkout 5xx").Raw)
	if !strings.Contains(status, "Reports:* 4 reports from 4 people in eu, us via api, mobile app, web") || strings.Contains(status, "isolated") {
		t.Fatalf("status email scope:\n%s", status)
	}
	cli(t, e, "update", "INC-1", "--status", "Checking whether the Berlin office network is the cause.", "--to", "exec")
	status = mailText(t, waitMail(t, sb, g.Members[0], "[INC-1] Checkout slow").Raw)
	if !strings.Contains(status, "1 report from 1 person in berlin office") || !strings.Contains(status, "possibly isolated (a single reporter): being verified") {
		t.Fatalf("status email scope with one report:\n%s", status)
	}

	// The reporters are the people asked to confirm the fix.
	cli(t, e, "resolve", "INC-2", "--root-cause", "The payments provider's EU endpoint failed.", "--fix", "Switched to the secondary provider.")
	for _, who := range []string{"ana@customer.test", "bo@customer.test", "cy@customer.test", "di@customer.test"} {
		waitMail(t, sb, who, "Is it fixed for you?")
	}
}
