// Package chat mirrors each incident's key timeline events (declared,
// status update sent, resolved, summary sent) to the resolution team's
// channel — the outage guide's "IRC or a collaboration tool like Slack".
// Email stays the record: posts run on queues of their own, one per
// target, so a chat service that is down or slow never holds up an email.
//
// Order and once. Each target has an ordered queue (chat_posts), filled
// by the sweep in the transaction that moves the target's cursor and
// drained by one job per target, oldest first: a post that fails is tried
// again, with backoff, before any later one goes, and other targets are
// never held up. A post is recorded 'sending' before the call, so that an
// unanswered call (UncertainError) or a crash mid-call is never followed
// by a blind repost: a Recognizer is asked whether the post arrived, and
// a Poster that cannot read its channel back (an incoming webhook) has
// the post marked unknown, logged and noted on the incident's timeline,
// never sent twice. The limit is that: such a post may be missing.
package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is one post: an incident event, in a few lines.
type Message struct {
	Incident string    // INC-42
	Title    string    // the incident's title
	Severity string    // SEV1
	State    string    // investigating, resolved, ...
	Event    string    // "Declared", "Status update 3", "Resolved", ...
	Text     string    // the event's words (a status update's text); plain, may be several lines
	URL      string    // the incident page; "" none
	At       time.Time // when it happened
	// NextUpdate is the promised time of the next status update, while the
	// incident is open (zero: none promised, or resolved).
	NextUpdate time.Time

	// Key names this post for good ("sitrep-INC-42-1234": incident and
	// timeline event). A target that can search its channel recognises an
	// earlier try by it; the same event always has the same key.
	Key string
	// Thread is the target's reference of the incident's thread (a Slack
	// parent message's ts) from an earlier Posted.Thread; "" before the
	// incident's first post, or for targets without threads.
	Thread string
}

// nextUpdate is the promise in a few words, "next update by 15:30 UTC",
// or "" when there is none.
func nextUpdate(m Message) string {
	if m.NextUpdate.IsZero() {
		return ""
	}
	return "next update by " + m.NextUpdate.UTC().Format("15:04 UTC")
}

// Posted is what a target reports of a post that reached it.
type Posted struct {
	Ref    string // the target's id of the post (a Slack ts); "" when it gives none
	Thread string // the incident's thread, when this post started or used one; kept for the next post
}

// Poster posts to one chat target. The mirror calls it for one target's
// events one at a time, in timeline order.
type Poster interface {
	Post(ctx context.Context, m Message) (Posted, error)
}

// Recognizer is a Poster that can tell whether an earlier try of m, whose
// outcome was unknown, reached the channel (Slack's Web API reads the
// channel back). The mirror asks it before trying again; a Poster that is
// not one is never sent the same event twice after an unknown outcome.
type Recognizer interface {
	Recognize(ctx context.Context, m Message) (Posted, bool, error)
}

// UncertainError: the post may have reached the target (the request was
// sent, the answer never came). Retrying blindly could post it twice.
type UncertainError struct{ Err error }

func (e *UncertainError) Error() string { return e.Err.Error() }
func (e *UncertainError) Unwrap() error { return e.Err }

// Uncertain reports whether err says the post may have got through.
func Uncertain(err error) bool {
	var u *UncertainError
	return errors.As(err, &u)
}

// PermanentError: the target refused the post for good (a bad webhook,
// an archived channel); retrying cannot help.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError: the target asked us to come back later (HTTP 429).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Permanent reports whether err says retrying cannot help.
func Permanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfter returns how long the target asked to wait, if it did.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}
