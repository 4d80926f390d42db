package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// A row of chat_posts is in one of these states.
const (
	StatePending = "pending" // to post
	StateSending = "sending" // a call was (or is being) made; its outcome is not recorded yet
	StatePosted  = "posted"  // the target took it
	StateUnknown = "unknown" // the call may or may not have reached a target that cannot be read back: not posted again
	StateRefused = "refused" // the target refused it for good, or every try for a day failed
)

const (
	// postTimeout bounds one post, above the 30 s each of the posters'
	// HTTP calls waits (Slack's Web API makes up to three for one post:
	// find the thread, edit its parent, reply) and IRC's wait for its
	// connection, so that a slow target that answers is awaited.
	postTimeout = 90 * time.Second
	// recognizeTimeout bounds the look for an earlier try.
	recognizeTimeout = 30 * time.Second
	// lease is how long a 'sending' row belongs to the drainer that took
	// it: the look, the call and their bookkeeping. A row still 'sending'
	// after it was left by a drainer that died.
	lease = recognizeTimeout + postTimeout + 30*time.Second
	// drainBudget: a drain takes no new row after this long, and comes
	// back at once as a fresh job, so that it stays under its timeout.
	drainBudget = time.Minute
	// drainTimeout is the job's bound: the budget, one last row and its
	// bookkeeping (4 min); below River's rescue of stuck jobs (5 min).
	drainTimeout = drainBudget + lease + 30*time.Second
	// maxAttempts: a row that failed this many times (about a day at the
	// longest backoff) is given up, so that one post cannot hold its
	// target's later posts back for ever.
	maxAttempts = 300
	// maxBackoff is the longest wait between tries of a failing target:
	// after an outage its posts resume within this.
	maxBackoff = 5 * time.Minute
	// recheckAfter: an unanswered post to a target that can read its
	// channel back is looked for after this, time for it to show.
	recheckAfter = 5 * time.Second
)

// EventChatProblem is the timeline event that says a post to a chat
// target was refused or may be missing: the team reading the incident
// page learns that the channel lacks it.
const EventChatProblem = "chat_problem"

// DrainArgs drains one target's queue. One such job at a time per target
// (River's uniqueness by args).
type DrainArgs struct {
	Target string `json:"target"`
}

func (DrainArgs) Kind() string { return "chat_drain" }

// drainStates are the job states in which a target's drain counts as
// there: a completed one does not, so that new rows get a new drain.
var drainStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

func (m *Mirror) insertDrain(ctx context.Context, tx *sql.Tx, target string) error {
	opts := &river.InsertOpts{Queue: QueuePrefix + target,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: drainStates}}
	if _, err := m.Jobs.InsertTx(ctx, tx, DrainArgs{Target: target}, opts); err != nil {
		return fmt.Errorf("chat: queue drain of %s: %w", target, err)
	}
	return nil
}

// DrainWorker works DrainArgs.
type DrainWorker struct {
	river.WorkerDefaults[DrainArgs]
	Mirror *Mirror
}

func (w *DrainWorker) Timeout(*river.Job[DrainArgs]) time.Duration { return drainTimeout }

func (w *DrainWorker) Work(ctx context.Context, job *river.Job[DrainArgs]) error {
	return w.Mirror.Drain(ctx, job.Args.Target)
}

// PostArgs is one event posted to one target, as queued by versions
// before the queue table; PostWorker moves such a job into the table.
type PostArgs struct {
	Target  string `json:"target"`
	EventID int64  `json:"event_id"`
}

func (PostArgs) Kind() string { return "chat_post" }

// PostWorker works PostArgs left from an earlier version.
type PostWorker struct {
	river.WorkerDefaults[PostArgs]
	Mirror *Mirror
}

func (w *PostWorker) Work(ctx context.Context, job *river.Job[PostArgs]) error {
	if _, ok := w.Mirror.Targets[job.Args.Target]; !ok {
		return river.JobCancel(fmt.Errorf("chat: no target %q configured any more", job.Args.Target))
	}
	ev, err := w.Mirror.Incidents.EventByID(ctx, w.Mirror.DB, job.Args.EventID)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	return w.Mirror.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, queries.Get("queue-post"), job.Args.Target, ev.ID, ev.IncidentID); err != nil {
			return fmt.Errorf("chat: queue post: %w", err)
		}
		return w.Mirror.insertDrain(ctx, tx, job.Args.Target)
	})
}

// row is a target's oldest post not yet done.
type row struct {
	target     string
	eventID    int64
	incidentID int64
	state      string
	attempts   int
	claim      int64
	leaseUntil time.Time
}

