package compose

import (
	"errors"
	"html"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/i18n"
)

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New("")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no tzdata for %s: %v", name, err)
	}
	return z
}

// visibleText is what a reader of the HTML part sees: tags removed,
// entities resolved, whitespace collapsed.
func visibleText(doc string) string {
	doc = regexp.MustCompile(`(?s)<head>.*</head>|<!--.*?-->`).ReplaceAllString(doc, "")
	doc = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(doc, " ")
	return strings.Join(strings.Fields(html.UnescapeString(doc)), " ")
}

func TestEveryKindRendersItsSample(t *testing.T) {
	r := newRenderer(t)
	for _, k := range Kinds() {
		out, err := r.Render(k, SampleData(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !strings.HasPrefix(out.Subject, "[INC-42]") && k != KindCommandRefused && k != KindMaintenance && k != KindSubscribeConfirm { // a subscription is about no one incident
			t.Errorf("%s: subject %q does not start with the incident id", k, out.Subject)
		}
		if !strings.Contains(out.HTML, "max-width:640px") || !strings.Contains(out.HTML, "<title>"+html.EscapeString(out.Subject)) {
			t.Errorf("%s: HTML is not wrapped in the layout", k)
		}
		if strings.TrimSpace(out.Text) == "" || strings.Contains(out.Text, `\-`) {
			t.Errorf("%s: plain text empty or carrying Markdown escapes:\n%s", k, out.Text)
		}
	}
}

func statusData(zone *time.Location, now, next time.Time) StatusData {
	d := SampleData(KindStatus).(StatusData)
	d.Zone, d.Now, d.NextUpdateAt = zone, now, next
	d.Incident.FirstFailureAt = now.Add(-95 * time.Minute)
	d.Incident.DetectedAt = now.Add(-80 * time.Minute)
	return d
}

func TestStatusNextUpdateInRecipientZoneAndUTC(t *testing.T) {
	r := newRenderer(t)
	ny, berlin := mustZone(t, "America/New_York"), mustZone(t, "Europe/Berlin")
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name      string
		zone      *time.Location
		now, next time.Time
		want      string
	}{
		// US DST starts 2026-03-08 at 02:00 local (07:00 UTC).
		{"NY before DST", ny, at("2026-03-08T06:00:00Z"), at("2026-03-08T06:30:00Z"), "Next update by 01:30 EST (06:30 UTC)"},
		{"NY after DST", ny, at("2026-03-08T07:00:00Z"), at("2026-03-08T07:30:00Z"), "Next update by 03:30 EDT (07:30 UTC)"},
		{"Berlin same instant", berlin, at("2026-03-08T07:00:00Z"), at("2026-03-08T07:30:00Z"), "Next update by 08:30 CET (07:30 UTC)"},
		// EU DST starts 2026-03-29 at 01:00 UTC.
		{"Berlin before DST", berlin, at("2026-03-29T00:00:00Z"), at("2026-03-29T00:30:00Z"), "Next update by 01:30 CET (00:30 UTC)"},
		{"Berlin after DST", berlin, at("2026-03-29T00:50:00Z"), at("2026-03-29T01:30:00Z"), "Next update by 03:30 CEST (01:30 UTC)"},
		{"NY next day", ny, at("2026-03-29T03:00:00Z"), at("2026-03-29T04:30:00Z"), "Next update by Sun 29 Mar 00:30 EDT (04:30 UTC)"},
		{"UTC recipient", nil, at("2026-03-29T03:00:00Z"), at("2026-03-29T04:30:00Z"), "Next update by 04:30 UTC"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := r.Render(KindStatus, statusData(c.zone, c.now, c.next))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.Text, c.want) {
				t.Errorf("text part lacks %q:\n%s", c.want, out.Text)
			}
			if !strings.Contains(visibleText(out.HTML), c.want) {
				t.Errorf("HTML part lacks %q", c.want)
			}
		})
	}
}

