package incident

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// The communication scorecard: how an incident's people were told, read
// from what sitrep recorded as it happened (the timeline, the outbox's
// messages and deliveries, the stakeholders' questions). Nothing is
// counted on the side: every figure is recomputed from the record, so it
// cannot drift from it. docs/scorecard.md says how each figure is read.
//
// Policy targets ("the first update within 5 minutes of a SEV1") are not
// the scorecard's: it measures. A page that compares may read a policy's
// targets beside it; the figures here are what a target is compared with.

// MessageLog is what the scorecard reads of the mail sent: the outbox in
// production. Both read through q, the caller's transaction when it has
// one.
type MessageLog interface {
	// Told lists the messages of the conversation key (an incident's
	// threads), oldest first, each send once with its recipients counted
	// by group and delivery state.
	Told(ctx context.Context, q store.Querier, key int64) ([]compose.Told, error)
}

// QuestionLog lists the stakeholders' questions of an incident, the ones
// the reply flow forwarded to the comms lead, oldest first, each with the
// answer a lead recorded: the reply flow in production, reading the same
// record as the policy's question reminders (Questions). q may be the
// caller's transaction.
type QuestionLog interface {
	QuestionsOf(ctx context.Context, q store.Querier, incidentID int64) ([]Question, error)
}

// Question is one stakeholder's question, as the reply flow recorded it.
type Question struct {
	// ID is the inbound message's id: what a lead names to mark the
	// question answered.
	ID          int64      `json:"id"`
	From        string     `json:"from"` // the address, lower case
	Name        string     `json:"name,omitempty"`
	Audience    string     `json:"audience,omitempty"`     // the asker's group, when known
	AskedAt     time.Time  `json:"asked_at"`               // received
	ForwardedAt *time.Time `json:"forwarded_at,omitempty"` // in an email to the comms lead
	// AnsweredAt is when a lead said it was answered (by marking it, or by
	// an update sent as answering the open questions), and AnsweredBy that
	// lead; nil and "" while no lead has. sitrep cannot see an answer by
	// phone or chat, and an update reaching the asker does not prove it
	// answered them, so it does not guess (docs/policy.md).
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"`
}

// Timeline kinds the scorecard reads that other packages write: the
// resolution flow's confirmations (resolution.EventConfirmationAsked and
// resolution.EventConfirmation; a test there keeps them equal).
const (
	EventConfirmationAsked = "confirmation_asked"
	EventConfirmation      = "confirmation"
)

// Promise outcomes on the scorecard.
const (
	// PromiseKept: the next update went out by the promised time.
	PromiseKept = "kept"
	// PromiseMissed: it went out later, or the incident was resolved
	// after the promised time without one.
	PromiseMissed = "missed"
	// PromiseOverdue: an active incident's promise whose time has passed
	// with no update yet; counted as missed, by as much as so far.
	PromiseOverdue = "overdue"
	// PromisePending: not due yet.
	PromisePending = "pending"
	// PromiseEnded: the incident was resolved before the promised time;
	// the promise never came due and is counted neither way.
	PromiseEnded = "ended"
)

// How a promise was settled.
const (
	ByUpdate     = "update"
	ByResolution = "resolution"
)

