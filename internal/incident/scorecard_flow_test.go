package incident_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// scoreOrg: exec and SRE get the status updates and the resolved email;
// the on-call managers get neither (one of them asks a question that no
// lead marks answered). Ann reads German: each update to exec and SRE, and
// the heads-up to Ann and Bob, is two messages (one per language) that
// the scorecard counts as one.
const scoreOrg = `organization: Scorecard Test
people:
  - email: vp@x.test
    name: Vera Price
    roles: [comms-lead]
  - email: lead@x.test
    name: Lee Ng
    roles: [incident-lead]
  - email: ann@x.test
    name: Ann Responder
    language: de
  - email: bob@x.test
    name: Bob Responder
  - email: mgr@x.test
    name: Mona Manager
  - email: exec@x.test
    name: Ed Exec
groups:
  - name: exec
    display_name: Executives
    members: [exec@x.test]
  - name: sre
    display_name: SRE
    members: [ann@x.test]
  - name: oncall-managers
    display_name: On-call managers
    members: [mgr@x.test]
escalations:
  - system: checkout
    team: sre
    responders: [ann@x.test, bob@x.test]
audiences:
  status: [exec, sre]
  resolved: [exec, sre]
`

// inboxBook is the inbox's record of each reply, in memory.
type inboxBook map[int64]mailmsg.Outcome

func (b inboxBook) Finish(_ context.Context, _ *sql.Tx, id int64, out mailmsg.Outcome) error {
	if _, done := b[id]; done {
		return mailmsg.ErrAlreadyDone
	}
	b[id] = out
	return nil
}

// scoreHarness is the communication of one incident as serve wires it,
// on the test's database, on a clock the test moves: the outbox (with a
// capturing sender), the reply flow and the resolution flow.
type scoreHarness struct {
	db         *store.DB
	clock      *clock
	incidents  *incident.Service
	outbox     *outbox.Outbox
	comms      *incident.Comms
	replies    *reply.Service
	book       *reply.QuestionBook
	resolution *resolution.Service
	registry   *prometheus.Registry
}

func newScoreHarness(t *testing.T, start time.Time) *scoreHarness {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(scoreOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	h := &scoreHarness{db: db, clock: &clock{t: start}, registry: prometheus.NewRegistry()}
	h.incidents = &incident.Service{DB: db, People: dir, KnownSystems: dir, CommsLeads: dir, Now: h.clock.now, DueSoon: 10 * time.Minute,
		Metrics: incident.NewCommsMetrics(h.registry)}
	h.outbox = &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Now: h.clock.now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
		Sender: &captureSender{}, BatchSize: 10, Lease: 30 * time.Second, MaxAttempts: 3}
	h.comms = &incident.Comms{DB: db, Incidents: h.incidents, Directory: dir, Mail: h.outbox, Now: h.clock.now,
		ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute, Messages: h.outbox}
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, h.comms)
	h.replies = &reply.Service{DB: db, Incidents: h.incidents, Comms: h.comms, Mail: h.outbox, Directory: dir, Inbox: inboxBook{},
		Now: h.clock.now, LocalPart: "status"}
	h.comms.QuestionLog = h.replies
	// The policy's record of answers, as serve wires it: the update that
	// answers the open questions and a lead's mark write it, the
	// scorecard reads it, and a mark observes the time-to-answer histogram.
	h.book = &reply.QuestionBook{DB: db, Now: h.clock.now, Metrics: h.incidents.Metrics}
	h.comms.Questions = h.book
	h.resolution = &resolution.Service{DB: db, Incidents: h.incidents, Mail: h.outbox, Comms: h.comms, Directory: dir, Now: h.clock.now,
		Confirmers: []string{"mgr@x.test"}}
	return h
}

// at moves the clock to hh:mm of the harness's day.
func (h *scoreHarness) at(hh, mm int) {
	t := h.clock.t
	h.clock.t = time.Date(t.Year(), t.Month(), t.Day(), hh, mm, 0, 0, time.UTC)
}

