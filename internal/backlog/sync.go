package backlog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)

// States of a backlog_issues row.
const (
	StatePending = "pending" // to file
	StateSending = "sending" // a call was (or is being) made; its answer is not recorded yet
	StateFiled   = "filed"   // the issue exists; remote_ref names it
	StateRefused = "refused" // the tracker refused it for good, or every try failed
)

// DefaultCallTimeout bounds one tracker call (Find, then Create) unless
// Service.CallTimeout says otherwise: an unanswered call is an uncertain
// one, looked for on the next try.
const DefaultCallTimeout = 30 * time.Second

const (
	// maxAttempts: an item whose calls failed this often (about a day at
	// the longest backoff) is given up and its failure shown.
	maxAttempts = 300
	// maxBackoff is the longest wait between failed tries.
	maxBackoff = 5 * time.Minute
	// maxRetryAfter caps a tracker's Retry-After, so that a bad header
	// cannot park an item for a year.
	maxRetryAfter = time.Hour
	// clockSkew: sitrep's clock and the tracker's may differ; a look for
	// an earlier try starts this long before the intent was recorded.
	clockSkew = 10 * time.Minute
)

// Queue is the River queue the filing jobs run on, with workers of its
// own: a tracker that hangs never takes a worker an email needs.
const Queue = "backlog"

// Service files items in one tracker and reads their state back.
type Service struct {
	DB      *store.DB
	Jobs    jobs.Inserter
	Tracker Tracker
	Items   Items
	Logger  *slog.Logger

	// Now is the clock (tests move it past a lease); nil: time.Now.
	Now func() time.Time
	// CallTimeout bounds one tracker call; 0 is DefaultCallTimeout.
	CallTimeout time.Duration
}

func (s *Service) callTimeout() time.Duration {
	if s.CallTimeout > 0 {
		return s.CallTimeout
	}
	return DefaultCallTimeout
}

// lease: a 'sending' row belongs to the worker that took it for the look,
// the call and the bookkeeping, each bounded by the call timeout. A row
// still 'sending' after its lease was left by a worker that died mid-call,
// and the next worker waits that long before it looks for the issue
// (90 s with the default).
func (s *Service) lease() time.Duration { return 3 * s.callTimeout() }

// jobTimeout bounds a job, above the lease.
func (s *Service) jobTimeout() time.Duration { return s.lease() + s.callTimeout() }

func (s *Service) clock() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// FileArgs files one item.
type FileArgs struct {
	ItemID int64 `json:"item_id"`
}

func (FileArgs) Kind() string { return "backlog_file" }

// fileStates: one job per item while one is waiting or running.
var fileStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

func (FileArgs) InsertOpts() river.InsertOpts {
	// The job snoozes between tries (counted in the row, not by River);
	// River's attempts cover only the job's own failures (the database).
	return river.InsertOpts{Queue: Queue, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: fileStates}}
}

// FileWorker works FileArgs.
type FileWorker struct {
	river.WorkerDefaults[FileArgs]
	Service *Service
}

func (w *FileWorker) Timeout(*river.Job[FileArgs]) time.Duration { return w.Service.jobTimeout() }

func (w *FileWorker) Work(ctx context.Context, job *river.Job[FileArgs]) error {
	wait, err := w.Service.File(ctx, job.Args.ItemID)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// Register adds the sync's worker.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &FileWorker{Service: s})
	river.AddWorker(workers, &PushWorker{Service: s})
}

// Queues is the queue the sync's jobs run on.
func (s *Service) Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{Queue: {MaxWorkers: 2}}
}