// Scorecard is one incident's communication, measured. Times are UTC;
// durations are whole seconds.
type Scorecard struct {
	Incident   string     `json:"incident"`
	Title      string     `json:"title"`
	Severity   Severity   `json:"severity"`
	State      State      `json:"state"`
	Systems    []string   `json:"systems"`
	DeclaredAt time.Time  `json:"declared_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// AsOf is when it was computed: an active incident's figures (an
	// overdue promise, a question waiting) may still change.
	AsOf time.Time `json:"as_of"`

	// TimeToHeadsUp is from the declaration to the heads-up's first copy
	// accepted by the mail server; nil before that, or without a heads-up.
	TimeToHeadsUp *int64 `json:"time_to_heads_up_seconds"`
	// TimeToFirstUpdate is from the declaration to the first status
	// update sent; nil before it.
	TimeToFirstUpdate *int64 `json:"time_to_first_update_seconds"`

	HeadsUp       *HeadsUpFigure      `json:"heads_up"`
	Updates       []UpdateFigure      `json:"updates"`
	Promises      PromiseFigures      `json:"promises"`
	Questions     QuestionFigures     `json:"questions"`
	Confirmations ConfirmationFigures `json:"confirmations"`
	// Told is who was told what and when, by thread (audience).
	Told []AudienceFigure `json:"told"`
	// NotRecorded names what this server does not record, so the figures
	// that need it are missing rather than zero: "deliveries" (no outbox
	// wired) or "questions" (no reply flow).
	NotRecorded []string `json:"not_recorded,omitempty"`
}

// HeadsUpFigure is the first heads-up to the responders.
type HeadsUpFigure struct {
	QueuedAt   time.Time `json:"queued_at"`
	Responders int       `json:"responders"`
	// FirstDeliveredAt: its first copy accepted by the mail server.
	FirstDeliveredAt *time.Time `json:"first_delivered_at,omitempty"`
	// AllDeliveredAt: its last copy accepted, once every copy was.
	AllDeliveredAt *time.Time `json:"all_delivered_at,omitempty"`
}

// UpdateFigure is one status update.
type UpdateFigure struct {
	Number  int       `json:"number"`
	At      time.Time `json:"at"`
	Holding bool      `json:"holding,omitempty"`
	Groups  []string  `json:"groups"`
	// AfterDeclared is from the declaration to this update.
	AfterDeclared int64 `json:"after_declared_seconds"`
	// Recipients counts every copy queued (all languages); -1 when the
	// deliveries are not recorded.
	Recipients       int        `json:"recipients"`
	FirstDeliveredAt *time.Time `json:"first_delivered_at,omitempty"`
	// Promised is the next update it promised.
	Promised *time.Time `json:"next_update_at,omitempty"`
	messages []int64
}

// PromiseFigures are the next-update promises: each update promises the
// next. Kept and Missed count the promises that came due; Missed counts
// the overdue ones too.
type PromiseFigures struct {
	Kept    int `json:"kept"`
	Missed  int `json:"missed"`
	Pending int `json:"pending"`
	Ended   int `json:"ended"`
	// KeptPercent is Kept of Kept+Missed, to one decimal; nil when none came due.
	KeptPercent *float64        `json:"kept_percent"`
	List        []PromiseFigure `json:"list"`
}

// PromiseFigure is one promise and how it was kept.
type PromiseFigure struct {
	// DueAt is the promised time; MadeBy the update that promised it.
	DueAt   time.Time `json:"due_at"`
	MadeBy  int       `json:"made_by_update"`
	Outcome string    `json:"outcome"` // kept, missed, overdue, pending, ended
	// SettledAt is when the next update (or the resolution) came.
	SettledAt *time.Time `json:"settled_at,omitempty"`
	SettledBy string     `json:"settled_by,omitempty"` // update or resolution
	// SettledByUpdate is the update's number when an update settled it.
	SettledByUpdate int `json:"settled_by_update,omitempty"`
	// Lateness is SettledAt - DueAt (negative: early); for an overdue
	// promise, how late so far; 0 when pending.
	Lateness int64 `json:"lateness_seconds"`
}

// QuestionFigures are the stakeholders' questions.
type QuestionFigures struct {
	Asked    int `json:"asked"`
	Answered int `json:"answered"`
	// MedianAnswer is the median time to answer of the answered ones
	// (nearest rank), nil when none was.
	MedianAnswer *int64           `json:"median_answer_seconds"`
	List         []QuestionFigure `json:"list"`
}

// QuestionFigure is one question and its answer: answered when a lead
// said so (Question.AnsweredAt), the same record the policy's reminder
// reads, so that the scorecard never calls answered a question the
// reminder treats as open, nor the reverse.
type QuestionFigure struct {
	Question
	// TimeToAnswer is AnsweredAt - AskedAt.
	TimeToAnswer *int64 `json:"time_to_answer_seconds,omitempty"`
}

// ConfirmationFigures are the requests to confirm the fix ("is it fixed
// for you?") and their answers; a person asked again (a reopened
// incident resolved again) counts once per request.
type ConfirmationFigures struct {
	Asked       int                  `json:"asked"`
	Answered    int                  `json:"answered"`
	Confirmed   int                  `json:"confirmed"`
	StillBroken int                  `json:"still_broken"`
	Unclear     int                  `json:"unclear"`
	List        []ConfirmationFigure `json:"list"`
}

// ConfirmationFigure is one request to confirm and its answer.
type ConfirmationFigure struct {
	Email      string     `json:"email"`
	AskedAt    time.Time  `json:"asked_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"` // the first answer
	// State is the last answer's: confirmed, still_broken, ambiguous;
	// "" while unanswered.
	State        string `json:"state,omitempty"`
	TimeToAnswer *int64 `json:"time_to_answer_seconds,omitempty"`
}

// AudienceFigure is what one thread's readers were told: every message,
// and by group, when each message reached how many of them.
type AudienceFigure struct {
	// Audience is the thread: responders, stakeholders, public, leads,
	// reporters (those asked to confirm the fix), postmortem, ...
	Audience string        `json:"audience"`
	Messages []ToldMessage `json:"messages"`
	Groups   []GroupFigure `json:"groups"`
}

// ToldMessage is one message (all its languages) and its delivery.
type ToldMessage struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// Update is the status update's number, 0 for other kinds.
	Update     int `json:"update,omitempty"`
	Recipients int `json:"recipients"`
	Delivered  int `json:"delivered"`
	Pending    int `json:"pending"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	// FirstDeliveredAt and LastDeliveredAt: the first and the last copy
	// accepted by the mail server so far.
	FirstDeliveredAt *time.Time   `json:"first_delivered_at,omitempty"`
	LastDeliveredAt  *time.Time   `json:"last_delivered_at,omitempty"`
	Groups           []GroupCount `json:"groups"`
	ids              []int64
}

