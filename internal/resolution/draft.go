package resolution

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/i18n"
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
	// Language is the organisation's language (BCP 47), which the draft is
	// written in: one summary goes to everyone. "" is English.
	Language string
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

// prose writes the draft's own text in one language, from the catalog
// (summary_draft.*). People's words are never translated.
type prose struct{ i18n.Section }

func newWords(lang string) prose { return prose{i18n.SectionIn(lang, "summary_draft")} }

func (w prose) t(id string, args ...any) string { return w.T(id, args...) }

// english reports whether the draft is written in English, whose
// durations and state words the draft writes its own way.
func (w prose) english() bool { return w.English() }

// todo is a prompt the author must replace: "_TODO: <text>_". The marker
// is the same in every language, so that unfinished finds it; only the
// text after it is the catalog's.
func (w prose) todo(id string) string { return todoMarker + " " + w.t(id) + "_" }

// todoMarker starts every placeholder of the draft, in every language.
const todoMarker = "_TODO:"

// withWords is a line followed by people's words: "Note: rolled back".
func (w prose) withWords(what, said string) string {
	if said == "" {
		return what
	}
	return w.t("with_words", "What", what, "Words", said)
}

// duration is "1 h 23 min" in English, as the draft always wrote it, and
// the catalog's durations in the other languages.
func (w prose) duration(d time.Duration) string {
	if w.english() {
		return formatDuration(d)
	}
	return w.Localizer().Duration(d.Round(time.Minute))
}

// state is a state word: as the event wrote it in English, else the
// catalog's (state.*).
func (w prose) state(s string) string {
	if w.english() || !w.Localizer().Has("state."+s) {
		return s
	}
	return w.Localizer().T("state." + s)
}

// Draft writes the blameless summary as Markdown for the author to finish,
// in the order the outage guide asks for: summary, time frame, impact, root
// cause, fix, timeline, teams, thanks. Missing facts become "_TODO: ..._"
// lines. Each timeline row says what happened: the words of notes,
// updates, reports and answers are copied with every name and address
// replaced by "a responder"; the rest of the event text (which carries
// responders' names and addresses) is not, only its fixed vocabulary.
// When the inputs pass blameless.Lint, so does the draft.
//
// The draft is written in in.Language, the organisation's: one summary
// goes to everyone. Only the "_TODO:" marker is the same in every
// language.
func Draft(in DraftInput) string {
	var b strings.Builder
	w := newWords(in.Language)
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
	title := strings.TrimRight(oneLine(in.Title), ".!?:;, 。！？：；、")
	if title == "" {
		title = w.todo("todo_title")
	}
	b.WriteString("# " + w.t("heading", "ID", id, "Title", title) + "\n\n")

	section := func(key string) { b.WriteString("## " + w.t(key) + "\n\n") }
	section("h_summary")
	writeSummary(&b, in, id, w)

	section("h_time_frame")
	writeTimeFrame(&b, in, local, w)

	section("h_impact")
	writeImpact(&b, in, w)

	section("h_root_cause")
	rc := strings.TrimSpace(in.RootCause)
	switch {
	case in.RootCauseUnknown && rc != "":
		fmt.Fprintf(&b, "%s\n\n%s\n\n", rc, w.t("rc_not_confirmed"))
	case in.RootCauseUnknown:
		b.WriteString(w.t("rc_unknown") + "\n\n" + w.todo("todo_rc_unknown") + "\n\n")
	case rc != "":
		b.WriteString(rc + "\n\n")
	default:
		b.WriteString(w.todo("todo_root_cause") + "\n\n")
	}

	section("h_fix")
	if fix := strings.TrimSpace(in.Fix); fix != "" {
		b.WriteString(fix + "\n\n")
	} else {
		b.WriteString(w.todo("todo_fix") + "\n\n")
	}

	section("h_timeline")
	writeTimeline(&b, in, local, w)

	section("h_teams")
	teams := cleanTeams(in.Teams)
	if len(teams) == 0 {
		b.WriteString(w.todo("todo_teams") + "\n\n")
	}
	for _, t := range teams {
		fmt.Fprintf(&b, "- %s\n", t)
	}
	if len(teams) > 0 {
		b.WriteString("\n")
	}

	section("h_thanks")
	if len(teams) == 0 {
		b.WriteString(w.t("thanks_everyone") + "\n\n" + w.todo("todo_thanks") + "\n")
	} else {
		parts := make([]string, len(teams))
		for i, t := range teams {
			if strings.HasSuffix(strings.ToLower(t), "team") {
				parts[i] = w.t("team_named", "Team", t)
			} else {
				parts[i] = w.t("team", "Team", t)
			}
		}
		b.WriteString(w.t("thanks_teams", "Teams", w.list(parts)) + "\n")
	}
	return b.String()
}

