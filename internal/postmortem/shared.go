package postmortem

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Shared is the incident as every attendee of the post-mortem may read it:
// what the invitation email, the calendar event's description (iMIP,
// CalDAV, Google) and the timeline sent before the meeting (the pre-read)
// show. The attendees are the whole of product, customer service and
// perhaps the exec team, so it holds no stakeholder's question, no
// reporter's address or words, nothing from triage, and names no one: the
// outage guide's "don't use people's names" for the post-mortem. People
// are their role or team ("the incident lead", "a responder from
// payments", "a reporter").
type Shared struct {
	Incident compose.IncidentView
	Entries  []compose.TimelineEntry
	// Communication is how the incident was communicated: its scorecard
	// as facts (communication.go).
	Communication []string
}

// shared builds the Shared view of inc's post-mortem pm. Every path that
// puts the incident in front of the attendees goes through it, so that
// none can copy the raw timeline by mistake. It reads through q: on
// SQLite's one connection, a read beside an open transaction would wait
// for it forever.
func (s *Service) shared(ctx context.Context, q store.Querier, pm *Postmortem, inc *incident.Incident) (Shared, error) {
	events, err := incident.Events(ctx, q, inc.ID)
	if err != nil {
		return Shared{}, fmt.Errorf("postmortem: timeline: %w", err)
	}
	reporters, err := incident.Reporters(ctx, q, inc.ID)
	if err != nil {
		return Shared{}, fmt.Errorf("postmortem: timeline: %w", err)
	}
	r := newRedactor(s.Directory.Current(), inc, pm, reporters, s.Rules, s.language())
	v := s.Comms.View(inc)
	// Templates can be overridden: what they are not given, they cannot
	// show. The roles are named in the timeline by role.
	v.IncidentLead, v.CommsLead, v.Reports, v.ReportFacts = "", "", "", nil
	v.DetectionDetail, v.VerificationDetail = r.scrub(v.DetectionDetail), r.scrub(v.VerificationDetail)
	return Shared{Incident: v, Entries: r.timeline(events), Communication: s.communication(ctx, q, inc)}, nil
}

// redactor retells timeline events for the attendees.
type redactor struct {
	dir       *directory.Directory
	inc       *incident.Incident
	reporters map[string]bool // lower-case addresses
	// byIdent maps what the lint matches (an address, a local part, a
	// handle, a full name, lower case) to the person's role phrase.
	byIdent map[string]string
	// byPart maps one word of a name (as written) to the role phrases of
	// everyone who has it.
	byPart     map[string][]string
	names      blameless.NameSet
	rules      *blameless.Rules
	responders map[string]bool
	facilitate string
	// p writes in the organisation's language.
	p prose
}

// newRedactor retells for the attendees in lang, the organisation's
// language ("" is English).
func newRedactor(d *directory.Directory, inc *incident.Incident, pm *Postmortem, reporters []incident.Reporter, rules *blameless.Rules, lang string) *redactor {
	r := &redactor{dir: d, inc: inc, reporters: map[string]bool{}, byIdent: map[string]string{}, byPart: map[string][]string{},
		rules: rules, responders: map[string]bool{}, p: newProse(lang)}
	if pm != nil {
		r.facilitate = pm.Facilitator
		for _, p := range pm.Attendees {
			if p.Source == "responder" {
				r.responders[p.Email] = true
			}
		}
	}
	var people []blameless.Person
	add := func(name, email string, handles []string) {
		phrase := r.role(email)
		people = append(people, blameless.Person{Name: name, Email: email, Handles: handles})
		email = strings.ToLower(email)
		r.byIdent[email] = phrase
		if local, _, ok := strings.Cut(email, "@"); ok {
			r.byIdent[local] = phrase
		}
		for _, h := range handles {
			h = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
			r.byIdent[h], r.byIdent["@"+h] = phrase, phrase
		}
		if name = strings.TrimSpace(name); name != "" {
			r.byIdent[strings.ToLower(name)] = phrase
			for _, w := range strings.Fields(name) {
				r.byPart[w] = append(r.byPart[w], phrase)
			}
		}
	}
	for _, rep := range reporters {
		r.reporters[strings.ToLower(rep.Email)] = true
	}
	for _, p := range d.People {
		add(p.Name, p.Email, p.Handles)
	}
	for _, rep := range reporters {
		if _, ok := d.Person(rep.Email); !ok {
			add(rep.Name, rep.Email, nil)
		}
	}
	r.names = blameless.NewNameSet(people)
	return r
}

