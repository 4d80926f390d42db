package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// ResolveFunc carries out a lead's "resolve" by mail inside tx. The
// default moves the incident to resolved with the note; the resolution
// flow replaces it.
type ResolveFunc func(ctx context.Context, tx *sql.Tx, inc *incident.Incident, actor, note string) error

// ReplyFunc looks at an ordinary reply (sender, new text) inside tx and
// reports whether it handled it, with a word for the inbound record.
type ReplyFunc func(ctx context.Context, tx *sql.Tx, inc *incident.Incident, sender, newText string, at time.Time) (handled bool, action string, err error)

// CalendarReplyFunc receives an iMIP reply (someone accepted or declined
// an invitation) inside the transaction that records it; inc is nil when
// it matched no incident. The post-mortem booking plugs in here.
type CalendarReplyFunc func(ctx context.Context, tx *sql.Tx, inboundID int64, m *Message, inc *incident.Incident) error

// Actor acts on stored inbound messages, from River jobs that each carry
// the messages of one ingest transaction (see ActArgs).
type Actor struct {
	DB        *store.DB
	Incidents *incident.Service
	Outbox    *outbox.Outbox
	Comms     *incident.Comms
	Logger    *slog.Logger
	Now       func() time.Time

	// LocalPart is the local part of the reply addresses (status in
	// status+<token>@example.com).
	LocalPart string
	// TrustedAuthServIDs are the authserv-ids whose Authentication-Results
	// are believed for commands (see CheckAuthentication).
	TrustedAuthServIDs []string

	Resolve ResolveFunc
	// OnReply, when set, may take an ordinary reply for itself inside tx
	// (the resolution flow files answers to "is it fixed for you?"); when
	// it reports handled, the reply is not forwarded to the comms lead.
	OnReply ReplyFunc
	// OnDraftReply, when set, acts on a reply to a monitoring draft's note
	// (its plus part starts with DraftTag): the first line says "declare
	// [SEV]" or "dismiss [reason]". IsLead says who may do that.
	OnDraftReply    func(ctx context.Context, token, from, firstLine string) (string, error)
	IsLead          func(email string) bool
	OnCalendarReply CalendarReplyFunc
	// OnProcessed runs after a message is acted on (serve wires the
	// ingester's Wake, so that the message is flagged at once).
	OnProcessed func()

	// Limits bound the parsing of each message (zero fields take
	// DefaultLimits); a message over one is filed in triage as malformed.
	Limits Limits
	// MessageTimeout is the time budget for acting on one message
	// (default DefaultMessageTimeout). It must stay below River's job
	// timeout, so that a job never outlives it and is never rescued (run
	// again) while it still runs.
	MessageTimeout time.Duration
	// MaxAttempts: a message that failed or timed out this many times is
	// quarantined (default DefaultMaxAttempts).
	MaxAttempts int
	// Metrics counts failures and quarantines; nil counts nothing.
	Metrics *Metrics

	// parsing holds the ids whose parse still runs: enmime cannot be
	// stopped, so a parse that ran out of time goes on in the background,
	// and no other attempt of the same message starts beside it.
	parsing sync.Map
}

// Defaults of Actor.MessageTimeout and Actor.MaxAttempts.
const (
	DefaultMessageTimeout = 30 * time.Second
	DefaultMaxAttempts    = 3
)

func (a *Actor) messageTimeout() time.Duration {
	if a.MessageTimeout > 0 {
		return a.MessageTimeout
	}
	return DefaultMessageTimeout
}

