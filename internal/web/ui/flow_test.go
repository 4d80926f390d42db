package ui

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// The screens of the end of an incident: resolve, confirmations, reports,
// recent changes, the summary editor, the post-mortem and its board.

func (e *uiEnv) declareWithLeads(title string) *incident.Incident {
	e.t.Helper()
	inc, err := e.incidents.Declare(context.Background(), "test", incident.DeclareInput{Title: title, Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"checkout"}}, Roles: incident.Roles{IncidentLead: "ops@x.test", CommsLead: "vp@x.test"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func TestUIResolveConfirmationsAndReports(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declareWithLeads("Checkout down")
	lead := e.login("lead@x.test")
	ref := inc.Ref

	_, page := lead.get("/incidents/" + ref)
	if !strings.Contains(page, `id="resolve"`) || strings.Contains(page, "Mark resolved") {
		t.Fatal("an active incident offers the resolve form instead of the bare Mark resolved button")
	}
	if !strings.Contains(page, "No reports filed.") {
		t.Fatal("the reports card is missing")
	}

	// One report: possibly isolated, and it says so where it cannot be missed.
	resp := lead.post("/incidents/"+ref+"/reports", url.Values{"csrf": {lead.csrf}, "email": {"ann@x.test"}, "name": {"Ann"},
		"location": {"Berlin office"}, "access": {"web"}, "observed": {"Checkout spins <b>forever</b>"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add report: %d", resp.StatusCode)
	}
	_, page = lead.get("/incidents/" + ref)
	if !strings.Contains(page, "Possibly isolated: verify before mobilising.") || !strings.Contains(page, "Checkout spins &lt;b&gt;forever&lt;/b&gt;") ||
		!strings.Contains(page, "1 report from 1 reporter; where: berlin office") {
		t.Fatalf("reports card:\n%s", section(page, "reports-h"))
	}
	resp = lead.post("/incidents/"+ref+"/reports", url.Values{"csrf": {lead.csrf}, "email": {"not an address"}, "observed": {"kept text"}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, `id="report-email"`) || !strings.Contains(text, "kept text") ||
		!regexp.MustCompile(`id="report-email"[^>]*aria-invalid="true"`).MatchString(text) {
		t.Fatalf("a bad report must come back with the form kept and the field marked: %d", resp.StatusCode)
	}

	// Resolving emails everyone at once: the form names how many, and
	// without that box ticked (for that number) nothing is sent; the
	// server checks it, so it holds without JavaScript.
	who := must(e.s.Resolution.Audience(context.Background(), ref, directory.KindResolved))
	confirm := strconv.Itoa(len(who))
	if len(who) == 0 || !strings.Contains(page, `name="confirm_recipients" value="`+confirm+`" required`) || !strings.Contains(page, "Email all "+confirm+" recipients now") {
		t.Fatalf("the resolve form must name the %d recipients:\n%s", len(who), section(page, "resolve-h"))
	}
	for _, c := range []string{"", strconv.Itoa(len(who) + 1)} {
		resp = lead.post("/incidents/"+ref+"/resolve", url.Values{"csrf": {lead.csrf}, "from": {"investigating"}, "confirm_recipients": {c},
			"root_cause": {"A config push"}, "fix": {"Rolled back"}})
		if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, confirm+" recipients") ||
			!regexp.MustCompile(`id="resolve-confirm"[^>]*aria-invalid="true"`).MatchString(text) || !strings.Contains(text, "A config push</textarea>") {
			t.Fatalf("resolve confirmed for %q, not %s: %d\n%s", c, confirm, resp.StatusCode, text)
		}
		if got, _ := e.incidents.Get(context.Background(), ref); got.State != incident.Investigating {
			t.Fatalf("an unconfirmed resolve moved the incident to %s", got.State)
		}
	}

	// Resolving without a root cause is refused, the form kept.
	resp = lead.post("/incidents/"+ref+"/resolve", url.Values{"csrf": {lead.csrf}, "from": {"investigating"}, "fix": {"Rolled back"}, "confirm_recipients": {confirm}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "say what caused it") || !strings.Contains(text, "Rolled back</textarea>") {
		t.Fatalf("resolve without a root cause: %d", resp.StatusCode)
	}
	if got, _ := e.incidents.Get(context.Background(), ref); got.State != incident.Investigating {
		t.Fatalf("a refused resolve moved the incident to %s", got.State)
	}
	// A stale page (someone moved it meanwhile) changes nothing.
	resp = lead.post("/incidents/"+ref+"/resolve", url.Values{"csrf": {lead.csrf}, "from": {"identified"}, "root_cause": {"x"}})
	if text := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text, "by someone else") {
		t.Fatalf("stale resolve: %d", resp.StatusCode)
	}

	resp = lead.post("/incidents/"+ref+"/resolve", url.Values{"csrf": {lead.csrf}, "from": {"investigating"}, "confirm_recipients": {confirm},
		"root_cause": {"A config push disabled the payment provider's keys."}, "fix": {"Rolled the config back."}, "impact": {"EU card payments failed for 40 minutes."}})
	page = body(resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "What resolving sent") || !strings.Contains(page, "Asked to confirm the fix:</strong> Ann &lt;ann@x.test&gt;") ||
		!strings.Contains(page, "Write-up promised") || !strings.Contains(page, "Resolved email</strong> to exec") || !strings.Contains(page, "Vera &lt;vp@x.test&gt;") {
		t.Fatalf("resolve result: %d\n%s", resp.StatusCode, section(page, "resolved-h"))
	}
	if got, _ := e.incidents.Get(context.Background(), ref); got.State != incident.Resolved || got.RootCause == "" {
		t.Fatalf("after resolving: %s %q", got.State, got.RootCause)
	}
	if !strings.Contains(page, "No answer yet") || !strings.Contains(page, "(0 of 1 confirmed)") {
		t.Fatalf("confirmations card:\n%s", section(page, "confirm-h"))
	}

	// Ann says it is still broken: red, with the reopen button.
	err := e.db.InTx(context.Background(), func(tx *sql.Tx) error {
		ok, err := e.s.Resolution.RecordAnswer(context.Background(), tx, inc.ID, "ann@x.test", resolution.AnswerStillBroken, "Still spinning <script>x</script>", time.Now().UTC())
		if err == nil && !ok {
			t.Error("Ann was asked; her answer must be filed")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, page = lead.get("/incidents/" + ref)
	card := section(page, "confirm-h")
	if !strings.Contains(card, `class="error" role="alert"><strong>Still broken for 1:`) || !strings.Contains(card, "Still spinning &lt;script&gt;") || !strings.Contains(card, "Reopen (back to investigating)") {
		t.Fatalf("still broken:\n%s", card)
	}
	resp = lead.post("/incidents/"+ref+"/transition", url.Values{"csrf": {lead.csrf}, "from": {"resolved"}, "to": {"investigating"}, "note": {"reopened"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopen: %d", resp.StatusCode)
	}
	if got, _ := e.incidents.Get(context.Background(), ref); got.State != incident.Investigating {
		t.Fatalf("after reopening: %s", got.State)
	}
	// A viewer sees the cards, not the forms.
	viewer := e.login("viewer@x.test")
	if _, page := viewer.get("/incidents/" + ref); strings.Contains(page, `id="resolve"`) || strings.Contains(page, `action="/incidents/`+ref+`/reports"`) || !strings.Contains(page, `id="reports-h"`) {
		t.Fatal("a viewer reads reports but gets no resolve or report form")
	}
}

func TestUIRecentChanges(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declareWithLeads("Checkout down")
	ctx := context.Background()
	near, _, err := e.s.Changes.Record(ctx, changes.Input{Source: "api", Kind: changes.Deployment, Service: "acme/checkout-api", Version: "v2.3.1",
		Environment: "production", TriggeredBy: "ci", At: inc.DeclaredAt.Add(-20 * time.Minute), URL: "https://ci.example/run/1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.Changes.Record(ctx, changes.Input{Source: "api", Kind: changes.Deployment, Service: "search", Version: "v9",
		At: inc.DeclaredAt.Add(-5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.s.Changes.Calendars = []changes.Calendar{&changes.ICS{Location: "/nonexistent/maintenance.ics"}}
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/" + inc.Ref)
	card := section(page, "changes-h")
	i, j := strings.Index(card, "acme/checkout-api v2.3.1 to production"), strings.Index(card, "search v9")
	if i < 0 || j < 0 || i > j {
		t.Fatalf("changes, closest first:\n%s", card)
	}
	if !strings.Contains(card[:j], "touches a suspected system") || strings.Contains(card[j:], "touches a suspected system") {
		t.Fatal("only the checkout deployment touches the suspected system")
	}
	if !strings.Contains(card, `class="warn" role="alert">Not checked:`) || !strings.Contains(card, "maintenance.ics") {
		t.Fatalf("an unreadable calendar must be a warning:\n%s", card)
	}
	if !strings.Contains(card, `href="https://ci.example/run/1"`) {
		t.Fatal("a change links to its run")
	}
	resp := lead.post("/incidents/"+inc.Ref+"/changes/"+itoa(near.ID)+"/confirm", url.Values{"csrf": {lead.csrf}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	_, page = lead.get("/incidents/" + inc.Ref)
	if card := section(page, "changes-h"); !strings.Contains(card, "confirmed cause") || strings.Contains(card[:strings.Index(card, "search v9")], "Confirm as cause</button>") {
		t.Fatalf("after confirming:\n%s", card)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/changes/99999/suspect", url.Values{"csrf": {lead.csrf}})
	if body(resp); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown change: %d", resp.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// section returns the HTML from the heading with id to the end of its section.
func section(page, id string) string {
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func (e *uiEnv) resolve(ref string) {
	e.t.Helper()
	if _, err := e.s.Resolution.Resolve(context.Background(), "ops@x.test", ref, resolution.ResolveInput{RootCause: "A config push disabled the keys.", Fix: "Rolled back."}); err != nil {
		e.t.Fatal(err)
	}
}

func TestUISummaryEditor(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declareWithLeads("Checkout down")
	lead := e.login("lead@x.test")
	status, page := lead.get("/incidents/" + inc.Ref + "/summary")
	if status != 200 || !strings.Contains(page, "resolve it before sending") || strings.Contains(page, `id="send-summary"`) {
		t.Fatalf("summary of an active incident: %d", status)
	}
	e.resolve(inc.Ref)
	_, page = lead.get("/incidents/" + inc.Ref + "/summary")
	draft, err := e.s.Resolution.DraftSummary(context.Background(), inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, `id="send-summary"`) || !strings.Contains(page, "A config push disabled the keys.") || !strings.Contains(page, `id="summary-check"`) {
		t.Fatalf("the editor must open on the draft:\n%s", page)
	}
	if !strings.Contains(page, strings.Split(draft, "\n")[0]) {
		t.Fatal("the textarea holds the draft")
	}

	// A name and blame on line 3: marked in place, with the message and a rewrite.
	text := "# Summary\n\nCheckout failed.\nThe outage happened because Otto forgot the check.\n<script>alert(1)</script>\n"
	resp := lead.post("/incidents/"+inc.Ref+"/summary/check", url.Values{"csrf": {lead.csrf}, "markdown": {text}}, fetchHeader, "fetch")
	frag := body(resp)
	if resp.StatusCode != 200 || !strings.Contains(frag, `<li value="4" id="line-4" class="has-finding">`) {
		t.Fatalf("check: %d\n%s", resp.StatusCode, frag)
	}
	m := regexp.MustCompile(`<mark class="finding kind-name" id="finding-(\d+)" title="[^"]*">Otto</mark>`).FindStringSubmatch(frag)
	if m == nil {
		t.Fatalf("the name must be marked in place:\n%s", frag)
	}
	if !strings.Contains(frag, `<a href="#finding-`+m[1]+`">Line 4, column `) || !strings.Contains(frag, "Instead:") {
		t.Fatalf("the findings list names line and column and suggests a rewrite:\n%s", frag)
	}
	if strings.Contains(frag, "<script>alert") || !strings.Contains(frag, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the source view must escape the text")
	}
	if i := strings.Index(frag, "srcdoc="); i < 0 || strings.Contains(frag[i:], "script&gt;alert(1)&lt;/script") && strings.Contains(frag[i:], "&lt;script") {
		t.Fatal("the preview is a sanitised srcdoc")
	}
	if !strings.Contains(frag, `<iframe class="mail summary-preview" sandbox`) {
		t.Fatal("the preview is in a sandboxed iframe")
	}

	// Sending emails everyone at once: without the box naming how many
	// ticked, nothing is sent.
	confirm := strconv.Itoa(len(must(e.s.Resolution.Audience(context.Background(), inc.Ref, directory.KindSummary))))
	if _, page := lead.get("/incidents/" + inc.Ref + "/summary"); !strings.Contains(page, `name="confirm_recipients" value="`+confirm+`" required`) ||
		!strings.Contains(page, "Email all "+confirm+" recipients now") {
		t.Fatalf("the summary's send must name the %s recipients", confirm)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/summary", url.Values{"csrf": {lead.csrf}, "markdown": {"# Fine\n\nNothing to lint.\n"}})
	if page := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Email all "+confirm+" recipients now") ||
		!regexp.MustCompile(`id="summary-confirm"[^>]*aria-invalid="true"`).MatchString(page) {
		t.Fatalf("send without confirming: %d", resp.StatusCode)
	}
	if n := len(must(e.s.Resolution.Summaries(context.Background(), inc.Ref))); n != 0 {
		t.Fatalf("an unconfirmed summary was archived (%d)", n)
	}

	// Sending with findings is refused; nothing is sent or archived.
	resp = lead.post("/incidents/"+inc.Ref+"/summary", url.Values{"csrf": {lead.csrf}, "markdown": {text}, "confirm_recipients": {confirm}})
	if page := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Not sent: the blameless lint found") || !strings.Contains(page, ">Otto</mark>") {
		t.Fatalf("send with findings: %d", resp.StatusCode)
	}
	if n := len(must(e.s.Resolution.Summaries(context.Background(), inc.Ref))); n != 0 {
		t.Fatalf("a refused summary was archived (%d)", n)
	}
	// A summary with the draft's TODO placeholders is refused, override or
	// not, and the page names the unfinished line.
	todo := text + "\n## Root cause\n\n_TODO: describe the root cause._\n"
	resp = lead.post("/incidents/"+inc.Ref+"/summary", url.Values{"csrf": {lead.csrf}, "markdown": {todo}, "override": {"yes"}, "confirm_recipients": {confirm}})
	if page := body(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "TODO") {
		t.Fatalf("send with a TODO and the override: %d", resp.StatusCode)
	}
	if n := len(must(e.s.Resolution.Summaries(context.Background(), inc.Ref))); n != 0 {
		t.Fatalf("a summary with a TODO was archived (%d)", n)
	}
	// With the explicit override: sent, archived, the override on the timeline.
	resp = lead.post("/incidents/"+inc.Ref+"/summary", url.Values{"csrf": {lead.csrf}, "markdown": {text}, "override": {"yes"}, "confirm_recipients": {confirm}})
	body(resp)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/incidents/"+inc.Ref+"/summary?sent=") {
		t.Fatalf("send with override: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	overridden := 0
	for _, ev := range must(e.incidents.Timeline(context.Background(), inc.Ref)) {
		if ev.Kind == "summary_sent" && strings.Contains(ev.Text, "OVERRIDDEN") {
			overridden++
		}
	}
	if n := overridden; n != 1 {
		t.Fatalf("the override must be on the timeline (%d)", n)
	}
	_, page = lead.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "The summary was sent") || !strings.Contains(section(page, "archive-h"), "by lead@x.test") {
		t.Fatal("the archive lists the sent summary")
	}
	// A viewer may check, not send.
	viewer := e.login("viewer@x.test")
	_, page = viewer.get("/incidents/" + inc.Ref + "/summary")
	if strings.Contains(page, `id="send-summary"`) {
		t.Fatal("a viewer gets no send button")
	}
	resp = viewer.post("/incidents/"+inc.Ref+"/summary/check", url.Values{"csrf": {viewer.csrf}, "markdown": {"fine"}})
	if body(resp); resp.StatusCode != 200 {
		t.Fatalf("a viewer's check: %d", resp.StatusCode)
	}
}

func TestMarkFindingsCutsAtRuneColumns(t *testing.T) {
	t.Parallel()
	md := "Zoë said: Ann did it\nsecond"
	fs := blameless.Lint(md, blameless.NewNameSet([]blameless.Person{{Name: "Ann Smith", Email: "ann@x.test"}, {Name: "Zoë Berg"}}), nil)
	lines := markFindings(md, fs)
	if len(lines) != 2 || !lines[0].Finding || lines[1].Finding {
		t.Fatalf("lines %+v", lines)
	}
	var marked []string
	var whole strings.Builder
	for _, s := range lines[0].Segs {
		whole.WriteString(s.Text)
		if s.Finding > 0 {
			marked = append(marked, s.Text)
		}
	}
	if whole.String() != "Zoë said: Ann did it" {
		t.Fatalf("the segments must rebuild the line: %q", whole.String())
	}
	if len(marked) < 2 || marked[0] != "Zoë" || marked[1] != "Ann" {
		t.Fatalf("marked %q (findings %+v)", marked, fs)
	}
	// Overlapping or out-of-range findings do not break the line.
	odd := []blameless.Finding{{Line: 1, Col: 1, End: 4}, {Line: 1, Col: 2, End: 6}, {Line: 1, Col: 50, End: 60}, {Line: 9, Col: 1, End: 2}}
	lines = markFindings("abcdefg", odd)
	if len(lines) != 1 || len(lines[0].Segs) != 2 || lines[0].Segs[0].Text != "abc" || lines[0].Segs[1].Text != "defg" {
		t.Fatalf("odd findings: %+v", lines)
	}
}

func TestUIPostmortemPageAndBoard(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declareWithLeads("Checkout down")
	lead := e.login("lead@x.test")
	status, page := lead.get("/incidents/" + inc.Ref + "/postmortem")
	if status != 200 || !strings.Contains(page, "the post-mortem follows the resolution") {
		t.Fatalf("post-mortem of an active incident: %d", status)
	}
	e.resolve(inc.Ref)
	_, page = lead.get("/incidents/" + inc.Ref + "/postmortem")
	if !strings.Contains(page, "Vera") || !strings.Contains(page, "Facilitator") || !strings.Contains(page, `id="attendee-email"`) {
		t.Fatalf("attendees:\n%s", section(page, "attendees-h"))
	}
	resp := lead.post("/incidents/"+inc.Ref+"/postmortem/attendees", url.Values{"csrf": {lead.csrf}, "email": {"ann@x.test"}, "optional": {"yes"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add attendee: %d", resp.StatusCode)
	}
	_, page = lead.get("/incidents/" + inc.Ref + "/postmortem")
	if card := section(page, "attendees-h"); !strings.Contains(card, "ann@x.test") || !strings.Contains(card, "optional</span>") {
		t.Fatalf("added attendee:\n%s", card)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/attendees/ann@x.test/remove", url.Values{"csrf": {lead.csrf}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove attendee: %d", resp.StatusCode)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/attendees", url.Values{"csrf": {lead.csrf}, "email": {"nope"}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "want an email address") {
		t.Fatalf("bad attendee: %d", resp.StatusCode)
	}

	// Propose, then pick a slot.
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/propose", url.Values{"csrf": {lead.csrf}, "where": {"room"}})
	if text := body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("propose: %d\n%s", resp.StatusCode, text)
	}
	_, page = lead.get("/incidents/" + inc.Ref + "/postmortem?proposed=1")
	slots := section(page, "slots-h")
	if !strings.Contains(slots, `name="slot" value="1" checked`) || !strings.Contains(slots, "Atlas") || !strings.Contains(slots, `<ul class="reasons">`) {
		t.Fatalf("proposals:\n%s", slots)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/book", url.Values{"csrf": {lead.csrf}, "slot": {"1"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("book: %d", resp.StatusCode)
	}
	_, page = lead.get("/incidents/" + inc.Ref + "/postmortem")
	if !strings.Contains(page, "pending: book") || !strings.Contains(page, `http-equiv="refresh"`) || strings.Contains(page, `id="attendee-email"`) {
		t.Fatalf("booking status:\n%s", section(page, "booking-h"))
	}

	// The board: blame refused with the override offered; a clean Issue; an owned and an unowned Improvement.
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/issues", url.Values{"csrf": {lead.csrf}, "text": {"Otto pushed a bad config."}})
	text := body(resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(text, "The blameless lint refused it") || !strings.Contains(text, `id="issue-override"`) ||
		!strings.Contains(text, "Otto pushed a bad config.</textarea>") {
		t.Fatalf("blaming issue: %d\n%s", resp.StatusCode, section(text, "issues-h"))
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/issues", url.Values{"csrf": {lead.csrf}, "text": {"Config pushes skip the <em>staging</em> check."}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("issue: %d", resp.StatusCode)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/improvements", url.Values{"csrf": {lead.csrf}, "text": {"Gate config pushes on staging"},
		"owner": {"ann@x.test"}, "due": {"2099-01-31"}, "issue": {"I1"}})
	if text := body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("improvement: %d\n%s", resp.StatusCode, text)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/improvements", url.Values{"csrf": {lead.csrf}, "text": {"Alert on disabled keys"}})
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unowned improvement: %d", resp.StatusCode)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/improvements", url.Values{"csrf": {lead.csrf}, "text": {"x"}, "owner": {"stranger@else.test"}})
	if text := body(resp); resp.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`id="improvement-owner"[^>]*aria-invalid="true"`).MatchString(text) {
		t.Fatalf("an owner outside the directory: %d", resp.StatusCode)
	}
	_, page = lead.get("/incidents/" + inc.Ref + "/postmortem")
	issues, improvements := section(page, "issues-h"), section(page, "improvements-h")
	if !strings.Contains(issues, "Config pushes skip the &lt;em&gt;staging&lt;/em&gt; check.") {
		t.Fatalf("issues column:\n%s", issues)
	}
	if !strings.Contains(improvements, "owner Ann") || !strings.Contains(improvements, "due 2099-01-31") || !strings.Contains(improvements, "for: Config pushes") ||
		!strings.Contains(improvements, "NO OWNER") || !strings.Contains(improvements, "1 without an owner.") {
		t.Fatalf("improvements column:\n%s", improvements)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/postmortem/publish", url.Values{"csrf": {lead.csrf}})
	if text := body(resp); resp.StatusCode != http.StatusOK || !strings.Contains(text, "Results published") {
		t.Fatalf("publish: %d\n%s", resp.StatusCode, text)
	}

	// Every improvement, filtered, and as CSV.
	_, page = lead.get("/improvements")
	if !strings.Contains(page, "Gate config pushes on staging") || !strings.Contains(page, "Alert on disabled keys") || !strings.Contains(page, "Download CSV") {
		t.Fatalf("improvements page:\n%s", page)
	}
	_, page = lead.get("/improvements?owner=ann%40x.test")
	if !strings.Contains(page, "Gate config pushes on staging") || strings.Contains(page, "Alert on disabled keys") || !strings.Contains(page, `href="/improvements.csv?owner=ann%40x.test"`) {
		t.Fatal("the owner filter (and the CSV link with it)")
	}
	r, err := lead.c.Get(e.srv.URL + "/improvements.csv?owner=ann%40x.test")
	if err != nil {
		t.Fatal(err)
	}
	csv := body(r)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || len(strings.Split(strings.TrimSpace(csv), "\n")) != 2 || !strings.Contains(csv, "2099-01-31") {
		t.Fatalf("csv (%s):\n%s", ct, csv)
	}
	var unowned int64
	for _, m := range must(e.s.Postmortem.Improvements(context.Background(), postmortem.ImprovementFilter{})) {
		if m.Owner == "" {
			unowned = m.ID
		}
	}
	resp = lead.post("/improvements/"+itoa(unowned), url.Values{"csrf": {lead.csrf}, "owner": {"ops@x.test"}}, "Referer", e.srv.URL+"/improvements")
	if body(resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign owner: %d", resp.StatusCode)
	}
	if _, page := lead.get("/improvements"); strings.Contains(page, "NO OWNER") {
		t.Fatal("after assigning, no improvement is unowned")
	}
}

// TestUINewPagesLabelledAndEscaped: every field of the new pages has a
// label, and hostile text is shown as text.
func TestUINewPagesLabelledAndEscaped(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	const x = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	inc, err := e.incidents.Declare(context.Background(), "test", incident.DeclareInput{Title: "T " + x, Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"checkout"}}, Roles: incident.Roles{CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.incidents.AddReport(context.Background(), e.db, "test", inc.Ref, incident.ReportInput{Email: "ann@x.test", Observed: x, Location: "L" + x}); err != nil {
		t.Fatal(err)
	}
	e.resolve(inc.Ref)
	if _, err := e.s.Postmortem.AddIssue(context.Background(), "test", inc.Ref, postmortem.IssueInput{Text: x, Override: true}); err != nil {
		t.Fatal(err)
	}
	admin := e.login("admin@x.test")
	inputRE := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE := regexp.MustCompile(`\bid="([^"]+)"`)
	for _, path := range []string{"/incidents/" + inc.Ref, "/incidents/" + inc.Ref + "/summary", "/incidents/" + inc.Ref + "/postmortem", "/improvements"} {
		status, page := admin.get(path)
		if status != 200 {
			t.Fatalf("%s: %d", path, status)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s renders hostile text as HTML", path)
		}
		for _, tag := range inputRE.FindAllString(page, -1) {
			if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, `type="checkbox"`) || strings.Contains(tag, `type="radio"`) {
				continue
			}
			id := idRE.FindStringSubmatch(tag)
			if id == nil || !strings.Contains(page, `<label for="`+id[1]+`"`) && !strings.Contains(page, `for="`+id[1]+`"`) {
				t.Errorf("%s: %s has no label", path, tag)
			}
		}
	}
}