// deliver sends every queued message of inc now.
func (h *scoreHarness) deliver(t *testing.T, inc *incident.Incident) {
	t.Helper()
	ctx := context.Background()
	msgs, err := h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for {
			n, err := h.outbox.DeliverBatch(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}

func (h *scoreHarness) update(t *testing.T, inc *incident.Incident, status, next string) {
	t.Helper()
	h.send(t, inc, incident.UpdateInput{Status: status, Next: next})
}

func (h *scoreHarness) send(t *testing.T, inc *incident.Incident, in incident.UpdateInput) *incident.UpdateResult {
	t.Helper()
	res, err := h.comms.SendUpdate(context.Background(), "vp@x.test", inc.Ref, in)
	if err != nil {
		t.Fatal(err)
	}
	h.deliver(t, inc)
	return res
}

// ask is a stakeholder replying to a status email with a question, as
// the inbox hands it to the reply flow.
func (h *scoreHarness) ask(t *testing.T, inc *incident.Incident, id int64, from, text string) {
	t.Helper()
	raw := fmt.Sprintf("From: %s\r\nTo: status+%s@sitrep.test\r\nSubject: Re: [%s] Checkout failing\r\nMessage-ID: <q%d@x.test>\r\nDate: %s\r\nContent-Type: text/plain\r\n\r\n%s\r\n",
		from, inc.ReplyToken, inc.Ref, id, h.clock.t.Format(time.RFC1123Z), text)
	m, err := mailmsg.Parse([]byte(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := mailmsg.Outcome{Class: string(mailmsg.Classify(m)), Sender: strings.ToLower(m.From.Email), SenderName: m.From.Name, Subject: m.Subject, NewText: m.NewText}
	if err := h.replies.Handle(context.Background(), &mailmsg.Received{ID: id, Message: m, Outcome: out}); err != nil {
		t.Fatal(err)
	}
}

func minutes(m int) int64 { return int64(m * 60) }

// TestScorecardOfAScriptedIncident drives one SEV1 through a known
// script on a clock the test moves, and checks every figure of its
// scorecard against the value worked out by hand below: a promise kept to
// the minute, one kept early, two missed, the 30th update, two questions
// answered by updates the comms lead sent as answering the open questions,
// one a lead marked answered (by phone, a minute before the mark), one no
// lead ever marked, the requests to confirm, and who was told what and
// when. A question is answered when a lead says so and no other way: the
// updates that reached Ed Exec between his question and the lead's word
// answer nothing. Then the Prometheus histograms, scraped from /metrics,
// hold the same figures.
//
//	14:00 declared (checkout): heads-up queued to Ann and Bob
//	14:02 heads-up delivered                      time to heads-up 2 min
//	14:06 update 1 to exec, sre; next in 20 min   time to first update 6 min; promises 14:26
//	14:10 Ed Exec asks Q1 (question 1)
//	14:26 update 2, answers the open questions; next in 15 min
//	                                              promise 1 (14:26) kept to the minute; Q1 answered in 16 min; promises 14:41
//	14:47 update 3, next in 10 min                promise 2 (14:41) missed by 6 min; promises 14:57
//	14:50 Ed Exec asks Q3 (question 2)
//	14:52 the incident lead marks Q3 answered at 14:51, "by phone"   Q3 answered in 1 min
//	14:55 update 4, next in 10 min                promise 3 (14:57) kept 2 min early; promises 15:05
//	15:05 to 19:05 updates 5 to 29, every 10 min   promises 4 to 28 kept to the minute; update 29 promises 19:15
//	19:10 Ed Exec asks Q4 (question 3)
//	19:22 update 30, answers the open questions; next in 30 min
//	                                              promise 29 (19:15) missed by 7 min; Q4 answered in 12 min; promises 19:52
//	19:30 Mona Manager (on-call managers, not in the status groups) asks Q2 (question 4); no lead marks it
//	19:40 resolved: the resolved email, and the reporter and the confirmer asked to confirm
//	                                              promise 30 (19:52) ended by the resolution: not counted
//	19:45 the reporter confirms                   answered in 5 min; the confirmer never answers
func TestScorecardOfAScriptedIncident(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newScoreHarness(t, time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC))
	clock := func(hh, mm int) time.Time { return time.Date(2026, 11, 24, hh, mm, 0, 0, time.UTC) }

	inc, err := h.incidents.Declare(ctx, "lead@x.test", incident.DeclareInput{Title: "Checkout failing", Severity: "SEV1",
		Scope:   incident.Scope{Systems: []string{"checkout"}},
		Roles:   incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"},
		Reports: []incident.ReportInput{{Email: "rita@customer.test", Name: "Rita Reporter", Observed: "Payment fails", Channel: "email"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.at(14, 2)
	h.deliver(t, inc)
	h.at(14, 6)
	h.update(t, inc, "Checkout fails for some customers; we are looking into it.", "20m")
	h.at(14, 10)
	h.ask(t, inc, 101, "Ed Exec <exec@x.test>", "When will checkout be back?")
	h.at(14, 26)
	if res := h.send(t, inc, incident.UpdateInput{Status: "The payment provider is failing; we are failing over.", Next: "15m", AnswersQuestions: true}); res.QuestionsAnswered != 1 {
		t.Errorf("update 2 answered %d questions, want 1 (Q1)", res.QuestionsAnswered)
	}
	h.at(14, 47)
	h.update(t, inc, "Failover in progress.", "10m")
	h.at(14, 50)
	h.ask(t, inc, 103, "Ed Exec <exec@x.test>", "Do we need to tell the press?")
	h.at(14, 52)
	// Question 2 in the reply flow's record (Q3): answered by phone at
	// 14:51, marked a minute later. Not before the question, not in the future.
	for _, bad := range []time.Time{clock(14, 49), clock(14, 54)} {
		if _, err := h.book.MarkAnswered(ctx, inc, 2, "lead@x.test", reply.AnswerInput{AnsweredAt: &bad}); err == nil || !strings.Contains(err.Error(), "answered_at") {
			t.Errorf("answered at %s: %v, want answered_at refused", bad.Format("15:04"), err)
		}
	}
	answeredAt := clock(14, 51)
	q3, err := h.book.MarkAnswered(ctx, inc, 2, "lead@x.test", reply.AnswerInput{AnsweredAt: &answeredAt, Note: "by phone"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q3) != 1 || q3[0].AnsweredAt == nil || !q3[0].AnsweredAt.Equal(answeredAt) || q3[0].AnsweredBy != "lead@x.test" {
		t.Fatalf("Q3 marked answered: %+v", q3)
	}
	if _, err := h.book.MarkAnswered(ctx, inc, 2, "vp@x.test", reply.AnswerInput{}); err == nil || !strings.Contains(err.Error(), "was marked answered at 14:51 UTC by lead@x.test") {
		t.Errorf("a second mark: %v, want a conflict naming the first", err)
	}
	if _, err := h.book.MarkAnswered(ctx, inc, 999, "vp@x.test", reply.AnswerInput{}); err == nil || !strings.Contains(err.Error(), "no question 999") {
		t.Errorf("an unknown question: %v", err)
	}
	tl, err := incident.Events(ctx, h.db, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := tl[len(tl)-1]; last.Kind != reply.EventQuestionAnswered || last.Actor != "lead@x.test" ||
		!strings.Contains(last.Text, "answered at 14:51 UTC: by phone") {
		t.Errorf("the mark on the timeline: %s by %s: %q", last.Kind, last.Actor, last.Text)
	}
	h.at(14, 55)
	h.update(t, inc, "Failover done; watching.", "10m")
	for n := 5; n <= 29; n++ {
		at := time.Date(2026, 11, 24, 15, 5, 0, 0, time.UTC).Add(time.Duration(n-5) * 10 * time.Minute)
		h.at(at.Hour(), at.Minute())
		h.update(t, inc, fmt.Sprintf("Still watching (update %d).", n), "10m")
	}
	h.at(19, 10)
	h.ask(t, inc, 104, "Ed Exec <exec@x.test>", "Is it over?")
	h.at(19, 22)
	if res := h.send(t, inc, incident.UpdateInput{Status: "Error rates are back to normal.", Next: "30m", AnswersQuestions: true}); res.QuestionsAnswered != 1 {
		t.Errorf("update 30 answered %d questions, want 1 (Q4)", res.QuestionsAnswered)
	}
	h.at(19, 30)
	h.ask(t, inc, 102, "Mona Manager <mgr@x.test>", "Should the on-call managers stand by?")
	h.at(19, 40)
	if _, err := h.resolution.Resolve(ctx, "lead@x.test", inc.Ref, resolution.ResolveInput{RootCause: "The payment provider's certificate expired.", Impact: "Some payments failed."}); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, inc)
	h.at(19, 45)
	if err := h.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := h.resolution.RecordAnswer(ctx, tx, inc.ID, "rita@customer.test", resolution.AnswerConfirmed, "Yes, it works again.", h.clock.t)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	h.at(20, 0)

	sc, err := h.comms.Scorecard(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	eqInt := func(what string, got *int64, want int64) {
		t.Helper()
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %d", what, deref(got), want)
		}
	}
	eqTime := func(what string, got *time.Time, want time.Time) {
		t.Helper()
		if got == nil || !got.Equal(want) {
			t.Errorf("%s = %v, want %s", what, got, want.Format("15:04"))
		}
	}

	// The heads-up and the first update.
	eqInt("time to heads-up", sc.TimeToHeadsUp, minutes(2))
	if hu := sc.HeadsUp; hu == nil || !hu.QueuedAt.Equal(clock(14, 0)) || hu.Responders != 2 {
		t.Errorf("heads-up %+v, want queued 14:00 to 2 responders", hu)
	} else {
		eqTime("heads-up first delivered", hu.FirstDeliveredAt, clock(14, 2))
		eqTime("heads-up all delivered", hu.AllDeliveredAt, clock(14, 2))
	}
	eqInt("time to first update", sc.TimeToFirstUpdate, minutes(6))

	// Thirty updates, each to exec and SRE (one person each), each two
	// messages in the outbox (English and German) and one on the scorecard.
	rows, err := h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	statusRows := 0
	for _, m := range rows {
		if m.Kind == string(compose.KindStatus) {
			statusRows++
		}
	}
	if statusRows != 60 {
		t.Fatalf("%d status messages in the outbox, want 60 (each update in English and German)", statusRows)
	}
	if len(sc.Updates) != 30 {
		t.Fatalf("%d updates, want 30", len(sc.Updates))
	}
	u30 := sc.Updates[29]
	if u30.Number != 30 || !u30.At.Equal(clock(19, 22)) || u30.AfterDeclared != minutes(5*60+22) || u30.Recipients != 2 ||
		u30.Promised == nil || !u30.Promised.Equal(clock(19, 52)) || strings.Join(u30.Groups, ",") != "exec,sre" {
		t.Errorf("update 30: %+v, want sent 19:22 (5 h 22 min after the declaration) to 2 in exec, sre, promising 19:52", u30)
	}
	eqTime("update 30 delivered", u30.FirstDeliveredAt, clock(19, 22))
	for i, u := range sc.Updates {
		if u.Number != i+1 || u.Recipients != 2 {
			t.Errorf("update %d: number %d, %d recipients", i+1, u.Number, u.Recipients)
		}
	}

	// The promises: 30 made; 27 kept, 2 missed, 1 ended by the resolution.
	p := sc.Promises
	if p.Kept != 27 || p.Missed != 2 || p.Pending != 0 || p.Ended != 1 || len(p.List) != 30 {
		t.Errorf("promises: %d kept, %d missed, %d pending, %d ended, %d listed; want 27, 2, 0, 1, 30", p.Kept, p.Missed, p.Pending, p.Ended, len(p.List))
	}
	if p.KeptPercent == nil || *p.KeptPercent != 93.1 { // 27 of 29
		t.Errorf("kept percent %v, want 93.1", deref(p.KeptPercent))
	}
	type promise struct {
		due             time.Time
		madeBy          int
		outcome         string
		settledBy       string
		settledByUpdate int
		lateness        int64
	}
	want := []promise{
		{clock(14, 26), 1, incident.PromiseKept, incident.ByUpdate, 2, 0},
		{clock(14, 41), 2, incident.PromiseMissed, incident.ByUpdate, 3, minutes(6)},
		{clock(14, 57), 3, incident.PromiseKept, incident.ByUpdate, 4, -minutes(2)},
		{clock(15, 5), 4, incident.PromiseKept, incident.ByUpdate, 5, 0},
	}
	for n := 5; n <= 28; n++ { // update n at 15:05 + (n-5)*10 min promised the time of update n+1
		want = append(want, promise{clock(15, 5).Add(time.Duration(n-4) * 10 * time.Minute), n, incident.PromiseKept, incident.ByUpdate, n + 1, 0})
	}
	want = append(want, promise{clock(19, 15), 29, incident.PromiseMissed, incident.ByUpdate, 30, minutes(7)},
		promise{clock(19, 52), 30, incident.PromiseEnded, "", 0, 0})
	for i, w := range want {
		if i >= len(p.List) {
			break
		}
		g := p.List[i]
		if !g.DueAt.Equal(w.due) || g.MadeBy != w.madeBy || g.Outcome != w.outcome || g.SettledBy != w.settledBy || g.SettledByUpdate != w.settledByUpdate || g.Lateness != w.lateness {
			t.Errorf("promise %d: due %s by update %d, %s by %s %d, lateness %ds; want due %s by update %d, %s by %s %d, lateness %ds",
				i+1, g.DueAt.Format("15:04"), g.MadeBy, g.Outcome, g.SettledBy, g.SettledByUpdate, g.Lateness,
				w.due.Format("15:04"), w.madeBy, w.outcome, w.settledBy, w.settledByUpdate, w.lateness)
		}
	}
	// The incident's own counters say the same of the promises updates settled.
	fresh, err := h.incidents.Get(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Promise.Kept != 27 || fresh.Promise.Promised != 29 {
		t.Errorf("the incident's counters: %d of %d kept, want 27 of 29 as the scorecard", fresh.Promise.Kept, fresh.Promise.Promised)
	}

	// The questions, in the order they came, each with its id in the reply
	// flow's record: 4 asked, 3 answered (Q1 by update 2 at 14:26, Q3 by
	// the mark at 14:51, Q4 by update 30 at 19:22); the median of 16, 1
	// and 12 min is 12 min.
	qs := sc.Questions
	if qs.Asked != 4 || qs.Answered != 3 || len(qs.List) != 4 {
		t.Fatalf("questions: %d asked, %d answered, %d listed; want 4, 3, 4", qs.Asked, qs.Answered, len(qs.List))
	}
	eqInt("median time to answer", qs.MedianAnswer, minutes(12))
	type question struct {
		id       int64
		from     string
		asked    time.Time
		by       string
		answered time.Time // zero: never
		answer   int64
	}
	for i, w := range []question{
		{1, "exec@x.test", clock(14, 10), "vp@x.test", clock(14, 26), minutes(16)},
		{2, "exec@x.test", clock(14, 50), "lead@x.test", clock(14, 51), minutes(1)},
		{3, "exec@x.test", clock(19, 10), "vp@x.test", clock(19, 22), minutes(12)},
		{4, "mgr@x.test", clock(19, 30), "", time.Time{}, 0},
	} {
		g := qs.List[i]
		if g.ID != w.id || g.From != w.from || !g.AskedAt.Equal(w.asked) || g.AnsweredBy != w.by {
			t.Errorf("question %d: %+v; want %d from %s at %s answered by %q", i+1, g, w.id, w.from, w.asked.Format("15:04"), w.by)
		}
		if w.answered.IsZero() {
			if g.AnsweredAt != nil || g.TimeToAnswer != nil {
				t.Errorf("question %d was never marked answered, but the scorecard says %v", i+1, g.AnsweredAt)
			}
			continue
		}
		eqTime(fmt.Sprintf("question %d answered", i+1), g.AnsweredAt, w.answered)
		eqInt(fmt.Sprintf("question %d time to answer", i+1), g.TimeToAnswer, w.answer)
	}
	if qs.List[0].Audience != "Executives" || qs.List[3].ForwardedAt == nil || !qs.List[3].ForwardedAt.Equal(clock(19, 30)) {
		t.Errorf("questions' groups and forwarding: %+v", qs.List)
	}
	// The policy's list reads the same record: what the scorecard calls
	// answered, the reminder does not remind, and the reverse.
	stored, err := h.book.List(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 4 {
		t.Fatalf("the policy lists %d questions, want 4", len(stored))
	}
	for i, q := range stored {
		g := qs.List[i]
		if q.ID != g.ID || (q.AnsweredAt == nil) != (g.AnsweredAt == nil) || (q.AnsweredAt != nil && !q.AnsweredAt.Equal(*g.AnsweredAt)) || q.AnsweredBy != g.AnsweredBy {
			t.Errorf("question %d: the policy says %+v, the scorecard %+v", i+1, q, g)
		}
	}

	// The confirmations: the reporter and the confirmer asked at 19:40;
	// the reporter confirmed 5 min later.
	c := sc.Confirmations
	if c.Asked != 2 || c.Answered != 1 || c.Confirmed != 1 || c.StillBroken != 0 || c.Unclear != 0 || len(c.List) != 2 {
		t.Fatalf("confirmations: %+v; want 2 asked, 1 answered and confirmed", c)
	}
	for _, f := range c.List {
		switch f.Email {
		case "rita@customer.test":
			eqInt("the reporter's time to confirm", f.TimeToAnswer, minutes(5))
			if f.State != "confirmed" || !f.AskedAt.Equal(clock(19, 40)) {
				t.Errorf("the reporter: %+v", f)
			}
		case "mgr@x.test":
			if f.AnsweredAt != nil || f.State != "" || !f.AskedAt.Equal(clock(19, 40)) {
				t.Errorf("the confirmer never answered: %+v", f)
			}
		default:
			t.Errorf("asked to confirm: %s", f.Email)
		}
	}

	// Who was told what and when.
	told := map[string]incident.AudienceFigure{}
	var order []string
	for _, a := range sc.Told {
		told[a.Audience] = a
		order = append(order, a.Audience)
	}
	if strings.Join(order, " ") != "responders stakeholders leads reporters" {
		t.Errorf("audiences told: %v", order)
	}
	resp := told["responders"]
	if len(resp.Messages) != 2 || resp.Messages[0].Kind != "headsup" || resp.Messages[0].Recipients != 2 || resp.Messages[0].Delivered != 2 ||
		!resp.Messages[1].At.Equal(clock(19, 40)) || resp.Messages[1].Kind != "resolved" || resp.Messages[1].Recipients != 2 {
		t.Errorf("responders were told: %+v", resp.Messages)
	}
	st := told["stakeholders"]
	if len(st.Messages) != 31 || st.Messages[29].Update != 30 || st.Messages[30].Kind != "resolved" || st.Messages[30].Update != 0 {
		t.Errorf("stakeholders: %d messages (want 30 updates and the resolved email)", len(st.Messages))
	}
	for _, g := range st.Groups {
		if g.Group != "exec" && g.Group != "sre" {
			t.Errorf("stakeholders' group %q", g.Group)
			continue
		}
		if len(g.Sends) != 31 || !g.Sends[0].At.Equal(clock(14, 6)) || g.Sends[0].Recipients != 1 || g.Sends[0].Update != 1 ||
			!g.Sends[30].At.Equal(clock(19, 40)) || g.Sends[30].Kind != "resolved" {
			t.Errorf("group %s: %d sends, first %+v", g.Group, len(g.Sends), g.Sends[0])
		}
	}
	if len(st.Groups) != 2 {
		t.Errorf("stakeholders' groups: %+v", st.Groups)
	}
	leads := told["leads"]
	if len(leads.Messages) != 4 || leads.Messages[0].Kind != "stakeholder_reply" || !leads.Messages[3].At.Equal(clock(19, 30)) {
		t.Errorf("the leads were told: %+v (want the 4 questions forwarded)", leads.Messages)
	}
	rep := told["reporters"]
	if len(rep.Messages) != 2 || len(rep.Groups) != 1 || rep.Groups[0].Group != "reporters" || len(rep.Groups[0].Sends) != 2 {
		t.Errorf("those asked to confirm: %+v", rep)
	}

	// The same figures in Prometheus, scraped as a monitoring system would.
	srv := httptest.NewServer(promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	families := scrape(t, res.Body)
	hist := func(name string) *dto.Histogram {
		t.Helper()
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "severity" && l.GetValue() == "SEV1" {
					return m.GetHistogram()
				}
			}
		}
		t.Fatalf("no %s{severity=SEV1} in /metrics", name)
		return nil
	}
	if fu := hist("sitrep_incident_first_update_seconds"); fu.GetSampleCount() != 1 || fu.GetSampleSum() != 360 {
		t.Errorf("first update histogram: %d observations, sum %v; want 1 of 360 s", fu.GetSampleCount(), fu.GetSampleSum())
	}
	late := hist("sitrep_incident_promise_lateness_seconds")
	if late.GetSampleCount() != 29 || late.GetSampleSum() != 360+420 || bucket(late, 0) != 27 {
		t.Errorf("promise lateness histogram: %d observations, sum %v, %d at 0 s; want 29, 780 (6 and 7 min late), 27 kept",
			late.GetSampleCount(), late.GetSampleSum(), bucket(late, 0))
	}
	// Observed once per question, when it was marked: update 2 (Q1, 960 s),
	// the lead's mark (Q3, 60 s; the refused and repeated marks observe
	// nothing), update 30 (Q4, 720 s).
	if ans := hist("sitrep_incident_question_answer_seconds"); ans.GetSampleCount() != 3 || ans.GetSampleSum() != 960+60+720 {
		t.Errorf("time to answer histogram: %d observations, sum %v; want 3, 1740 s", ans.GetSampleCount(), ans.GetSampleSum())
	}
	for _, name := range []string{"sitrep_incident_first_update_seconds", "sitrep_incident_promise_lateness_seconds", "sitrep_incident_question_answer_seconds"} {
		for _, m := range families[name].GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "severity" {
				t.Errorf("%s has labels %v: severity only", name, m.GetLabel())
			}
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// scrape parses a /metrics answer in the text format.
func scrape(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// bucket is the cumulative count of h at upper bound le.
func bucket(h *dto.Histogram, le float64) uint64 {
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	return 0
}