// Enqueue records, in the caller's transaction, the intent to file the
// item, and queues its job. An item already recorded stays as it is: it
// is filed once, with what was first asked; one the tracker refused is
// tried again.
func (s *Service) Enqueue(ctx context.Context, tx *sql.Tx, id int64, title, body, assignee, due string) error {
	nonce := make([]byte, 6)
	_, _ = rand.Read(nonce) // crypto/rand.Read does not fail (Go 1.24)
	// The nonce tells this installation's item from another's with the
	// same id in the same repository (two sitreps, or a database started
	// afresh): only this row's marker is ever taken for its issue.
	marker := "sitrep:improvement:" + strconv.FormatInt(id, 10) + ":" + hex.EncodeToString(nonce)
	res, err := tx.ExecContext(ctx, queries.Get("insert-intent"), id, s.Tracker.Name(), marker, title, body, assignee, due, s.clock().UTC())
	if err != nil {
		return fmt.Errorf("backlog: record intent: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := s.Jobs.InsertTx(ctx, tx, FileArgs{ItemID: id}, nil); err != nil {
		return fmt.Errorf("backlog: queue: %w", err)
	}
	return nil
}

// row is one backlog_issues row.
type row struct {
	id                           int64
	tracker, marker, title, body string
	assignee, due, state         string
	attempts                     int
	claim                        int64
	leaseUntil                   sql.NullTime
	createdAt                    time.Time
}

func (s *Service) load(ctx context.Context, id int64) (*row, error) {
	r := &row{id: id}
	err := s.DB.QueryRowContext(ctx, queries.Get("intent"), id).Scan(&r.tracker, &r.marker, &r.title, &r.body, &r.assignee, &r.due,
		&r.state, &r.attempts, &r.claim, &r.leaseUntil, &r.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backlog: item %d: %w", id, err)
	}
	return r, nil
}

// File makes one try at filing item id and returns how long to wait
// before the next (0: done, nothing more to do). Exported for tests and
// tools; the FileWorker calls it.
func (s *Service) File(ctx context.Context, id int64) (time.Duration, error) {
	r, err := s.load(ctx, id)
	if err != nil || r == nil {
		return 0, err
	}
	log := s.logger().With("item", id, "tracker", r.tracker)
	if r.state == StateFiled || r.state == StateRefused {
		return 0, nil
	}
	now := s.clock()
	if r.state == StateSending && r.leaseUntil.Valid && r.leaseUntil.Time.After(now) {
		// Another worker (a second replica's, a rescued job's) has the
		// call in flight: its outcome decides.
		return r.leaseUntil.Time.Sub(now) + time.Second, nil
	}
	// Any try before this one may have created the issue, whatever it was
	// told (a lost answer, a 502 from a proxy after GitHub took it, a
	// crash before the answer was written): look first.
	look := r.attempts > 0 || r.state == StateSending
	res, err := s.DB.ExecContext(ctx, queries.Get("claim"), now.Add(s.lease()).UTC(), id, r.claim)
	if err != nil {
		return 0, fmt.Errorf("backlog: claim: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return time.Second, nil // another worker took it first: read again
	}
	mine := r.claim + 1
	tries := r.attempts + 1
	item := Item{ID: id, Title: r.title, Body: r.body, Assignee: r.assignee, Due: r.due}

	var is Issue
	found := false
	if look {
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
		is, found, err = s.Tracker.Find(cctx, r.marker, r.createdAt.Add(-clockSkew))
		cancel()
		if err != nil {
			return s.failed(ctx, r, mine, tries, fmt.Errorf("looking for an earlier try: %w", err), log)
		}
		if found {
			log.Info("backlog: an earlier try had filed the item; not filing it again", "ref", is.Ref)
		}
	}
	if !found {
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
		is, err = s.Tracker.Create(cctx, item, r.marker)
		cancel()
		if err != nil {
			return s.failed(ctx, r, mine, tries, err, log)
		}
	}
	return 0, s.filed(ctx, r, mine, is)
}

// bookkeeping is the context of the writes after a call: its outcome is
// recorded even when the job's context ended meanwhile.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}

func (s *Service) filed(ctx context.Context, r *row, claim int64, is Issue) error {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	state := "open"
	if is.Closed {
		state = "closed"
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queries.Get("settle-filed"), is.Ref, is.URL, state, s.clock().UTC(), r.id, claim, is.ID)
		if err != nil {
			return fmt.Errorf("backlog: record filed item %d: %w", r.id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another worker took the row meanwhile: it records
		}
		return s.Items.TrackerFiled(ctx, tx, r.id, r.tracker, is.Ref, is.URL)
	})
}

// failed records a failed try and says when to try again; a refusal is
// recorded on the item and ends the tries.
func (s *Service) failed(ctx context.Context, r *row, claim int64, tries int, cause error, log *slog.Logger) (time.Duration, error) {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	after, limited := RetryAfter(cause)
	switch {
	case Refused(cause):
		log.Error("backlog: the tracker refused the item; not retried", "err", cause)
		return 0, s.refuse(ctx, r, claim, cause.Error())
	case tries >= maxAttempts:
		return 0, s.refuse(ctx, r, claim, fmt.Sprintf("gave up after %d tries: %v", tries, cause))
	case limited:
		after = min(max(after, time.Second), maxRetryAfter)
		log.Warn("backlog: the tracker asked to wait", "retry_after", after)
	default:
		after = min(time.Second<<min(tries, 12), maxBackoff)
		log.Warn("backlog: filing failed; will try again", "attempt", tries, "retry_in", after, "err", cause)
	}
	if l, ok := s.Tracker.(Lagging); ok {
		// The failed call may have created the issue: the next try looks
		// for it, once the tracker's search can see it.
		after = max(after, l.SearchLag())
	}
	// Back to pending with the try counted: the next try looks first.
	if _, err := s.DB.ExecContext(ctx, queries.Get("settle-pending"), cause.Error(), r.id, claim); err != nil {
		return 0, fmt.Errorf("backlog: record try of item %d: %w", r.id, err)
	}
	return after, nil
}

func (s *Service) refuse(ctx context.Context, r *row, claim int64, why string) error {
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queries.Get("settle-refused"), why, r.id, claim)
		if err != nil {
			return fmt.Errorf("backlog: record refusal of item %d: %w", r.id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		return s.Items.TrackerRefused(ctx, tx, r.id, r.tracker, why)
	})
}

