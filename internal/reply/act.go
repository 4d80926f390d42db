package reply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// isLead reports whether email is a lead of the incident.
func isLead(inc *incident.Incident, email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	return email != "" && (email == strings.ToLower(inc.Roles.IncidentLead) || email == strings.ToLower(inc.Roles.CommsLead))
}

// commsContact is who hears about replies: the comms lead, else the
// incident lead.
func commsContact(inc *incident.Incident) string {
	if inc.Roles.CommsLead != "" {
		return inc.Roles.CommsLead
	}
	return inc.Roles.IncidentLead
}

func leads(inc *incident.Incident) []string {
	var out []string
	for _, l := range []string{inc.Roles.CommsLead, inc.Roles.IncidentLead} {
		l = strings.ToLower(strings.TrimSpace(l))
		if l != "" && !contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// actOnReply files a person's reply: a lead's command is carried out when
// every check passes, refused (and the leads told why) when one fails;
// anything else goes on the timeline and to the comms lead only.
func (s *Service) actOnReply(ctx context.Context, id int64, m *mailmsg.Message, inc *incident.Incident, by string, out mailmsg.Outcome, log *slog.Logger) error {
	if sc, ok := mailmsg.ParseSubscribe(m.NewText); ok && s.Subscriptions != nil {
		// Before the lead's commands: a lead's "subscribe" is not an update.
		return s.actOnSubscribe(ctx, id, m, inc, sc, out, log)
	}
	// A lead's update goes to the status audience; its groups may be
	// given their own wording in sections ("for customer-service:").
	var groups []string
	if d := s.Directory.Current(); d != nil {
		groups = d.Audience(directory.KindStatus)
	}
	cmd := mailmsg.ParseCommand(m.NewText, groups...)
	lead := isLead(inc, out.Sender)
	isCommand := (lead && cmd.Kind != mailmsg.CommandNone) || cmd.Kind == mailmsg.CommandHold || cmd.Kind == mailmsg.CommandResolve

	if !isCommand {
		return s.fileReply(ctx, id, m, inc, out, "")
	}
	// All must hold (issue 4): a lead of this incident, through this
	// incident's reply address, and a From that a trusted server vouched for.
	var reasons []string
	why := refusal{}
	if !lead {
		reasons = append(reasons, fmt.Sprintf("%s is not a lead of %s", out.Sender, inc.Ref))
		why.checks = append(why.checks, compose.RefusedNotLead)
	}
	if by != mailmsg.MatchToken {
		reasons = append(reasons, fmt.Sprintf("the message was not sent to %s's reply address", inc.Ref))
		why.checks = append(why.checks, compose.RefusedNotReplyAddress)
	}
	if v := mailmsg.CheckAuthentication(m, s.TrustedAuthServIDs); !v.Pass {
		reasons = append(reasons, "the sender could not be authenticated: "+v.Reason)
		why.checks, why.authDetail = append(why.checks, compose.RefusedUnauthenticated), v.Reason
	}
	if len(reasons) > 0 {
		why.reason = strings.Join(reasons, "; ")
		return s.refuse(ctx, id, m, inc, cmd, out, why)
	}

	actor := out.Sender
	switch cmd.Kind {
	case mailmsg.CommandResolve:
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			if err := s.resolve(ctx, tx, inc, actor, cmd.Text, cmd.Public); err != nil {
				if errs.CodeOf(err) == errs.Internal {
					return err
				}
				return errRefused{err}
			}
			out.State, out.Action = mailmsg.StateProcessed, "resolve by reply: "+inc.Ref+" resolved"
			if err := s.replyEvent(ctx, tx, id, inc, out, map[string]any{"command": string(cmd.Kind)}); err != nil {
				return err
			}
			return s.Inbox.Finish(ctx, tx, id, out)
		})
		var refused errRefused
		switch {
		case errors.As(err, &refused):
			return s.refuse(ctx, id, m, inc, cmd, out, refusal{reason: refused.error.Error()})
		case errors.Is(err, mailmsg.ErrAlreadyDone):
			return nil
		}
		return err
	default: // update or hold
		in := incident.UpdateInput{Status: cmd.Text, Holding: cmd.Kind == mailmsg.CommandHold, IdempotencyKey: fmt.Sprintf("inbound-%d", id)}
		if cmd.Kind == mailmsg.CommandUpdate {
			in.Audiences, in.Public = cmd.Audiences, cmd.Public
		}
		if cmd.Next > 0 {
			in.Next = cmd.Next.String()
		} else if cmd.NextAt != "" {
			t, err := s.clockTime(actor, cmd.NextAt)
			if err != nil {
				return s.refuse(ctx, id, m, inc, cmd, out, refusal{reason: err.Error()})
			}
			in.NextAt = &t
		}
		sent, err := s.Mail.SentWithKey(ctx, in.IdempotencyKey)
		if err != nil {
			return err
		}
		if !sent {
			if _, err := s.Comms.SendUpdate(ctx, actor, inc.Ref, in); err != nil {
				if errs.CodeOf(err) == errs.Internal {
					return err
				}
				return s.refuse(ctx, id, m, inc, cmd, out, refusal{reason: err.Error()})
			}
		}
		out.State, out.Action = mailmsg.StateProcessed, fmt.Sprintf("%s by reply: status update sent", cmd.Kind)
		log.Info("status update by reply", "incident", inc.Ref, "by", actor, "kind", cmd.Kind)
		err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
			if err := s.replyEvent(ctx, tx, id, inc, out, map[string]any{"command": string(cmd.Kind)}); err != nil {
				return err
			}
			return s.Inbox.Finish(ctx, tx, id, out)
		})
		if errors.Is(err, mailmsg.ErrAlreadyDone) {
			return nil
		}
		return err
	}
}