// list joins as the language does: "a, b and c".
func (w prose) list(parts []string) string {
	if w.Localizer() == nil {
		return joinAnd(parts)
	}
	return w.Localizer().List(parts)
}

func writeSummary(b *strings.Builder, in DraftInput, id string, w prose) {
	sev := strings.TrimSpace(in.Severity)
	start, from := impactStart(in)
	end := in.ResolvedAt
	var s string
	switch {
	case !start.IsZero() && !end.IsZero() && !end.Before(start) && from == startFirstFailure:
		s = w.t("opening_lasted", "ID", id, "Severity", sev, "Duration", w.duration(end.Sub(start)),
			"From", fmtUTC(start), "To", fmtEnd(start, end))
	case !start.IsZero() && !end.IsZero() && !end.Before(start):
		// The first failure was not established: the impact lasted at
		// least from the earliest sign of it.
		s = w.t("opening_lasted_at_least", "ID", id, "Severity", sev, "Duration", w.duration(end.Sub(start)),
			"Start", w.t("start_"+from, "Time", fmtUTC(start)), "To", fmtEnd(start, end))
	case !start.IsZero():
		s = w.t("opening_began", "ID", id, "Severity", sev, "From", fmtUTC(start))
	default:
		s = w.t("opening_plain", "ID", id, "Severity", sev)
	}
	if ext := extentPhrase(in.Extent, in.Segments, w); ext != "" {
		s = w.t("sentences", "A", s, "B", w.t("affected", "Extent", ext))
	}
	b.WriteString(s + "\n\n")
	if imp := strings.TrimSpace(in.Impact); imp != "" {
		b.WriteString(imp + "\n\n")
	}
	switch n := len(in.StillBroken); {
	case n > 0:
		// An open "still broken" is not "found and fixed": the author
		// must find out before the organisation reads it (issue 17).
		quoted := strings.Join(cleanWords(in.StillBroken, in), w.t("quote_separator"))
		b.WriteString(w.t("still_broken", "Count", n, "Quotes", quoted) + "\n\n")
		b.WriteString(w.todo("todo_still_broken") + "\n\n")
	case in.RootCauseUnknown:
		b.WriteString(w.t("rc_unknown_summary") + "\n\n")
	case strings.TrimSpace(in.RootCause) != "" && strings.TrimSpace(in.Fix) != "":
		b.WriteString(w.t("found_and_fixed") + "\n\n")
	}
	b.WriteString(w.todo("todo_reads_well") + "\n\n")
}

func extentPhrase(extent string, segments []string, w prose) string {
	segs := cleanTeams(segments)
	switch strings.ToLower(strings.TrimSpace(extent)) {
	case "all":
		return w.t("extent_all")
	case "subset":
		if len(segs) > 0 {
			return w.t("extent_some_segments", "Segments", strings.Join(segs, "; "))
		}
		return w.t("extent_some")
	case "":
		return ""
	default:
		return oneLine(extent)
	}
}

func writeTimeFrame(b *strings.Builder, in DraftInput, local *time.Location, w prose) {
	header(b, local, "", w)
	row := func(what string, t time.Time, todo string) {
		if t.IsZero() {
			cells := []string{w.t(what), w.todo(todo)}
			if local != nil {
				cells = append(cells, "")
			}
			writeRow(b, cells...)
			return
		}
		writeRow(b, timeCells(w.t(what), t, local)...)
	}
	row("row_first_failure", in.FirstFailureAt, "todo_first_failure")
	if !in.FirstReportAt.IsZero() {
		row("row_first_report", in.FirstReportAt, "")
	}
	row("row_detected", in.DetectedAt, "todo_detected")
	row("row_declared", in.DeclaredAt, "todo_declared")
	row("row_resolved", in.ResolvedAt, "todo_resolved")
	span := func(what string, from, to time.Time, todo string) {
		v := w.todo(todo)
		if !from.IsZero() && !to.IsZero() && !to.Before(from) {
			v = w.duration(to.Sub(from))
		}
		cells := []string{w.t(what), v}
		if local != nil {
			cells = append(cells, "")
		}
		writeRow(b, cells...)
	}
	start, from := impactStart(in)
	if from == "" {
		from = startFirstFailure
	}
	span("duration_"+from, start, in.ResolvedAt, "todo_duration")
	span("time_to_detect", in.FirstFailureAt, in.DetectedAt, "todo_time_to_detect")
	b.WriteString("\n")
}

