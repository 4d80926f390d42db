package resolution

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// MaxSummaryBytes bounds a summary: it is an email, not a book.
const MaxSummaryBytes = 200 << 10

// names is everyone in the directory, for the lint.
func (s *Service) names() blameless.NameSet {
	d := s.Directory.Current()
	people := make([]blameless.Person, len(d.People))
	for i, p := range d.People {
		people[i] = blameless.Person{Name: p.Name, Email: p.Email, Handles: p.Handles}
	}
	return blameless.NewNameSet(people)
}

// DraftSummary writes the Markdown draft of the blameless summary from the
// incident's own data and timeline.
func (s *Service) DraftSummary(ctx context.Context, ref string) (string, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	events, err := s.Incidents.Timeline(ctx, ref)
	if err != nil {
		return "", err
	}
	// A draft without the recorded impact is still a draft to start from.
	impact, unknown, _ := incident.ImpactOf(ctx, s.DB, inc.ID)
	in := DraftInput{ID: inc.Ref, Title: inc.Title, Severity: string(inc.Severity), DeclaredAt: inc.DeclaredAt,
		Extent: inc.Scope.Extent, Segments: inc.Scope.Segments, Systems: inc.Scope.Systems, Teams: s.teams(inc),
		RootCause: inc.RootCause, Fix: inc.Fix, Impact: impact, RootCauseUnknown: unknown, Names: s.names(), Rules: s.Rules,
		Language: s.language()}
	reports, err := incident.ReportsOf(ctx, s.DB, inc.ID)
	if err != nil {
		return "", err
	}
	for _, r := range reports {
		if in.FirstReportAt.IsZero() || r.ReportedAt.Before(in.FirstReportAt) {
			in.FirstReportAt = r.ReportedAt
		}
	}
	answers, err := s.Confirmations(ctx, ref)
	if err != nil {
		return "", err
	}
	for _, a := range answers {
		if a.State == AnswerStillBroken {
			in.StillBroken = append(in.StillBroken, a.Answer)
		}
	}
	if inc.FirstFailureAt != nil {
		in.FirstFailureAt = *inc.FirstFailureAt
	}
	if inc.DetectedAt != nil {
		in.DetectedAt = *inc.DetectedAt
	}
	if inc.ResolvedAt != nil {
		in.ResolvedAt = *inc.ResolvedAt
	}
	for _, ev := range events {
		if plumbing[ev.Kind] {
			continue
		}
		in.Events = append(in.Events, DraftEvent{At: ev.At, Kind: ev.Kind, Text: ev.Text, Data: ev.Data})
	}
	if s.Changes != nil {
		// Changes confirmed as the cause (a deploy, a maintenance window)
		// go into the root-cause section, below what the lead wrote.
		causes, err := s.Changes.ConfirmedCauses(ctx, inc.ID)
		if err != nil {
			return "", err
		}
		if len(causes) > 0 {
			lines := newWords(s.language()).t("changes_confirmed") + "\n"
			for _, c := range causes {
				lines += "\n- " + c
			}
			if in.RootCause != "" {
				in.RootCause += "\n\n" + lines
			} else {
				in.RootCause = lines
			}
		}
	}
	return Draft(in), nil
}

// teams are the teams that worked on the incident: those it names, then
// the owners of the escalation lists of its suspected systems, whose
// responders the heads-up called.
func (s *Service) teams(inc *incident.Incident) []string {
	out := append([]string{}, inc.Scope.Teams...)
	d := s.Directory.Current()
	for _, sys := range inc.Scope.Systems {
		if e, ok := d.Escalation(sys); ok && strings.TrimSpace(e.Team) != "" {
			out = append(out, e.Team)
		}
	}
	return cleanTeams(out)
}

// CheckSummary validates a summary's text and lints it.
func (s *Service) CheckSummary(markdown string) ([]blameless.Finding, error) {
	switch {
	case !utf8.ValidString(markdown):
		return nil, errs.InvalidField("markdown", "is not UTF-8 text; save it as UTF-8")
	case strings.TrimSpace(markdown) == "":
		return nil, errs.InvalidField("markdown", "is empty")
	case len(markdown) > MaxSummaryBytes:
		return nil, &errs.Error{Code: errs.TooLarge, Field: "markdown", Message: fmt.Sprintf("is %d bytes; at most %d", len(markdown), MaxSummaryBytes)}
	}
	findings := blameless.Lint(markdown, s.names(), s.Rules)
	if findings == nil {
		findings = []blameless.Finding{}
	}
	return findings, nil
}

