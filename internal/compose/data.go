package compose

import (
	"encoding/json"
	"time"
)

// The data each template receives. These are plain structs on purpose:
// compose does not import the incident or directory packages, so the
// templates can be rendered (and previewed, and overridden) from anything
// that fills them. Times are absolute; the zero time means "unknown". Zone
// is the recipient's time zone (nil means UTC). Strings are plain text
// unless the field comment says Markdown.

// IncidentView is what every email knows about the incident.
type IncidentView struct {
	ID       string // "INC-42"
	Title    string // "Checkout unavailable"
	Severity string // "SEV1"
	State    string // "investigating", "mitigated", "resolved", ...

	// ThreadTitle is the title the stakeholder thread started with. The
	// subject is built from it, not from Title, so that editing the title
	// does not split the thread in Gmail. Empty means Title.
	ThreadTitle string

	DetectedVia        string // "customer reports", "alert", ...
	DetectionDetail    string
	Verified           bool
	VerificationDetail string

	Extent   string   // "all users" or "subset"
	Segments []string // which users or features, when Extent is "subset"

	FirstFailureAt time.Time
	DetectedAt     time.Time
	ResolvedAt     time.Time

	Systems []string
	Teams   []string

	IncidentLead string // display names
	CommsLead    string

	URL string // the incident page in sitrep, if the web UI is reachable

	// Bridge is the conference call to join, in one line (phone numbers,
	// PIN, video link); empty when none is configured.
	Bridge string

	// Reports summarises who reported the problem, where and how, with the
	// "possibly isolated" warning; empty when nobody reported it. It is
	// English: ReportFacts, when set, are said in the reader's language
	// instead (the template helper "reports"); snapshots queued before
	// them have only this line.
	Reports     string
	ReportFacts *ReportFacts `json:",omitempty"`
}

// ReportFacts are the facts of the reports behind an incident.
type ReportFacts struct {
	Reports, Reporters int
	Locations, Access  []string // as the reporters gave them
	// Isolated says why the problem may be one place's: IsolatedSingle
	// (one reporter) or IsolatedPlace (every report from Locations[0]);
	// "" when not, or once the problem is verified.
	Isolated string `json:",omitempty"`
}

const (
	IsolatedSingle = "single"
	IsolatedPlace  = "one_place"
)

// HeadsUpData is for KindHeadsUp: a responder may be needed.
type HeadsUpData struct {
	Incident  IncidentView
	Recipient string // display name of the responder, may be empty
	Now       time.Time
	Zone      *time.Location
}

// StatusData is for KindStatus: one update to the stakeholder thread.
type StatusData struct {
	Incident IncidentView
	Status   string // Markdown from the comms lead
	// Translations are the comms lead's own versions of Status, by
	// language ("de" → Markdown). A reader whose language has one gets it
	// instead of Status; sitrep never translates what people write.
	Translations map[string]string `json:",omitempty"`
	// ForGroups is wording written for one audience, by group name
	// ("customer-service" → what to tell customers). The group's members
	// get it instead of Status (and of its translations); everyone else
	// gets Status.
	ForGroups    map[string]string `json:",omitempty"`
	NextUpdateAt time.Time
	Holding      bool // no news since the last update; the promise was renewed
	Now          time.Time
	Zone         *time.Location
	Audience     string // the group this copy goes to, e.g. "Exec team"
	UpdateNumber int
}

// ReminderData is for KindReminder (to the comms lead, before the next
// update is due) and KindOverdue (to the incident lead and the backup,
// after it was due and nothing went out).
type ReminderData struct {
	Incident  IncidentView
	DueAt     time.Time
	Now       time.Time
	Zone      *time.Location
	Overdue   bool
	ReplyHint string // overrides the default "reply with ..." line when set (Markdown)
	// FirstUpdate: no status update has gone out yet, and DueAt is when
	// the policy wants the first, Within after the declaration.
	FirstUpdate bool
	Within      time.Duration
}