func writeImpact(b *strings.Builder, in DraftInput, w prose) {
	item := func(label, value string) { fmt.Fprintf(b, "- **%s** %s\n", w.t(label), value) }
	switch ext := extentPhrase(in.Extent, nil, w); ext {
	case "":
		item("label_extent", w.todo("todo_extent"))
	default:
		item("label_extent", ext)
	}
	if segs := cleanTeams(in.Segments); len(segs) > 0 {
		item("label_segments", strings.Join(segs, "; "))
	} else if strings.EqualFold(strings.TrimSpace(in.Extent), "subset") {
		item("label_segments", w.todo("todo_segments"))
	}
	if sys := cleanTeams(in.Systems); len(sys) > 0 {
		item("label_systems", strings.Join(sys, ", "))
	} else {
		item("label_systems", w.todo("todo_systems"))
	}
	b.WriteString("\n")
	if imp := strings.TrimSpace(in.Impact); imp != "" {
		b.WriteString(imp + "\n\n")
	} else {
		b.WriteString(w.todo("todo_impact") + "\n\n")
	}
}

func writeTimeline(b *strings.Builder, in DraftInput, local *time.Location, w prose) {
	type entry struct {
		at   time.Time
		what string
	}
	var es []entry
	if !in.FirstFailureAt.IsZero() {
		es = append(es, entry{in.FirstFailureAt, w.t("ev_first_failure")})
	}
	if !in.DetectedAt.IsZero() {
		es = append(es, entry{in.DetectedAt, w.t("ev_detected")})
	}
	for _, ev := range in.Events {
		es = append(es, entry{ev.At, describeEvent(ev, in, w)})
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
	if len(es) == 0 {
		b.WriteString(w.todo("todo_timeline") + "\n\n")
		return
	}
	header(b, local, w.t("col_what"), w)
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

// sitrepNotes are the notes sitrep itself writes on a state change (the
// post-mortem and resolution packages), and their catalog keys.
var sitrepNotes = map[string]string{
	"post-mortem booked":                         "note_booked",
	"fix in place, root cause unknown; watching": "note_watching",
}

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
	return newWords(in.Language).t("quote", "Words", text)
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

// startFirstFailure is what impactStart says of an established first
// failure; the others are "detection", "first_report" and "declaration",
// as the catalog keys summary_draft.start_* and duration_* name them.
const startFirstFailure = "first_failure"

// impactStart is when the impact began as far as the incident knows, and
// what that time is: the first failure when it was established; else the
// earliest of detection, the first report and the declaration, which the
// impact lasted at least since (issue 17: the status said "45 min so far"
// from the detection, the draft "lasted 1 min" from the declaration).
func impactStart(in DraftInput) (time.Time, string) {
	if !in.FirstFailureAt.IsZero() {
		return in.FirstFailureAt, startFirstFailure
	}
	var at time.Time
	var what string
	for _, c := range []struct {
		at   time.Time
		what string
	}{{in.DetectedAt, "detection"}, {in.FirstReportAt, "first_report"}, {in.DeclaredAt, "declaration"}} {
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
func describeEvent(ev DraftEvent, in DraftInput, w prose) string {
	text := strings.TrimSpace(ev.Text)
	switch ev.Kind {
	case evReport:
		var from, access string
		if where := dataText(ev, "location"); where != "" {
			from = scrubNames(where, in)
		}
		if how := dataText(ev, "access"); how != "" {
			access = scrubNames(how, in)
		}
		return w.withWords(w.t("ev_report", "From", from, "Access", access), quoteWords(dataText(ev, "observed"), in))
	case evConfirmation:
		r, _ := ev.Data["reporter"].(bool)
		var s string
		switch dataText(ev, "state") {
		case "confirmed":
			s = w.t("ev_confirmed", "Reporter", r)
		case "still_broken":
			s = w.t("ev_still_broken", "Reporter", r)
		default:
			s = w.t("ev_unclear", "Reporter", r)
		}
		return w.withWords(s, quoteWords(dataText(ev, "answer"), in))
	case evAsked:
		if asked, ok := ev.Data["asked"].([]any); ok && len(asked) > 0 {
			return w.t("ev_asked", "Count", len(asked))
		}
		return w.t("ev_asked_reporters")
	case evResolvedEmail:
		if m := resolvedToRe.FindStringSubmatch(text); m != nil {
			return w.t("ev_resolved_email_to", "Groups", m[1])
		}
		return w.t("ev_resolved_email")
	case evSummarySent:
		return w.t("ev_summary_sent")
	case evDeclared:
		if sev := sevRe.FindString(text); sev != "" {
			return w.t("ev_declared_as", "Severity", sev)
		}
		return w.t("ev_declared")
	case evStateChanged:
		m := stateRe.FindStringSubmatch(text)
		if m == nil {
			return w.t("ev_state_changed")
		}
		s := w.t("ev_state_changed_to", "From", w.state(m[1]), "To", w.state(m[2]))
		if note := strings.TrimSpace(m[3]); note != "" {
			if key, ok := sitrepNotes[note]; ok {
				s = w.withWords(s, w.t(key))
			} else {
				s = w.withWords(s, scrubNames(note, in))
			}
		}
		return s
	case evFieldChanged:
		if m := severityRe.FindStringSubmatch(text); m != nil {
			return w.t("ev_severity_changed", "From", m[1], "To", m[2])
		}
		field, _, _ := strings.Cut(text, ":")
		switch field {
		case "title":
			return w.t("ev_title_changed")
		case "scope":
			return w.t("ev_scope_updated")
		case "roles":
			return w.t("ev_roles_assigned")
		case "first failure":
			return w.t("ev_first_failure_recorded")
		}
		return w.t("ev_details_updated")
	case evUpdateQueued, evUpdateSent:
		s := w.t("ev_update_sent")
		if m := updateRe.FindStringSubmatch(text); m != nil {
			n := len(strings.Split(m[2], ","))
			s = w.t("ev_update_n_sent", "Number", m[1], "Count", n)
		}
		return w.withWords(s, quoteWords(dataText(ev, "status"), in))
	case evHeadsUpQueued:
		if m := headsUpOfRe.FindStringSubmatch(text); m != nil {
			return w.t("ev_headsup_of", "Systems", scrubNames(m[1], in))
		}
		return w.t("ev_headsup")
	case evReminder:
		return w.t("ev_reminder")
	case evOverdue:
		return w.t("ev_overdue")
	case evReply:
		if m := replyRe.FindStringSubmatch(text); m != nil {
			if q := quoteWords(m[1], in); q != "" {
				return w.withWords(w.t("ev_reply"), q)
			}
		}
		return w.t("ev_reply")
	case evNote:
		return w.withWords(w.t("ev_note"), scrubNames(text, in))
	}
	switch ev.Kind {
	case "monitor_recovered", "change_suspected", "change_confirmed":
		return w.t("ev_" + ev.Kind)
	}
	kind := strings.ReplaceAll(ev.Kind, "_", " ")
	if !stateWordsRe.MatchString(strings.ReplaceAll(kind, " ", "")) {
		return w.t("ev_event")
	}
	if !w.english() {
		// A kind this draft does not know is an English identifier.
		if strings.HasPrefix(ev.Kind, "postmortem_") {
			return w.t("ev_postmortem")
		}
		return w.withWords(w.t("ev_event"), kind)
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// scrubNames puts "a responder" where the lint finds a name, and makes the
// text fit one table cell.
func scrubNames(text string, in DraftInput) string {
	text = oneLine(text)
	fs := blameless.Lint(text, in.Names, in.Rules)
	runes := []rune(text)
	someone := newWords(in.Language).t("a_responder")
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if f.Kind != blameless.KindName || f.Line != 1 || f.Col < 1 || f.End-1 > len(runes) || f.End <= f.Col {
			continue
		}
		if i+1 < len(fs) && fs[i+1].Kind == blameless.KindName && fs[i+1].Col < f.End {
			continue // overlaps a later replacement
		}
		runes = append(runes[:f.Col-1], append([]rune(someone), runes[f.End-1:]...)...)
	}
	return string(runes)
}

// header writes a table head: the time frame's is (label, UTC[, local]),
// the timeline's (UTC[, local], last).
func header(b *strings.Builder, local *time.Location, last string, w prose) {
	var cells []string
	if last == "" {
		cells = append(cells, "")
	}
	cells = append(cells, w.t("col_time_utc"))
	if local != nil {
		cells = append(cells, w.t("col_time_zone", "Zone", local.String()))
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