// errRefused wraps a domain error that turns a command into a refusal.
type errRefused struct{ error }

func (e errRefused) Unwrap() error { return e.error }

// resolve carries out a lead's "resolve": the resolution flow when there
// is one (public: the reply's "public:" section, what customers read of
// the end), else the move to resolved with the note.
func (s *Service) resolve(ctx context.Context, tx *sql.Tx, inc *incident.Incident, actor, note, public string) error {
	if s.Resolution != nil {
		return s.Resolution.ResolveByReply(ctx, tx, inc, actor, note, public)
	}
	// The state change says "→ resolved" already: "resolved: resolved by
	// reply: ..." said it twice, with two colons.
	if note == "" {
		note = "by reply"
	} else {
		note = "by reply; " + note
	}
	return s.Incidents.TransitionTx(ctx, tx, actor, inc.ID, incident.Resolved, snippet(note, 2000))
}

// clockTime turns "15:30" into the next such time in the person's zone.
func (s *Service) clockTime(email, hhmm string) (time.Time, error) {
	loc := time.UTC
	if p, ok := s.Directory.Current().Person(email); ok && p.TimeZone != "" {
		if l, err := time.LoadLocation(p.TimeZone); err == nil {
			loc = l
		}
	}
	t, err := time.ParseInLocation("15:04", hhmm, loc)
	if err != nil {
		return time.Time{}, errs.InvalidField("next", "cannot read the time %q", hhmm)
	}
	now := s.now().In(loc)
	at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, loc)
	if !at.After(now) {
		at = at.AddDate(0, 0, 1)
	}
	return at.UTC(), nil
}

// replyEvent puts the reply on the timeline: once per message, in the
// transaction that marks it done.
func (s *Service) replyEvent(ctx context.Context, tx *sql.Tx, id int64, inc *incident.Incident, out mailmsg.Outcome, extra map[string]any) error {
	data := map[string]any{"inbound": id, "class": out.Class, "from": out.Sender, "matched_by": out.MatchedBy}
	for k, v := range extra {
		data[k] = v
	}
	text := fmt.Sprintf("Reply from %s: %s", out.Sender, snippet(out.NewText, 2000))
	_, err := incident.AddEvent(ctx, tx, s.now(), inc.ID, incident.EventReply, out.Sender, text, data)
	return err
}