func (a *Actor) maxAttempts() int {
	if a.MaxAttempts > 0 {
		return a.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (a *Actor) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Actor) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// ActWorker is the River worker for ActArgs.
type ActWorker struct {
	river.WorkerDefaults[ActArgs]
	Actor *Actor
}

// Work acts on the job's messages in the order they were stored. One that
// fails or runs out of time does not hold back the others; the job is
// retried for it, Act leaves alone those already acted on, and a message
// that keeps failing is quarantined rather than retried forever.
func (w *ActWorker) Work(ctx context.Context, job *river.Job[ActArgs]) error {
	var failed []error
	for _, id := range job.Args.ids() {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(failed, err)...)
		}
		if err := w.Actor.Act(ctx, id); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// Register adds the act worker to workers.
func (a *Actor) Register(workers *river.Workers) {
	river.AddWorker(workers, &ActWorker{Actor: a})
}

// outcome is what acting decided, written onto the row.
type outcome struct {
	state, class       string
	sender, senderName string
	subject, newText   string
	incidentID         int64
	matchedBy          string
	action, err        string
}

// Act parses, classifies, matches and acts on a stored message, and marks
// it done, once: a message not in state stored is left alone, and every
// effect commits in the transaction that marks it (a status update sent
// by reply carries the message's idempotency key instead).
//
// Acting runs under a deadline (MessageTimeout). A message that fails or
// runs out of time is retried with its job; once it has failed
// MaxAttempts times it is quarantined: filed in triage with its last
// error, and never acted on again.
func (a *Actor) Act(ctx context.Context, id int64) error {
	var state, lastErr string
	var raw []byte
	var size int64
	var truncated bool
	var attempts int
	err := a.DB.QueryRowContext(ctx, `SELECT state, raw, size, truncated, attempts, error FROM inbound_messages WHERE id = $1`, id).
		Scan(&state, &raw, &size, &truncated, &attempts, &lastErr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // nothing to do: the row is gone
	}
	if err != nil {
		return fmt.Errorf("inbox: act %d: load: %w", id, err)
	}
	if state != StateStored {
		return nil
	}
	if attempts >= a.maxAttempts() {
		return a.quarantine(ctx, id, raw, attempts, lastErr)
	}

	actCtx, cancel := context.WithTimeoutCause(ctx, a.messageTimeout(),
		fmt.Errorf("inbox: act %d: %w after %s", id, errActTimeout, a.messageTimeout()))
	defer cancel()
	err = a.act(actCtx, id, raw, size, truncated)
	if err == nil {
		return nil
	}
	if errors.Is(context.Cause(actCtx), errActTimeout) {
		err = context.Cause(actCtx)
	}
	if ctx.Err() != nil && !errors.Is(err, errActTimeout) {
		// Shutting down (or the job ran out): not the message's fault.
		return err
	}
	a.Metrics.failed()
	a.logger().Warn("acting on an inbound message failed", "inbound", id, "attempt", attempts+1, "err", err)
	// Recorded even when ctx is done: the count is what stops retries.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if _, uerr := a.DB.ExecContext(rctx, `UPDATE inbound_messages SET attempts = attempts + 1, error = $1 WHERE id = $2 AND state = $3`,
		snippet(err.Error(), 2000), id, StateStored); uerr != nil {
		return errors.Join(err, fmt.Errorf("inbox: act %d: record failure: %w", id, uerr))
	}
	if attempts+1 >= a.maxAttempts() {
		return a.quarantine(rctx, id, raw, attempts+1, err.Error())
	}
	return err
}

// errActTimeout: acting on one message took longer than MessageTimeout.
var errActTimeout = errors.New("timed out")

// quarantine sets a message that keeps failing aside, in triage, with its
// last error: it is never acted on again, and the messages behind it go
// on.
func (a *Actor) quarantine(ctx context.Context, id int64, raw []byte, attempts int, lastErr string) error {
	h := peekHeader(raw, a.Limits.withDefaults().MaxHeaderBytes)
	out := outcome{state: StateTriage, class: string(ClassQuarantined), sender: h.sender, senderName: h.senderName, subject: h.subject,
		action: fmt.Sprintf("quarantined after %d failed attempts; not acted on", attempts),
		err:    lastErr}
	a.logger().Error("inbound message quarantined", "inbound", id, "attempts", attempts, "err", lastErr)
	if err := a.finishAlone(ctx, id, out); err != nil {
		return err
	}
	a.Metrics.quarantined()
	return nil
}