func TestStatusReadsInOrder(t *testing.T) {
	r := newRenderer(t)
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
	d := statusData(mustZone(t, "Europe/Berlin"), now, now.Add(30*time.Minute))
	d.Status = "Rollback of release 2026.03.2 is **done**; error rates falling."
	out, err := r.Render(KindStatus, &d)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "[INC-42] Checkout unavailable" {
		t.Errorf("subject %q", out.Subject)
	}
	// The latest status first, then the promise, then scope, time frame, teams.
	order := []string{
		"Rollback of release 2026.03.2 is *done*; error rates falling.",
		"Next update by 15:30 CET (14:30 UTC)",
		"Who is affected:* EU customers; mobile app",
		"first failure 13:25 CET (12:25 UTC)",
		"detected 13:40 CET (12:40 UTC)",
		"1 h 35 min so far",
		"Teams:* the Payments and SRE teams",
		"Sent to Exec team",
	}
	pos := -1
	for _, s := range order {
		i := strings.Index(out.Text, s)
		if i < 0 {
			t.Fatalf("text lacks %q:\n%s", s, out.Text)
		}
		if i < pos {
			t.Errorf("%q comes too early:\n%s", s, out.Text)
		}
		pos = i
	}
	if !strings.Contains(out.HTML, "<strong>done</strong>") {
		t.Error("the status Markdown was not rendered in the HTML part")
	}

	// A new title must not change the thread's subject.
	d.Incident.Title = "Checkout slow"
	out, err = r.Render(KindStatus, d)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "[INC-42] Checkout unavailable" {
		t.Errorf("subject changed with the title: %q", out.Subject)
	}
}

func TestHeadsUpIsNotAPageAndAsksForAReply(t *testing.T) {
	r := newRenderer(t)
	out, err := r.Render(KindHeadsUp, SampleData(KindHeadsUp))
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "[INC-42] Heads-up: Checkout unavailable" {
		t.Errorf("subject %q", out.Subject)
	}
	for _, want := range []string{"site issue", "still gathering data", "may need your assistance",
		"Are you near a computer?", "reply to this email", "This is not a page"} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("heads-up lacks %q:\n%s", want, out.Text)
		}
	}
}

func TestReminderSaysWhenAndHowToAct(t *testing.T) {
	r := newRenderer(t)
	now := time.Date(2026, 3, 3, 14, 18, 30, 0, time.UTC)
	d := ReminderData{Incident: SampleData(KindStatus).(StatusData).Incident, Now: now,
		DueAt: now.Add(11*time.Minute + 30*time.Second), Zone: mustZone(t, "Europe/Berlin")}
	out, err := r.Render(KindReminder, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.Text, "*Update due in 12 minutes, at 15:30 CET (14:30 UTC)*\n") {
		t.Errorf("the reminder's first line says when the update is due:\n%s", out.Text)
	}
	for _, want := range []string{"the next update by *15:30 CET (14:30 UTC)*", "`hold 30m`", "`resolve`", "the update text"} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("reminder lacks %q:\n%s", want, out.Text)
		}
	}
	d.DueAt = now.Add(-10 * time.Second) // the "due now" stage runs just after
	out, err = r.Render(KindReminder, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.Text, "*Update due now: 15:18 CET (14:18 UTC)*\n") || strings.Contains(out.Text, "in 0 minutes") {
		t.Errorf("the due-now reminder:\n%s", out.Text)
	}
	d.DueAt = now.Add(11*time.Minute + 30*time.Second)
	d.ReplyHint = "Reply **stop** to stop reminders."
	out, err = r.Render(KindReminder, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "Reply *stop* to stop reminders.") || strings.Contains(out.Text, "hold 30m") {
		t.Errorf("ReplyHint did not replace the default hint:\n%s", out.Text)
	}

	d.Overdue, d.DueAt, d.ReplyHint = true, now.Add(-12*time.Minute), ""
	out, err = r.Render(KindOverdue, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.Text, "*OVERDUE since 15:06 CET (14:06 UTC): no update sent*\n") || !strings.Contains(out.Text, "12 minutes ago") {
		t.Errorf("overdue text:\n%s", out.Text)
	}
}

// allowedTags is every element the renderer may emit; anything else in
// the HTML part means user text became markup.
var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "body": true, "table": true, "thead": true,
	"tbody": true, "tr": true, "td": true, "th": true, "p": true, "br": true, "strong": true, "em": true,
	"del": true, "a": true, "code": true, "pre": true, "ul": true, "ol": true, "li": true, "blockquote": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "img": true,
}