// The roles a person is read by (roleOf); a responder and someone come
// with their team, when the directory has it.
const (
	roleIncidentLead = "incident_lead"
	roleCommsLead    = "comms_lead"
	roleFacilitator  = "facilitator"
	roleResponder    = "responder"
	roleReporter     = "reporter"
	roleSomeone      = "someone"
)

// roleOf is the role the attendees read a person by: the role they had in
// the incident, else a responder or someone of their team, else a
// reporter, else someone; "" for no address.
func (r *redactor) roleOf(email string) (role, team string) {
	email = strings.ToLower(strings.TrimSpace(email))
	switch {
	case email == "":
		return "", ""
	case strings.EqualFold(email, r.inc.Roles.IncidentLead):
		return roleIncidentLead, ""
	case strings.EqualFold(email, r.inc.Roles.CommsLead):
		return roleCommsLead, ""
	case strings.EqualFold(email, r.inc.Roles.Facilitator), email == r.facilitate:
		return roleFacilitator, ""
	}
	if p, ok := r.dir.Person(email); ok {
		if r.responders[email] {
			return roleResponder, p.Team
		}
		return roleSomeone, p.Team
	}
	if r.reporters[email] {
		return roleReporter, ""
	}
	return roleSomeone, ""
}

// role is how the attendees read a person in a sentence: "the incident
// lead", "a responder from payments", "a reporter", "someone".
func (r *redactor) role(email string) string {
	role, team := r.roleOf(email)
	switch role {
	case "":
		return ""
	case roleIncidentLead, roleCommsLead, roleFacilitator:
		return r.p.t("the_" + role)
	case roleResponder:
		if team != "" {
			return r.p.t("a_responder_from", "Team", team)
		}
		return r.p.t("a_responder")
	case roleReporter:
		return r.p.t("a_reporter")
	}
	if team != "" {
		return r.p.t("someone_from", "Team", team)
	}
	return r.p.t("someone")
}

// who is the timeline's Who column for an actor: a role without its
// article ("incident lead", "responder from payments"), "sitrep", or
// nothing for what is not a person we know (a token, a monitor, an
// address from outside).
func (r *redactor) who(actor string) string {
	switch {
	case actor == "sitrep":
		return "sitrep"
	case !strings.Contains(actor, "@"):
		return ""
	}
	role, team := r.roleOf(actor)
	switch role {
	case "":
		return ""
	case roleSomeone:
		if team == "" {
			return ""
		}
		return r.p.t("who_someone_from", "Team", team)
	case roleResponder:
		if team != "" {
			return r.p.t("who_responder_from", "Team", team)
		}
	}
	return r.p.t("who_" + role)
}

// An email address in free text.
var addressRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)

// scrub makes text written by people fit for the attendees: on one line,
// every name the blameless lint finds (the directory's people and the
// reporters) replaced by the person's role, and every other address by
// "someone".
func (r *redactor) scrub(text string) string {
	text = oneLine(text)
	if text == "" {
		return ""
	}
	runes := []rune(text)
	fs := blameless.Lint(text, r.names, r.rules)
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if f.Kind != blameless.KindName || f.Line != 1 || f.Col < 1 || f.End <= f.Col || f.End-1 > len(runes) {
			continue
		}
		if i+1 < len(fs) && fs[i+1].Kind == blameless.KindName && fs[i+1].Line == 1 && fs[i+1].Col < f.End {
			continue // overlaps the replacement after it
		}
		runes = append(runes[:f.Col-1], append([]rune(r.phraseFor(f.Words)), runes[f.End-1:]...)...)
	}
	return addressRe.ReplaceAllStringFunc(string(runes), r.role)
}