// GroupCount is how many recipients one group reached with one message.
type GroupCount struct {
	Group      string `json:"group"`
	Recipients int    `json:"recipients"`
}

// GroupFigure is one group of a thread: each message it was sent, when,
// and to how many of its people.
type GroupFigure struct {
	Group string      `json:"group"`
	Sends []GroupSend `json:"sends"`
}

// GroupSend is one message to a group.
type GroupSend struct {
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Update     int       `json:"update,omitempty"`
	Recipients int       `json:"recipients"`
}

// Scorecard is the communication scorecard of the incident ref, as of now.
func (c *Comms) Scorecard(ctx context.Context, ref string) (*Scorecard, error) {
	inc, err := c.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c.ScorecardOf(ctx, c.DB, inc)
}

// ScorecardOf is inc's scorecard read through q (the caller's transaction
// when it has one: on SQLite's one connection a read beside an open
// transaction would wait for it).
func (c *Comms) ScorecardOf(ctx context.Context, q store.Querier, inc *Incident) (*Scorecard, error) {
	in := scoreInput{inc: inc, now: c.now()}
	var err error
	if in.events, err = Events(ctx, q, inc.ID); err != nil {
		return nil, err
	}
	if c.QuestionLog != nil {
		if in.questions, err = c.QuestionLog.QuestionsOf(ctx, q, inc.ID); err != nil {
			return nil, fmt.Errorf("incident: scorecard of %s: %w", inc.Ref, err)
		}
		in.questionsKnown = true
	}
	if c.Messages != nil {
		if in.told, err = c.Messages.Told(ctx, q, inc.ID); err != nil {
			return nil, fmt.Errorf("incident: scorecard of %s: %w", inc.Ref, err)
		}
		in.toldKnown = true
	}
	return computeScorecard(in), nil
}

// scoreInput is the record a scorecard is computed from.
type scoreInput struct {
	inc            *Incident
	events         []Event
	told           []compose.Told
	toldKnown      bool
	questions      []Question
	questionsKnown bool
	now            time.Time
}