// fileReply puts a reply on the timeline and forwards it to the comms lead,
// only: the guide's "keep the resolution channel clear".
func (s *Service) fileReply(ctx context.Context, id int64, m *mailmsg.Message, inc *incident.Incident, out mailmsg.Outcome, note string) error {
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if s.Resolution != nil {
			handled, action, err := s.Resolution.AnswerByReply(ctx, tx, inc, out.Sender, out.NewText, s.now())
			if err != nil {
				return err
			}
			if handled {
				out.State, out.Action = mailmsg.StateProcessed, action
				return s.Inbox.Finish(ctx, tx, id, out)
			}
		}
		out.State, out.Action = mailmsg.StateProcessed, "on the timeline"
		if err := s.replyEvent(ctx, tx, id, inc, out, nil); err != nil {
			return err
		}
		to := commsContact(inc)
		if to != "" && strings.TrimSpace(out.NewText) != "" && !strings.EqualFold(to, out.Sender) {
			sent, err := s.forwardQuestion(ctx, tx, id, inc, compose.Question{From: s.senderLine(out), Audience: s.groupOf(out.Sender),
				Subject: out.Subject, Text: out.NewText, ReceivedAt: s.now()})
			if err != nil {
				return err
			}
			out.Action = "on the timeline; forwarded to " + to
			if !sent {
				out.Action += " with the next questions"
			}
		}
		return s.Inbox.Finish(ctx, tx, id, out)
	})
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	return err
}

// groupName is a group's display name, for people.
func (s *Service) groupName(name string) string {
	if g, ok := s.Directory.Current().Group(name); ok && g.DisplayName != "" {
		return g.DisplayName
	}
	return name
}

// senderLine is the sender as the leads read it: "Jane Doe <jane@...>",
// with the name the directory knows them by, else the one they sent.
func (s *Service) senderLine(out mailmsg.Outcome) string {
	if p, ok := s.Directory.Current().Person(out.Sender); ok && p.Name != "" {
		return p.Name + " <" + out.Sender + ">"
	}
	if out.SenderName != "" {
		return out.SenderName + " <" + out.Sender + ">"
	}
	return out.Sender
}

// groupOf names the first group a person is in, for the comms lead.
func (s *Service) groupOf(email string) string {
	d := s.Directory.Current()
	for _, g := range d.Groups {
		for _, mem := range g.Members {
			if strings.EqualFold(mem, email) {
				if g.DisplayName != "" {
					return g.DisplayName
				}
				return g.Name
			}
		}
	}
	return ""
}

// refusal is why a command was not carried out: reason in English, for
// the record; checks (compose.Refused...) when it failed the checks every
// command must pass, for the leads to read in their language.
type refusal struct {
	reason     string
	checks     []string
	authDetail string
}

// refuse files a command that was not carried out as an ordinary reply
// and tells the incident's leads why. The sender is not written to: it may
// be whoever forged the message.
func (s *Service) refuse(ctx context.Context, id int64, m *mailmsg.Message, inc *incident.Incident, cmd mailmsg.Command, out mailmsg.Outcome, why refusal) error {
	reason := why.reason
	leadsReason := reason // English; the leads read the checks in their language
	if len(why.checks) > 0 {
		leadsReason = ""
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		out.State, out.Err = mailmsg.StateProcessed, "command refused: "+reason
		out.Action = "on the timeline; command refused"
		if err := s.replyEvent(ctx, tx, id, inc, out, map[string]any{"command": string(cmd.Kind), "refused": reason}); err != nil {
			return err
		}
		if to := leads(inc); len(to) > 0 {
			first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(m.NewText), "\n", 2)[0])
			_, err := s.Mail.Queue(ctx, tx, compose.Outgoing{
				Thread: inc.Thread(compose.Leads), Kind: compose.KindCommandRefused, People: to,
				Data: compose.CommandRefusedData{Incident: s.Comms.View(inc), Subject: out.Subject, Command: snippet(first, 200),
					From: s.senderLine(out), Reason: leadsReason, Refusals: why.checks, AuthDetail: why.authDetail, Now: s.now(),
					UpdateAllowed: true, Allowed: []string{"hold 30m", "resolve"}},
				Actor: "sitrep",
			})
			if err != nil {
				return err
			}
			out.Action += "; leads told"
		}
		return s.Inbox.Finish(ctx, tx, id, out)
	})
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	return err
}

