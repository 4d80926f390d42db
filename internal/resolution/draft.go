package resolution

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
)

// DraftInput is what the summary draft is written from: the incident's
// fields and its timeline. Names and Rules are for the people's words the
// draft copies (notes, updates, reports, answers), whose names it
// replaces; the zero NameSet finds no one and nil Rules are the defaults.
type DraftInput struct {
	ID, Title, Severity string
	FirstFailureAt      time.Time
	DetectedAt          time.Time
	FirstReportAt       time.Time // the earliest report; zero = none
	DeclaredAt          time.Time
	ResolvedAt          time.Time
	Extent              string // "all", "subset", or the author's words
	Segments            []string
	Systems             []string
	Teams               []string // the incident's, and those of the escalation lists engaged
	RootCause           string
	Fix                 string
	Impact              string
	RootCauseUnknown    bool
	Events              []DraftEvent
	Zone                *time.Location // a second time column; nil or UTC for none
	// StillBroken holds the words of each person whose last answer to
	// "is it fixed for you?" is that it is not: the fix is not confirmed.
	StillBroken []string

	Names blameless.NameSet
	Rules *blameless.Rules
}

// DraftEvent is one timeline entry. Kind is one of the incident package's
// event kinds ("declared", "state_changed", "note", ...); Data is the
// event's data, where the words of an update, a report or an answer are.
type DraftEvent struct {
	At   time.Time
	Kind string
	Text string
	Data map[string]any
}

// Event kinds the draft knows, as the incident and outbox packages write
// them. They are repeated here so that this package does not import those.
const (
	evDeclared      = "declared"
	evFieldChanged  = "field_changed"
	evStateChanged  = "state_changed"
	evUpdateQueued  = "update_queued"
	evUpdateSent    = "update_sent"
	evHeadsUpQueued = "headsup_queued"
	evReminder      = "reminder"
	evOverdue       = "overdue"
	evReply         = "reply_received"
	evNote          = "note"
	evReport        = "report"
	evResolvedEmail = EventResolvedEmail
	evAsked         = EventConfirmationAsked
	evConfirmation  = EventConfirmation
	evSummarySent   = EventSummarySent
)

// The person a name in a note is replaced with.
const aResponder = "a responder"

// Draft writes the blameless summary as Markdown for the author to finish,
// in the order the outage guide asks for: summary, time frame, impact, root
// cause, fix, timeline, teams, thanks. Missing facts become "_TODO: ..._"
// lines. Each timeline row says what happened: the words of notes,
// updates, reports and answers are copied with every name and address
// replaced by "a responder"; the rest of the event text (which carries
// responders' names and addresses) is not, only its fixed vocabulary.
// When the inputs pass blameless.Lint, so does the draft.
func Draft(in DraftInput) string {
	var b strings.Builder
	local := in.Zone
	if local != nil && local.String() == "UTC" {
		local = nil
	}

	id := strings.TrimSpace(in.ID)
	if id == "" {
		id = "INC-?"
	}
	// The heading adds ": summary"; a title's own end ("Login fails.")
	// would read "Login fails.: summary".
	title := strings.TrimRight(oneLine(in.Title), ".!?:;, ")
	if title == "" {
		title = "_TODO: title_"
	}
	fmt.Fprintf(&b, "# [%s] %s: summary\n\n", id, title)

	b.WriteString("## Summary\n\n")
	writeSummary(&b, in, id)

	b.WriteString("## Time frame\n\n")
	writeTimeFrame(&b, in, local)

	b.WriteString("## Impact\n\n")
	writeImpact(&b, in)

	b.WriteString("## Root cause\n\n")
	rc := strings.TrimSpace(in.RootCause)
	switch {
	case in.RootCauseUnknown && rc != "":
		fmt.Fprintf(&b, "%s\n\nThis is not confirmed yet; the affected systems are being watched.\n\n", rc)
	case in.RootCauseUnknown:
		b.WriteString("The root cause is not known yet; the affected systems are being watched. " +
			"This section will be updated when it is found.\n\n_TODO: update when the root cause is known._\n\n")
	case rc != "":
		b.WriteString(rc + "\n\n")
	default:
		b.WriteString("_TODO: describe the root cause: what happened in the systems, and what let it happen._\n\n")
	}

	b.WriteString("## How it was fixed\n\n")
	if fix := strings.TrimSpace(in.Fix); fix != "" {
		b.WriteString(fix + "\n\n")
	} else {
		b.WriteString("_TODO: describe how service was restored, and any follow-up already done._\n\n")
	}

	b.WriteString("## Timeline\n\n")
	writeTimeline(&b, in, local)

	b.WriteString("## Teams involved\n\n")
	teams := cleanTeams(in.Teams)
	if len(teams) == 0 {
		b.WriteString("_TODO: list the teams that worked on the issue._\n\n")
	}
	for _, t := range teams {
		fmt.Fprintf(&b, "- %s\n", t)
	}
	if len(teams) > 0 {
		b.WriteString("\n")
	}

	b.WriteString("## Thanks\n\n")
	if len(teams) == 0 {
		b.WriteString("Thank you to everyone who worked on resolving this issue.\n\n_TODO: thank the teams by name._\n")
	} else {
		parts := make([]string, len(teams))
		for i, t := range teams {
			parts[i] = "the " + t
			if !strings.HasSuffix(strings.ToLower(t), "team") {
				parts[i] += " team"
			}
		}
		fmt.Fprintf(&b, "Thank you to %s for working on resolving this issue and restoring service.\n", joinAnd(parts))
	}
	return b.String()
}

