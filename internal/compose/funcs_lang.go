package compose

import (
	"strings"
	"text/template"
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// funcs are the helpers every template gets, writing in l's language.
// Anything a person typed must go through esc, list or quote (inline
// text) or usermd (their Markdown).
func funcs(l *i18n.Localizer) template.FuncMap {
	return template.FuncMap{
		"esc":      EscapeInline,
		"list":     escapeList,
		"join":     func(items []string) string { return joinWords(l, items) },
		"segments": func(segs []string) string { return segmentsText(l, segs) },
		"teams":    func(teams []string) string { return teamsText(l, teams) },
		"quote":    quoteText,
		"usermd":   userMarkdown,
		"subject":  ThreadSubject,
		"oneline":  oneLine,
		"link":     link,
		"t":        l.T,
		"state":    func(s string) string { return stateWord(l, s) },
		"clock":    func(t time.Time, z *time.Location, now time.Time) string { return l.Clock(t, z, now) },
		"when":     func(t time.Time, z *time.Location) string { return l.When(t, z) },
		"dur":      l.Duration,
		"day":      func(t time.Time) string { return calendarDay(l, t, l.Day) },
		"date":     func(t time.Time) string { return calendarDay(l, t, l.Date) },
		"between":  between,
		"minutesUntil": func(now, t time.Time) int {
			return minutesUntil(now, t)
		},
		"minutesSince": minutesSince,
		"known":        func(t time.Time) bool { return !t.IsZero() },
		"first":        firstKnown,
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
		"name":   displayName,
		"clause": clause,
		"sub":    func(a, b int) int { return a - b },
		"lang":   l.Lang,
		"reports": func(v IncidentView) string {
			return reportsText(l, v)
		},
	}
}

// reportsText says who reported the problem in the reader's language:
// "3 reports from 2 people in berlin via vpn; possibly isolated (a single
// reporter): being verified". A snapshot from before ReportFacts has only
// the English line.
func reportsText(l *i18n.Localizer, v IncidentView) string {
	f := v.ReportFacts
	if f == nil {
		return EscapeInline(v.Reports)
	}
	if f.Reports == 0 {
		return ""
	}
	line := l.T("reports.line", "Reports", l.T("reports.reports", "Count", f.Reports), "People", l.T("reports.people", "Count", f.Reporters))
	if len(f.Locations) > 0 {
		line += l.T("reports.in", "Places", escapeList(f.Locations))
	}
	if len(f.Access) > 0 {
		line += l.T("reports.via", "Access", escapeList(f.Access))
	}
	switch f.Isolated {
	case IsolatedSingle:
		line += l.T("reports.isolated_single")
	case IsolatedPlace:
		if len(f.Locations) > 0 {
			line += l.T("reports.isolated_place", "Place", EscapeInline(f.Locations[0]))
		}
	}
	return line
}

// stateWord is an incident state in the reader's language; a state the
// catalog does not know is written as it is.
func stateWord(l *i18n.Localizer, s string) string {
	id := "state." + strings.ReplaceAll(s, "-", "")
	if !l.Has(id) {
		return EscapeInline(s)
	}
	return l.T(id)
}

// joinWords writes a list as people do in the reader's language: "a, b
// and c", "a, b und c". Each item is escaped (esc); empty ones are dropped.
func joinWords(l *i18n.Localizer, items []string) string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s = EscapeInline(s); s != "" {
			out = append(out, s)
		}
	}
	return l.List(out)
}

// segmentsText writes the affected segments for people: segments are
// typed "kind: value" ("region: EU"), and those of one kind are said
// together, in the order first given: "region: EU, region: US-East,
// feature: checkout" is "the EU and US-East regions; the checkout
// feature" in English. A segment without a kind is said as typed.
func segmentsText(l *i18n.Localizer, segments []string) string {
	type group struct {
		kind   string
		values []string
	}
	var groups []*group
	byKind := map[string]*group{}
	for _, s := range segments {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		kind, value, ok := strings.Cut(s, ":")
		kind, value = strings.TrimSpace(kind), strings.TrimSpace(value)
		// More than two words before the colon is a sentence, not a kind:
		// "Customers in Germany on mobile: most of them".
		if !ok || kind == "" || value == "" || len(strings.Fields(kind)) > 2 {
			groups = append(groups, &group{values: []string{s}})
			continue
		}
		k := strings.ToLower(kind)
		if g := byKind[k]; g != nil {
			g.values = append(g.values, value)
			continue
		}
		g := &group{kind: k, values: []string{value}}
		byKind[k] = g
		groups = append(groups, g)
	}
	parts := make([]string, 0, len(groups))
	for _, g := range groups {
		if g.kind == "" {
			parts = append(parts, EscapeInline(g.values[0]))
			continue
		}
		noun := g.kind
		// The kind is the operator's word, in the operator's language;
		// only English gets a plural s, the others say "region: EU, US".
		if l.Lang() == i18n.Default && len(g.values) > 1 && !strings.HasSuffix(noun, "s") {
			noun += "s"
		}
		parts = append(parts, l.T("segments.kind", "Values", joinWords(l, g.values), "Kind", EscapeInline(noun)))
	}
	return strings.Join(parts, l.T("segments.separator"))
}

// teamsText names teams for people: "the DBA team", "the DBA and SRE
// teams". A name that already ends in "team" is not given a second one.
func teamsText(l *i18n.Localizer, teams []string) string {
	names := make([]string, 0, len(teams))
	for _, t := range teams {
		t = strings.TrimSpace(t)
		if low := strings.ToLower(t); strings.HasSuffix(low, " team") {
			t = strings.TrimSpace(t[:len(t)-len(" team")])
		}
		if t = EscapeInline(t); t != "" {
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return l.T("teams.names", "Names", l.List(names), "Count", len(names))
}

// calendarDay writes a calendar date (an improvement's due date) as the
// reader writes a day: as stored, in no zone, since a date has no time to
// convert. A zero t is the catalog's "unknown".
func calendarDay(l *i18n.Localizer, t time.Time, f func(time.Time) string) string {
	if t.IsZero() {
		return l.T("time.unknown")
	}
	return f(t)
}
