package compose

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// EscapeInline makes plain text safe to put anywhere in a line of
// Markdown: every ASCII punctuation character gets a backslash (CommonMark
// 2.4 allows escaping any of them, and an escaped character has no
// meaning), runs of whitespace including line breaks become one space, so
// a title like "# Checkout *down*\n---" stays one line of literal text, and
// control and bidi-override characters are dropped.
func EscapeInline(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), isBidiControl(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if r < 0x80 && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// quoteText renders plain text from an email (a stakeholder's question) as
// a Markdown block quote that keeps its line breaks and means nothing else.
func quoteText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var b strings.Builder
	for i, line := range lines {
		line = EscapeInline(line)
		b.WriteString("> ")
		b.WriteString(line)
		if i < len(lines)-1 {
			if line != "" && i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				b.WriteString("\\") // CommonMark 6.7: backslash at end of line is a hard break
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// zoneOf treats a nil zone as UTC, so templates need not check.
func zoneOf(z *time.Location) *time.Location {
	if z == nil {
		return time.UTC
	}
	return z
}

// clock formats t as the recipient reads it, with the zone abbreviation,
// followed by UTC: "15:30 CET (14:30 UTC)". When t is on another day than
// now in the recipient's zone, the day is added: "Tue 3 Mar 09:00 CET
// (08:00 UTC)". A zero t is "unknown".
func clock(t time.Time, zone *time.Location, now time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	z := zoneOf(zone)
	lt := t.In(z)
	layout := "15:04 MST"
	if !now.IsZero() && !sameDay(lt, now.In(z)) {
		layout = "Mon 2 Jan 15:04 MST"
	}
	local := lt.Format(layout)
	if isUTC(z, lt) {
		return local
	}
	return fmt.Sprintf("%s (%s UTC)", local, t.UTC().Format("15:04"))
}

// when formats t with its date always: "Tue 3 Mar 2026 15:30 CET (14:30 UTC)".
func when(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "unknown"
	}
	z := zoneOf(zone)
	lt := t.In(z)
	local := lt.Format("Mon 2 Jan 2006 15:04 MST")
	if isUTC(z, lt) {
		return local
	}
	return fmt.Sprintf("%s (%s UTC)", local, t.UTC().Format("15:04"))
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// isUTC says whether the recipient's clock already is UTC, so "14:30 UTC
// (14:30 UTC)" is not written. London in winter still says "GMT (… UTC)".
func isUTC(z *time.Location, lt time.Time) bool {
	name, _ := lt.Zone()
	return z == time.UTC || name == "UTC"
}

// humanDuration reads like a person wrote it: "45 min", "1 h 25 min",
// "2 days 3 h". Seconds are dropped; under a minute is "under a minute".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Minute {
		return "under a minute"
	}
	mins := int(d / time.Minute)
	days, hours, m := mins/(24*60), (mins/60)%24, mins%60
	var parts []string
	if days == 1 {
		parts = append(parts, "1 day")
	} else if days > 1 {
		parts = append(parts, fmt.Sprintf("%d days", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%d h", hours))
	}
	if m > 0 && days == 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	return strings.Join(parts, " ")
}

// between is b - a, or 0 when either is unknown.
func between(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

// minutesUntil rounds up, so "due in 1 minute" is never "due in 0".
func minutesUntil(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Minute - 1) / time.Minute)
}

func minutesSince(t, now time.Time) int {
	d := now.Sub(t)
	if d <= 0 {
		return 0
	}
	return int(d / time.Minute)
}

// firstKnown returns the first non-zero time.
func firstKnown(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func escapeList(items []string) string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s = EscapeInline(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// joinWords writes a list as people do, Oxford-less: "a", "a and b",
// "a, b and c". Each item is escaped (esc); empty ones are dropped.
func joinWords(items []string) string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s = EscapeInline(s); s != "" {
			out = append(out, s)
		}
	}
	return joinEscaped(out)
}

func joinEscaped(out []string) string {
	switch len(out) {
	case 0:
		return ""
	case 1:
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// segmentsText writes the affected segments for people: segments are
// typed "kind: value" ("region: EU"), and those of one kind are said
// together, in the order first given: "region: EU, region: US-East,
// feature: checkout" is "the EU and US-East regions; the checkout
// feature". A segment without a kind is said as typed.
func segmentsText(segments []string) string {
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
		if len(g.values) > 1 && !strings.HasSuffix(noun, "s") {
			noun += "s"
		}
		parts = append(parts, "the "+joinWords(g.values)+" "+EscapeInline(noun))
	}
	return strings.Join(parts, "; ")
}

// teamsText names teams for people: "the DBA team", "the DBA and SRE
// teams". A name that already ends in "team" is not given a second one.
func teamsText(teams []string) string {
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
	switch len(names) {
	case 0:
		return ""
	case 1:
		return "the " + names[0] + " team"
	}
	return "the " + joinEscaped(names) + " teams"
}

// oneLine collapses whitespace and drops control characters without
// Markdown escaping, for subjects built from text that came in by email.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || isBidiControl(r)
	}), " ")
}

// link writes a Markdown link to an http(s) URL, or just the escaped text
// when the URL is anything else: a template never links to javascript:
// or to something it cannot show.
func link(label, raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return EscapeInline(label)
	}
	// CommonMark 6.3: a destination in <...> may contain anything but
	// line breaks and unescaped < >; String() percent-encodes those.
	dest := strings.NewReplacer("<", "%3C", ">", "%3E").Replace(u.String())
	return "[" + EscapeInline(label) + "](<" + dest + ">)"
}

// funcs are the helpers every template gets. Anything a person typed must
// go through esc, list or quote (inline text) or usermd (their Markdown).
func funcs() template.FuncMap {
	return template.FuncMap{
		"esc":      EscapeInline,
		"list":     escapeList,
		"join":     joinWords,
		"segments": segmentsText,
		"teams":    teamsText,
		"quote":    quoteText,
		"usermd":   userMarkdown,
		"subject":  ThreadSubject,
		"oneline":  oneLine,
		"link":     link,
		"clock":    clock,
		"when":     when,
		"dur":      humanDuration,
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
	}
}

// clause is text that a template ends with its own full stop: without
// the one it may already have ("mailbox full." would end "..").
func clause(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), ". ")
}

// displayName is the name part of "Jane Doe <jane@example.com>", or the
// address when there is no name: how a first line names a person.
func displayName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "<"); i > 0 && strings.HasSuffix(s, ">") {
		if n := strings.Trim(strings.TrimSpace(s[:i]), `"`); n != "" {
			return n
		}
	}
	return strings.Trim(s, "<>")
}