// Drain posts target's queued events, oldest first, until none is left,
// and returns nil; or until one cannot be posted now, and returns a
// River snooze to come back after a backoff (or the target's
// Retry-After). A later row is never posted while an earlier one is
// pending or sending. Exported for tests and tools; the DrainWorker calls it.
func (m *Mirror) Drain(ctx context.Context, target string) error {
	poster, ok := m.Targets[target]
	if !ok {
		return river.JobCancel(fmt.Errorf("chat: no target %q configured any more", target))
	}
	began := time.Now()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(began) > drainBudget {
			return river.JobSnooze(0)
		}
		r, err := m.oldestOpen(ctx, target)
		if err != nil {
			return err
		}
		if r == nil {
			return nil
		}
		wait, err := m.step(ctx, poster, r)
		if err != nil {
			return err
		}
		if wait > 0 {
			return river.JobSnooze(wait)
		}
	}
}

func (m *Mirror) oldestOpen(ctx context.Context, target string) (*row, error) {
	r := &row{target: target}
	var until sql.NullTime
	err := m.DB.QueryRowContext(ctx, queries.Get("oldest-open"), target).
		Scan(&r.eventID, &r.incidentID, &r.state, &r.attempts, &r.claim, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chat: %s queue: %w", target, err)
	}
	r.leaseUntil = until.Time
	return r, nil
}

// step works on row r and returns how long to wait before the next row
// (0: go on now).
func (m *Mirror) step(ctx context.Context, poster Poster, r *row) (time.Duration, error) {
	log := m.logger().With("target", r.target, "event", r.eventID)
	now := time.Now()
	if r.state == StateSending && r.leaseUntil.After(now) {
		// Another drainer (a second replica's, or a rescued job's) has the
		// call in flight: its outcome decides what comes next.
		return r.leaseUntil.Sub(now) + time.Second, nil
	}
	// A row still 'sending' with its lease gone: the call's answer never
	// came (the process died, or the post was left unanswered on purpose
	// for a later look).
	recovering := r.state == StateSending
	rec, canRecognize := poster.(Recognizer)
	if recovering && !canRecognize {
		why := "the call's outcome was never recorded (a restart while posting?)"
		return 0, m.giveUp(ctx, r, r.claim, StateUnknown, why, log)
	}
	attempt := 1
	if recovering {
		attempt = 0 // looking is not trying
	}
	res, err := m.DB.ExecContext(ctx, queries.Get("claim"), now.Add(lease).UTC(), attempt, r.target, r.eventID, r.claim)
	if err != nil {
		return 0, fmt.Errorf("chat: claim: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, nil // another drainer took it first: read again
	}
	mine := r.claim + 1
	msg, err := m.postMessage(ctx, r)
	if err != nil {
		// Nothing was sent now: the row goes back as it was ('sending'
		// still, when an earlier call's outcome is to be looked for).
		back := StatePending
		if recovering {
			back = StateSending
		}
		if serr := m.settle(ctx, r, mine, back, err.Error(), Posted{}); serr != nil {
			return 0, serr
		}
		return 0, err
	}
	if recovering {
		rctx, cancel := context.WithTimeout(ctx, recognizeTimeout)
		got, found, err := rec.Recognize(rctx, *msg)
		cancel()
		if err != nil {
			// Still unknown; leave it 'sending', lease over, to look again.
			log.Warn("chat: cannot tell whether an earlier post arrived; will look again", "err", err)
			return m.backoff(r.attempts), m.settleSending(ctx, r, mine, err)
		}
		if found {
			log.Info("chat: an earlier post had arrived; not posting it again", "ref", got.Ref)
			return 0, m.posted(ctx, r, mine, got)
		}
		log.Info("chat: an earlier post did not arrive; posting it again")
	}
	pctx, cancel := context.WithTimeout(ctx, postTimeout)
	got, err := poster.Post(pctx, *msg)
	cancel()
	if err == nil {
		return 0, m.posted(ctx, r, mine, got)
	}
	// A failed post may still have made the incident's thread (Slack's
	// Web API: the parent, then a failed reply): kept, so that the next
	// try goes into it.
	m.keepThread(ctx, r, got.Thread)
	tries := r.attempts + attempt
	switch after, limited := RetryAfter(err); {
	case Permanent(err):
		return 0, m.giveUp(ctx, r, mine, StateRefused, err.Error(), log)
	case Uncertain(err) && canRecognize:
		log.Warn("chat: post unanswered; will look for it in the channel before trying again", "err", err)
		return max(recheckAfter, m.backoff(tries)), m.settleSending(ctx, r, mine, err)
	case Uncertain(err):
		why := "the target did not answer and cannot be read back, so it is not posted again (it could appear twice): " + err.Error()
		return 0, m.giveUp(ctx, r, mine, StateUnknown, why, log)
	case limited:
		log.Warn("chat: rate limited", "retry_after", after)
		return max(after, time.Second), m.settle(ctx, r, mine, StatePending, err.Error(), Posted{})
	case tries >= maxAttempts:
		return 0, m.giveUp(ctx, r, mine, StateRefused, fmt.Sprintf("gave up after %d tries: %v", tries, err), log)
	default:
		wait := m.backoff(tries)
		log.Warn("chat: post failed; the target's later posts wait for it", "attempt", tries, "retry_in", wait, "err", err)
		return wait, m.settle(ctx, r, mine, StatePending, err.Error(), Posted{})
	}
}

// backoff after the n-th failed try: 2 s, 4 s, 8 s ... up to maxBackoff.
func (m *Mirror) backoff(n int) time.Duration {
	longest := maxBackoff
	if m.maxBackoff > 0 {
		longest = m.maxBackoff
	}
	return min(time.Second<<min(max(n, 1), 12), longest)
}

// postMessage is the row's event as a post, with its key and the
// incident's thread at the target.
func (m *Mirror) postMessage(ctx context.Context, r *row) (*Message, error) {
	msg, err := m.Message(ctx, r.eventID)
	if err != nil {
		return nil, err
	}
	msg.Key = fmt.Sprintf("sitrep-%s-%d", msg.Incident, r.eventID)
	err = m.DB.QueryRowContext(ctx, queries.Get("thread"), r.target, r.incidentID).Scan(&msg.Thread)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("chat: thread: %w", err)
	}
	return msg, nil
}