// Webhook is a Tracker that is told of changes by a signed POST.
type Webhook interface {
	// ParseWebhook checks the request's signature and reads the changes
	// it reports. A request that is not signed with the secret is an
	// errs.Unauthorized error; one that is no issue change gives none.
	ParseWebhook(h http.Header, body []byte) ([]Change, error)
}

// Receipt says what a webhook delivery changed.
type Receipt struct {
	Changes int `json:"changes"` // issues of ours whose state changed
}

// Receive handles a tracker's webhook delivery: its signature is checked
// before anything is read, and only issues this sync filed change.
func (s *Service) Receive(ctx context.Context, tracker string, h http.Header, body []byte) (*Receipt, error) {
	hook, ok := s.Tracker.(Webhook)
	if !ok || tracker != s.Tracker.Name() {
		return nil, errs.E(errs.NotFound, "no %s webhook here: the backlog tracker is %s", tracker, s.Tracker.Name())
	}
	changes, err := hook.ParseWebhook(h, body)
	if err != nil {
		return nil, err
	}
	n, err := s.apply(ctx, changes)
	if err != nil {
		return nil, err
	}
	return &Receipt{Changes: n}, nil
}

// Poll reads the tracker's changes since the last poll: the fallback for
// a webhook that is not set up or lost a delivery.
func (s *Service) Poll(ctx context.Context) error {
	var since time.Time
	err := s.DB.QueryRowContext(ctx, queries.Get("cursor"), s.Tracker.Name()).Scan(&since)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// First poll: from the oldest item filed, or now when there is none.
		err := s.DB.QueryRowContext(ctx, queries.Get("oldest-filed"), s.Tracker.Name()).Scan(&since)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing filed yet
		}
		if err != nil {
			return fmt.Errorf("backlog: poll: %w", err)
		}
		since = since.Add(-clockSkew)
	case err != nil:
		return fmt.Errorf("backlog: poll: %w", err)
	}
	changes, next, err := s.Tracker.Changes(ctx, since)
	if err != nil {
		return fmt.Errorf("backlog: poll %s: %w", s.Tracker.Name(), err)
	}
	if _, err := s.apply(ctx, changes); err != nil {
		return err
	}
	if next.After(since) {
		if _, err := s.DB.ExecContext(ctx, queries.Get("save-cursor"), s.Tracker.Name(), next.UTC()); err != nil {
			return fmt.Errorf("backlog: poll: %w", err)
		}
	}
	return nil
}