// computeScorecard is the scorecard of the record in: no I/O, so that a
// test can give it any record.
func computeScorecard(in scoreInput) *Scorecard {
	inc := in.inc
	sc := &Scorecard{Incident: inc.Ref, Title: inc.Title, Severity: inc.Severity, State: inc.State, Systems: inc.Scope.Systems,
		DeclaredAt: inc.DeclaredAt.UTC(), ResolvedAt: inc.ResolvedAt, AsOf: in.now.UTC(),
		Updates: []UpdateFigure{}, Told: []AudienceFigure{}}
	sc.Promises.List, sc.Questions.List, sc.Confirmations.List = []PromiseFigure{}, []QuestionFigure{}, []ConfirmationFigure{}
	if sc.Systems == nil {
		sc.Systems = []string{}
	}
	if !in.toldKnown {
		sc.NotRecorded = append(sc.NotRecorded, "deliveries")
	}
	if !in.questionsKnown {
		sc.NotRecorded = append(sc.NotRecorded, "questions")
	}
	sends := map[int64]*compose.Told{} // every variant's row → its send
	for i := range in.told {
		for _, id := range in.told[i].Variants {
			sends[id] = &in.told[i]
		}
	}
	declared := sc.DeclaredAt

	// The timeline, in order: updates, the heads-up, the promises each
	// update made and the update or resolution that settled them, the
	// requests to confirm and their answers.
	var outstanding *PromiseFigure
	settle := func(at time.Time, by string, update int) {
		p := outstanding
		outstanding = nil
		if by == ByResolution && !at.After(p.DueAt) {
			p.Outcome = PromiseEnded
			sc.Promises.List = append(sc.Promises.List, *p)
			return
		}
		t := at
		p.SettledAt, p.SettledBy, p.SettledByUpdate = &t, by, update
		p.Lateness = seconds(at.Sub(p.DueAt))
		p.Outcome = PromiseKept
		if at.After(p.DueAt) {
			p.Outcome = PromiseMissed
		}
		sc.Promises.List = append(sc.Promises.List, *p)
	}
	type ask struct {
		idx   int // in sc.Confirmations.List
		email string
	}
	var open []ask // requests to confirm, by person: the latest only
	for _, ev := range in.events {
		at := ev.At.UTC()
		switch ev.Kind {
		case EventUpdateQueued:
			n := len(sc.Updates) + 1
			if outstanding != nil {
				settle(at, ByUpdate, n)
			}
			u := UpdateFigure{Number: n, At: at, AfterDeclared: seconds(at.Sub(declared)), Groups: dataStrings(ev.Data["groups"]), Recipients: -1}
			u.Holding, _ = ev.Data["holding"].(bool)
			if next, ok := dataTime(ev.Data["next_update_at"]); ok {
				u.Promised = &next
				outstanding = &PromiseFigure{DueAt: next, MadeBy: n}
			}
			if id, ok := dataID(ev.Data["message"]); ok {
				if s := sends[id]; s != nil {
					u.messages = s.Variants
					u.Recipients, u.FirstDeliveredAt = total(s), firstDelivered(s)
				} else {
					u.messages = []int64{id}
				}
			}
			if in.toldKnown && u.Recipients < 0 {
				u.Recipients = 0
			}
			sc.Updates = append(sc.Updates, u)
		case EventHeadsUpQueued:
			if sc.HeadsUp != nil {
				continue
			}
			h := &HeadsUpFigure{QueuedAt: at, Responders: len(dataStrings(ev.Data["to"]))}
			if id, ok := dataID(ev.Data["message"]); ok {
				if s := sends[id]; s != nil {
					h.Responders = total(s)
					h.FirstDeliveredAt, h.AllDeliveredAt = firstDelivered(s), allDelivered(s)
				}
			}
			sc.HeadsUp = h
		case EventStateChanged:
			if to, _ := ev.Data["to"].(string); to == string(Resolved) && outstanding != nil {
				settle(at, ByResolution, 0)
			}
		case EventConfirmationAsked:
			for _, email := range dataStrings(ev.Data["asked"]) {
				email = strings.ToLower(email)
				open = slices.DeleteFunc(open, func(a ask) bool { return a.email == email })
				sc.Confirmations.List = append(sc.Confirmations.List, ConfirmationFigure{Email: email, AskedAt: at})
				open = append(open, ask{idx: len(sc.Confirmations.List) - 1, email: email})
			}
		case EventConfirmation:
			from := strings.ToLower(ev.Actor)
			for _, a := range open {
				if a.email != from {
					continue
				}
				f := &sc.Confirmations.List[a.idx]
				if f.AnsweredAt == nil {
					t := at
					f.AnsweredAt, f.TimeToAnswer = &t, ptr(seconds(at.Sub(f.AskedAt)))
				}
				f.State, _ = ev.Data["state"].(string)
			}
		}
	}
	if outstanding != nil {
		p := *outstanding
		switch {
		case inc.State.Active() && in.now.After(p.DueAt):
			p.Outcome, p.Lateness = PromiseOverdue, seconds(in.now.Sub(p.DueAt))
		case inc.State.Active():
			p.Outcome = PromisePending
		default:
			// Not active and still promised: a record from before the
			// resolution cleared the promise. It ended with the incident.
			p.Outcome = PromiseEnded
		}
		sc.Promises.List = append(sc.Promises.List, p)
	}
	for _, p := range sc.Promises.List {
		switch p.Outcome {
		case PromiseKept:
			sc.Promises.Kept++
		case PromiseMissed, PromiseOverdue:
			sc.Promises.Missed++
		case PromisePending:
			sc.Promises.Pending++
		case PromiseEnded:
			sc.Promises.Ended++
		}
	}
	sc.Promises.KeptPercent = percent(sc.Promises.Kept, sc.Promises.Kept+sc.Promises.Missed)

	if len(sc.Updates) > 0 {
		sc.TimeToFirstUpdate = ptr(sc.Updates[0].AfterDeclared)
	}
	if h := sc.HeadsUp; h != nil && h.FirstDeliveredAt != nil {
		sc.TimeToHeadsUp = ptr(seconds(h.FirstDeliveredAt.Sub(declared)))
	}

	// Questions: answered when a lead said so, and no other way.
	var answerTimes []int64
	for _, qu := range in.questions {
		f := QuestionFigure{Question: qu}
		f.AskedAt = qu.AskedAt.UTC()
		if f.AnsweredAt != nil {
			d := seconds(f.AnsweredAt.Sub(f.AskedAt))
			f.TimeToAnswer = &d
			answerTimes = append(answerTimes, d)
			sc.Questions.Answered++
		}
		sc.Questions.List = append(sc.Questions.List, f)
	}
	sc.Questions.Asked = len(sc.Questions.List)
	sc.Questions.MedianAnswer = Percentile(answerTimes, 50)

	for _, f := range sc.Confirmations.List {
		sc.Confirmations.Asked++
		if f.AnsweredAt == nil {
			continue
		}
		sc.Confirmations.Answered++
		switch f.State {
		case "confirmed":
			sc.Confirmations.Confirmed++
		case "still_broken":
			sc.Confirmations.StillBroken++
		default:
			sc.Confirmations.Unclear++
		}
	}
	sc.Told = toldFigures(in.told, sc.Updates)
	return sc
}

