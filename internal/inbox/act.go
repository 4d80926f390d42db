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

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Actor acts on stored inbound messages, from River jobs that each carry
// the messages of one ingest transaction (see ActArgs).
type Actor struct {
	DB *store.DB
	// Handler acts on each parsed message and records its outcome
	// through Finish.
	Handler Handler
	// Wake, when set, is told after a message is acted on (serve passes
	// the ingester, so that the message is flagged at once).
	Wake   Waker
	Logger *slog.Logger
	Now    func() time.Time

	// Limits bound the parsing of each message (zero fields take
	// mailmsg.DefaultLimits); a message over one is filed in triage as malformed.
	Limits mailmsg.Limits
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

// Handler acts on parsed messages: the reply use case in production. It
// records each Outcome through Finish, in the transaction of its effects.
type Handler interface {
	Handle(ctx context.Context, r *mailmsg.Received) error
}

// Waker is told when a message was acted on (the ingester flags it at once).
type Waker interface{ Wake() }

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
	err := a.DB.QueryRowContext(ctx, queries.Get("load-for-acting"), id).
		Scan(&state, &raw, &size, &truncated, &attempts, &lastErr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // nothing to do: the row is gone
	}
	if err != nil {
		return fmt.Errorf("inbox: act %d: load: %w", id, err)
	}
	if state != mailmsg.StateStored {
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
	if _, uerr := a.DB.ExecContext(rctx, queries.Get("record-failed-attempt"),
		snippet(err.Error(), 2000), id, mailmsg.StateStored); uerr != nil {
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
	h := mailmsg.PeekHeader(raw, a.Limits.WithDefaults().MaxHeaderBytes)
	out := mailmsg.Outcome{State: mailmsg.StateTriage, Class: string(mailmsg.ClassQuarantined), Sender: h.Sender, SenderName: h.SenderName, Subject: h.Subject,
		Action: fmt.Sprintf("quarantined after %d failed attempts; not acted on", attempts),
		Err:    lastErr}
	a.logger().Error("inbound message quarantined", "inbound", id, "attempts", attempts, "err", lastErr)
	if err := a.finishAlone(ctx, id, out); err != nil {
		return err
	}
	a.Metrics.quarantined()
	return nil
}

// parse runs mailmsg.ParseLimited under ctx. enmime cannot be interrupted: when
// ctx ends first the parse goes on in the background (mailmsg.CheckStructure
// bounds how long), and until it is over another attempt of the same
// message fails at once rather than run beside it.
func (a *Actor) parse(ctx context.Context, id int64, raw []byte) (*mailmsg.Message, error) {
	if _, busy := a.parsing.LoadOrStore(id, struct{}{}); busy {
		return nil, fmt.Errorf("inbox: act %d: an earlier attempt is still parsing the message", id)
	}
	type result struct {
		m   *mailmsg.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer a.parsing.Delete(id)
		m, err := mailmsg.ParseLimited(raw, 0, a.Limits)
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
	m, perr := a.parse(ctx, id, raw)
	switch {
	case perr == nil:
	case errs.CodeOf(perr) == errs.TooLarge:
		// Over a parsing limit: kept raw, never parsed further, shown
		// to people with the reason.
		h := mailmsg.PeekHeader(raw, a.Limits.WithDefaults().MaxHeaderBytes)
		a.Metrics.malformed()
		return a.finishAlone(ctx, id, mailmsg.Outcome{State: mailmsg.StateTriage, Class: string(mailmsg.ClassMalformed), Sender: h.Sender, SenderName: h.SenderName,
			Subject: h.Subject, Action: "over a parsing limit; stored raw and not parsed; waiting in triage",
			Err: strings.TrimPrefix(perr.Error(), "mailmsg: ")})
	case errs.CodeOf(perr) == errs.Invalid:
		return a.finishAlone(ctx, id, mailmsg.Outcome{State: mailmsg.StateRejected, Err: "unreadable message: " + perr.Error()})
	default:
		return perr
	}
	out := mailmsg.Outcome{
		Class: string(mailmsg.Classify(m)), Sender: strings.ToLower(m.From.Email), SenderName: m.From.Name,
		Subject: snippet(m.Subject, 998), NewText: snippet(m.NewText, 100_000),
	}
	err := a.Handler.Handle(ctx, &mailmsg.Received{ID: id, Message: m, Outcome: out, Truncated: truncated, Size: size, Stored: int64(len(raw))})
	if err != nil {
		return err
	}
	if a.Wake != nil {
		a.Wake.Wake()
	}
	return nil
}

func (a *Actor) finishAlone(ctx context.Context, id int64, out mailmsg.Outcome) error {
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.Finish(ctx, tx, id, out) })
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	if err == nil && a.Wake != nil {
		a.Wake.Wake()
	}
	return err
}

// finish writes the Outcome, only if the row is still waiting: together
// with the effects in tx, this is what makes acting happen once.
func (a *Actor) Finish(ctx context.Context, tx *sql.Tx, id int64, out mailmsg.Outcome) error {
	var incID sql.NullInt64
	if out.IncidentID > 0 {
		incID = sql.NullInt64{Int64: out.IncidentID, Valid: true}
	}
	res, err := tx.ExecContext(ctx, queries.Get("finish"),
		out.State, out.Class, out.Sender, out.SenderName, out.Subject, out.NewText, incID, out.MatchedBy, snippet(out.Action, 2000),
		snippet(out.Err, 2000), a.now(), id, mailmsg.StateStored, out.MatchedRef)
	if err != nil {
		return fmt.Errorf("inbox: act %d: record: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return mailmsg.ErrAlreadyDone
	}
	return nil
}
