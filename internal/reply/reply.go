// Package reply is the one use case for mail that arrives: the inbox
// stores each message durably and parses it, then hands it here. Reply
// decides what it is about (the incident its reply token, thread or
// subject names) and what it may do: a lead's command, proven by a
// trusted Authentication-Results, is carried out; anything else goes on
// the timeline, and a stakeholder's question to the comms lead; a
// bounce changes a delivery only when it proves it answers one. It acts
// through the small interfaces it declares, and records the outcome on
// the inbound message in the same transaction as every effect, so that a
// message is acted on once.
package reply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Inbox records what became of an inbound message.
type Inbox interface {
	// Finish writes the outcome in tx, only if the message still waits
	// to be acted on; else it returns mailmsg.ErrAlreadyDone.
	Finish(ctx context.Context, tx *sql.Tx, id int64, out mailmsg.Outcome) error
}

// Triage is the inbox's store, where messages that matched nothing wait
// for a person to file them.
type Triage interface {
	File(ctx context.Context, tx *sql.Tx, id, key int64, ref, actor string) (*mailmsg.Inbound, error)
	Get(ctx context.Context, id int64) (*mailmsg.Inbound, error)
}

// Mail is what the reply flow needs of the outbox: to send in the
// incident's threads, and to know its own messages.
type Mail interface {
	incident.Mailer
	IsOurs(ctx context.Context, q store.Querier, messageID string) (bool, error)
	ThreadKeyOf(ctx context.Context, q store.Querier, messageID string) (int64, error)
	SentWithKey(ctx context.Context, key string) (bool, error)
	IsBounceTag(plus string) bool
	// RecordBounce fails the delivery a bounce proves it answers; an
	// unproven one is an error that Unverified recognises.
	RecordBounce(ctx context.Context, tx *sql.Tx, tags []string, addr, reason string, now time.Time) (compose.Bounced, error)
	Unverified(err error) bool
}

// Resolution carries out a lead's "resolve" by mail, and takes answers to
// "is it fixed for you?".
type Resolution interface {
	ResolveByReply(ctx context.Context, tx *sql.Tx, inc *incident.Incident, actor, note, public string) error
	// AnswerByReply reports whether it took the reply for itself, with a
	// word for the inbound record.
	AnswerByReply(ctx context.Context, tx *sql.Tx, inc *incident.Incident, sender, newText string, at time.Time) (handled bool, action string, err error)
}

// Drafts acts on a lead's reply to a monitoring draft's note: the first
// line says "declare [SEV]" or "dismiss [reason]".
type Drafts interface {
	HandleReply(ctx context.Context, token, from, firstLine string) (string, error)
}

// Invitations records an attendee's answer (iMIP REPLY) to a post-mortem
// invitation.
type Invitations interface {
	RecordCalendarReply(ctx context.Context, tx *sql.Tx, ics []byte) error
}

// Subscriptions carries out "subscribe" and "unsubscribe" by reply, for
// the sender alone (kind "incident" with the incident's ref, "all", or
// "system" with the system). Who may subscribe is its to decide: a
// refusal is an errs.Invalid or errs.NotFound error with nothing changed.
type Subscriptions interface {
	SubscribeByReply(ctx context.Context, sender, kind, target string) (string, error)
	UnsubscribeByReply(ctx context.Context, sender, kind, target string) (string, error)
}

// Service acts on parsed inbound mail (an inbox.Handler).
type Service struct {
	DB        *store.DB
	Incidents *incident.Service
	Comms     *incident.Comms
	Mail      Mail
	Directory incident.Directory
	Inbox     Inbox
	Triage    Triage
	Logger    *slog.Logger
	Now       func() time.Time

	// Resolution, when set, runs the resolution flow for a lead's
	// "resolve" and files confirmations; without it "resolve" only moves
	// the incident to resolved.
	Resolution Resolution
	// Drafts, when set, takes replies to monitoring drafts' notes.
	Drafts Drafts
	// Invitations, when set, takes answers to post-mortem invitations.
	Invitations Invitations
	// Questions batches stakeholders' questions to the comms lead.
	Questions Questions
	// Subscriptions, when set, takes "subscribe" and "unsubscribe" replies.
	Subscriptions Subscriptions

	// LocalPart is the local part of the reply addresses (status in
	// status+<token>@example.com).
	LocalPart string
	// TrustedAuthServIDs are the authserv-ids whose Authentication-Results
	// are believed for commands (see mailmsg.CheckAuthentication).
	TrustedAuthServIDs []string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Handle acts on one parsed message; its outcome is recorded through
// Inbox with its effects.
func (s *Service) Handle(ctx context.Context, r *mailmsg.Received) error {
	id, m, out := r.ID, r.Message, r.Outcome
	log := s.logger().With("inbound", id)
	if own, err := s.Mail.IsOurs(ctx, s.DB, m.MessageID); err != nil {
		return err
	} else if own {
		out.State, out.Class, out.Action = mailmsg.StateProcessed, string(mailmsg.ClassOwn), "the hub's own message; ignored"
		return s.finishAlone(ctx, id, out)
	}
	inc, by, err := s.match(ctx, s.DB, m)
	if err != nil {
		return err
	}
	if inc != nil {
		out.IncidentID, out.MatchedRef, out.MatchedBy = inc.ID, inc.Ref, by
	}
	if r.Truncated {
		// Too large to act on: the start of it is kept for people.
		out.State = mailmsg.StateRejected
		out.Err = fmt.Sprintf("message of %d bytes is over the limit; only the first %d bytes were stored", r.Size, r.Stored)
		return s.finishAlone(ctx, id, out)
	}

	switch mailmsg.Class(out.Class) {
	case mailmsg.ClassProbe:
		// sitrep doctor's loop check: it arrived, which is all it is for.
		out.State, out.Action = mailmsg.StateProcessed, "route probe of sitrep doctor; not acted on"
		err = s.finishAlone(ctx, id, out)
	case mailmsg.ClassAutoReply:
		// RFC 3834 2: never answer an automatic response; and it is not
		// what a person said, so it stays off the timeline.
		out.State, out.Action = mailmsg.StateProcessed, "auto-reply recorded; not answered"
		if inc == nil {
			out.State = mailmsg.StateTriage
		}
		err = s.finishAlone(ctx, id, out)
	case mailmsg.ClassBounce:
		err = s.actOnBounce(ctx, id, m, inc, out)
	case mailmsg.ClassCalendarReply:
		err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
			out.State, out.Action = mailmsg.StateProcessed, "calendar reply recorded"
			if s.Invitations != nil && m.Calendar != nil {
				if err := s.Invitations.RecordCalendarReply(ctx, tx, m.Calendar.Raw); err != nil {
					return err
				}
			}
			return s.Inbox.Finish(ctx, tx, id, out)
		})
	default:
		if token, ok := s.draftToken(m); ok && s.Drafts != nil {
			err = s.actOnDraftReply(ctx, id, m, token, out)
			break
		}
		if s.isReport(m) {
			err = s.fileReport(ctx, id, m, inc, out)
			break
		}
		if inc == nil {
			out.State, out.Action = mailmsg.StateTriage, "matched no incident; waiting in triage"
			err = s.finishAlone(ctx, id, out)
			break
		}
		err = s.actOnReply(ctx, id, m, inc, by, out, log)
	}
	return err
}

func (s *Service) finishAlone(ctx context.Context, id int64, out mailmsg.Outcome) error {
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.Inbox.Finish(ctx, tx, id, out) })
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	return err
}