func writeSummary(b *strings.Builder, in DraftInput, id string) {
	var s strings.Builder
	s.WriteString(id)
	if sev := strings.TrimSpace(in.Severity); sev != "" {
		fmt.Fprintf(&s, " was a %s incident", sev)
	} else {
		s.WriteString(" was an incident")
	}
	start, from := impactStart(in)
	end := in.ResolvedAt
	switch {
	case !start.IsZero() && !end.IsZero() && !end.Before(start) && from == "first failure":
		fmt.Fprintf(&s, " that lasted %s, from %s to %s UTC", formatDuration(end.Sub(start)), fmtUTC(start), fmtEnd(start, end))
	case !start.IsZero() && !end.IsZero() && !end.Before(start):
		// The first failure was not established: the impact lasted at
		// least from the earliest sign of it.
		fmt.Fprintf(&s, " that lasted at least %s, from the %s at %s to %s UTC", formatDuration(end.Sub(start)), from, fmtUTC(start), fmtEnd(start, end))
	case !start.IsZero():
		fmt.Fprintf(&s, " that began at %s UTC", fmtUTC(start))
	}
	switch ext := extentPhrase(in.Extent, in.Segments); {
	case ext != "":
		fmt.Fprintf(&s, ". It affected %s.", ext)
	default:
		s.WriteString(".")
	}
	b.WriteString(s.String() + "\n\n")
	if imp := strings.TrimSpace(in.Impact); imp != "" {
		b.WriteString(imp + "\n\n")
	}
	switch n := len(in.StillBroken); {
	case n > 0:
		// An open "still broken" is not "found and fixed": the author
		// must find out before the organisation reads it (issue 17).
		fmt.Fprintf(b, "A fix is in place, but %d %s asked to confirm it %s it is still broken for them",
			n, plural(n, "person", "people"), plural(n, "says", "say"))
		if quoted := cleanWords(in.StillBroken, in); len(quoted) > 0 {
			b.WriteString(": " + strings.Join(quoted, "; "))
		}
		b.WriteString(".\n\n")
		b.WriteString("_TODO: find out whether it is fixed for them, and say so here; if it is not, reopen the incident._\n\n")
	case in.RootCauseUnknown:
		b.WriteString("Service is restored; the root cause is not known yet and the systems are being watched.\n\n")
	case strings.TrimSpace(in.RootCause) != "" && strings.TrimSpace(in.Fix) != "":
		b.WriteString("The root cause was found and fixed; the details are below.\n\n")
	}
	b.WriteString("_TODO: check that this summary reads well for people outside engineering: what users saw, why, and what was done._\n\n")
}

func extentPhrase(extent string, segments []string) string {
	segs := cleanTeams(segments)
	switch strings.ToLower(strings.TrimSpace(extent)) {
	case "all":
		return "all users"
	case "subset":
		if len(segs) > 0 {
			return "some users (" + strings.Join(segs, "; ") + ")"
		}
		return "some users"
	case "":
		return ""
	default:
		return oneLine(extent)
	}
}

