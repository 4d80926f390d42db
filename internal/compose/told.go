package compose

import "time"

// Told is one message as the outbox recorded it, for a reader that
// measures the conversation (the incident's communication scorecard):
// what was sent in which thread and when, and its recipients counted by
// the group that reached them and by delivery state. The outbox fills it
// from its own rows; the reader knows nothing of the outbox's tables.
//
// One send in several languages is several messages (one per language,
// each its own Message-ID); the outbox gives them as one Told, Variants
// naming every message row, so that "status update 3 to exec" is told
// once whatever the languages of its readers.
type Told struct {
	ID       int64     // the first variant's message row
	Variants []int64   // every message row of the send, ID first
	Audience string    // the thread: responders, stakeholders, leads, public, reporter-..., ...
	Kind     string    // headsup, status, resolved, ...
	At       time.Time // queued
	Groups   []string  // the groups the send was addressed to (none: to people)
	Counts   []ToldCount
}

// ToldCount is how many recipients one group reached in one delivery
// state, and when the first and the last of them were handed to the mail
// server (state sent).
type ToldCount struct {
	// Group is the group that reached the recipients; for mail to named
	// people the thread's audience, and "" for followers (people who
	// follow the incident themselves, through no group).
	Group       string
	State       string // queued, sending, sent, deferred, failed, skipped
	Recipients  int
	FirstSentAt *time.Time
	LastSentAt  *time.Time
}