// actOnBounce acts on a delivery failure report, only as far as it proves
// it answers a transaction the hub sent (issue 14): it must have come back
// to that transaction's bounce address (outbox.BounceTag) and name one of
// its recipients. Then the delivery fails, the address is marked bouncing
// and the comms lead hears of each address that newly bounces. Any other
// report of a failure is an unverified bounce: filed, on the timeline, the
// leads told, and no delivery changed, since anyone can write a DSN that
// names an update's Message-ID and a colleague.
func (s *Service) actOnBounce(ctx context.Context, id int64, m *mailmsg.Message, inc *incident.Incident, out mailmsg.Outcome) error {
	b := m.Bounce
	tags := s.bounceTags(m)
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var failed, delayed, unverified []string
		for _, r := range b.Recipients {
			if r.Address == "" {
				continue
			}
			if !r.Permanent {
				delayed = append(delayed, r.Address) // changes nothing
				continue
			}
			reason := strings.TrimSpace(r.Status + " " + r.Diagnostic)
			d, err := s.Mail.RecordBounce(ctx, tx, tags, r.Address, snippet(reason, 1000), now)
			if s.Mail.Unverified(err) {
				unverified = append(unverified, r.Address)
				continue
			}
			if err != nil {
				return fmt.Errorf("reply: bounce: %w", err)
			}
			failed = append(failed, d.Email)
			if d.ThreadKey <= 0 {
				// A message of no incident (a draft's note; a maintenance
				// window's thread, keyed below zero): the delivery failed
				// and the address bounces; no timeline to tell.
				continue
			}
			// The incident is the one of the message that bounced, whatever
			// the report's headers say.
			if inc == nil || inc.ID != d.ThreadKey {
				if inc, err = s.Incidents.GetByID(ctx, tx, d.ThreadKey); err != nil {
					return err
				}
				out.IncidentID, out.MatchedRef, out.MatchedBy = inc.ID, inc.Ref, mailmsg.MatchBounce
			}
			if d.WasBouncing {
				continue
			}
			if _, err := incident.AddEvent(ctx, tx, now, inc.ID, incident.EventNote, "sitrep",
				fmt.Sprintf("Delivery to %s failed: %s", d.Email, reason), map[string]any{"inbound": id, "bounce": d.Email}); err != nil {
				return err
			}
			if to := commsContact(inc); to != "" && !strings.EqualFold(to, d.Email) {
				_, err := s.Mail.Queue(ctx, tx, compose.Outgoing{
					Thread: inc.Thread(compose.Leads), Kind: compose.KindBounceNotice, People: []string{to},
					Data: compose.BounceNoticeData{Incident: s.Comms.View(inc), Address: d.Email, Group: s.groupName(d.Group), BouncedKind: d.Kind, Position: d.Position,
						Reason: reason, Permanent: true, At: m.Date, Now: now},
					Actor: "sitrep",
				})
				if err != nil {
					return err
				}
			}
		}
		var actions []string
		if len(failed) > 0 {
			actions = append(actions, "delivery failed and address marked bouncing: "+strings.Join(failed, ", "))
		}
		if len(unverified) > 0 {
			action, err := s.unverifiedBounce(ctx, tx, id, m, inc, unverified, len(tags) > 0)
			if err != nil {
				return err
			}
			actions = append(actions, action)
		}
		if len(delayed) > 0 {
			actions = append(actions, "delay report recorded: "+strings.Join(delayed, ", "))
		}
		switch {
		case len(unverified) > 0 && inc == nil:
			out.State, out.Action = mailmsg.StateTriage, strings.Join(actions, "; ")+"; waiting in triage"
		case len(actions) > 0:
			out.State, out.Action = mailmsg.StateProcessed, strings.Join(actions, "; ")
		case inc != nil:
			out.State, out.Action = mailmsg.StateProcessed, "bounce recorded; it names no recipient of the message"
		default:
			out.State, out.Action = mailmsg.StateTriage, "bounce of a message that is not ours; waiting in triage"
		}
		return s.Inbox.Finish(ctx, tx, id, out)
	})
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	return err
}

