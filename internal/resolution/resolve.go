// Package resolution holds what happens when an incident ends: the
// resolution, the reporters' confirmations, and the blameless summary to
// the organisation, which package blameless checks for names and blame
// before it is sent.
package resolution

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Changes are the deployments and maintenance windows confirmed as an
// incident's cause (the change log).
type Changes interface {
	ConfirmedCauses(ctx context.Context, incidentID int64) ([]string, error)
}

// Service runs the resolution flow: the quick "resolved" email, the
// confirmation requests, the blameless summary and its promise.
type Service struct {
	DB        *store.DB
	Incidents *incident.Service
	Mail      incident.Mailer
	Comms     *incident.Comms
	Directory incident.Directory
	Rules     *blameless.Rules
	Now       func() time.Time
	// WriteUpAfter is the default time between resolution and the promised write-up.
	WriteUpAfter time.Duration
	// Confirmers are asked to confirm every fix, beside the reporters
	// (e.g. the customer service leads).
	Confirmers []string
	// Changes, when set, lists the changes confirmed as the incident's
	// cause, for the summary draft's root-cause section.
	Changes Changes
	// Language, when set, is the organisation's language (BCP 47);
	// unset, the directory's organisation language is read at each use
	// (groups.yaml may change it), and without one, English.
	// The summary draft is written in it: one summary goes to everyone,
	// so it cannot follow each reader's language.
	Language string
}