func writeTimeFrame(b *strings.Builder, in DraftInput, local *time.Location) {
	header(b, local, "")
	row := func(what string, t time.Time, todo string) {
		if t.IsZero() {
			cells := []string{what, "_TODO: " + todo + "_"}
			if local != nil {
				cells = append(cells, "")
			}
			writeRow(b, cells...)
			return
		}
		writeRow(b, timeCells(what, t, local)...)
	}
	row("First failure", in.FirstFailureAt, "when did it first fail? Check the graphs")
	if !in.FirstReportAt.IsZero() {
		row("First report", in.FirstReportAt, "")
	}
	row("Detected", in.DetectedAt, "when was it first noticed?")
	row("Declared", in.DeclaredAt, "when was the incident declared?")
	row("Resolved", in.ResolvedAt, "when was service restored?")
	span := func(what string, from, to time.Time, todo string) {
		v := "_TODO: " + todo + "_"
		if !from.IsZero() && !to.IsZero() && !to.Before(from) {
			v = formatDuration(to.Sub(from))
		}
		cells := []string{what, v}
		if local != nil {
			cells = append(cells, "")
		}
		writeRow(b, cells...)
	}
	start, from := impactStart(in)
	what := "Duration (" + from + " to resolution)"
	if from == "" {
		what = "Duration (first failure to resolution)"
	}
	span(what, start, in.ResolvedAt, "needs the start and resolution times")
	span("Time to detect", in.FirstFailureAt, in.DetectedAt, "needs the first failure and detection times")
	b.WriteString("\n")
}

func writeImpact(b *strings.Builder, in DraftInput) {
	switch ext := extentPhrase(in.Extent, nil); ext {
	case "":
		b.WriteString("- **Extent:** _TODO: all users, or which part of them?_\n")
	default:
		fmt.Fprintf(b, "- **Extent:** %s\n", ext)
	}
	if segs := cleanTeams(in.Segments); len(segs) > 0 {
		fmt.Fprintf(b, "- **Segments:** %s\n", strings.Join(segs, "; "))
	} else if strings.EqualFold(strings.TrimSpace(in.Extent), "subset") {
		b.WriteString("- **Segments:** _TODO: which regions, devices or features?_\n")
	}
	if sys := cleanTeams(in.Systems); len(sys) > 0 {
		fmt.Fprintf(b, "- **Systems:** %s\n", strings.Join(sys, ", "))
	} else {
		b.WriteString("- **Systems:** _TODO: which systems were affected?_\n")
	}
	b.WriteString("\n")
	if imp := strings.TrimSpace(in.Impact); imp != "" {
		b.WriteString(imp + "\n\n")
	} else {
		b.WriteString("_TODO: describe the impact: what users could not do, how many, and any data or money affected._\n\n")
	}
}