// parse runs ParseLimited under ctx. enmime cannot be interrupted: when
// ctx ends first the parse goes on in the background (CheckStructure
// bounds how long), and until it is over another attempt of the same
// message fails at once rather than run beside it.
func (a *Actor) parse(ctx context.Context, id int64, raw []byte) (*Message, error) {
	if _, busy := a.parsing.LoadOrStore(id, struct{}{}); busy {
		return nil, fmt.Errorf("inbox: act %d: an earlier attempt is still parsing the message", id)
	}
	type result struct {
		m   *Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer a.parsing.Delete(id)
		m, err := ParseLimited(raw, 0, a.Limits)
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		return r.m, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("inbox: act %d: parse: %w", id, context.Cause(ctx))
	}
}

// act does Act's work for one attempt.
func (a *Actor) act(ctx context.Context, id int64, raw []byte, size int64, truncated bool) error {
	log := a.logger().With("inbound", id)
	m, perr := a.parse(ctx, id, raw)
	switch {
	case perr == nil:
	case errs.CodeOf(perr) == errs.TooLarge:
		// Over a parsing limit: kept raw, never parsed further, shown
		// to people with the reason.
		h := peekHeader(raw, a.Limits.withDefaults().MaxHeaderBytes)
		a.Metrics.malformed()
		return a.finishAlone(ctx, id, outcome{state: StateTriage, class: string(ClassMalformed), sender: h.sender, senderName: h.senderName,
			subject: h.subject, action: "over a parsing limit; stored raw and not parsed; waiting in triage",
			err: strings.TrimPrefix(perr.Error(), "inbox: ")})
	case errs.CodeOf(perr) == errs.Invalid:
		return a.finishAlone(ctx, id, outcome{state: StateRejected, err: "unreadable message: " + perr.Error()})
	default:
		return perr
	}
	out := outcome{
		class: string(Classify(m)), sender: strings.ToLower(m.From.Email), senderName: m.From.Name,
		subject: snippet(m.Subject, 998), newText: snippet(m.NewText, 100_000),
	}
	if own, err := ourMessage(ctx, a.DB, m.MessageID); err != nil {
		return err
	} else if own {
		out.state, out.class, out.action = StateProcessed, string(ClassOwn), "the hub's own message; ignored"
		return a.finishAlone(ctx, id, out)
	}
	inc, by, err := a.match(ctx, a.DB, m)
	if err != nil {
		return err
	}
	if inc != nil {
		out.incidentID, out.matchedBy = inc.ID, by
	}
	if truncated {
		// Too large to act on: the start of it is kept for people.
		out.state = StateRejected
		out.err = fmt.Sprintf("message of %d bytes is over the limit; only the first %d bytes were stored", size, len(raw))
		return a.finishAlone(ctx, id, out)
	}

	switch Class(out.class) {
	case ClassProbe:
		// sitrep doctor's loop check: it arrived, which is all it is for.
		out.state, out.action = StateProcessed, "route probe of sitrep doctor; not acted on"
		err = a.finishAlone(ctx, id, out)
	case ClassAutoReply:
		// RFC 3834 2: never answer an automatic response; and it is not
		// what a person said, so it stays off the timeline.
		out.state, out.action = StateProcessed, "auto-reply recorded; not answered"
		if inc == nil {
			out.state = StateTriage
		}
		err = a.finishAlone(ctx, id, out)
	case ClassBounce:
		err = a.actOnBounce(ctx, id, m, inc, out)
	case ClassCalendarReply:
		err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
			out.state, out.action = StateProcessed, "calendar reply recorded"
			if a.OnCalendarReply != nil {
				if err := a.OnCalendarReply(ctx, tx, id, m, inc); err != nil {
					return err
				}
			}
			return a.finish(ctx, tx, id, out)
		})
	default:
		if token, ok := a.draftToken(m); ok && a.OnDraftReply != nil {
			err = a.actOnDraftReply(ctx, id, m, token, out)
			break
		}
		if a.isReport(m) {
			err = a.fileReport(ctx, id, m, inc, out)
			break
		}
		if inc == nil {
			out.state, out.action = StateTriage, "matched no incident; waiting in triage"
			err = a.finishAlone(ctx, id, out)
			break
		}
		err = a.actOnReply(ctx, id, m, inc, by, out, log)
	}
	if err != nil {
		return err
	}
	if a.OnProcessed != nil {
		a.OnProcessed()
	}
	return nil
}