// SummaryInput is a summary to send.
type SummaryInput struct {
	Markdown string `json:"markdown"`
	// Override sends despite lint findings; the override is on the timeline.
	Override bool `json:"override"`
	DryRun   bool `json:"dry_run"`
}

// SummaryResult says what happened.
type SummaryResult struct {
	Findings []blameless.Finding `json:"findings"`
	Sent     bool                `json:"sent"`
	HTML     string              `json:"html,omitempty"`
	Text     string              `json:"text,omitempty"`
	Messages []*compose.Message  `json:"messages,omitempty"`
	ID       int64               `json:"id,omitempty"`
}

// SendSummary lints the summary and, when clean (or overridden), sends it
// to every audience in the existing threads and keeps it with the incident.
func (s *Service) SendSummary(ctx context.Context, actor, ref string, in SummaryInput) (*SummaryResult, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	findings, err := s.CheckSummary(in.Markdown)
	if err != nil {
		return nil, err
	}
	html, text, err := compose.RenderMarkdown(in.Markdown)
	if err != nil {
		return nil, errs.InvalidField("markdown", "cannot be rendered: %v", err)
	}
	res := &SummaryResult{Findings: findings, HTML: html, Text: text}
	if in.DryRun {
		return res, nil
	}
	// A placeholder left in is an unfinished summary, not a matter of
	// wording: no override sends it to the whole company.
	if lines := unfinished(in.Markdown); len(lines) > 0 {
		return nil, &errs.Error{Code: errs.Conflict, Field: "markdown", Message: fmt.Sprintf(
			"is not finished: %s still %s a TODO placeholder; fill in or delete %s before sending (the lint override does not cover it)",
			lineList(lines), plural(len(lines), "holds", "hold"), plural(len(lines), "it", "them"))}
	}
	if len(findings) > 0 && !in.Override {
		return nil, &blameless.Blocked{Findings: findings}
	}
	if inc.State.Active() {
		return nil, &errs.Error{Code: errs.Conflict, Field: "state", Message: fmt.Sprintf("%s is %s: resolve it before sending the summary", inc.Ref, inc.State)}
	}
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		d := s.Directory.Current()
		data := compose.SummaryData{Incident: s.Comms.View(inc), Summary: in.Markdown, Now: now}
		msgs, err := s.queueToEveryone(ctx, tx, inc, compose.KindSummary, directory.KindSummary, &data, &data.Incident, actor)
		if err != nil {
			return err
		}
		res.Messages = msgs
		overridden, _ := json.Marshal(findings)
		if err := tx.QueryRowContext(ctx, queries.Get("archive-summary"),
			inc.ID, in.Markdown, html, string(overridden), actor, now).Scan(&res.ID); err != nil {
			return fmt.Errorf("resolution: archive summary: %w", err)
		}
		// The write-up promise is kept (or late) now.
		if _, err := incident.AdvanceWriteUpStage(ctx, tx, inc.ID, incident.WriteUpStageSent); err != nil {
			return fmt.Errorf("resolution: write-up promise: %w", err)
		}
		text := fmt.Sprintf("Blameless summary sent to %s", strings.Join(d.Audience(directory.KindSummary), ", "))
		data2 := map[string]any{"summary": res.ID}
		if len(findings) > 0 {
			text += fmt.Sprintf("; lint OVERRIDDEN with %d %s: %s", len(findings), plural(len(findings), "finding", "findings"), findingWords(findings))
			data2["overridden"] = findings
		}
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, EventSummarySent, actor, text, data2)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Sent = true
	return res, nil
}

func findingWords(fs []blameless.Finding) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%d:%d %q", f.Line, f.Col, f.Words))
	}
	return strings.Join(parts, ", ")
}

// SentSummary is an archived summary.
type SentSummary struct {
	ID       int64     `json:"id"`
	Markdown string    `json:"markdown"`
	HTML     string    `json:"html"`
	Actor    string    `json:"actor"`
	SentAt   time.Time `json:"sent_at"`
}