// bookkeeping is the context of the writes after a call: the call's
// outcome is recorded even when the job's context ended meanwhile.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}

func (m *Mirror) settle(ctx context.Context, r *row, claim int64, state, lastError string, p Posted) error {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	var postedAt, until sql.NullTime
	if state == StatePosted {
		postedAt = sql.NullTime{Time: time.Now().UTC(), Valid: true}
	}
	if state == StateSending {
		until = sql.NullTime{Time: time.Now().UTC(), Valid: true} // over: the next drain looks
	}
	res, err := m.DB.ExecContext(ctx, queries.Get("settle"), state, lastError, p.Ref, postedAt, until, r.target, r.eventID, claim)
	if err != nil {
		return fmt.Errorf("chat: record %s of event %d at %s: %w", state, r.eventID, r.target, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		m.logger().Warn("chat: a post's row was taken by another drainer meanwhile", "target", r.target, "event", r.eventID)
	}
	return nil
}

func (m *Mirror) settleSending(ctx context.Context, r *row, claim int64, err error) error {
	return m.settle(ctx, r, claim, StateSending, err.Error(), Posted{})
}

func (m *Mirror) posted(ctx context.Context, r *row, claim int64, p Posted) error {
	m.keepThread(ctx, r, p.Thread)
	return m.settle(ctx, r, claim, StatePosted, "", p)
}

// keepThread stores the incident's thread at the target for its next
// posts, when the target reported one and none is kept yet.
func (m *Mirror) keepThread(ctx context.Context, r *row, thread string) {
	if thread == "" {
		return
	}
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	if _, err := m.DB.ExecContext(bctx, queries.Get("keep-thread"), r.target, r.incidentID, thread); err != nil {
		// Only the thread of later posts is lost: Slack's poster finds
		// the parent again.
		m.logger().Warn("chat: thread not kept", "target", r.target, "event", r.eventID, "err", err)
	}
}

// giveUp records that the row will not be posted (again), says so in the
// log and on the incident's timeline, and lets the target's later posts go.
func (m *Mirror) giveUp(ctx context.Context, r *row, claim int64, state, why string, log *slog.Logger) error {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	res, err := m.DB.ExecContext(bctx, queries.Get("settle"), state, why, "", nil, nil, r.target, r.eventID, claim)
	if err != nil {
		return fmt.Errorf("chat: record %s of event %d at %s: %w", state, r.eventID, r.target, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil // another drainer took the row: it decides
	}
	text := fmt.Sprintf("The post to %s was refused: %s", r.target, why)
	if state == StateUnknown {
		log.Warn("chat: the post may be missing from the channel", "why", why)
		text = fmt.Sprintf("The post to %s may be missing: %s", r.target, why)
	} else {
		log.Error("chat: post refused for good; going on with the next", "why", why)
	}
	if _, err := incident.AddEvent(bctx, m.DB, time.Now(), r.incidentID, EventChatProblem, "sitrep", text,
		map[string]any{"target": r.target, "event_id": r.eventID, "state": state}); err != nil {
		log.Warn("chat: the problem did not reach the timeline", "err", err)
	}
	return nil
}

// PostState is a queued post's state at a target ("" when not queued),
// its tries and its last error.
func (m *Mirror) PostState(ctx context.Context, target string, eventID int64) (state string, attempts int, lastError string, err error) {
	var ref string
	err = m.DB.QueryRowContext(ctx, queries.Get("post-state"), target, eventID).Scan(&state, &attempts, &lastError, &ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, "", nil
	}
	return state, attempts, lastError, err
}
