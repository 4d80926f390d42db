// Package incident holds incidents, their lifecycle, their append-only
// timeline and the next-update promise: the state the rest of sitrep
// communicates about.
package incident

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// State is where an incident is in its life.
type State string

const (
	Investigating State = "investigating"
	Identified    State = "identified"
	Monitoring    State = "monitoring"
	Resolved      State = "resolved"
	Postmortem    State = "postmortem"
	Closed        State = "closed"
)

// transitions lists the allowed moves. Resolved may go back to
// investigating: a reporter saying "still broken" reopens the incident.
var transitions = map[State][]State{
	Investigating: {Identified, Monitoring, Resolved},
	Identified:    {Investigating, Monitoring, Resolved},
	Monitoring:    {Investigating, Identified, Resolved},
	Resolved:      {Investigating, Postmortem, Closed},
	Postmortem:    {Closed},
	Closed:        nil,
}

// States in lifecycle order.
var States = []State{Investigating, Identified, Monitoring, Resolved, Postmortem, Closed}

// Active reports whether the incident is still being worked on.
func (s State) Active() bool { return s == Investigating || s == Identified || s == Monitoring }

// CanMoveTo reports whether the lifecycle allows s → to.
func (s State) CanMoveTo(to State) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// ParseState validates a state name.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", errs.InvalidField("state", "unknown state %q (want one of %s)", s, joinStates(States))
}

func joinStates(ss []State) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// Severity is SEV1 (worst) to SEV4.
type Severity string

var Severities = []Severity{"SEV1", "SEV2", "SEV3", "SEV4"}

// ParseSeverity accepts sev1..sev4 in any case, and 1..4.
func ParseSeverity(s string) (Severity, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if len(u) == 1 {
		u = "SEV" + u
	}
	for _, v := range Severities {
		if u == string(v) {
			return v, nil
		}
	}
	return "", errs.InvalidField("severity", "unknown severity %q (want SEV1, SEV2, SEV3 or SEV4)", s)
}

// Detection sources, from the guide: how did we hear about it?
var DetectionSources = []string{"monitoring", "customer", "employee"}

// Scope answers the guide's scope questions.
type Scope struct {
	DetectedVia        string   `json:"detected_via"`     // monitoring | customer | employee
	DetectionDetail    string   `json:"detection_detail"` // "Pingdom check checkout-eu", "ticket #4411"
	Verified           bool     `json:"verified"`
	VerificationDetail string   `json:"verification_detail"`
	Extent             string   `json:"extent"`   // all | subset
	Segments           []string `json:"segments"` // "region: EU", "device: iOS app", "feature: checkout"
	Systems            []string `json:"systems"`  // suspected systems, keys of the escalation list
	Teams              []string `json:"teams"`
}

// Roles are the people running the incident, by email.
type Roles struct {
	IncidentLead string `json:"incident_lead"` // the guide's issue resolution manager
	CommsLead    string `json:"comms_lead"`
	Facilitator  string `json:"facilitator"`
}