// Summaries lists the summaries sent for an incident, newest first.
func (s *Service) Summaries(ctx context.Context, ref string) ([]SentSummary, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, queries.Get("summaries"), inc.ID)
	if err != nil {
		return nil, fmt.Errorf("resolution: summaries: %w", err)
	}
	defer rows.Close()
	out := []SentSummary{}
	for rows.Next() {
		var ss SentSummary
		if err := rows.Scan(&ss.ID, &ss.Markdown, &ss.HTML, &ss.Actor, &ss.SentAt); err != nil {
			return nil, fmt.Errorf("resolution: summaries: %w", err)
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

// CheckPromises reminds the comms lead when the promised write-up comes
// due and when it is overdue, and the incident lead daily while the root
// cause is unknown. Each is sent once per stage (a conditional update wins
// it), so every replica may run it.
func (s *Service) CheckPromises(ctx context.Context) error {
	now := s.now()
	list, err := incident.WriteUpsDue(ctx, s.DB, now.Add(2*time.Hour))
	if err != nil {
		return fmt.Errorf("resolution: write-up promises: %w", err)
	}
	for _, d := range list {
		stage := 1
		if !now.Before(d.At) {
			stage = 2
		}
		if stage <= d.Stage {
			continue
		}
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			won, err := incident.AdvanceWriteUpStage(ctx, tx, d.ID, stage)
			if err != nil || !won {
				return err
			}
			inc, err := s.Incidents.GetByID(ctx, tx, d.ID)
			if err != nil {
				return err
			}
			to := compactEmails(inc.Roles.CommsLead, inc.Roles.IncidentLead)
			if len(to) == 0 {
				return nil
			}
			data := compose.ReminderData{Incident: s.Comms.View(inc), DueAt: d.At.UTC(), Now: now, Overdue: stage == 2}
			if _, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Leads), Kind: compose.KindWriteUpDue,
				People: to, Data: data, Actor: "sitrep"}); err != nil {
				return err
			}
			_, err = incident.AddEvent(ctx, tx, now, d.ID, incident.EventReminder, "sitrep",
				fmt.Sprintf("Write-up due %s UTC: reminded %s", d.At.UTC().Format("Mon 15:04"), strings.Join(to, ", ")), nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("resolution: write-up reminder: %w", err)
		}
	}
	return s.remindUnknownRootCause(ctx, now)
}

// remindUnknownRootCause nudges the incident lead once a day while an
// incident waits in monitoring with no root cause.
func (s *Service) remindUnknownRootCause(ctx context.Context, now time.Time) error {
	ids, err := incident.UnknownRootCauses(ctx, s.DB, now.Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("resolution: %w", err)
	}
	for _, id := range ids {
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			won, err := incident.MarkRootCauseReminded(ctx, tx, id, now, now.Add(-24*time.Hour))
			if err != nil || !won {
				return err
			}
			inc, err := s.Incidents.GetByID(ctx, tx, id)
			if err != nil {
				return err
			}
			to := compactEmails(inc.Roles.IncidentLead, inc.Roles.CommsLead)
			if len(to) == 0 {
				return nil
			}
			data := compose.RootCauseDueData{Incident: s.Comms.View(inc), Now: now}
			if _, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Leads), Kind: compose.KindRootCauseDue,
				People: to, Data: data, Actor: "sitrep"}); err != nil {
				return err
			}
			_, err = incident.AddEvent(ctx, tx, now, id, incident.EventReminder, "sitrep", "Daily reminder: root cause still unknown", nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("resolution: root-cause reminder: %w", err)
		}
	}
	return nil
}

// todoRE finds the draft's placeholders ("_TODO: describe the root
// cause._") and any other "TODO:" a writer left. The draft writes its
// marker "_TODO:" in every language, the prompt after it translated
// ("_TODO: Ursache beschreiben ..._", "_TODO: 根本原因を記述 ..._"); a
// writer of Japanese may type the full-width colon ("TODO："), which
// counts too. ("_" counts as a word character, so \b would miss the
// draft's own.)
var todoRE = regexp.MustCompile(`(?i)(?:^|[^\pL\pN])TODO\s*[:：]`)

// unfinished returns the 1-based numbers of the lines that hold a TODO
// placeholder.
func unfinished(markdown string) []int {
	var out []int
	for i, line := range strings.Split(markdown, "\n") {
		if todoRE.MatchString(line) {
			out = append(out, i+1)
		}
	}
	return out
}

func lineList(lines []int) string {
	words := make([]string, 0, min(len(lines), 6))
	for i, n := range lines {
		if i == 5 {
			words = append(words, fmt.Sprintf("and %d more", len(lines)-5))
			break
		}
		words = append(words, strconv.Itoa(n))
	}
	return plural(len(lines), "line ", "lines ") + strings.Join(words, ", ")
}

// plumbing are timeline events about sitrep's own channels, not the
// outage (a chat post refused or possibly missing): the leads see them on
// the incident page; the summary's readers have no use for them.
var plumbing = map[string]bool{"chat_problem": true}
