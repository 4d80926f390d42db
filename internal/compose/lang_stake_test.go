package compose

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stakeCase is one of the stakeholders' emails (and the post-mortem's),
// with data that takes one path through its template.
type stakeCase struct {
	name string
	kind Kind
	data func() any
}

// stakeCases covers each kind of the stakeholders' emails, and the paths
// of each that say something else: a confirmer rather than a reporter, a
// cancelled invitation, an overdue improvement. Now is the day after the
// incident's times, so that every time carries its day.
func stakeCases() []stakeCase {
	const day = 24 * time.Hour
	return []stakeCase{
		{"headsup", KindHeadsUp, func() any {
			d := SampleData(KindHeadsUp).(HeadsUpData)
			d.Now = d.Now.Add(day)
			// The reports as facts; the English line is for older snapshots.
			d.Incident.Bridge, d.Incident.Reports = "+1 555 0100, PIN 4711#", ""
			return &d
		}},
		{"headsup unverified, by a customer, no lead", KindHeadsUp, func() any {
			d := SampleData(KindHeadsUp).(HeadsUpData)
			d.Now = d.Now.Add(day)
			d.Incident.DetectedVia, d.Incident.DetectionDetail, d.Incident.Verified = "customer", "", false
			d.Incident.IncidentLead, d.Incident.Systems, d.Incident.Segments = "", nil, nil
			d.Incident.Reports, d.Incident.ReportFacts = "", &ReportFacts{Reports: 1, Reporters: 1, Access: []string{"web"}, Isolated: IsolatedSingle}
			return &d
		}},
		{"resolved", KindResolved, func() any {
			d := SampleData(KindResolved).(ResolvedData)
			d.Now = d.Now.Add(day)
			return &d
		}},
		{"resolved, root cause unknown", KindResolved, func() any {
			d := SampleData(KindResolved).(ResolvedData)
			d.Now, d.RootCauseUnknown, d.Incident.Teams = d.Now.Add(day), true, nil
			return &d
		}},
		{"confirm to a reporter", KindConfirm, func() any {
			d := SampleData(KindConfirm).(ConfirmData)
			d.Now = d.Now.Add(day)
			return &d
		}},
		{"confirm to a confirmer", KindConfirm, func() any {
			d := SampleData(KindConfirm).(ConfirmData)
			d.Now, d.Reporter, d.ReportedAt = d.Now.Add(day), false, time.Time{}
			return &d
		}},
		// The summary's only date is in the people's Markdown.
		{"summary", KindSummary, func() any { d := SampleData(KindSummary).(SummaryData); return &d }},
		{"timeline", KindTimeline, func() any { d := SampleData(KindTimeline).(TimelineData); return &d }},
		{"timeline, remote, no entries yet", KindTimeline, func() any {
			d := SampleData(KindTimeline).(TimelineData)
			d.Location, d.Entries = "", nil
			return &d
		}},
		{"postmortem invitation", KindPostmortemInvite, func() any {
			d := SampleData(KindPostmortemInvite).(PostmortemInviteData)
			d.Incident.Bridge = "+1 555 0100, PIN 4711#"
			return &d
		}},
		{"postmortem invitation, remote", KindPostmortemInvite, func() any {
			d := SampleData(KindPostmortemInvite).(PostmortemInviteData)
			d.Sequence, d.Location = 0, ""
			return &d
		}},
		{"postmortem cancelled", KindPostmortemInvite, func() any {
			d := SampleData(KindPostmortemInvite).(PostmortemInviteData)
			d.Method = "CANCEL"
			return &d
		}},
		{"postmortem report", KindPostmortemReport, func() any {
			d := SampleData(KindPostmortemReport).(PostmortemReportData)
			d.Unowned = 2
			d.Improvements = append(d.Improvements, PostmortemImprovement{Ref: "M3", Text: "Page the on-call for card errors"})
			return &d
		}},
		{"postmortem report, nothing recorded", KindPostmortemReport, func() any {
			d := SampleData(KindPostmortemReport).(PostmortemReportData)
			d.Facilitator, d.Issues, d.Improvements, d.Unowned = "", nil, nil, 0
			return &d
		}},
		{"improvement due", KindImprovementDue, func() any { d := SampleData(KindImprovementDue).(ImprovementDueData); return &d }},
		{"improvement overdue", KindImprovementDue, func() any {
			d := SampleData(KindImprovementDue).(ImprovementDueData)
			d.Overdue = true
			return &d
		}},
	}
}

// A day in March as each reader writes it.
var marchIn = map[string]string{"de": "März", "fr": "mars", "es": "mar.", "ja": "3月"}

// Words sitrep writes that are the same in the reader's language.
var sameWord = map[string][]string{
	"de": {"min", "post", "mortem", "problem", "system", "monitoring", "online", "team", "teams", "person"},
	"fr": {"min", "via", "post", "mortem", "impact", "animation", "incident", "page", "service", "cause", "date", "questions", "corrections"},
	"es": {"min", "post", "mortem"},
	"ja": {},
}