// QuestionDueData is for KindQuestionDue: stakeholders' questions that
// have waited longer than the policy's answer_within without a lead
// marking them answered, to the comms lead, once per question.
type QuestionDueData struct {
	Incident  IncidentView
	Questions []Question // at least one, oldest first
	Within    time.Duration
	Now       time.Time
	Zone      *time.Location
}

// RootCauseDueData is for KindRootCauseDue: the daily reminder to the
// leads of an incident resolved with its root cause unknown.
type RootCauseDueData struct {
	Incident IncidentView // .ResolvedAt says since when
	Now      time.Time
	Zone     *time.Location
}

// SubscriptionConfirmData is for KindSubscribeConfirm: the double
// opt-in mail to an address that asked (or was asked) to follow
// incidents. Nothing is sent to it until URL is followed.
type SubscriptionConfirmData struct {
	Email     string // the address asked about
	Kind      string // "all", "system" or "incident"
	Target    string // the system or incident's ref; "" for all
	URL       string // the single-use confirmation link
	ExpiresAt time.Time
	Now       time.Time
	Zone      *time.Location
}

func (d *SubscriptionConfirmData) address(c Copy) { d.Zone = c.Zone }

// ResolvedData is for KindResolved: the quick "it is fixed" to the
// stakeholder thread.
type ResolvedData struct {
	Incident         IncidentView
	RestoredAt       time.Time
	Duration         time.Duration // of the impact; 0 means compute from FirstFailureAt/DetectedAt
	Impact           string        // Markdown
	RootCause        string        // Markdown; ignored when RootCauseUnknown
	RootCauseUnknown bool          // "we do not know yet and are watching"
	WriteUpBy        time.Time     // when the blameless summary will follow; zero = not promised
	Now              time.Time
	Zone             *time.Location
	Audience         string
}

// ConfirmData is for KindConfirm: ask someone who reported the problem
// whether it is gone for them.
type ConfirmData struct {
	Incident  IncidentView
	Recipient string // display name of the reporter
	// Reporter: they reported the problem; false for the people asked
	// to confirm every fix (resolution.Service.Confirmers), who did not.
	Reporter   bool
	ReportedAt time.Time // when they reported it; zero = unknown
	RestoredAt time.Time
	Now        time.Time
	Zone       *time.Location
}

// SummaryData is for KindSummary: the blameless summary, written by people
// in Markdown and checked by the linter before it gets here.
type SummaryData struct {
	Incident IncidentView
	Summary  string // Markdown (GFM tables allowed)
	Now      time.Time
	Zone     *time.Location
	Audience string
}

// TimelineEntry is one line of the post-mortem timeline.
type TimelineEntry struct {
	At   time.Time
	What string // plain text
	Who  string // role or team, never a person to blame; may be empty
}

// TimelineData is for KindTimeline: the timeline shared with the
// post-mortem attendees before the meeting.
type TimelineData struct {
	Incident IncidentView
	Entries  []TimelineEntry
	// Communication is how the incident was communicated, as facts from
	// its scorecard (plain text, one per line, in the organisation's
	// language, naming no one); none for a snapshot queued before it.
	Communication []string
	PostMortemAt  time.Time // zero = not booked yet
	// Location is the room, "" when the meeting is remote (the template
	// says so in the reader's language); a snapshot queued before VideoLink
	// existed has "remote, <link>" here, which is shown as it is.
	Location  string
	VideoLink string // "" = none
	Now       time.Time
	Zone      *time.Location
}

// CommandRefusedData is for KindCommandRefused: someone replied with a
// command (hold, resolve, ...) that sitrep did not carry out.
type CommandRefusedData struct {
	Incident IncidentView
	Subject  string // the subject of the message being answered; empty = the thread subject
	From     string // who sent it, "Jane Doe <jane@example.com>"
	Command  string // what they wrote, first line
	Reason   string // why it was refused, in English (a domain error), when Refusals is empty
	// Refusals say which of the checks every command must pass failed
	// (RefusedNotLead, RefusedNotReplyAddress, RefusedUnauthenticated),
	// in the reader's language; AuthDetail is what the authentication
	// results said, as they said it.
	Refusals   []string
	AuthDetail string
	// UpdateAllowed: a lead may also reply with the text of the next
	// update; the template says so in the reader's language.
	UpdateAllowed bool
	Allowed       []string // commands they may use, as they type them ("hold 30m")
	Now           time.Time
	Zone          *time.Location
}