// errAlreadyDone: another worker acted on the message first.
var errAlreadyDone = errors.New("inbox: message already acted on")

func (a *Actor) finishAlone(ctx context.Context, id int64, out outcome) error {
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.finish(ctx, tx, id, out) })
	if errors.Is(err, errAlreadyDone) {
		return nil
	}
	if err == nil && a.OnProcessed != nil {
		a.OnProcessed()
	}
	return err
}

// finish writes the outcome, only if the row is still waiting: together
// with the effects in tx, this is what makes acting happen once.
func (a *Actor) finish(ctx context.Context, tx *sql.Tx, id int64, out outcome) error {
	var incID sql.NullInt64
	if out.incidentID > 0 {
		incID = sql.NullInt64{Int64: out.incidentID, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `UPDATE inbound_messages SET state = $1, class = $2, sender = $3, sender_name = $4, subject = $5,
    new_text = $6, incident_id = $7, matched_by = $8, action = $9, error = $10, processed_at = $11 WHERE id = $12 AND state = $13`,
		out.state, out.class, out.sender, out.senderName, out.subject, out.newText, incID, out.matchedBy, snippet(out.action, 2000),
		snippet(out.err, 2000), a.now(), id, StateStored)
	if err != nil {
		return fmt.Errorf("inbox: act %d: record: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errAlreadyDone
	}
	return nil
}

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
func (a *Actor) actOnReply(ctx context.Context, id int64, m *Message, inc *incident.Incident, by string, out outcome, log *slog.Logger) error {
	cmd := ParseCommand(m.NewText)
	lead := isLead(inc, out.sender)
	isCommand := (lead && cmd.Kind != CommandNone) || cmd.Kind == CommandHold || cmd.Kind == CommandResolve

	if !isCommand {
		return a.fileReply(ctx, id, m, inc, out, "")
	}
	// All must hold (issue 4): a lead of this incident, through this
	// incident's reply address, and a From that a trusted server vouched for.
	var reasons []string
	if !lead {
		reasons = append(reasons, fmt.Sprintf("%s is not a lead of %s", out.sender, inc.Ref))
	}
	if by != MatchToken {
		reasons = append(reasons, fmt.Sprintf("the message was not sent to %s's reply address", inc.Ref))
	}
	if v := CheckAuthentication(m, a.TrustedAuthServIDs); !v.Pass {
		reasons = append(reasons, "the sender could not be authenticated: "+v.Reason)
	}
	if len(reasons) > 0 {
		return a.refuse(ctx, id, m, inc, cmd, out, strings.Join(reasons, "; "))
	}

	actor := out.sender
	switch cmd.Kind {
	case CommandResolve:
		resolve := a.Resolve
		if resolve == nil {
			resolve = a.defaultResolve
		}
		err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
			if err := resolve(ctx, tx, inc, actor, cmd.Text); err != nil {
				if errs.CodeOf(err) == errs.Internal {
					return err
				}
				return errRefused{err}
			}
			out.state, out.action = StateProcessed, "resolve by reply: "+inc.Ref+" resolved"
			if err := a.replyEvent(ctx, tx, id, inc, out, map[string]any{"command": string(cmd.Kind)}); err != nil {
				return err
			}
			return a.finish(ctx, tx, id, out)
		})
		var refused errRefused
		switch {
		case errors.As(err, &refused):
			return a.refuse(ctx, id, m, inc, cmd, out, refused.error.Error())
		case errors.Is(err, errAlreadyDone):
			return nil
		}
		return err
	default: // update or hold
		in := incident.UpdateInput{Status: cmd.Text, Holding: cmd.Kind == CommandHold, IdempotencyKey: fmt.Sprintf("inbound-%d", id)}
		if cmd.Next > 0 {
			in.Next = cmd.Next.String()
		} else if cmd.NextAt != "" {
			t, err := a.clockTime(actor, cmd.NextAt)
			if err != nil {
				return a.refuse(ctx, id, m, inc, cmd, out, err.Error())
			}
			in.NextAt = &t
		}
		sent, err := a.alreadySent(ctx, in.IdempotencyKey)
		if err != nil {
			return err
		}
		if !sent {
			if _, err := a.Comms.SendUpdate(ctx, actor, inc.Ref, in); err != nil {
				if errs.CodeOf(err) == errs.Internal {
					return err
				}
				return a.refuse(ctx, id, m, inc, cmd, out, err.Error())
			}
		}
		out.state, out.action = StateProcessed, fmt.Sprintf("%s by reply: status update sent", cmd.Kind)
		log.Info("status update by reply", "incident", inc.Ref, "by", actor, "kind", cmd.Kind)
		err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
			if err := a.replyEvent(ctx, tx, id, inc, out, map[string]any{"command": string(cmd.Kind)}); err != nil {
				return err
			}
			return a.finish(ctx, tx, id, out)
		})
		if errors.Is(err, errAlreadyDone) {
			return nil
		}
		return err
	}
}