// apply records each change of an issue this sync filed, in the tracker's
// order; a change that says what is already known changes nothing.
func (s *Service) apply(ctx context.Context, changes []Change) (int, error) {
	n := 0
	for _, ch := range changes {
		state := "open"
		if ch.Closed {
			state = "closed"
		}
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			var id int64
			var marker string
			var err error
			if ch.ID != "" {
				err = tx.QueryRowContext(ctx, queries.Get("by-remote-id"), s.Tracker.Name(), ch.ID).Scan(&id, &marker)
			} else {
				err = tx.QueryRowContext(ctx, queries.Get("by-ref"), s.Tracker.Name(), ch.Ref).Scan(&id, &marker)
			}
			if errors.Is(err, sql.ErrNoRows) {
				return nil // not an issue of ours
			}
			if err != nil {
				return fmt.Errorf("backlog: issue %s: %w", ch.Ref, err)
			}
			if ch.Marker != "" && ch.Marker != marker {
				// Same number, another marker: an issue of another
				// installation, or the number was reused (a transfer).
				return nil
			}
			res, err := tx.ExecContext(ctx, queries.Get("set-remote-state"), state, id)
			if err != nil {
				return fmt.Errorf("backlog: issue %s: %w", ch.Ref, err)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return nil // known already
			}
			n++
			return s.Items.TrackerState(ctx, tx, id, s.Tracker.Name(), ch.Ref, ch.Closed, ch.ByWhom)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Status is an item's row, for tests and tools.
type Status struct {
	State     string
	Attempts  int
	LastError string
	Ref, URL  string
	Remote    string // open | closed
	// PushSeq counts the changes asked for in sitrep, PushedSeq the last
	// one carried to the issue; PushError is why the last try failed.
	PushSeq, PushedSeq int64
	PushError          string
}

// StatusOf returns item id's row; nil when it was never queued.
func (s *Service) StatusOf(ctx context.Context, id int64) (*Status, error) {
	st := &Status{}
	err := s.DB.QueryRowContext(ctx, queries.Get("status"), id).Scan(&st.State, &st.Attempts, &st.LastError, &st.Ref, &st.URL, &st.Remote,
		&st.PushSeq, &st.PushedSeq, &st.PushError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backlog: status of %d: %w", id, err)
	}
	return st, nil
}

// Check is `sitrep doctor`'s look at the tracker: the token and the
// project answer.
type Check struct{ Tracker Tracker }

func (c Check) Verify(ctx context.Context) error {
	if err := c.Tracker.Verify(ctx); err != nil {
		return fmt.Errorf("backlog: %s: %w", c.Tracker.Name(), err)
	}
	return nil
}

// PushArgs carries the changes asked for in sitrep to one item's issue.
type PushArgs struct {
	ItemID int64 `json:"item_id"`
}

func (PushArgs) Kind() string { return "backlog_push" }

func (PushArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: fileStates}}
}

// PushWorker works PushArgs.
type PushWorker struct {
	river.WorkerDefaults[PushArgs]
	Service *Service
}

func (w *PushWorker) Timeout(*river.Job[PushArgs]) time.Duration { return w.Service.jobTimeout() }