// phraseFor is the role of the person the lint matched by words.
func (r *redactor) phraseFor(words string) string {
	key := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(words), "'s"), "’s"))
	if p, ok := r.byIdent[key]; ok {
		return p
	}
	var phrase string
	for _, w := range strings.Fields(strings.TrimSpace(words)) {
		for _, p := range r.byPart[strings.Trim(w, ".,()\"")] {
			if phrase != "" && phrase != p {
				return r.p.t("someone") // a first name several people share
			}
			phrase = p
		}
	}
	return cmp.Or(phrase, r.p.t("someone"))
}

func capitalize(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 || unicode.IsUpper(c) {
		return s
	}
	return string(unicode.ToUpper(c)) + s[n:]
}

// What of sitrep's own words an event's text may be retold with.
var (
	updateRe  = regexp.MustCompile(`^Status update (\d+) to (.*?) \(\d+ recipients?\)`)
	headsUpRe = regexp.MustCompile(`^Heads-up to \d+ responders? of ([^:]+):`)
	// The texts the incident and resolution packages write, retold in
	// the organisation's language when it is not English.
	declaredRe        = regexp.MustCompile(`^Declared (\S+) (\S+): (.*)$`)
	stateRe           = regexp.MustCompile(`^State ([a-z]+) → ([a-z]+)(?::\s*(.*))?$`)
	severityRe        = regexp.MustCompile(`^severity: (\S+) → (\S+)$`)
	titleRe           = regexp.MustCompile(`^title: (".*") → (".*")$`)
	firstFailureRe    = regexp.MustCompile(`^first failure: (\S+)$`)
	askedReportedRe   = regexp.MustCompile(`^Asked (\d+) (?:person|people) who reported the problem to confirm the fix$`)
	askedListRe       = regexp.MustCompile(`^Asked (\d+) (?:person|people) on the confirmers list to confirm the fix$`)
	askedBothRe       = regexp.MustCompile(`^Asked (\d+) people to confirm the fix: (\d+) who reported the problem and (\d+) on the confirmers list$`)
	resolvedRe        = regexp.MustCompile(`^Root cause: (.*) Resolved email sent to ([^;]*); write-up promised by (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d\d):(\d\d) UTC$`)
	resolvedUnkRe     = regexp.MustCompile(`^Fix in place; root cause UNKNOWN: incident stays in monitoring\. Resolved email sent to (.*)$`)
	summarySentRe     = regexp.MustCompile(`^Blameless summary sent to (.*)$`)
	recoveredRe       = regexp.MustCompile(`^(.+?) reports (".*") recovered at (\d\d:\d\d:\d\d) UTC$`)
	recoveredBeforeRe = regexp.MustCompile(`^(.+?) had reported (".*") recovered at (\d\d:\d\d:\d\d) UTC, before the declaration$`)
)

