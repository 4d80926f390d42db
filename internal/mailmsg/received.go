package mailmsg

import (
	"errors"
	"time"
)

// What becomes of a received message: the words the inbox, which stores
// it, and the reply use case, which acts on it, share without importing
// each other.

// States of a stored inbound message.
const (
	StateStored    = "stored"    // stored, not yet acted on (its act job is queued)
	StateProcessed = "processed" // acted on
	StateTriage    = "triage"    // matched no incident: waits for a person to file it
	StateRejected  = "rejected"  // unusable (too large, unparseable); Error says why
	StateDuplicate = "duplicate" // another copy (same Message-ID) was already stored
)

// ClassOwn marks mail the hub sent itself (a copy that came back to its
// own inbox): recorded, never acted on.
const ClassOwn Class = "own"

// Messages set aside in triage, their error saying why, never acted on:
const (
	// ClassMalformed: over a parsing limit (see Limits); stored raw and
	// never parsed.
	ClassMalformed Class = "malformed"
	// ClassQuarantined: a poison message, that failed or ran out of time
	// Actor.MaxAttempts times.
	ClassQuarantined Class = "quarantined"
)

// Inbound is a stored inbound message as the API shows it: never the HTML,
// never the raw bytes.
type Inbound struct {
	ID          int64     `json:"id"`
	Incident    string    `json:"incident,omitempty"` // what it was matched to, INC-42; "" while in triage
	IncidentID  int64     `json:"-"`
	State       string    `json:"state"`
	Class       string    `json:"class"`
	Sender      string    `json:"sender"`
	SenderName  string    `json:"sender_name,omitempty"`
	Subject     string    `json:"subject"`
	Text        string    `json:"text"` // the new text of the reply, plain text
	ReceivedAt  time.Time `json:"received_at"`
	MatchedBy   string    `json:"matched_by,omitempty"`
	Action      string    `json:"action,omitempty"`
	Error       string    `json:"error,omitempty"`
	Size        int64     `json:"size"`
	Truncated   bool      `json:"truncated,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	Mailbox     string    `json:"-"`
	UIDValidity uint32    `json:"-"`
	UID         uint32    `json:"-"`
}

// Outcome is what acting decided, written onto the row.
type Outcome struct {
	State, Class       string
	Sender, SenderName string
	Subject, NewText   string
	// IncidentID is the key of the conversation the message was matched
	// to (0: none); MatchedBy says how (MatchToken, ...).
	IncidentID int64
	MatchedRef string // "INC-42"
	MatchedBy  string
	Action     string
	Err        string
}

// Received is a stored message, parsed and classified, handed to the
// Handler with the Outcome so far (its class, sender and text).
type Received struct {
	ID      int64
	Message *Message
	Outcome Outcome
	// Truncated: only the first Stored of Size bytes were kept; the
	// message is too large to act on.
	Truncated    bool
	Size, Stored int64
}

// ErrAlreadyDone: another worker acted on the message first.
var ErrAlreadyDone = errors.New("inbox: message already acted on")

// How a message was matched to its incident, strongest first.
const (
	MatchToken   = "token"   // the reply token in the address it was sent to
	MatchThread  = "thread"  // In-Reply-To or References name one of our messages
	MatchSubject = "subject" // [INC-42] in the subject
	MatchManual  = "manual"  // filed from triage by a person
)

// ReportTag marks the report addresses: <local>+report@<domain> for any
// report, <local>+report-<token>@<domain> for one incident's.
const ReportTag = "report"

// DraftTag starts the plus part of a monitoring draft's reply address.
const DraftTag = "draft-"

// MatchBounce: a verified bounce named the incident (its bounce address
// names the message that bounced).
const MatchBounce = "bounce"