// toldFigures groups the sends by thread, in the order the threads
// matter to an incident: responders, stakeholders, public, leads,
// reporters, then any other.
func toldFigures(told []compose.Told, updates []UpdateFigure) []AudienceFigure {
	updateOf := map[int64]int{}
	for _, u := range updates {
		for _, id := range u.messages {
			updateOf[id] = u.Number
		}
	}
	byAudience := map[string]*AudienceFigure{}
	var order []string
	for _, s := range told {
		aud := audienceName(s.Audience)
		a := byAudience[aud]
		if a == nil {
			a = &AudienceFigure{Audience: aud}
			byAudience[aud] = a
			order = append(order, aud)
		}
		m := ToldMessage{Kind: s.Kind, At: s.At.UTC(), Update: updateOf[s.ID], Groups: []GroupCount{}, ids: s.Variants}
		for _, c := range s.Counts {
			m.Recipients += c.Recipients
			switch c.State {
			case "sent":
				m.Delivered += c.Recipients
				m.FirstDeliveredAt = earliest(m.FirstDeliveredAt, c.FirstSentAt)
				if m.LastDeliveredAt == nil || (c.LastSentAt != nil && c.LastSentAt.After(*m.LastDeliveredAt)) {
					m.LastDeliveredAt = c.LastSentAt
				}
			case "failed":
				m.Failed += c.Recipients
			case "skipped":
				m.Skipped += c.Recipients
			default:
				m.Pending += c.Recipients
			}
			g := groupName(s.Audience, c.Group)
			i := slices.IndexFunc(m.Groups, func(x GroupCount) bool { return x.Group == g })
			if i < 0 {
				m.Groups = append(m.Groups, GroupCount{Group: g})
				i = len(m.Groups) - 1
			}
			m.Groups[i].Recipients += c.Recipients
		}
		a.Messages = append(a.Messages, m)
		for _, g := range m.Groups {
			i := slices.IndexFunc(a.Groups, func(x GroupFigure) bool { return x.Group == g.Group })
			if i < 0 {
				a.Groups = append(a.Groups, GroupFigure{Group: g.Group})
				i = len(a.Groups) - 1
			}
			a.Groups[i].Sends = append(a.Groups[i].Sends, GroupSend{At: m.At, Kind: m.Kind, Update: m.Update, Recipients: g.Recipients})
		}
	}
	rank := map[string]int{compose.Responders: 1, compose.Stakeholders: 2, compose.Public: 3, compose.Leads: 4, "reporters": 5}
	slices.SortStableFunc(order, func(a, b string) int {
		ra, rb := cmp.Or(rank[a], 99), cmp.Or(rank[b], 99)
		if ra != rb {
			return ra - rb
		}
		if ra == 99 {
			return strings.Compare(a, b)
		}
		return 0
	})
	out := make([]AudienceFigure, 0, len(order))
	for _, aud := range order {
		out = append(out, *byAudience[aud])
	}
	return out
}