// timeline retells the events the attendees may read, in order. Only the
// kinds named here are shown; any other (replies, stakeholders' questions,
// bounces, reminders, the post-mortem's own bookkeeping, and kinds added
// later) is left out, so that a new kind of event is private until someone
// decides how the attendees read it.
func (r *redactor) timeline(events []incident.Event) []compose.TimelineEntry {
	var out []compose.TimelineEntry
	reports, confirmed := 0, 0
	for _, ev := range events {
		who := r.who(ev.Actor)
		var what string
		switch ev.Kind {
		case incident.EventDeclared, incident.EventStateChanged, "change_suspected", "change_confirmed",
			"resolved_email", "confirmation_asked", "monitor_recovered":
			// sitrep's words, with typed text (a title, a note on the
			// change, the root cause) that may name someone.
			what = r.retell(ev)
		case incident.EventFieldChanged:
			if strings.HasPrefix(ev.Text, "roles:") {
				what = r.p.t("roles_reassigned") // the text lists addresses
			} else {
				what = r.retell(ev)
			}
		case incident.EventUpdateQueued, incident.EventUpdateSent:
			what = r.statusUpdate(ev)
		case incident.EventHeadsUpQueued:
			what = r.headsUp(ev)
		case incident.EventNote:
			// A note from mail (a bounce, an unverified bounce) is about
			// someone's address, not the outage.
			if ev.Data["inbound"] != nil || ev.Data["bounce"] != nil || ev.Data["unverified_bounce"] != nil {
				continue
			}
			what = r.scrub(ev.Text)
		case "report":
			// Who reported it, from where and in what words stays with
			// the incident's leads.
			reports++
			what = r.p.t("report", "Number", reports)
			who = cmp.Or(who, r.p.t("who_reporter"))
		case "confirmation":
			switch ev.Data["state"] {
			case "confirmed":
				confirmed++
				what = r.p.t("confirmed", "Count", confirmed)
			case "still_broken":
				what = r.p.t("still_broken")
			default:
				what = r.p.t("answered")
			}
			who = cmp.Or(who, r.p.t("who_reporter"))
		case "summary_sent":
			// The override's findings quote the names the lint found.
			text, _, _ := strings.Cut(ev.Text, "; lint OVERRIDDEN")
			what = r.retell(incident.Event{Kind: ev.Kind, Text: text, At: ev.At})
		default:
			continue
		}
		if what == "" {
			continue
		}
		// "the incident lead rolled back" may now start a line.
		out = append(out, compose.TimelineEntry{At: ev.At.UTC(), What: capitalize(what), Who: who})
	}
	return out
}

// sitrepNotes are the notes sitrep itself writes on a state change (this
// package and the resolution package), and their catalog keys.
var sitrepNotes = map[string]string{
	"post-mortem booked":                         "note_booked",
	"fix in place, root cause unknown; watching": "note_watching",
}