func writeTimeline(b *strings.Builder, in DraftInput, local *time.Location) {
	type entry struct {
		at   time.Time
		what string
	}
	var es []entry
	if !in.FirstFailureAt.IsZero() {
		es = append(es, entry{in.FirstFailureAt, "First failure (established afterwards)"})
	}
	if !in.DetectedAt.IsZero() {
		es = append(es, entry{in.DetectedAt, "Problem detected"})
	}
	for _, ev := range in.Events {
		es = append(es, entry{ev.At, describeEvent(ev, in)})
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
	if len(es) == 0 {
		b.WriteString("_TODO: no timeline events were recorded; add the key moments._\n\n")
		return
	}
	header(b, local, "What")
	for _, e := range es {
		cells := timeCells("", e.at, local)[1:]
		writeRow(b, append(cells, e.what)...)
	}
	b.WriteString("\n")
}

var (
	sevRe        = regexp.MustCompile(`\bSEV[1-4]\b`)
	stateRe      = regexp.MustCompile(`^State ([a-z]+) → ([a-z]+)(?::\s*(.*))?$`)
	severityRe   = regexp.MustCompile(`^severity: (SEV[1-4]) → (SEV[1-4])$`)
	updateRe     = regexp.MustCompile(`^Status update (\d+) to (.*) \((\d+) recipients?\)`)
	headsUpOfRe  = regexp.MustCompile(`^Heads-up to \d+ responders? of ([^:]+):`)
	stateWordsRe = regexp.MustCompile(`^[a-z]+$`)
	resolvedToRe = regexp.MustCompile(`Resolved email sent to ([a-z0-9, -]+)`)
	replyRe      = regexp.MustCompile(`(?s)^Reply from \S+(?: \([^)]*\))?: (.*)$`)
)

// maxWords bounds the people's words one timeline row or sentence quotes:
// a row is a line of a table, not the message.
const maxWords = 240

// quoteWords quotes people's words in one line, names replaced, cut at
// maxWords runes; "" for none.
func quoteWords(text string, in DraftInput) string {
	text = scrubNames(text, in)
	if text == "" {
		return ""
	}
	if r := []rune(text); len(r) > maxWords {
		text = strings.TrimSpace(string(r[:maxWords])) + "…"
	}
	return "“" + text + "”"
}

// cleanWords quotes each of list (see quoteWords), leaving out the empty.
func cleanWords(list []string, in DraftInput) []string {
	var out []string
	for _, s := range list {
		if w := quoteWords(s, in); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// dataText is a string of the event's data, trimmed; "" when absent.
func dataText(ev DraftEvent, key string) string {
	s, _ := ev.Data[key].(string)
	return strings.TrimSpace(s)
}

// impactStart is when the impact began as far as the incident knows, and
// what that time is: the first failure when it was established; else the
// earliest of detection, the first report and the declaration, which the
// impact lasted at least since (issue 17: the status said "45 min so far"
// from the detection, the draft "lasted 1 min" from the declaration).
func impactStart(in DraftInput) (time.Time, string) {
	if !in.FirstFailureAt.IsZero() {
		return in.FirstFailureAt, "first failure"
	}
	var at time.Time
	var what string
	for _, c := range []struct {
		at   time.Time
		what string
	}{{in.DetectedAt, "detection"}, {in.FirstReportAt, "first report"}, {in.DeclaredAt, "declaration"}} {
		if !c.at.IsZero() && (at.IsZero() || c.at.Before(at)) {
			at, what = c.at, c.what
		}
	}
	return at, what
}

// describeEvent writes a timeline line that says what happened. Event
// texts carry responders' names and addresses ("Heads-up to 2 responders:
// Lena Vogel, ..."), so from them only fixed vocabulary is taken (states,
// severities, counts, groups and the systems a heads-up was about), and
// people's words (an update's text, a report, an answer, a note) with
// their names replaced.
func describeEvent(ev DraftEvent, in DraftInput) string {
	text := strings.TrimSpace(ev.Text)
	switch ev.Kind {
	case evReport:
		s := "Report received"
		if where := dataText(ev, "location"); where != "" {
			s += " from " + scrubNames(where, in)
		}
		if how := dataText(ev, "access"); how != "" {
			s += " (" + scrubNames(how, in) + ")"
		}
		if w := quoteWords(dataText(ev, "observed"), in); w != "" {
			s += ": " + w
		}
		return s
	case evConfirmation:
		who := "A person asked to confirm the fix"
		if r, _ := ev.Data["reporter"].(bool); r {
			who = "A reporter"
		}
		var s string
		switch dataText(ev, "state") {
		case "confirmed":
			s = who + " confirmed the fix"
		case "still_broken":
			s = who + " says it is still broken"
		default:
			s = who + " answered, not clearly yes or no"
		}
		if w := quoteWords(dataText(ev, "answer"), in); w != "" {
			s += ": " + w
		}
		return s
	case evAsked:
		if asked, ok := ev.Data["asked"].([]any); ok && len(asked) > 0 {
			return fmt.Sprintf("%d %s asked to confirm the fix", len(asked), plural(len(asked), "person", "people"))
		}
		return "Reporters asked to confirm the fix"
	case evResolvedEmail:
		if m := resolvedToRe.FindStringSubmatch(text); m != nil {
			return "Resolved email sent to " + m[1]
		}
		return "Resolved email sent"
	case evSummarySent:
		return "Blameless summary sent"
	case evDeclared:
		if sev := sevRe.FindString(text); sev != "" {
			return "Incident declared as " + sev
		}
		return "Incident declared"
	case evStateChanged:
		m := stateRe.FindStringSubmatch(text)
		if m == nil {
			return "State changed"
		}
		s := fmt.Sprintf("State changed: %s → %s", m[1], m[2])
		if note := strings.TrimSpace(m[3]); note != "" {
			s += ": " + scrubNames(note, in)
		}
		return s
	case evFieldChanged:
		if m := severityRe.FindStringSubmatch(text); m != nil {
			return fmt.Sprintf("Severity changed: %s → %s", m[1], m[2])
		}
		field, _, _ := strings.Cut(text, ":")
		switch field {
		case "title":
			return "Title changed"
		case "scope":
			return "Scope updated"
		case "roles":
			return "Incident roles assigned"
		case "first failure":
			return "First failure time recorded"
		}
		return "Incident details updated"
	case evUpdateQueued, evUpdateSent:
		s := "Status update sent"
		if m := updateRe.FindStringSubmatch(text); m != nil {
			n := len(strings.Split(m[2], ","))
			s = fmt.Sprintf("Status update %s sent to %d %s", m[1], n, plural(n, "group", "groups"))
		}
		if w := quoteWords(dataText(ev, "status"), in); w != "" {
			s += ": " + w
		}
		return s
	case evHeadsUpQueued:
		if m := headsUpOfRe.FindStringSubmatch(text); m != nil {
			return "Heads-up sent to the responders of " + scrubNames(m[1], in)
		}
		return "Heads-up sent to the responders"
	case evReminder:
		return "Reminder: the next status update is due"
	case evOverdue:
		return "Status update overdue; escalated to the incident leads"
	case evReply:
		if m := replyRe.FindStringSubmatch(text); m != nil {
			if w := quoteWords(m[1], in); w != "" {
				return "Reply received: " + w
			}
		}
		return "Reply received"
	case evNote:
		if text == "" {
			return "Note"
		}
		return "Note: " + scrubNames(text, in)
	}
	kind := strings.ReplaceAll(ev.Kind, "_", " ")
	if !stateWordsRe.MatchString(strings.ReplaceAll(kind, " ", "")) {
		return "Event"
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// scrubNames puts "a responder" where the lint finds a name, and makes the
// text fit one table cell.
func scrubNames(text string, in DraftInput) string {
	text = oneLine(text)
	fs := blameless.Lint(text, in.Names, in.Rules)
	runes := []rune(text)
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if f.Kind != blameless.KindName || f.Line != 1 || f.Col < 1 || f.End-1 > len(runes) || f.End <= f.Col {
			continue
		}
		if i+1 < len(fs) && fs[i+1].Kind == blameless.KindName && fs[i+1].Col < f.End {
			continue // overlaps a later replacement
		}
		runes = append(runes[:f.Col-1], append([]rune(aResponder), runes[f.End-1:]...)...)
	}
	return string(runes)
}

// header writes a table head: the time frame's is (label, UTC[, local]),
// the timeline's (UTC[, local], last).
func header(b *strings.Builder, local *time.Location, last string) {
	var cells []string
	if last == "" {
		cells = append(cells, "")
	}
	cells = append(cells, "Time (UTC)")
	if local != nil {
		cells = append(cells, "Time ("+local.String()+")")
	}
	if last != "" {
		cells = append(cells, last)
	}
	writeRow(b, cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
	}
	writeRow(b, seps...)
}

// timeCells is what, the UTC time and, with a zone, the local time.
func timeCells(what string, t time.Time, local *time.Location) []string {
	cells := []string{what, fmtUTC(t)}
	if local != nil {
		cells = append(cells, t.In(local).Format("2006-01-02 15:04 MST"))
	}
	return cells
}

func writeRow(b *strings.Builder, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + tableCell(c) + " |")
	}
	b.WriteString("\n")
}

// tableCell keeps text inside one GFM table cell: a pipe would end the cell.
func tableCell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func fmtUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// fmtEnd leaves out the date when it is the start's.
func fmtEnd(start, end time.Time) string {
	if start.UTC().Format("2006-01-02") == end.UTC().Format("2006-01-02") {
		return end.UTC().Format("15:04")
	}
	return fmtUTC(end)
}

// formatDuration is "1 h 23 min", "2 d 3 h", "under a minute".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "under a minute"
	}
	days := int(d / (24 * time.Hour))
	h := int(d % (24 * time.Hour) / time.Hour)
	m := int(d % time.Hour / time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, strconv.Itoa(days)+" d")
	}
	if h > 0 {
		parts = append(parts, strconv.Itoa(h)+" h")
	}
	if m > 0 && days == 0 {
		parts = append(parts, strconv.Itoa(m)+" min")
	}
	return strings.Join(parts, " ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func cleanTeams(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		s = oneLine(s)
		if s != "" && !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	return out
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sentence ends s with a full stop unless it ends with one of its own:
// "certificate." does not become "certificate..".
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s[len(s)-1:], ".!?") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}