func (w *PushWorker) Work(ctx context.Context, job *river.Job[PushArgs]) error {
	wait, err := w.Service.Push(ctx, job.Args.ItemID)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// Change records, in the caller's transaction, a change made in sitrep to
// item id (done or reopened: closed; a new owner: assignee; a new due
// date: due; nil: unchanged), and queues the job that carries it to the
// issue. An item never queued for filing changes nothing; one not filed
// yet is filed with the new owner and due date, and its state carried
// once it is.
func (s *Service) Change(ctx context.Context, tx *sql.Tx, id int64, u Update) error {
	state := ""
	if u.Closed != nil {
		state = map[bool]string{true: "closed", false: "open"}[*u.Closed]
	}
	flag := func(p *string) (int, string) {
		if p == nil {
			return 0, ""
		}
		return 1, *p
	}
	setAssignee, assignee := flag(u.Assignee)
	setDue, due := flag(u.Due)
	res, err := tx.ExecContext(ctx, queries.Get("want-change"), id, state, setAssignee, assignee, setDue, due)
	if err != nil {
		return fmt.Errorf("backlog: record change of item %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := s.Jobs.InsertTx(ctx, tx, PushArgs{ItemID: id}, nil); err != nil {
		return fmt.Errorf("backlog: queue change of item %d: %w", id, err)
	}
	return nil
}

// Changed is Change as the post-mortem calls it (postmortem.TrackerChanges).
func (s *Service) Changed(ctx context.Context, tx *sql.Tx, id int64, closed *bool, owner, due *string) error {
	return s.Change(ctx, tx, id, Update{Closed: closed, Assignee: owner, Due: due})
}

// pushRow is what Push reads of a row.
type pushRow struct {
	tracker, state, ref, remoteID, url string
	seq, pushed                        int64
	pushState, pushAssignee, pushDue   int
	wantState, assignee, due           string
}

// Push makes one try at carrying item id's changes to its issue and says
// how long to wait before the next (0: nothing more to do).
func (s *Service) Push(ctx context.Context, id int64) (time.Duration, error) {
	var r pushRow
	err := s.DB.QueryRowContext(ctx, queries.Get("push-row"), id).Scan(&r.tracker, &r.state, &r.ref, &r.remoteID, &r.url, &r.seq, &r.pushed,
		&r.pushState, &r.wantState, &r.pushAssignee, &r.assignee, &r.pushDue, &r.due)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("backlog: item %d: %w", id, err)
	}
	log := s.logger().With("item", id, "tracker", r.tracker)
	switch {
	case r.pushed >= r.seq || r.state == StateRefused:
		return 0, nil // carried already, or there is no issue to carry it to
	case r.state != StateFiled:
		return 30 * time.Second, nil // the issue is being filed: carry it after
	}
	up, ok := s.Tracker.(Updater)
	if !ok || r.tracker != s.Tracker.Name() {
		log.Warn("backlog: the tracker does not take changes from sitrep; not carried")
		return 0, s.pushSettled(ctx, id, r.seq, false)
	}
	var u Update
	if r.pushState == 1 && r.wantState != "" {
		closed := r.wantState == "closed"
		u.Closed = &closed
	}
	if r.pushAssignee == 1 {
		u.Assignee = &r.assignee
	}
	if r.pushDue == 1 {
		u.Due = &r.due
	}
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
	err = up.Update(cctx, Issue{Ref: r.ref, ID: r.remoteID, URL: r.url}, u)
	cancel()
	bctx, bcancel := bookkeeping(ctx)
	defer bcancel()
	if err != nil {
		if Refused(err) {
			log.Error("backlog: the tracker refused the change; not retried", "err", err)
			_, dberr := s.DB.ExecContext(bctx, queries.Get("push-refused"), id, r.seq, err.Error())
			return 0, dberr
		}
		_, _ = s.DB.ExecContext(bctx, queries.Get("push-failed"), id, err.Error())
		if after, limited := RetryAfter(err); limited {
			return min(max(after, time.Second), maxRetryAfter), nil
		}
		// River's own backoff between tries, up to its MaxAttempts.
		return 0, fmt.Errorf("backlog: carry the change of item %d: %w", id, err)
	}
	if err := s.pushSettled(bctx, id, r.seq, u.Closed != nil); err != nil {
		return 0, err
	}
	log.Info("backlog: carried the change to the issue", "ref", r.ref)
	// A change asked for while this one was carried: its job was merged
	// into this one (one job per item), so carry it now.
	var seq, pushed int64
	var ignore pushRow
	if err := s.DB.QueryRowContext(bctx, queries.Get("push-row"), id).Scan(&ignore.tracker, &ignore.state, &ignore.ref, &ignore.remoteID, &ignore.url,
		&seq, &pushed, &ignore.pushState, &ignore.wantState, &ignore.pushAssignee, &ignore.assignee, &ignore.pushDue, &ignore.due); err == nil && pushed < seq {
		return time.Second, nil
	}
	return 0, nil
}

func (s *Service) pushSettled(ctx context.Context, id, seq int64, stateCarried bool) error {
	carried := 0
	if stateCarried {
		carried = 1
	}
	if _, err := s.DB.ExecContext(ctx, queries.Get("pushed"), id, seq, carried); err != nil {
		return fmt.Errorf("backlog: record change of item %d: %w", id, err)
	}
	return nil
}
