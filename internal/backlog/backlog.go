// Package backlog files items (the post-mortem's improvements) as issues
// in the team's tracker, once each, and reads their state back: an issue
// closed there is reported closed, reopened reported open. It knows
// nothing of incidents: an item is an id, a title, a body, an assignee's
// email and a due date, handed over by the use case that owns it
// (internal/postmortem), which hears back through the Items it declares.
//
// Once. The intent to file an item (a backlog_issues row, with the exact
// title and body and the idempotency marker the issue will carry) is
// committed in the use case's own transaction, with the River job that
// files it. The job commits the row 'sending' before the call; a call
// that is not answered (a timeout, a 502 from a proxy, a crash between the
// call and recording its answer) is never simply repeated: every try after
// the first asks the tracker for an issue carrying the marker and records
// that one when it is there. A tracker that asks to wait (429, Retry-After)
// is waited for; one that refuses (401, 403, 404, 410, 422) has the
// refusal recorded on the item and is not retried.
package backlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Item is what to file: one improvement.
type Item struct {
	ID       int64  // the use case's id of the item (the improvement's)
	Title    string // one line
	Body     string // Markdown; the tracker's backend adds the marker
	Assignee string // the owner's email, mapped by the backend to its user; "" none
	Due      string // YYYY-MM-DD; "" none
}

// Issue is an item's issue in the tracker.
type Issue struct {
	Ref string // the tracker's key, for people: GitHub's issue number, Jira's OPS-42, Linear's ENG-12
	// ID is the tracker's stable id when the key can change (an issue
	// moved to another project or team): Jira's issue id, Linear's UUID;
	// "" when Ref never changes (GitHub).
	ID     string
	URL    string // the issue's page, for people
	Closed bool
}

// Change is an issue's state as the tracker reports it (a webhook, a poll).
type Change struct {
	Ref     string
	ID      string // the stable id (Issue.ID); "" none: matched by Ref
	Closed  bool
	At      time.Time // when the tracker changed it; zero: unknown
	Marker  string    // the marker found in the issue's body; "" none
	ByWhom  string    // the tracker's user who changed it, for the record
	Tracker string
}

// Tracker is one tracker's API, as the sync needs it. Every call is
// bounded by ctx; errors are classified with the error types below.
type Tracker interface {
	// Name is the tracker's name in config and records: github, jira, linear.
	Name() string
	// Create files item as a new issue whose body carries marker.
	Create(ctx context.Context, item Item, marker string) (Issue, error)
	// Find looks for an issue carrying marker, created at or after since.
	Find(ctx context.Context, marker string, since time.Time) (Issue, bool, error)
	// Changes lists the issues changed at or after since, with the newest
	// change time seen (the next poll's since).
	Changes(ctx context.Context, since time.Time) ([]Change, time.Time, error)
	// Verify checks that the credentials and the project are usable
	// (sitrep doctor).
	Verify(ctx context.Context) error
}

// Update is a change made in sitrep, to carry to a filed issue: a nil
// field is left as it is there.
type Update struct {
	Closed   *bool   // close (true) or reopen (false) the issue
	Assignee *string // the owner's email, mapped by the backend; "" unassigns
	Due      *string // YYYY-MM-DD; "" clears the due date
}

// Updater is a Tracker that carries changes made in sitrep to the issue
// (from here to there). Every change sets a value (a state, an assignee, a
// date), so that making it twice, after a lost answer or a crash, changes
// nothing the second time: no marker is needed.
type Updater interface {
	Update(ctx context.Context, is Issue, u Update) error
}

// Lagging is a Tracker whose Find reads a search index that can lag
// behind an issue just created (Jira's JQL search): after a try whose
// outcome is unknown, the next look waits at least SearchLag, so that an
// issue the try did create is in the index when it is looked for.
type Lagging interface {
	SearchLag() time.Duration
}

// Items is the use case's side: what the sync reports back. Each call
// runs in the sync's transaction, so that the item's record and the
// sync's row change together. Plain values only: the use case (the
// domain) imports nothing of this adapter.
type Items interface {
	// TrackerFiled: item id is now issue ref (its page: url) in tracker.
	TrackerFiled(ctx context.Context, tx *sql.Tx, id int64, tracker, ref, url string) error
	// TrackerRefused: the tracker refused to file item id, for good; why is for people.
	TrackerRefused(ctx context.Context, tx *sql.Tx, id int64, tracker, why string) error
	// TrackerState: the issue of item id was closed (or reopened) in the
	// tracker, by whom when it says.
	TrackerState(ctx context.Context, tx *sql.Tx, id int64, tracker, ref string, closed bool, by string) error
}

// RefusedError: the tracker refused the request for good (bad token,
// missing permission, unknown project, invalid field); retrying cannot help.
type RefusedError struct {
	Status int
	Err    error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Refusal is the RefusedError for an answer of status that msg tells of,
// with what to fix, when the client knows it, in parentheses: every
// tracker's refusals then read alike.
func Refusal(status int, msg, fix string) *RefusedError {
	if fix != "" {
		msg += " (" + fix + ")"
	}
	return &RefusedError{Status: status, Err: errors.New(msg)}
}

// RetryAfterError: the tracker asked to come back later (429, or a 403
// secondary rate limit, or a 503 with Retry-After).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string { return fmt.Sprintf("%v (retry after %s)", e.Err, e.After) }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Refused reports whether err says retrying cannot help.
func Refused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// RetryAfter returns how long the tracker asked to wait, if it did.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}