// The checks a command failed (CommandRefusedData.Refusals).
const (
	RefusedNotLead         = "not_lead"          // the sender is not a lead of the incident
	RefusedNotReplyAddress = "not_reply_address" // not sent to the incident's reply address
	RefusedUnauthenticated = "unauthenticated"   // no trusted server vouched for the From
)

// BounceNoticeData is for KindBounceNotice: tells the comms lead that a
// status email did not reach someone.
type BounceNoticeData struct {
	Incident IncidentView
	// Address and Group are not named Recipient and Audience: the outbox
	// fills fields of those names with the reader's name and audience,
	// and the comms lead was told that their own address bounced.
	Address string // the address that bounced
	Group   string // the display name of the group it was sent to
	// BouncedKind and Position say what bounced (KindStatus and 2: update
	// 2); the template names it in the reader's language. A kind it does
	// not name is "an email".
	BouncedKind Kind
	Position    int
	// What is what bounced in English ("update 2"), from a snapshot queued
	// before BouncedKind; used only when BouncedKind is empty.
	What      string
	Reason    string // from the DSN, for people
	Permanent bool
	At        time.Time
	Now       time.Time
	Zone      *time.Location
}

// UnverifiedBounceData is for KindUnverifiedBounce: tells the leads that
// a delivery failure report came which does not prove it answers a
// transaction the hub sent (it did not come back to that transaction's
// bounce address, or names someone the transaction did not go to), so
// no delivery was changed.
type UnverifiedBounceData struct {
	Incident   IncidentView
	From       string   // the report's From, as written (anyone can write it)
	Recipients []string // the addresses it says failed
	// Cause says why it is not believed, in the reader's language:
	// UnverifiedNotToBounceAddress or UnverifiedOtherTransaction.
	Cause string
	// Reason is why in English, from a snapshot queued before Cause; when
	// set, it is used instead.
	Reason string
	At     time.Time
	Now    time.Time
	Zone   *time.Location
}

// Causes of an unverified bounce (UnverifiedBounceData.Cause).
const (
	// It did not come back to the address any update was sent from.
	UnverifiedNotToBounceAddress = "not_to_bounce_address"
	// It came back to the address of a transaction that did not go to
	// the addresses it names.
	UnverifiedOtherTransaction = "other_transaction"
)

// StakeholderReplyData is for KindStakeholderReply: a stakeholder's
// question forwarded to the comms lead, so responders are not interrupted.
// Questions that arrive close together come in one email, oldest first.
type StakeholderReplyData struct {
	Incident  IncidentView
	Questions []Question // at least one
	Now       time.Time
	Zone      *time.Location
}

// Question is one stakeholder's reply, as the comms lead reads it.
type Question struct {
	From       string // "Jane Doe <jane@example.com>"
	Audience   string // the group they are in, if known
	Subject    string // of their message
	Text       string // plain text of their reply, quoted part removed
	ReceivedAt time.Time
}

// DraftAlertData is for KindDraftAlert: a draft status update is waiting
// for the comms lead's approval before it goes out.
type DraftAlertData struct {
	Incident  IncidentView
	Draft     string // Markdown
	DraftedBy string
	Audiences []string
	DueAt     time.Time // when the next update is promised
	Now       time.Time
	Zone      *time.Location
	// Alert: the draft is an incident a monitoring alert opened (intake),
	// not a status update; Incident.ID is then the draft's (DRAFT-12) and
	// Draft says what the monitor reported. Nothing has been sent.
	Alert bool
	// For an Alert, what sitrep knows of the alert, which the template
	// says in the reader's language; Draft then holds only the monitor's
	// own text. An empty AlertKey (a note queued before these fields)
	// means Draft says it all.
	AlertKey          string
	SuggestedSeverity string // "" = none
	Fired             int    // how many times the alert fired
	LastFiredAt       time.Time
	DraftPage         string // the draft's page in the web UI; "" = none
	DraftNumber       int64  // for `sitrep draft declare 12`
}

