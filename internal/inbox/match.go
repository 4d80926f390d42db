package inbox

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