var (
	schemeRE   = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*):`)
	badSchemes = map[string]bool{"javascript": true, "vbscript": true, "data": true, "file": true}
)

// checkSafeHTML fails on any element outside allowedTags, any on*
// attribute, and any href or src with a script or data scheme.
func checkSafeHTML(t testing.TB, doc string) {
	t.Helper()
	z := xhtml.NewTokenizer(strings.NewReader(doc))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			tok := z.Token()
			if !allowedTags[tok.Data] {
				t.Fatalf("element <%s> in output:\n%s", tok.Data, doc)
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Fatalf("event attribute %s on <%s>", a.Key, tok.Data)
				}
				if a.Key == "href" || a.Key == "src" {
					if m := schemeRE.FindStringSubmatch(strings.TrimSpace(a.Val)); m != nil && badSchemes[strings.ToLower(m[1])] {
						t.Fatalf("%s=%q on <%s>", a.Key, a.Val, tok.Data)
					}
				}
			}
		}
	}
}

func TestUserTextNeverBecomesMarkup(t *testing.T) {
	r := newRenderer(t)
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
	d := statusData(nil, now, now.Add(time.Hour))
	d.Incident.Title = `# <script>alert(1)</script> *Checkout* [x](javascript:alert(1)) | a |`
	d.Incident.ThreadTitle = ""
	d.Incident.Teams = []string{"<img src=x onerror=alert(1)>", "- SRE"}
	d.Audience = "**Exec** team\n---"
	d.Status = "Still broken.\n\n<script>alert(2)</script>\n\n<div onclick=\"x()\">raw block</div>\n\n" +
		"Inline <img src=x onerror=alert(3)> and [click](javascript:alert(4)) and <b>bold?</b>\n\n```\nunclosed fence"
	out, err := r.Render(KindStatus, d)
	if err != nil {
		t.Fatal(err)
	}
	checkSafeHTML(t, out.HTML)
	for _, banned := range []string{"<script", "<img", "<div", "<b>", `href="javascript`, "<h1"} {
		if strings.Contains(strings.ToLower(out.HTML), banned) {
			t.Errorf("HTML part contains %q", banned)
		}
	}
	seen := visibleText(out.HTML)
	for _, shown := range []string{
		"# <script>alert(1)</script> *Checkout* [x](javascript:alert(1)) | a |", // the title, literally
		"the <img src=x onerror=alert(1)> and - SRE teams",
		"Sent to **Exec** team ---",
		"<script>alert(2)</script>", // raw HTML in the status shows as text
		`<div onclick="x()">raw block</div>`,
		"Inline <img src=x onerror=alert(3)> and click and <b>bold?</b>",
		"unclosed fence",
	} {
		if !strings.Contains(seen, shown) {
			t.Errorf("reader does not see %q; sees:\n%s", shown, seen)
		}
	}
	// The unclosed fence stays inside the status: what follows is still the template's.
	if !strings.Contains(out.HTML, "<strong>Next update by") {
		t.Error("the status swallowed the rest of the email")
	}
	if !strings.Contains(out.Text, "- *Teams:* the <img src=x onerror=alert(1)> and - SRE teams") {
		t.Errorf("text part:\n%s", out.Text)
	}
}