// AnswerData is for KindStillBroken and KindUnclearAnswer: someone asked
// to confirm the fix says the problem is still there, or answered neither
// yes nor no. It goes to the incident and comms leads at once, who read
// the words and decide.
type AnswerData struct {
	Incident   IncidentView
	From       string // "Jane Doe <jane@example.com>"
	Answer     string // plain text of their reply, quoted part removed
	ReceivedAt time.Time
	Now        time.Time
	Zone       *time.Location
}

// PostmortemInviteData is for KindPostmortemInvite: the body of the
// post-mortem invitation (the text/calendar part travels beside it), with
// the agenda and the timeline to read before the meeting.
type PostmortemInviteData struct {
	Incident    IncidentView
	Start, End  time.Time
	Location    string // room, or "" when remote
	VideoLink   string
	Facilitator string // display name
	Method      string // REQUEST or CANCEL (RFC 5546)
	Sequence    int    // > 0: an update of an earlier invitation
	Entries     []TimelineEntry
	// Communication is how the incident was communicated, as facts
	// (TimelineData.Communication).
	Communication []string
	Now           time.Time
	Zone          *time.Location
}

// PostmortemIssue is one Issue on the post-mortem board: a system or
// process failure, never a person.
type PostmortemIssue struct {
	Ref  string // "I1"
	Text string // plain text
}

// PostmortemImprovement is one Improvement on the board.
type PostmortemImprovement struct {
	Ref   string    // "M1"
	Text  string    // plain text
	Owner string    // display name; "" = nobody yet (flagged)
	DueOn time.Time // zero = no due date
	Issue string    // Ref of the Issue it addresses, "" = none
}

// PostmortemReportData is for KindPostmortemReport: what the post-mortem
// found and who does what next, to every participant.
type PostmortemReportData struct {
	Incident     IncidentView
	HeldAt       time.Time // zero = not known
	Facilitator  string
	Issues       []PostmortemIssue
	Improvements []PostmortemImprovement
	Unowned      int // improvements without an owner
	Now          time.Time
	Zone         *time.Location
}

// ImprovementDueData is for KindImprovementDue: reminds an improvement's
// owner before its due date, or once it is overdue.
type ImprovementDueData struct {
	Incident    IncidentView
	Recipient   string // owner's display name
	Improvement string // plain text
	Issue       string // plain text of the Issue it addresses, "" = none
	DueOn       time.Time
	Overdue     bool
	Now         time.Time
	Zone        *time.Location
}

// UnmarshalJSON reads a stored snapshot, also one queued before questions
// were batched (one question in From, Audience, Subject, Question and
// ReceivedAt), so that an upgrade delivers what was queued before it.
func (d *StakeholderReplyData) UnmarshalJSON(b []byte) error {
	type plain StakeholderReplyData
	var v struct {
		plain
		From, Audience, Subject, Question string
		ReceivedAt                        time.Time
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = StakeholderReplyData(v.plain)
	if len(d.Questions) == 0 && v.Question != "" {
		d.Questions = []Question{{From: v.From, Audience: v.Audience, Subject: v.Subject, Text: v.Question, ReceivedAt: v.ReceivedAt}}
	}
	return nil
}

// UnmarshalJSON reads a stored snapshot, also one queued when a bounce
// notice carried an UpdateNumber instead of What.
func (d *BounceNoticeData) UnmarshalJSON(b []byte) error {
	type plain BounceNoticeData
	var v struct {
		plain
		UpdateNumber int
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = BounceNoticeData(v.plain)
	if d.BouncedKind == "" && d.What == "" && v.UpdateNumber > 0 {
		d.BouncedKind, d.Position = KindStatus, v.UpdateNumber
	}
	return nil
}