// unverifiedBounce files a report of failures it could not verify: on
// the incident's timeline, and the leads told, as refused commands are.
// It returns the action for the inbound record.
func (s *Service) unverifiedBounce(ctx context.Context, tx *sql.Tx, id int64, m *mailmsg.Message, inc *incident.Incident, addrs []string, toBounceAddress bool) (string, error) {
	reason, cause := "it did not come back to the address any update was sent from", compose.UnverifiedNotToBounceAddress
	if toBounceAddress {
		cause = compose.UnverifiedOtherTransaction
		reason = "it came back to the address of a transaction that did not go to " + plural(len(addrs), "this address", "these addresses")
	}
	action := "unverified bounce, no delivery changed (" + reason + "): " + strings.Join(addrs, ", ")
	if inc == nil {
		return action, nil
	}
	sender := strings.ToLower(m.From.Email)
	if _, err := incident.AddEvent(ctx, tx, s.now(), inc.ID, incident.EventNote, "sitrep",
		fmt.Sprintf("Unverified bounce from %s for %s: %s; no delivery changed", sender, strings.Join(addrs, ", "), reason),
		map[string]any{"inbound": id, "unverified_bounce": addrs}); err != nil {
		return "", err
	}
	if to := leads(inc); len(to) > 0 {
		_, err := s.Mail.Queue(ctx, tx, compose.Outgoing{
			Thread: inc.Thread(compose.Leads), Kind: compose.KindUnverifiedBounce, People: to,
			Data: compose.UnverifiedBounceData{Incident: s.Comms.View(inc), From: sender, Recipients: addrs,
				Cause: cause, At: m.Date, Now: s.now()},
			Actor: "sitrep",
		})
		if err != nil {
			return "", err
		}
		action += "; leads told"
	}
	return action, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// bounceTags returns the plus parts of the hub's bounce addresses that
// the message was sent to (To, Cc, Delivered-To, X-Original-To).
func (s *Service) bounceTags(m *mailmsg.Message) []string {
	var out []string
	for _, t := range m.ReplyTokens(s.LocalPart) {
		if s.Mail.IsBounceTag(t) {
			out = append(out, t)
		}
	}
	return out
}

// isReport reports whether the message was sent to a report address.
func (s *Service) isReport(m *mailmsg.Message) bool {
	for _, token := range m.ReplyTokens(s.LocalPart) {
		if token == mailmsg.ReportTag || strings.HasPrefix(token, mailmsg.ReportTag+"-") {
			return true
		}
	}
	return false
}

// fileReport files an emailed report on its incident (the guide's "who
// saw what, where"): the sender is the reporter and will be asked to
// confirm the fix. A report for no known incident waits in triage.
func (s *Service) fileReport(ctx context.Context, id int64, m *mailmsg.Message, inc *incident.Incident, out mailmsg.Outcome) error {
	if inc == nil {
		out.State, out.Class, out.Action = mailmsg.StateTriage, string(mailmsg.ClassReport), "a report for no known incident; waiting in triage"
		return s.finishAlone(ctx, id, out)
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		observed := strings.TrimSpace(out.NewText)
		if observed == "" {
			observed = out.Subject
		}
		if _, err := s.Incidents.AddReport(ctx, tx, out.Sender, inc.Ref, incident.ReportInput{
			Email: out.Sender, Name: out.SenderName, Observed: snippet(observed, 5000), Channel: "email"}); err != nil {
			if errs.CodeOf(err) == errs.Internal {
				return err
			}
			out.State, out.Action, out.Err = mailmsg.StateRejected, "report not filed", err.Error()
			return s.Inbox.Finish(ctx, tx, id, out)
		}
		out.State, out.Action = mailmsg.StateProcessed, "filed as a report"
		return s.Inbox.Finish(ctx, tx, id, out)
	})
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	return err
}