// Issue 17: segments and teams went out raw ("region: EU, region:
// US-East", "dba, sre"). They are written for people, and what people
// typed stays literal text.
func TestSegmentsAndTeamsReadAsPeopleWriteThem(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"region: EU", "region: US-East"}, `the EU and US\-East regions`},
		{[]string{"region: EU"}, "the EU region"},
		{[]string{"Region: EU", "feature: checkout", "region: APAC", "region: US"}, "the EU, APAC and US regions; the checkout feature"},
		{[]string{"EU customers", "mobile app"}, "EU customers; mobile app"},
		{[]string{"customers: enterprise", "customers: free tier"}, "the enterprise and free tier customers"},
		{[]string{"Customers in Germany on mobile: most", "*bold*: x"}, `Customers in Germany on mobile\: most; the x \*bold\*`},
	} {
		if got := segmentsText(english(t), c.in); got != c.want {
			t.Errorf("segments %q: %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"DBA"}, "the DBA team"},
		{[]string{"DBA", "SRE"}, "the DBA and SRE teams"},
		{[]string{"DBA", "Web team", "SRE"}, "the DBA, Web and SRE teams"},
		{nil, ""},
	} {
		if got := teamsText(english(t), c.in); got != c.want {
			t.Errorf("teams %q: %q, want %q", c.in, got, c.want)
		}
	}
	if got := joinWords(english(t), []string{"checkout", "", "payments", "search"}); got != "checkout, payments and search" {
		t.Errorf("join: %q", got)
	}
}

func TestEscapeInlineKeepsTextLiteral(t *testing.T) {
	for _, s := range []string{
		"# Heading", "*bold* _em_ `code`", "1. not a list", "- not a list", "> not a quote",
		"[link](http://x)", "<b>tag</b>", "&amp; &#42;", `back\slash\`, "a | b", "www.example.com",
		"user@example.com", "~~strike~~", "==\n--", "    indented", "Zahlungen gestört – ✓", "[ ] task",
		"![img](x.png)", "line\r\nbreak\ttab",
	} {
		body, _, err := renderPiece(EscapeInline(s))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Join(strings.Fields(s), " ")
		if got := visibleText(body); got != want {
			t.Errorf("EscapeInline(%q) renders as %q, want %q (%s)", s, got, want, body)
		}
		if strings.Count(body, "<p") != 1 || strings.Contains(body, "<a ") || strings.Contains(body, "<code") {
			t.Errorf("EscapeInline(%q) made structure: %s", s, body)
		}
	}
}

func TestTitleWithLineBreakIsRefused(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindStatus).(StatusData)
	d.Incident.ThreadTitle = "Checkout\r\nBcc: everyone@example.com"
	_, err := r.Render(KindStatus, d)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("want an invalid error, got %v", err)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Field != "subject" || !strings.Contains(err.Error(), "status.md.tmpl") {
		t.Errorf("error should name the subject and the template: %v", err)
	}
}

// A title stored before titles were checked at the door still cannot reach
// a subject; the refusal names the character as U+0085, never prints it (a
// raw byte of it used to garble the message).
func TestTitleWithC1ControlIsNamedByCodePoint(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindStatus).(StatusData)
	d.Incident.ThreadTitle = "Checkout\u0085down"
	_, err := r.Render(KindStatus, d)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || !strings.Contains(e.Message, "U+0085") || !utf8.ValidString(e.Message) {
		t.Fatalf("want an invalid error naming U+0085, got %v", err)
	}
}

func TestRenderRefusesWrongData(t *testing.T) {
	r := newRenderer(t)
	if _, err := r.Render(KindStatus, ReminderData{}); err == nil || !strings.Contains(err.Error(), "StatusData") {
		t.Errorf("want a type error, got %v", err)
	}
	if _, err := r.Render(Kind("nope"), nil); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown kind: %v", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrideReplacesOneTemplateByName(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "status.md.tmpl", `{{define "subject"}}Custom {{.Incident.ID}}{{end}}Our own words: {{usermd .Status}}`)
	writeFile(t, dir, "notes.txt", "not a template, ignored")
	r, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Render(KindStatus, SampleData(KindStatus))
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "Custom INC-42" || !strings.HasPrefix(out.Text, "Our own words:") {
		t.Errorf("override not used: %q\n%s", out.Subject, out.Text)
	}
	out, err = r.Render(KindHeadsUp, SampleData(KindHeadsUp))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "Are you near a computer?") {
		t.Error("the other templates should stay the defaults")
	}
}

func TestBrokenOverrideFailsNewNamingTheFile(t *testing.T) {
	cases := map[string]struct{ name, content, want string }{
		"syntax":       {"reminder.md.tmpl", `{{define "subject"}}x{{end}}{{if .DueAt}}`, "unexpected EOF"},
		"no subject":   {"reminder.md.tmpl", `body only`, "subject"},
		"bad field":    {"reminder.md.tmpl", `{{define "subject"}}x{{end}}{{.Incident.Titel}}`, "Titel"},
		"unknown name": {"staus.md.tmpl", `{{define "subject"}}x{{end}}`, "no email kind"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, c.name, c.content)
			_, err := New(dir)
			if err == nil {
				t.Fatal("New accepted a broken template")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error should name %s and say %q: %v", path, c.want, err)
			}
		})
	}
	if _, err := New(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing override directory should fail")
	}
}

func TestRenderMarkdownTablesAndText(t *testing.T) {
	src := "## Timeline\n\n| Time | What |\n|:---|---|\n| 12:55 | Release `2026.03.2` |\n| 13:10 | Support *escalates* |\n\n" +
		"1. Roll back\n2. Add a canary\n\n- [x] done\n- [ ] todo\n"
	doc, text, err := RenderMarkdown(src)
	if err != nil {
		t.Fatal(err)
	}
	checkSafeHTML(t, doc)
	for _, want := range []string{`<table style="width:100%;border-collapse:collapse;`, `<th align="left" style="border:1px solid`,
		`<h2 style="font-family:`, "max-width:640px", "&#9745; done"} {
		if !strings.Contains(doc, want) {
			t.Errorf("HTML lacks %q:\n%s", want, doc)
		}
	}
	wantText := "Timeline\n--------\n\n" +
		"| Time  | What                |\n" +
		"| ----- | ------------------- |\n" +
		"| 12:55 | Release `2026.03.2` |\n" +
		"| 13:10 | Support _escalates_ |\n\n" +
		"1. Roll back\n2. Add a canary\n\n- [x] done\n- [ ] todo\n"
	if text != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text, wantText)
	}
}

