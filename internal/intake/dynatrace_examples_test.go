package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

// Dynatrace's documented custom-integration example names the link
// "Problem URL" (with a space), sends no {ProblemSeverity} and no
// {ProblemDetailsText}: the draft opened without its link, without a
// word of the problem, and with no severity.
func TestDynatracesDocumentedExampleOpensADraftWithItsLinkAndSaysTheSeverityWasAssumed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.svc.DefaultSeverity = "SEV3" // intake.default_severity
	r := h.post(t, intake.Dynatrace, "dynatrace_example.json")
	if len(r.Created) != 1 {
		t.Fatalf("%+v", r)
	}
	d, err := h.svc.Get(context.Background(), intake.FormatID(r.Created[0]))
	if err != nil {
		t.Fatal(err)
	}
	if d.URL != "https://example.com" {
		t.Errorf("link %q, want the payload's \"Problem URL\"", d.URL)
	}
	if d.Severity != "SEV3" || !strings.Contains(d.Detail, "SEV3 assumed") || !strings.Contains(d.Detail, "ProblemSeverity") {
		t.Errorf("severity %q, detail %q; want intake.default_severity, and the draft saying it was assumed", d.Severity, d.Detail)
	}
	if !strings.Contains(d.Detail, "Dynatrace problem notification test run details") || strings.Contains(d.Detail, "<h1>") {
		t.Errorf("detail %q; want the text of {ProblemDetailsHTML}", d.Detail)
	}
	// Its {ProblemDetailsJSON} has no startTime: the arrival stands in, and the draft says so.
	if !d.FirstFailureAt.Equal(now) || !strings.Contains(d.Detail, "first failure") {
		t.Errorf("first failure %s, detail %q; want the arrival, said to be assumed", d.FirstFailureAt, d.Detail)
	}
	if d.Title != "Dynatrace problem notification test run" || d.AlertKey != "99999" || strings.Join(d.Systems, ",") != "myhost1" {
		t.Errorf("draft %+v", d)
	}
}

// A Dynatrace template that sends no link at all is refused with the
// field it lacks, so that "Send test notification" shows what to add,
// rather than drafts opening without their link.
func TestDynatraceTemplateWithoutTheProblemURLIsRefusedNamingIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := `{"PID":"1","ProblemID":"1","State":"OPEN","ProblemTitle":"t","ProblemSeverity":"ERROR"}`
	_, err := h.svc.Receive(context.Background(), intake.Dynatrace, bearer(), nil, []byte(body))
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "ProblemURL") {
		t.Fatalf("%v; want invalid naming ProblemURL", err)
	}
	if list, _ := h.svc.List(context.Background(), "", 0); len(list) != 0 {
		t.Errorf("%d drafts stored", len(list))
	}
}

// A template with {ImpactedEntity} but not {ImpactedEntities} still names
// the suspects; {ProblemDetailsHTML} reads as text; a severity Dynatrace
// adds later is said to be unknown rather than silently dropped.
func TestDynatraceTemplateVariantsRead(t *testing.T) {
	t.Parallel()
	alerts, err := intake.Parse(intake.Dynatrace, []byte(`{"PID":"7","State":"OPEN","ProblemTitle":"t","ProblemURL":"https://x.example/p/7",
		"ImpactedEntity":"checkout-api, db-1","ProblemSeverity":"SECURITY","ProblemDetailsHTML":"<p>Error rate &gt; 5&#37; on <b>checkout-api</b></p>"}`))
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	if strings.Join(a.Names, ",") != "checkout-api,db-1" || a.Detail != "Error rate > 5% on checkout-api" ||
		a.Severity != "" || !strings.Contains(a.SeverityMissing, `"SECURITY" is not one sitrep knows`) {
		t.Errorf("%+v", a)
	}
	// "N impacted entities" is a count, not a name.
	alerts, _ = intake.Parse(intake.Dynatrace, []byte(`{"PID":"7","State":"OPEN","ProblemTitle":"t","ProblemURL":"u","ImpactedEntity":"3 impacted entities"}`))
	if len(alerts[0].Names) != 0 {
		t.Errorf("names %q", alerts[0].Names)
	}
}