func (s *Service) draftToken(m *mailmsg.Message) (string, bool) {
	for _, token := range m.ReplyTokens(s.LocalPart) {
		if strings.HasPrefix(token, mailmsg.DraftTag) {
			return strings.TrimPrefix(token, mailmsg.DraftTag), true
		}
	}
	return "", false
}

// actOnDraftReply declares or dismisses a monitoring draft by reply, when
// a lead of the directory sent it and a trusted server vouched for them.
func (s *Service) actOnDraftReply(ctx context.Context, id int64, m *mailmsg.Message, token string, out mailmsg.Outcome) error {
	switch {
	case !s.isDirectoryLead(out.Sender):
		out.State, out.Err = mailmsg.StateRejected, out.Sender+" may not declare or dismiss a draft: only comms and incident leads may"
		return s.finishAlone(ctx, id, out)
	case !mailmsg.CheckAuthentication(m, s.TrustedAuthServIDs).Pass:
		out.State, out.Err = mailmsg.StateRejected, "the sender could not be authenticated: "+mailmsg.CheckAuthentication(m, s.TrustedAuthServIDs).Reason
		return s.finishAlone(ctx, id, out)
	}
	first := ""
	for _, line := range strings.Split(out.NewText, "\n") {
		if strings.TrimSpace(line) != "" {
			first = strings.TrimSpace(line)
			break
		}
	}
	result, err := s.Drafts.HandleReply(ctx, token, out.Sender, first)
	switch {
	case err != nil && errs.CodeOf(err) == errs.Internal:
		return err
	case err != nil:
		out.State, out.Err = mailmsg.StateRejected, err.Error()
	default:
		out.State, out.Action = mailmsg.StateProcessed, result
	}
	return s.finishAlone(ctx, id, out)
}

// isDirectoryLead reports whether the directory names email a comms or
// incident lead: only they may declare or dismiss a monitoring draft.
func (s *Service) isDirectoryLead(email string) bool {
	p, ok := s.Directory.Current().Person(email)
	return ok && (p.HasRole(directory.RoleCommsLead) || p.HasRole(directory.RoleIncidentLead))
}

// snippet shortens people's text for records and notices, at a rune
// boundary, marking the cut.
func snippet(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// File puts a message that waited in triage on the incident a person
// chose: it joins the incident's replies and timeline as a reply filed by
// actor, or, when it is an emailed report, its sender becomes a reporter.
// Commands in it are not carried out: a message that needed a person to
// place it did not come through the incident's reply address.
func (s *Service) File(ctx context.Context, id int64, ref, actor string) (*mailmsg.Inbound, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		in, err := s.Triage.File(ctx, tx, id, inc.ID, inc.Ref, actor)
		if err != nil {
			return err
		}
		if in.Class == string(mailmsg.ClassReport) {
			observed := strings.TrimSpace(in.Text)
			if observed == "" {
				observed = in.Subject
			}
			r, err := incident.CleanReport(now, incident.ReportInput{Email: in.Sender, Name: in.SenderName, Observed: snippet(observed, 5000),
				Channel: "email", ReportedAt: &in.ReceivedAt})
			if err != nil {
				return err
			}
			return incident.FileReport(ctx, tx, now, inc.ID, actor, r)
		}
		text := fmt.Sprintf("Reply from %s (filed from triage by %s): %s", in.Sender, actor, snippet(in.Text, 2000))
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, incident.EventReply, actor, text,
			map[string]any{"inbound": id, "class": in.Class, "from": in.Sender, "matched_by": mailmsg.MatchManual})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Triage.Get(ctx, id)
}