// errRefused wraps a domain error that turns a command into a refusal.
type errRefused struct{ error }

func (e errRefused) Unwrap() error { return e.error }

func (a *Actor) defaultResolve(ctx context.Context, tx *sql.Tx, inc *incident.Incident, actor, note string) error {
	if note == "" {
		note = "resolved by reply"
	} else {
		note = "resolved by reply: " + note
	}
	return a.Incidents.TransitionTx(ctx, tx, actor, inc.ID, incident.Resolved, snippet(note, 2000))
}

// alreadySent reports whether the update of an earlier attempt went out:
// the job may run again after a crash between sending and recording.
func (a *Actor) alreadySent(ctx context.Context, key string) (bool, error) {
	var one int
	err := a.DB.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE idempotency_key = $1`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inbox: idempotency: %w", err)
	}
	return true, nil
}

// clockTime turns "15:30" into the next such time in the person's zone.
func (a *Actor) clockTime(email, hhmm string) (time.Time, error) {
	loc := time.UTC
	if p, ok := a.Outbox.Directory.Current().Person(email); ok && p.TimeZone != "" {
		if l, err := time.LoadLocation(p.TimeZone); err == nil {
			loc = l
		}
	}
	t, err := time.ParseInLocation("15:04", hhmm, loc)
	if err != nil {
		return time.Time{}, errs.InvalidField("next", "cannot read the time %q", hhmm)
	}
	now := a.now().In(loc)
	at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, loc)
	if !at.After(now) {
		at = at.AddDate(0, 0, 1)
	}
	return at.UTC(), nil
}

// replyEvent puts the reply on the timeline: once per message, in the
// transaction that marks it done.
func (a *Actor) replyEvent(ctx context.Context, tx *sql.Tx, id int64, inc *incident.Incident, out outcome, extra map[string]any) error {
	data := map[string]any{"inbound": id, "class": out.class, "from": out.sender, "matched_by": out.matchedBy}
	for k, v := range extra {
		data[k] = v
	}
	text := fmt.Sprintf("Reply from %s: %s", out.sender, snippet(out.newText, 2000))
	_, err := incident.AddEvent(ctx, tx, a.now(), inc.ID, incident.EventReply, out.sender, text, data)
	return err
}

// fileReply puts a reply on the timeline and forwards it to the comms lead,
// only: the guide's "keep the resolution channel clear".
func (a *Actor) fileReply(ctx context.Context, id int64, m *Message, inc *incident.Incident, out outcome, note string) error {
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		if a.OnReply != nil {
			handled, action, err := a.OnReply(ctx, tx, inc, out.sender, out.newText, a.now())
			if err != nil {
				return err
			}
			if handled {
				out.state, out.action = StateProcessed, action
				return a.finish(ctx, tx, id, out)
			}
		}
		out.state, out.action = StateProcessed, "on the timeline"
		if err := a.replyEvent(ctx, tx, id, inc, out, nil); err != nil {
			return err
		}
		to := commsContact(inc)
		if to != "" && strings.TrimSpace(out.newText) != "" && !strings.EqualFold(to, out.sender) {
			from := out.sender
			if out.senderName != "" {
				from = out.senderName + " <" + out.sender + ">"
			}
			_, err := a.Outbox.Queue(ctx, tx, compose.Outgoing{
				Thread: inc.Thread(compose.Leads), Kind: compose.KindStakeholderReply, People: []string{to},
				Data: compose.StakeholderReplyData{Incident: a.Comms.View(inc), From: from, Audience: a.groupOf(out.sender),
					Subject: out.subject, Question: out.newText, ReceivedAt: a.now(), Now: a.now()},
				Actor: "sitrep",
			})
			if err != nil {
				return err
			}
			out.action = "on the timeline; forwarded to " + to
		}
		return a.finish(ctx, tx, id, out)
	})
	if errors.Is(err, errAlreadyDone) {
		return nil
	}
	return err
}

// groupOf names the first group a person is in, for the comms lead.
func (a *Actor) groupOf(email string) string {
	d := a.Outbox.Directory.Current()
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

// refuse files a command that was not carried out as an ordinary reply
// and tells the incident's leads why. The sender is not written to: it may
// be whoever forged the message.
func (a *Actor) refuse(ctx context.Context, id int64, m *Message, inc *incident.Incident, cmd Command, out outcome, reason string) error {
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		out.state, out.err = StateProcessed, "command refused: "+reason
		out.action = "on the timeline; command refused"
		if err := a.replyEvent(ctx, tx, id, inc, out, map[string]any{"command": string(cmd.Kind), "refused": reason}); err != nil {
			return err
		}
		if to := leads(inc); len(to) > 0 {
			first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(m.NewText), "\n", 2)[0])
			_, err := a.Outbox.Queue(ctx, tx, compose.Outgoing{
				Thread: inc.Thread(compose.Leads), Kind: compose.KindCommandRefused, People: to,
				Data: compose.CommandRefusedData{Incident: a.Comms.View(inc), Subject: out.subject, Command: snippet(first, 200),
					Reason: fmt.Sprintf("from %s: %s", out.sender, reason), Now: a.now(),
					Allowed: []string{"the text of the next update (with an optional line next: 45m)", "hold 30m", "resolve"}},
				Actor: "sitrep",
			})
			if err != nil {
				return err
			}
			out.action += "; leads told"
		}
		return a.finish(ctx, tx, id, out)
	})
	if errors.Is(err, errAlreadyDone) {
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
func (a *Actor) actOnBounce(ctx context.Context, id int64, m *Message, inc *incident.Incident, out outcome) error {
	b := m.Bounce
	tags := a.bounceTags(m)
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := a.now()
		var failed, delayed, unverified []string
		for _, r := range b.Recipients {
			if r.Address == "" {
				continue
			}
			if !r.Permanent {
				delayed = append(delayed, r.Address) // changes nothing
				continue
			}
			d, err := verifyBounce(ctx, tx, tags, r.Address)
			if errors.Is(err, outbox.ErrBounceUnverified) {
				unverified = append(unverified, r.Address)
				continue
			}
			if err != nil {
				return fmt.Errorf("inbox: bounce: %w", err)
			}
			// The incident is the one of the message that bounced, whatever
			// the report's headers say.
			if inc == nil || !a.sameIncident(ctx, tx, inc, d.MessageID) {
				if inc, err = a.incidentOfRow(ctx, tx, d.MessageID); err != nil {
					return err
				}
				out.incidentID, out.matchedBy = inc.ID, MatchBounce
			}
			reason := strings.TrimSpace(r.Status + " " + r.Diagnostic)
			if err := outbox.FailBounced(ctx, tx, d, snippet("bounced: "+reason, 1000)); err != nil {
				return err
			}
			var already bool
			err = tx.QueryRowContext(ctx, `SELECT bouncing FROM address_status WHERE email = $1`, strings.ToLower(d.Email)).Scan(&already)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("inbox: bounce: %w", err)
			}
			if err := outbox.MarkBouncing(ctx, tx, d.Email, reason, now); err != nil {
				return err
			}
			failed = append(failed, d.Email)
			if already {
				continue
			}
			if _, err := incident.AddEvent(ctx, tx, now, inc.ID, incident.EventNote, "sitrep",
				fmt.Sprintf("Delivery to %s failed: %s", d.Email, reason), map[string]any{"inbound": id, "bounce": d.Email}); err != nil {
				return err
			}
			if to := commsContact(inc); to != "" && !strings.EqualFold(to, d.Email) {
				_, err := a.Outbox.Queue(ctx, tx, compose.Outgoing{
					Thread: inc.Thread(compose.Leads), Kind: compose.KindBounceNotice, People: []string{to},
					Data: compose.BounceNoticeData{Incident: a.Comms.View(inc), Address: d.Email, Group: d.Group,
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
			action, err := a.unverifiedBounce(ctx, tx, id, m, inc, unverified, len(tags) > 0)
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
			out.state, out.action = StateTriage, strings.Join(actions, "; ")+"; waiting in triage"
		case len(actions) > 0:
			out.state, out.action = StateProcessed, strings.Join(actions, "; ")
		case inc != nil:
			out.state, out.action = StateProcessed, "bounce recorded; it names no recipient of the message"
		default:
			out.state, out.action = StateTriage, "bounce of a message that is not ours; waiting in triage"
		}
		return a.finish(ctx, tx, id, out)
	})
	if errors.Is(err, errAlreadyDone) {
		return nil
	}
	return err
}

// MatchBounce: a verified bounce named the incident (its bounce address
// names the message that bounced).
const MatchBounce = "bounce"

// unverifiedBounce files a report of failures it could not verify: on
// the incident's timeline, and the leads told, as refused commands are.
// It returns the action for the inbound record.
func (a *Actor) unverifiedBounce(ctx context.Context, tx *sql.Tx, id int64, m *Message, inc *incident.Incident, addrs []string, toBounceAddress bool) (string, error) {
	reason := "it did not come back to the address any update was sent from"
	if toBounceAddress {
		reason = "it came back to the address of a transaction that did not go to " + plural(len(addrs), "this address", "these addresses")
	}
	action := "unverified bounce, no delivery changed (" + reason + "): " + strings.Join(addrs, ", ")
	if inc == nil {
		return action, nil
	}
	sender := strings.ToLower(m.From.Email)
	if _, err := incident.AddEvent(ctx, tx, a.now(), inc.ID, incident.EventNote, "sitrep",
		fmt.Sprintf("Unverified bounce from %s for %s: %s; no delivery changed", sender, strings.Join(addrs, ", "), reason),
		map[string]any{"inbound": id, "unverified_bounce": addrs}); err != nil {
		return "", err
	}
	if to := leads(inc); len(to) > 0 {
		_, err := a.Outbox.Queue(ctx, tx, compose.Outgoing{
			Thread: inc.Thread(compose.Leads), Kind: compose.KindUnverifiedBounce, People: to,
			Data: compose.UnverifiedBounceData{Incident: a.Comms.View(inc), From: sender, Recipients: addrs,
				Reason: reason, At: m.Date, Now: a.now()},
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
func (a *Actor) bounceTags(m *Message) []string {
	var out []string
	for _, t := range m.ReplyTokens(a.LocalPart) {
		if _, _, ok := outbox.ParseBounceTag(t); ok {
			out = append(out, t)
		}
	}
	return out
}

// verifyBounce finds the delivery to addr that one of tags vouches for.
func verifyBounce(ctx context.Context, q store.Querier, tags []string, addr string) (outbox.BouncedDelivery, error) {
	for _, tag := range tags {
		d, err := outbox.VerifyBounce(ctx, q, tag, addr)
		if errors.Is(err, outbox.ErrBounceUnverified) {
			continue
		}
		return d, err
	}
	return outbox.BouncedDelivery{}, outbox.ErrBounceUnverified
}

func (a *Actor) sameIncident(ctx context.Context, q store.Querier, inc *incident.Incident, messageRow int64) bool {
	var incID int64
	err := q.QueryRowContext(ctx, `SELECT incident_id FROM messages WHERE id = $1`, messageRow).Scan(&incID)
	return err == nil && incID == inc.ID
}

// incidentOfRow reads the incident of one of the hub's messages by row.
func (a *Actor) incidentOfRow(ctx context.Context, q store.Querier, messageRow int64) (*incident.Incident, error) {
	var incID int64
	if err := q.QueryRowContext(ctx, `SELECT incident_id FROM messages WHERE id = $1`, messageRow).Scan(&incID); err != nil {
		return nil, fmt.Errorf("inbox: bounce: message %d: %w", messageRow, err)
	}
	return a.Incidents.GetByID(ctx, q, incID)
}

// ReportTag marks the report addresses: <local>+report@<domain> for any
// report, <local>+report-<token>@<domain> for one incident's.
const ReportTag = "report"

// isReport reports whether the message was sent to a report address.
func (a *Actor) isReport(m *Message) bool {
	for _, token := range m.ReplyTokens(a.LocalPart) {
		if token == ReportTag || strings.HasPrefix(token, ReportTag+"-") {
			return true
		}
	}
	return false
}

// fileReport files an emailed report on its incident (the guide's "who
// saw what, where"): the sender is the reporter and will be asked to
// confirm the fix. A report for no known incident waits in triage.
func (a *Actor) fileReport(ctx context.Context, id int64, m *Message, inc *incident.Incident, out outcome) error {
	if inc == nil {
		out.state, out.class, out.action = StateTriage, string(ClassReport), "a report for no known incident; waiting in triage"
		return a.finishAlone(ctx, id, out)
	}
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		observed := strings.TrimSpace(out.newText)
		if observed == "" {
			observed = out.subject
		}
		if _, err := a.Incidents.AddReport(ctx, tx, out.sender, inc.Ref, incident.ReportInput{
			Email: out.sender, Name: out.senderName, Observed: snippet(observed, 5000), Channel: "email"}); err != nil {
			if errs.CodeOf(err) == errs.Internal {
				return err
			}
			out.state, out.action, out.err = StateRejected, "report not filed", err.Error()
			return a.finish(ctx, tx, id, out)
		}
		out.state, out.action = StateProcessed, "filed as a report"
		return a.finish(ctx, tx, id, out)
	})
	if errors.Is(err, errAlreadyDone) {
		return nil
	}
	return err
}

// DraftTag starts the plus part of a monitoring draft's reply address.
const DraftTag = "draft-"

func (a *Actor) draftToken(m *Message) (string, bool) {
	for _, token := range m.ReplyTokens(a.LocalPart) {
		if strings.HasPrefix(token, DraftTag) {
			return strings.TrimPrefix(token, DraftTag), true
		}
	}
	return "", false
}

// actOnDraftReply declares or dismisses a monitoring draft by reply, when
// a lead of the directory sent it and a trusted server vouched for them.
func (a *Actor) actOnDraftReply(ctx context.Context, id int64, m *Message, token string, out outcome) error {
	switch {
	case a.IsLead == nil || !a.IsLead(out.sender):
		out.state, out.err = StateRejected, out.sender+" may not declare or dismiss a draft: only comms and incident leads may"
		return a.finishAlone(ctx, id, out)
	case !CheckAuthentication(m, a.TrustedAuthServIDs).Pass:
		out.state, out.err = StateRejected, "the sender could not be authenticated: "+CheckAuthentication(m, a.TrustedAuthServIDs).Reason
		return a.finishAlone(ctx, id, out)
	}
	first := ""
	for _, line := range strings.Split(out.newText, "\n") {
		if strings.TrimSpace(line) != "" {
			first = strings.TrimSpace(line)
			break
		}
	}
	result, err := a.OnDraftReply(ctx, token, out.sender, first)
	switch {
	case err != nil && errs.CodeOf(err) == errs.Internal:
		return err
	case err != nil:
		out.state, out.err = StateRejected, err.Error()
	default:
		out.state, out.action = StateProcessed, result
	}
	return a.finishAlone(ctx, id, out)
}
