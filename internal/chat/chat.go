// Package chat mirrors each incident's key timeline events (declared,
// status update sent, resolved, summary sent) to the resolution team's
// channel — the outage guide's "IRC or a collaboration tool like Slack".
// Email stays the record: every post is a River job of its own, on its
// own queue, retried, so a chat service that is down or slow never holds
// up an email.
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
}

// Poster posts to one chat target.
type Poster interface {
	Post(ctx context.Context, m Message) error
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