// Incident is one outage being communicated about.
type Incident struct {
	ID             int64      `json:"-"`
	Ref            string     `json:"id"` // INC-42
	Title          string     `json:"title"`
	Severity       Severity   `json:"severity"`
	State          State      `json:"state"`
	Scope          Scope      `json:"scope"`
	Roles          Roles      `json:"roles"`
	FirstFailureAt *time.Time `json:"first_failure_at,omitempty"`
	DetectedAt     *time.Time `json:"detected_at,omitempty"`
	DeclaredAt     time.Time  `json:"declared_at"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	RootCause      string     `json:"root_cause,omitempty"`
	Fix            string     `json:"fix,omitempty"`
	Promise        Promise    `json:"promise"`
	ReplyToken     string     `json:"-"`
	Version        int        `json:"version"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Promise is the next-update promise and how well it has been kept.
type Promise struct {
	NextUpdateAt *time.Time `json:"next_update_at,omitempty"`
	// Status is on_time, due_soon, overdue, or none (no promise outstanding).
	Status string `json:"status"`
	// Promised: updates promised so far that have come due (each update
	// promises the next), the outstanding promise included once overdue.
	Promised int `json:"promised"`
	Kept     int `json:"kept"` // of those, sent on or before the promised time
	// KeptRate is Kept/Promised, 1 when nothing has come due yet.
	KeptRate float64 `json:"kept_rate"`
	Stage    int     `json:"-"`
}

// Promise stages: which reminders went out for the current promise.
const (
	StageNone     = 0
	StageReminded = 1
	StageDue      = 2
	StageOverdue  = 3
)

// FormatRef is INC-<id>.
func FormatRef(id int64) string { return "INC-" + strconv.FormatInt(id, 10) }

// ParseRef accepts INC-42, inc-42 or 42.
func ParseRef(ref string) (int64, error) {
	s := strings.TrimSpace(ref)
	if len(s) > 4 && strings.EqualFold(s[:4], "INC-") {
		s = s[4:]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "no incident %q (want an id like INC-42)", ref)
	}
	return id, nil
}

// Duration is how long the incident has lasted, up to now or resolution,
// from the first failure when known, else from declaration.
func (i *Incident) Duration(now time.Time) time.Duration {
	start := i.DeclaredAt
	if i.FirstFailureAt != nil {
		start = *i.FirstFailureAt
	}
	end := now
	if i.ResolvedAt != nil {
		end = *i.ResolvedAt
	}
	if end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

// promiseStatus derives the promise status at now; soon is the window
// before the due time in which it counts as due soon.
func (p *Promise) derive(now time.Time, soon time.Duration) {
	switch {
	case p.NextUpdateAt == nil:
		p.Status = "none"
	case now.After(*p.NextUpdateAt):
		p.Status = "overdue"
	case p.NextUpdateAt.Sub(now) <= soon:
		p.Status = "due_soon"
	default:
		p.Status = "on_time"
	}
	// An overdue promise is already a missed one: counting it only once the
	// late update goes out would show 100% kept while nobody has been told.
	if p.Status == "overdue" {
		p.Promised++
	}
	p.KeptRate = KeptRate(p.Kept, p.Promised)
}

// KeptRate is kept/promised, 1 when nothing has come due yet.
func KeptRate(kept, promised int) float64 {
	if promised == 0 {
		return 1
	}
	return float64(kept) / float64(promised)
}

// Event is one entry of an incident's timeline.
type Event struct {
	ID         int64          `json:"id"`
	IncidentID int64          `json:"-"`
	At         time.Time      `json:"at"`
	Kind       string         `json:"kind"`
	Actor      string         `json:"actor"`
	Text       string         `json:"text"`
	Data       map[string]any `json:"data,omitempty"`
}

// Timeline event kinds.
const (
	EventDeclared      = "declared"
	EventFieldChanged  = "field_changed"
	EventStateChanged  = "state_changed"
	EventUpdateQueued  = "update_queued"
	EventUpdateSent    = "update_sent"
	EventHeadsUpQueued = "headsup_queued"
	EventReminder      = "reminder"
	EventOverdue       = "overdue"
	EventReply         = "reply_received"
	EventNote          = "note"
	// EventReport is a report filed (FileReport); its data carries the
	// report's fields, its text who filed it.
	EventReport = "report"
)

// validText is the one check of people-written text (errs.CheckLine):
// titles end up in email subjects, where a line break is header injection.
func validText(field, s string, max int, required bool) error {
	return errs.CheckLine(field, s, max, required)
}

func cleanList(field string, in []string, max int) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for i, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[strings.ToLower(s)] {
			continue
		}
		if err := validText(fmt.Sprintf("%s[%d]", field, i), s, max, false); err != nil {
			return nil, err
		}
		seen[strings.ToLower(s)] = true
		out = append(out, s)
	}
	return out, nil
}