// audienceName is a thread's audience as the scorecard names it: the
// per-person threads of those asked to confirm the fix are "reporters".
func audienceName(audience string) string {
	if strings.HasPrefix(audience, "reporter-") {
		return "reporters"
	}
	return audience
}

// groupName is the group a count is under: followers reach the
// stakeholders through no group; mail to named people is under its
// thread's name.
func groupName(audience, group string) string {
	switch {
	case group == "":
		return "followers"
	case strings.HasPrefix(group, "reporter-"):
		return audienceName(group)
	}
	return group
}

func total(s *compose.Told) int {
	n := 0
	for _, c := range s.Counts {
		n += c.Recipients
	}
	return n
}

func firstDelivered(s *compose.Told) *time.Time {
	var first *time.Time
	for _, c := range s.Counts {
		if c.State == "sent" {
			first = earliest(first, c.FirstSentAt)
		}
	}
	return first
}

// allDelivered is when the last copy was accepted, once every copy was.
func allDelivered(s *compose.Told) *time.Time {
	var last *time.Time
	for _, c := range s.Counts {
		if c.State != "sent" || c.LastSentAt == nil {
			return nil
		}
		if last == nil || c.LastSentAt.After(*last) {
			last = c.LastSentAt
		}
	}
	return last
}

func earliest(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.Before(*a)) {
		return b
	}
	return a
}

// seconds is d in whole seconds, rounded.
func seconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

func ptr[T any](v T) *T { return &v }

// percent is n of total as a percentage to one decimal; nil when total is 0.
func percent(n, total int) *float64 {
	if total == 0 {
		return nil
	}
	p := math.Round(float64(n)*1000/float64(total)) / 10
	return &p
}

// Percentile is the p-th percentile of values by nearest rank (the
// smallest value with at least p% of the values at or below it: always
// one of the values); nil for none. values is not changed.
func Percentile(values []int64, p float64) *int64 {
	if len(values) == 0 {
		return nil
	}
	s := slices.Clone(values)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return ptr(s[rank-1])
}

// Event data comes back from JSON: numbers as float64, times as text,
// lists as []any.

func dataID(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

func dataTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case string:
		p, err := time.Parse(time.RFC3339Nano, t)
		return p.UTC(), err == nil
	case time.Time:
		return t.UTC(), true
	}
	return time.Time{}, false
}

func dataStrings(v any) []string {
	out := []string{}
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, l...)
	}
	return out
}
