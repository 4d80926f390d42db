package compose

import "time"

// The vocabulary between those who decide what to send (the incident
// domain: who gets which message in which thread) and the outbox, which
// delivers it and knows nothing of incidents. Both import compose; neither
// imports the other.

// Audiences: each is its own thread per incident.
const (
	Responders   = "responders"   // heads-up and later responder mail
	Stakeholders = "stakeholders" // status updates to the organisation's groups
	Leads        = "leads"        // reminders and escalations to the incident's leads
)

// Thread names one conversation: one per incident and audience. The
// outbox keeps its Message-IDs, References and subject; what the thread is
// about is its owner's business.
type Thread struct {
	// Key is the owner's id for the conversation (the incident's row id);
	// with Audience it identifies the thread. 0: a message of its own,
	// in no thread (a monitoring draft's note).
	Key      int64
	Audience string
	// Ref names the conversation to people and filters ("INC-42").
	Ref string
	// ReplyToken routes replies back: replies go to
	// <reply part>+<ReplyToken>@<domain>.
	ReplyToken string
	// ToName, when set, is how the To: line of mail to named people names
	// the audience ("INC-42 reporters"); unset, "<Ref> <Audience>".
	ToName string
	// Subject, when set, is the subject the thread starts with, whatever
	// its first message: the leads' thread gets reminders, escalations,
	// questions and notices, and one of them must not name it. Unset: the
	// first message's own subject names the thread. Either way every later
	// message carries the thread's subject, and says what it is in its
	// first line (see the templates' "preheader").
	Subject string
	// SubjectKey, when set, is the catalog key Subject is written from,
	// with Title as its {{.Title}}: each language's variant of the thread
	// starts with the subject in its own language. Subject is the English.
	SubjectKey string
	Title      string
}

// Outgoing is one message to queue: what (Kind and its typed Data), to
// whom (Groups, expanded through their nesting, or named People), in
// which Thread.
type Outgoing struct {
	Thread Thread
	Kind   Kind
	Groups []string
	People []string
	// Followers are addresses that asked to follow (subscriptions), in
	// addition to Groups; de-duplicated against the groups' members, who
	// get the group's copy. Each follower's copy is their own: it carries
	// their one-click unsubscribe link from Unsubscribe.
	Followers []string
	// Unsubscribe is each follower's one-click unsubscribe URL (RFC 8058),
	// by lower-case address. Group members never get one: one member of a
	// list must not be able to silence the list.
	Unsubscribe map[string]string
	// Follows is what each follower follows that sent them this message,
	// by lower-case address: their copy's To: and last line name it
	// ("Followers of checkout"; "you follow the checkout system").
	Follows map[string][]Followed
	// Data is the template's data struct (StatusData, ...). Zone, Audience
	// and (when present) Recipient are filled per recipient.
	Data           any
	NextUpdateAt   *time.Time
	Actor          string
	IdempotencyKey string
	// Calendar, when set, is an iCalendar object (RFC 5545) sent as a
	// text/calendar alternative with CalendarMethod (REQUEST, CANCEL): an
	// iMIP invitation (RFC 6047) that mail clients show with Accept/Decline.
	Calendar       []byte
	CalendarMethod string
}

// Message is one queued email, whatever the number of its recipients,
// with its deliveries counted by state.
type Message struct {
	ID           int64          `json:"id"`
	ThreadKey    int64          `json:"-"`
	Incident     string         `json:"incident,omitempty"` // the thread's Ref
	Audience     string         `json:"audience"`
	Kind         string         `json:"kind"`
	MessageID    string         `json:"message_id"`
	Subject      string         `json:"subject"`
	Groups       []string       `json:"groups"`
	Total        int            `json:"total"`
	Counts       map[string]int `json:"counts"` // deliveries by state
	NextUpdateAt *time.Time     `json:"next_update_at,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	Actor        string         `json:"actor,omitempty"`
	// Language is the catalog language of this message's readers ("de").
	Language string `json:"language,omitempty"`
	// Variants are the same message in the other languages its audience
	// reads, each its own message in its own thread (only on the message
	// Queue returns).
	Variants []*Message `json:"variants,omitempty"`
}

// Preview is what one group's members would receive, for a dry run and
// the compose form's live preview; or (For) what the followers, or the
// public page's subscribers, would.
type Preview struct {
	Group string `json:"group"`
	// For says whose copy it is when it is no group's: PreviewFollowers
	// (the people who follow the incident beside its groups, each with a
	// copy of their own) or PreviewPublic (the public page's subscribers:
	// the public email). "" for a group's.
	For string `json:"for,omitempty"`
	// Reader describes the follower the copy is rendered for, whose copy
	// stands for the others' ("follows checkout"); "" for a group's.
	Reader string `json:"reader,omitempty"`
	// Language is the catalog language these members read ("de"); a
	// group whose members read several languages has one preview each.
	Language   string            `json:"language,omitempty"`
	Recipients int               `json:"recipients"`
	Zones      map[string]int    `json:"zones"` // recipients per time zone
	Headers    map[string]string `json:"headers"`
	Subject    string            `json:"subject"`
	Text       string            `json:"text"`
	HTML       string            `json:"html"`
	Raw        string            `json:"raw,omitempty"`
}

// Preview.For values.
const (
	PreviewFollowers = "followers"
	PreviewPublic    = "public"
)

// Bounced is a delivery a bounce proved it answers (the outbox verified
// it came back to that transaction's bounce address and names one of its
// recipients).
type Bounced struct {
	ThreadKey int64  // the thread of the message that bounced
	Email     string // the recipient whose copy bounced
	Group     string // the group it went through, "" for a named person
	// Kind of the message that bounced, and which of its kind in its
	// thread it was (2: the second status update).
	Kind     Kind
	Position int
	// WasBouncing: the address was already known to bounce before this
	// report, so nobody needs telling again.
	WasBouncing bool
}