func TestStakeholderQuestionIsQuotedAsText(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindStakeholderReply).(StakeholderReplyData)
	d.Questions[0].Text = "Hi,\n\n# Can we *retry*?\n1. yes\n<b>no</b>"
	out, err := r.Render(KindStakeholderReply, d)
	if err != nil {
		t.Fatal(err)
	}
	checkSafeHTML(t, out.HTML)
	if !strings.Contains(out.Text, "> Hi,\n>\n> # Can we *retry*?\n> 1. yes\n> <b>no</b>") {
		t.Errorf("question not quoted literally:\n%s", out.Text)
	}
	if strings.Contains(out.HTML, "<h1") || strings.Contains(out.HTML, "<ol") || strings.Contains(out.HTML, "<b>") {
		t.Error("the question became structure")
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{
		"", "# hi", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
		"| a | b |\n|---|---|\n| <script> | 2 |", "```\n<script>\n", "<SCRIPT SRC=//x></SCRIPT>",
		"![x](javascript:alert(1))", "<a href=\"javascript:x\">y</a>", "&lt;script&gt;", "- [ ] <script>",
		"> <scr<script>ipt>", "<!-- <script> -->", "<![CDATA[<script>]]>", "www.x.com/<script>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, _, err := RenderMarkdown(s)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(doc), "<script") {
			t.Fatalf("<script in output for %q:\n%s", s, doc)
		}
		checkSafeHTML(t, doc)
	})
}

// The leads' thread keeps one subject, so every message in it must say
// what it is where people look: the inbox preview and the first line. Each
// is rendered for a recipient who is not the person it is about.
func TestEveryLeadsMessageSaysWhatItIsInItsFirstLine(t *testing.T) {
	r := newRenderer(t)
	for kind, want := range map[Kind]string{
		KindReminder:         "Update due in ",
		KindOverdue:          "OVERDUE since ",
		KindStakeholderReply: "Question from Dana Lee (Customer service)",
		KindQuestionDue:      "Unanswered for 15 min: question from Dana Lee",
		KindCommandRefused:   `Refused: "resolve" from Sam Ortiz`,
		KindBounceNotice:     "Bounce: update 2 did not reach ceo@example.com (Exec team)",
		KindUnverifiedBounce: "Unverified bounce for ceo@example.com: nothing changed",
		KindStillBroken:      "STILL BROKEN for ",
		KindUnclearAnswer:    "Unclear answer from Dana Fox: is it fixed for them?",
		KindWriteUpDue:       "Write-up due at ",
		KindRootCauseDue:     "Root cause still unknown, 1 day 2 h after the fix",
		KindResolved:         "Resolved: service restored at ",
		KindSummary:          "Blameless summary of INC-42",
		KindConfirm:          "Is it fixed for you?",
		KindHeadsUp:          "Heads-up, SEV1: are you near a computer?",
	} {
		data, err := NewData(kind)
		if err != nil {
			t.Fatal(err)
		}
		reflect.ValueOf(data).Elem().Set(reflect.ValueOf(SampleData(kind)))
		Address(data, Copy{Name: "Lena Fischer", Zone: mustZone(t, "America/New_York"), To: "INC-42 leads"})
		out, err := r.Render(kind, data)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(out.Text, "\n")
		if !strings.HasPrefix(out.Preheader, want) || first != "*"+out.Preheader+"*" {
			t.Errorf("%s: preheader %q, first line %q; want it to start %q", kind, out.Preheader, first, want)
		}
		if strings.Contains(out.Text, "Lena Fischer") && !Personal(kind) {
			t.Errorf("%s names its reader as if it were about them:\n%s", kind, out.Text)
		}
	}
	out, err := r.Render(KindRootCauseDue, SampleData(KindRootCauseDue))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.Text, "Update due") || strings.Contains(out.Text, "next update") {
		t.Errorf("the root-cause reminder reuses the update reminder's words:\n%s", out.Text)
	}
}

// A reason that ends its own sentence does not end the template's in "..".
func TestReasonsEndInOneFullStop(t *testing.T) {
	r := newRenderer(t)
	for _, kind := range []Kind{KindCommandRefused, KindBounceNotice, KindUnverifiedBounce} {
		data, _ := NewData(kind)
		reflect.ValueOf(data).Elem().Set(reflect.ValueOf(SampleData(kind)))
		reflect.ValueOf(data).Elem().FieldByName("Reason").SetString("the mailbox is full.")
		out, err := r.Render(kind, data)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Text, "the mailbox is full.") || strings.Contains(out.Text, "full..") {
			t.Errorf("%s:\n%s", kind, out.Text)
		}
	}
}

// english is the English localizer the embedded catalogs give.
func english(t *testing.T) *i18n.Localizer {
	t.Helper()
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return cat.Localizer(i18n.Default)
}