// retell is an event text sitrep wrote, for the attendees: in English as
// it was written, names replaced; in another language retold from the
// catalog where the text is one sitrep knows, its typed parts (a title, a
// note, the root cause) with names replaced. A text it does not know is
// shown as written, names replaced.
func (r *redactor) retell(ev incident.Event) string {
	text := strings.TrimSpace(ev.Text)
	if r.p.english() {
		return r.scrub(text)
	}
	p := r.p
	switch ev.Kind {
	case incident.EventDeclared:
		if m := declaredRe.FindStringSubmatch(text); m != nil {
			return p.t("declared", "ID", m[1], "Severity", m[2], "Title", r.scrub(m[3]))
		}
	case incident.EventStateChanged:
		if m := stateRe.FindStringSubmatch(text); m != nil {
			note := r.scrub(m[3])
			if key, ok := sitrepNotes[strings.TrimSpace(m[3])]; ok {
				note = p.t(key)
			}
			return p.withWords(p.t("state", "From", p.state(m[1]), "To", p.state(m[2])), note)
		}
	case incident.EventFieldChanged:
		if m := severityRe.FindStringSubmatch(text); m != nil {
			return p.t("severity", "From", m[1], "To", m[2])
		}
		if m := titleRe.FindStringSubmatch(text); m != nil {
			return p.t("title_changed", "From", r.scrub(m[1]), "To", r.scrub(m[2]))
		}
		if m := firstFailureRe.FindStringSubmatch(text); m != nil {
			if t, err := time.Parse(time.RFC3339, m[1]); err == nil {
				return p.t("first_failure", "Time", t.UTC().Format("2006-01-02 15:04"))
			}
		}
		if strings.HasPrefix(text, "scope:") {
			return p.t("scope_updated")
		}
	case "confirmation_asked":
		if m := askedReportedRe.FindStringSubmatch(text); m != nil {
			return p.t("asked_reporters", "Count", atoi(m[1]))
		}
		if m := askedListRe.FindStringSubmatch(text); m != nil {
			return p.t("asked_confirmers", "Count", atoi(m[1]))
		}
		if m := askedBothRe.FindStringSubmatch(text); m != nil {
			return p.t("asked_both", "Count", atoi(m[1]), "Reporters", atoi(m[2]), "Confirmers", atoi(m[3]))
		}
	case "resolved_email":
		if m := resolvedRe.FindStringSubmatch(text); m != nil {
			return p.t("resolved_root_cause", "RootCause", r.scrub(m[1]), "Groups", m[2], "Time", promisedBy(p, ev.At, m[3], m[4], m[5]))
		}
		if m := resolvedUnkRe.FindStringSubmatch(text); m != nil {
			return p.t("resolved_unknown", "Groups", m[1])
		}
	case "monitor_recovered":
		if m := recoveredRe.FindStringSubmatch(text); m != nil {
			return p.t("monitor_recovered", "Source", m[1], "Alert", r.scrub(m[2]), "Time", m[3])
		}
		if m := recoveredBeforeRe.FindStringSubmatch(text); m != nil {
			return p.t("monitor_recovered_before", "Source", m[1], "Alert", r.scrub(m[2]), "Time", m[3])
		}
	case "summary_sent":
		if m := summarySentRe.FindStringSubmatch(text); m != nil {
			return p.t("summary_sent", "Groups", m[1])
		}
	}
	return r.scrub(text)
}

// promisedBy is the write-up's promised time, which the resolution event
// wrote as "Mon 15:04" (UTC, within a week of the event at), as the
// language writes the day: "Mo., 9. März 15:04".
func promisedBy(p prose, at time.Time, weekday, hh, mm string) string {
	at = at.UTC()
	for d := 0; d <= 7; d++ {
		t := time.Date(at.Year(), at.Month(), at.Day()+d, atoi(hh), atoi(mm), 0, 0, time.UTC)
		if t.Format("Mon") == weekday && !t.Before(at.Truncate(time.Minute)) {
			return p.day(t) + " " + hh + ":" + mm
		}
	}
	return weekday + " " + hh + ":" + mm
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// statusUpdate is a status update as its audience read it: its number,
// the groups it went to, and its words.
func (r *redactor) statusUpdate(ev incident.Event) string {
	head := r.p.t("update")
	if m := updateRe.FindStringSubmatch(ev.Text); m != nil {
		head = r.p.t("update_n", "Number", m[1], "Groups", m[2])
	}
	if holding, _ := ev.Data["holding"].(bool); holding {
		return r.p.t("holding", "What", head)
	}
	if status, _ := ev.Data["status"].(string); strings.TrimSpace(status) != "" {
		return r.p.withWords(head, r.scrub(status))
	}
	return head
}

// headsUp counts the responders paged and names their teams.
func (r *redactor) headsUp(ev incident.Event) string {
	to, _ := ev.Data["to"].([]any)
	if len(to) == 0 {
		return r.p.t("headsup_none")
	}
	var teams []string
	seen := map[string]bool{}
	for _, a := range to {
		email, _ := a.(string)
		if p, ok := r.dir.Person(email); ok && p.Team != "" && !seen[p.Team] {
			seen[p.Team] = true
			teams = append(teams, p.Team)
		}
	}
	var systems string
	if m := headsUpRe.FindStringSubmatch(ev.Text); m != nil {
		systems = r.scrub(m[1])
	}
	return r.p.t("headsup", "Count", len(to), "Systems", systems, "Teams", strings.Join(teams, ", "))
}