// language is the organisation's language: Language, else the
// directory's.
func (s *Service) language() string { return incident.OrganisationLanguage(s.Language, s.Directory) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// confirmThread is the thread in which email is asked to confirm the fix
// of inc: one per person, so that each "Is it fixed for you?" continues
// only what that person was sent (their own earlier question, when the
// incident was reopened and resolved again) and never names another
// reporter's message in In-Reply-To or References. The audience is a
// digest of the address: it shows in List-Id and the To: display, which
// take no "@", and says nothing of the address to anyone else. Replies
// come back by the incident's reply token, as in every thread.
func confirmThread(inc *incident.Incident, email string) compose.Thread {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	t := inc.Thread("reporter-" + hex.EncodeToString(sum[:6]))
	t.ToName = inc.Ref + " reporters" // the To: line; the audience is for List-Id and threading
	return t
}

// ResolveInput is what resolving says.
type ResolveInput struct {
	RootCause        string     `json:"root_cause"`
	Fix              string     `json:"fix"`
	Impact           string     `json:"impact"`
	RootCauseUnknown bool       `json:"root_cause_unknown"`
	WriteUpBy        *time.Time `json:"write_up_by"`
	// Public is what customers read of the end, when the incident had
	// public wording (the public page and its subscribers' email); empty,
	// sitrep's own words ("This incident is resolved"). Never the root
	// cause or impact, which are the stakeholders'. Refused for an
	// incident customers were never told of.
	Public string `json:"public,omitempty"`
}

// ResolveResult says what went out.
type ResolveResult struct {
	Incident  *incident.Incident `json:"incident"`
	Messages  []*compose.Message `json:"messages"`
	Asked     []string           `json:"asked_to_confirm"`
	WriteUpBy *time.Time         `json:"write_up_by,omitempty"`
	// PublicTold: the incident had public wording, so the public page
	// shows it resolved (and its subscribers were mailed, among Messages).
	PublicTold bool `json:"public_told"`
}

const maxTextBytes = 20000

// Resolve records the root cause and fix, moves the incident to resolved
// (or, with the root cause unknown, to monitoring), sends the short
// "resolved" email in the existing threads and asks the reporters and
// confirmers to confirm — all in one transaction.
func (s *Service) Resolve(ctx context.Context, actor, ref string, in ResolveInput) (*ResolveResult, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	var res *ResolveResult
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.ResolveTx(ctx, tx, actor, inc, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ResolveTx is Resolve inside the caller's transaction (a lead's
// "resolve: <root cause>" by reply).
func (s *Service) ResolveTx(ctx context.Context, tx *sql.Tx, actor string, inc *incident.Incident, in ResolveInput) (*ResolveResult, error) {
	rootCause, fix, impact := strings.TrimSpace(in.RootCause), strings.TrimSpace(in.Fix), strings.TrimSpace(in.Impact)
	switch {
	case inc.State == incident.Resolved || inc.State == incident.Postmortem || inc.State == incident.Closed:
		return nil, &errs.Error{Code: errs.Conflict, Field: "state", Message: fmt.Sprintf("%s is already %s", inc.Ref, inc.State)}
	case rootCause == "" && !in.RootCauseUnknown:
		return nil, errs.InvalidField("root_cause", "say what caused it; without a root cause it can happen again (or pass root_cause_unknown to keep watching)")
	case rootCause != "" && in.RootCauseUnknown:
		return nil, errs.InvalidField("root_cause_unknown", "give a root cause or say it is unknown, not both")
	}
	for field, v := range map[string]string{"root_cause": rootCause, "fix": fix, "impact": impact} {
		if len(v) > maxTextBytes {
			return nil, errs.InvalidField(field, "at most %d bytes", maxTextBytes)
		}
	}
	now := s.now()
	var writeUpBy *time.Time
	if !in.RootCauseUnknown {
		t := now.Add(s.WriteUpAfter)
		if s.WriteUpAfter <= 0 {
			t = now.Add(48 * time.Hour)
		}
		if in.WriteUpBy != nil {
			if !in.WriteUpBy.After(now) {
				return nil, errs.InvalidField("write_up_by", "is in the past")
			}
			t = in.WriteUpBy.UTC()
		}
		writeUpBy = &t
	}
	res := &ResolveResult{WriteUpBy: writeUpBy}
	err := func() error {
		// The state change says "→ resolved" already: the note is the
		// root cause alone, not "resolved: resolved: ..." (issue 17).
		target, note := incident.Resolved, sentence(oneLine(rootCause))
		if in.RootCauseUnknown {
			target, note = incident.Monitoring, "fix in place, root cause unknown; watching"
		}
		if inc.State != target {
			if err := s.Incidents.TransitionTx(ctx, tx, actor, inc.ID, target, note); err != nil {
				return err
			}
		}
		if err := incident.RecordResolution(ctx, tx, inc.ID, incident.ResolutionRecord{RootCause: rootCause, Fix: fix, Impact: impact,
			RootCauseUnknown: in.RootCauseUnknown, WriteUpBy: writeUpBy, At: now}); err != nil {
			return fmt.Errorf("resolution: record: %w", err)
		}
		fresh, err := s.Incidents.GetByID(ctx, tx, inc.ID)
		if err != nil {
			return err
		}
		res.Incident = fresh
		restored := now
		if fresh.ResolvedAt != nil {
			restored = *fresh.ResolvedAt
		}
		data := compose.ResolvedData{Incident: s.Comms.View(fresh), RestoredAt: restored, Impact: impact, RootCause: rootCause,
			RootCauseUnknown: in.RootCauseUnknown, Now: now}
		if writeUpBy != nil {
			data.WriteUpBy = *writeUpBy
		}
		d := s.Directory.Current()
		msgs, err := s.queueToEveryone(ctx, tx, fresh, compose.KindResolved, directory.KindResolved, &data, &data.Incident, actor)
		if err != nil {
			return err
		}
		res.Messages = msgs
		// Customers hear of the end where they heard of the incident, in
		// this transaction: both or neither.
		pub, err := s.Comms.ResolvePublic(ctx, tx, fresh, actor, in.Public, in.RootCauseUnknown, now)
		if err != nil {
			return err
		}
		res.PublicTold = pub.Told
		if pub.Message != nil {
			res.Messages = append(res.Messages, pub.Message)
		}
		text := fmt.Sprintf("Resolved email sent to %s", strings.Join(d.Audience(directory.KindResolved), ", "))
		if in.RootCauseUnknown {
			text = "Fix in place; root cause UNKNOWN: incident stays in monitoring. " + text
		} else {
			text = fmt.Sprintf("Root cause: %s %s; write-up promised by %s UTC", sentence(oneLine(rootCause)), text, writeUpBy.Format("Mon 15:04"))
		}
		ev := map[string]any{"root_cause": rootCause, "fix": fix, "impact": impact, "root_cause_unknown": in.RootCauseUnknown}
		if pub.Told {
			// What the public page shows of the end (statuspage reads
			// "public"; "" there is sitrep's own words).
			ev["public_told"] = true
			if pub.Text != "" {
				ev["public"] = pub.Text
			}
			text += "; customers told on the public page"
			if pub.Message != nil {
				ev["public_message"] = pub.Message.ID
				text += fmt.Sprintf(" and by email (%d %s)", pub.Message.Total, plural(pub.Message.Total, "subscriber", "subscribers"))
			}
		}
		if _, err := incident.AddEvent(ctx, tx, now, inc.ID, EventResolvedEmail, actor, text, ev); err != nil {
			return err
		}
		if !in.RootCauseUnknown {
			asked, err := s.askToConfirm(ctx, tx, fresh, restored, now)
			if err != nil {
				return err
			}
			res.Asked = asked
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// responders are the people the heads-up went to, and the responders of
// the suspected systems: they hear that it is over, in their thread.
func (s *Service) responders(ctx context.Context, q store.Querier, inc *incident.Incident) []string {
	seen := map[string]bool{}
	var out []string
	add := func(e string) {
		e = strings.ToLower(strings.TrimSpace(e))
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	// A heads-up whose recipients cannot be read is still no reason to
	// hold back the resolution: the directory's responders hear it.
	sent, _ := s.Mail.Recipients(ctx, q, inc.Thread(compose.Responders))
	for _, e := range sent {
		add(e)
	}
	for _, p := range s.Directory.Current().Responders(inc.Scope.Systems...) {
		add(p.Email)
	}
	return out
}

// Audience lists everyone resolving (audienceKind directory.KindResolved)
// or sending the summary (directory.KindSummary) would email now, each
// once: the audience's groups and the responders, as queueToEveryone
// addresses them. The UI names how many before one click emails them all.
func (s *Service) Audience(ctx context.Context, ref, audienceKind string) ([]string, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	d := s.Directory.Current()
	groups, err := d.Expand(d.Audience(audienceKind)...)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range groups {
		if !seen[r.Email] {
			seen[r.Email] = true
			out = append(out, r.Email)
		}
	}
	for _, e := range s.responders(ctx, s.DB, inc) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// askToConfirm asks every reporter and configured confirmer, once each,
// whether it is fixed for them.
func (s *Service) askToConfirm(ctx context.Context, tx *sql.Tx, inc *incident.Incident, restored, now time.Time) ([]string, error) {
	type who struct {
		email, name string
		reported    time.Time
		reporter    bool // reported the problem; else one of the Confirmers
	}
	var people []who
	seen := map[string]bool{}
	reporters, err := incident.Reporters(ctx, tx, inc.ID)
	if err != nil {
		return nil, fmt.Errorf("resolution: %w", err)
	}
	for _, r := range reporters {
		w := who{email: r.Email, name: r.Name, reported: r.FirstAt, reporter: true}
		if w.name == "" {
			if p, ok := s.Directory.Current().Person(w.email); ok {
				w.name = p.Name
			}
		}
		if !seen[w.email] {
			seen[w.email] = true
			people = append(people, w)
		}
	}
	d := s.Directory.Current()
	for _, e := range s.Confirmers {
		e = strings.ToLower(strings.TrimSpace(e))
		if e != "" && !seen[e] {
			seen[e] = true
			p, _ := d.Person(e)
			people = append(people, who{email: e, name: p.Name})
		}
	}
	var asked []string
	reported := 0
	for _, w := range people {
		// One question per person and incident: a reopened and re-resolved
		// incident asks again.
		if _, err := tx.ExecContext(ctx, queries.Get("forget-confirmation"), inc.ID, w.email); err != nil {
			return nil, fmt.Errorf("resolution: confirmations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("ask-confirmation"),
			inc.ID, w.email, w.name, now); err != nil {
			return nil, fmt.Errorf("resolution: confirmations: %w", err)
		}
		data := compose.ConfirmData{Incident: s.Comms.View(inc), Recipient: w.name, Reporter: w.reporter, ReportedAt: w.reported, RestoredAt: restored, Now: now}
		if _, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: confirmThread(inc, w.email), Kind: compose.KindConfirm,
			People: []string{w.email}, Data: data, Actor: "sitrep"}); err != nil {
			return nil, fmt.Errorf("resolution: confirmation request: %w", err)
		}
		asked = append(asked, w.email)
		if w.reporter {
			reported++
		}
	}
	if len(asked) > 0 {
		if _, err := incident.AddEvent(ctx, tx, now, inc.ID, EventConfirmationAsked, "sitrep",
			askedText(len(asked), reported), map[string]any{"asked": asked}); err != nil {
			return nil, err
		}
	}
	return asked, nil
}

// askedText is the timeline's word on who was asked to confirm: the
// reporters, and the configured confirmers who did not report it.
func askedText(asked, reported int) string {
	switch {
	case reported == asked:
		return fmt.Sprintf("Asked %d %s who reported the problem to confirm the fix", asked, plural(asked, "person", "people"))
	case reported == 0:
		return fmt.Sprintf("Asked %d %s on the confirmers list to confirm the fix", asked, plural(asked, "person", "people"))
	}
	return fmt.Sprintf("Asked %d people to confirm the fix: %d who reported the problem and %d on the confirmers list",
		asked, reported, asked-reported)
}

// Event kinds of the resolution flow, as its timeline entries say them.
const (
	EventResolvedEmail     = "resolved_email"
	EventConfirmationAsked = "confirmation_asked"
	EventConfirmation      = "confirmation"
	EventSummarySent       = "summary_sent"
)

// Confirmation is one person's answer to "is it fixed for you?".
type Confirmation struct {
	Email      string     `json:"email"`
	Name       string     `json:"name,omitempty"`
	State      string     `json:"state"` // asked | confirmed | still_broken | ambiguous
	Answer     string     `json:"answer,omitempty"`
	AskedAt    time.Time  `json:"asked_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// Confirmations lists who was asked and what they said.
func (s *Service) Confirmations(ctx context.Context, ref string) ([]Confirmation, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, queries.Get("confirmations"), inc.ID)
	if err != nil {
		return nil, fmt.Errorf("resolution: confirmations: %w", err)
	}
	defer rows.Close()
	out := []Confirmation{}
	for rows.Next() {
		var c Confirmation
		var answered sql.NullTime
		if err := rows.Scan(&c.Email, &c.Name, &c.State, &c.Answer, &c.AskedAt, &answered); err != nil {
			return nil, fmt.Errorf("resolution: confirmations: %w", err)
		}
		if answered.Valid {
			t := answered.Time.UTC()
			c.AnsweredAt = &t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Answer states.
const (
	AnswerConfirmed   = "confirmed"
	AnswerStillBroken = "still_broken"
	AnswerAmbiguous   = "ambiguous"
)

// RecordAnswer files a reply from someone asked to confirm. It reports
// false when from was not asked (the caller files it as an ordinary
// reply). state is one of the Answer states (the inbox classifies the
// words); a "still broken" answer alerts the incident and comms leads at
// once.
func (s *Service) RecordAnswer(ctx context.Context, tx *sql.Tx, incidentID int64, from, state, text string, at time.Time) (bool, error) {
	from = strings.ToLower(strings.TrimSpace(from))
	var name string
	err := tx.QueryRowContext(ctx, queries.Get("confirmer-name"), incidentID, from).Scan(&name)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("resolution: answer: %w", err)
	}
	switch state {
	case AnswerConfirmed, AnswerStillBroken, AnswerAmbiguous:
	default:
		return false, errs.InvalidField("state", "unknown answer %q", state)
	}
	if len(text) > 4000 {
		text = text[:4000]
	}
	if _, err := tx.ExecContext(ctx, queries.Get("answer-confirmation"),
		state, text, at.UTC(), incidentID, from); err != nil {
		return false, fmt.Errorf("resolution: answer: %w", err)
	}
	inc, err := s.Incidents.GetByID(ctx, tx, incidentID)
	if err != nil {
		return false, err
	}
	who := from
	if name != "" {
		who = (&mail.Address{Name: name, Address: from}).String()
	}
	words := map[string]string{AnswerConfirmed: "confirmed the fix", AnswerStillBroken: "says it is STILL BROKEN", AnswerAmbiguous: "answered (unclear; read it)"}
	event := who + " " + words[state]
	if answer := oneLine(text); answer != "" {
		event += ": " + answer
	}
	reporter, err := isReporter(ctx, tx, incidentID, from)
	if err != nil {
		return false, err
	}
	if _, err := incident.AddEvent(ctx, tx, at, incidentID, EventConfirmation, from, event,
		map[string]any{"state": state, "answer": text, "reporter": reporter}); err != nil {
		return false, err
	}
	// Anything but a yes goes to the leads at once, in their thread, with
	// the words: a "still broken" may mean reopening; an unclear answer
	// is theirs to read, not only a line on the timeline.
	var kind compose.Kind
	var data any
	switch state {
	case AnswerStillBroken:
		kind, data = compose.KindStillBroken, compose.AnswerData{Incident: s.Comms.View(inc), From: who, Answer: text, ReceivedAt: at, Now: s.now()}
	case AnswerAmbiguous:
		kind, data = compose.KindUnclearAnswer, compose.AnswerData{Incident: s.Comms.View(inc), From: who, Answer: text, ReceivedAt: at, Now: s.now()}
	default:
		return true, nil
	}
	leads := compactEmails(inc.Roles.IncidentLead, inc.Roles.CommsLead)
	if len(leads) == 0 {
		for _, p := range s.Directory.Current().PeopleWithRole(directory.RoleCommsLead) {
			leads = append(leads, p.Email)
		}
	}
	if len(leads) > 0 {
		if _, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Leads), Kind: kind,
			People: leads, Data: data, Actor: "sitrep"}); err != nil {
			return false, fmt.Errorf("resolution: %s alert: %w", kind, err)
		}
	}
	return true, nil
}

// isReporter reports whether email filed a report on the incident (the
// others asked to confirm are the configured confirmers).
func isReporter(ctx context.Context, tx *sql.Tx, incidentID int64, email string) (bool, error) {
	reporters, err := incident.Reporters(ctx, tx, incidentID)
	if err != nil {
		return false, fmt.Errorf("resolution: %w", err)
	}
	for _, r := range reporters {
		if strings.EqualFold(r.Email, email) {
			return true, nil
		}
	}
	return false, nil
}

func compactEmails(list ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// ResolveByReply is the inbox's hook for a lead's "resolve" by mail: the
// text after "resolve:" is the root cause; none keeps the incident in
// monitoring with the root cause unknown. public is the reply's "public:"
// section, what customers read of the end.
func (s *Service) ResolveByReply(ctx context.Context, tx *sql.Tx, inc *incident.Incident, actor, rootCause, public string) error {
	_, err := s.ResolveTx(ctx, tx, actor, inc, ResolveInput{RootCause: rootCause, RootCauseUnknown: strings.TrimSpace(rootCause) == "", Public: public})
	return err
}

// AnswerByReply is the inbox's hook for ordinary replies: an answer from
// someone asked to confirm the fix is filed as their confirmation.
func (s *Service) AnswerByReply(ctx context.Context, tx *sql.Tx, inc *incident.Incident, sender, text string, at time.Time) (bool, string, error) {
	// mailmsg's classifier reads the words; its values are ours.
	state := string(mailmsg.ClassifyConfirmation(text))
	ok, err := s.RecordAnswer(ctx, tx, inc.ID, sender, state, text, at)
	if err != nil || !ok {
		return false, "", err
	}
	return true, "confirmation: " + state, nil
}

// queueToEveryone sends one email of kind to the groups of audienceKind in
// the stakeholder thread and to the responders in theirs. data is the
// template's data; view points at its Incident, whose thread title is set
// per thread.
func (s *Service) queueToEveryone(ctx context.Context, tx *sql.Tx, inc *incident.Incident, kind compose.Kind, audienceKind string,
	data any, view *compose.IncidentView, actor string) ([]*compose.Message, error) {
	view.ThreadTitle = s.Comms.ThreadTitle(ctx, tx, inc, compose.Stakeholders)
	req := compose.Outgoing{Thread: inc.Thread(compose.Stakeholders), Kind: kind,
		Groups: s.Directory.Current().Audience(audienceKind), Data: data, Actor: actor}
	// Those who follow the incident read how it ended, as they read its updates.
	if err := s.Comms.AddFollowers(ctx, tx, inc, &req); err != nil {
		return nil, err
	}
	msg, err := s.Mail.Queue(ctx, tx, req)
	if err != nil {
		return nil, fmt.Errorf("resolution: %s email: %w", kind, err)
	}
	msgs := []*compose.Message{msg}
	if responders := s.responders(ctx, tx, inc); len(responders) > 0 {
		view.ThreadTitle = ""
		msg, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Responders), Kind: kind,
			People: responders, Data: data, Actor: actor})
		if err != nil {
			return nil, fmt.Errorf("resolution: %s email to responders: %w", kind, err)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