// TestStakeholdersReadTheirLanguage renders each stakeholders' email in
// de, fr, es and ja for a reader who is not the person it is about:
// nothing sitrep wrote in English remains (every word of the English
// rendering that is not the incident's own data is looked for), the
// subject or the first line says what it is in the reader's language,
// dates are the reader's, and bold survives in every language.
func TestStakeholdersReadTheirLanguage(t *testing.T) {
	r := newRenderer(t)
	berlin := mustZone(t, "Europe/Berlin")
	for _, c := range stakeCases() {
		en := c.data()
		Address(en, Copy{Name: "Lena Fischer", Zone: berlin, To: "Exec team"})
		eng, err := r.Render(c.kind, en)
		if err != nil {
			t.Fatalf("%s in en: %v", c.name, err)
		}
		ours := sitrepWords(eng.Subject+" "+eng.Preheader+" "+eng.Text, en)
		if len(ours) < 3 {
			t.Fatalf("%s: the English rendering has almost no words of sitrep's own (%v):\n%s", c.name, ours, eng.Text)
		}
		for _, lang := range []string{"de", "fr", "es", "ja"} {
			data := c.data()
			Address(data, Copy{Name: "Lena Fischer", Zone: berlin, To: "Exec team", Language: lang})
			out, err := r.RenderIn(lang, c.kind, data)
			if err != nil {
				t.Fatalf("%s in %s: %v", c.name, lang, err)
			}
			if strings.TrimSpace(out.Text) == "" || !strings.Contains(out.HTML, "INC-42") {
				t.Errorf("%s in %s: empty:\n%s", c.name, lang, out.Text)
				continue
			}
			all := out.Subject + "\n" + out.Preheader + "\n" + out.Text
			var left []string
			for _, w := range ours {
				if !contains(sameWord[lang], w) && hasWord(all, w) {
					left = append(left, w)
				}
			}
			if len(left) > 0 {
				t.Errorf("%s in %s: English words remain %v:\nsubject %q\n%s", c.name, lang, left, out.Subject, out.Text)
			}
			threadOnly := ThreadSubject("INC-42", "Checkout unavailable")
			if eng.Subject != threadOnly && out.Subject == eng.Subject {
				t.Errorf("%s in %s: subject not translated: %q", c.name, lang, out.Subject)
			}
			if eng.Preheader != "" && (out.Preheader == "" || out.Preheader == eng.Preheader) {
				t.Errorf("%s in %s: preheader not translated: %q", c.name, lang, out.Preheader)
			}
			if eng.Subject == threadOnly && eng.Preheader == "" {
				t.Errorf("%s: neither its subject nor a first line says what it is", c.name)
			}
			if c.kind != KindSummary && !strings.Contains(out.Text, marchIn[lang]) {
				t.Errorf("%s in %s: no date as the reader writes it (%q):\n%s", c.name, lang, marchIn[lang], out.Text)
			}
			if strings.Contains(out.HTML, "**") || strings.Contains(out.Text, "**") {
				t.Errorf("%s in %s: bold left as asterisks:\n%s", c.name, lang, out.Text)
			}
			if Personal(c.kind) != strings.Contains(out.Text, "Lena Fischer") {
				t.Errorf("%s in %s: greets its reader %v, personal %v:\n%s", c.name, lang, !Personal(c.kind), Personal(c.kind), out.Text)
			}
		}
	}
}

// TestImprovementDueDayInSubject: the due day in the reminder's subject
// is the reader's, and the English one is unchanged.
func TestImprovementDueDayInSubject(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindImprovementDue).(ImprovementDueData)
	for lang, want := range map[string]string{
		"en": "[INC-42] Improvement due Thu 5 Mar: Run the contract tests on every release",
		"de": "[INC-42] Verbesserung fällig am Do., 5. März: Run the contract tests on every release",
		"ja": "[INC-42] 3月5日(木)期日の改善策：Run the contract tests on every release",
	} {
		out, err := r.RenderIn(lang, KindImprovementDue, d)
		if err != nil {
			t.Fatal(err)
		}
		if out.Subject != want {
			t.Errorf("%s: subject %q, want %q", lang, out.Subject, want)
		}
	}
}

var wordRE = regexp.MustCompile(`\p{L}[\p{L}'’]*`)

// sitrepWords are the words of an English rendering that sitrep wrote:
// not in the data (titles, names, what people typed), not a date's
// abbreviations or a zone, of three letters or more.
func sitrepWords(text string, data any) []string {
	theirs := map[string]bool{"cet": true, "utc": true, "tue": true, "wed": true, "thu": true, "mar": true, "inc": true, "sev": true}
	for _, s := range dataStrings(reflect.ValueOf(data)) {
		for _, w := range wordRE.FindAllString(strings.ToLower(s), -1) {
			theirs[w] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range wordRE.FindAllString(strings.ToLower(text), -1) {
		if len(w) < 3 || theirs[w] || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// dataStrings lists every string in v, however deep.
func dataStrings(v reflect.Value) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return dataStrings(v.Elem())
	case reflect.String:
		return []string{v.String()}
	case reflect.Slice, reflect.Array:
		var out []string
		for i := range v.Len() {
			out = append(out, dataStrings(v.Index(i))...)
		}
		return out
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return nil
		}
		var out []string
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = append(out, dataStrings(v.Field(i))...)
			}
		}
		return out
	}
	return nil
}

// hasWord reports whether w occurs in s as a whole word, ignoring case.
func hasWord(s, w string) bool {
	return regexp.MustCompile(`(?i)(^|[^\p{L}])` + regexp.QuoteMeta(w) + `($|[^\p{L}])`).MatchString(s)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
