package reply_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// policyOrg: the comms lead reads German; the people who ask are
// stakeholders, not leads.
const policyOrg = `organization: Policy Test
people:
  - {email: lena@example.com, name: Lena Fischer, roles: [comms-lead], language: de}
  - {email: sam@example.com, name: Sam Ortiz, roles: [incident-lead]}
  - {email: ceo@example.com, name: Catherine Osei}
  - {email: cfo@example.com, name: Carl Frost}
groups:
  - {name: exec, display_name: Executives, members: [ceo@example.com, cfo@example.com]}
audiences:
  status: [exec]
`

type policyClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *policyClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *policyClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type capture struct {
	mu   sync.Mutex
	msgs [][]byte
	to   [][]string
}

func (c *capture) Send(_ context.Context, _ string, to []string, msg []byte) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs, c.to = append(c.msgs, msg), append(c.to, append([]string{}, to...))
	return make([]error, len(to)), nil
}
func (c *capture) Concurrency() int { return 1 }

// failingMail is the outbox failing to queue: the reminder's claim must
// roll back with it.
type failingMail struct{ incident.Mailer }

func (failingMail) Queue(context.Context, *sql.Tx, compose.Outgoing) (*compose.Message, error) {
	return nil, errors.New("the database went away")
}

type policyEnv struct {
	*env
	clock *policyClock
	comms *incident.Comms
	book  *reply.QuestionBook
	sent  *capture
}

func newPolicyEnv(t *testing.T) *policyEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(policyOrg), "groups.yaml"); err != nil {
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
	clock := &policyClock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	sent := &capture{}
	incidents := &incident.Service{DB: db, People: dir, Now: clock.now}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "example.test", From: "sitrep <status@example.test>",
		ReplyPart: "status", Now: clock.now, Sender: sent, BatchSize: 10, Lease: 30 * time.Second, MaxAttempts: 3}
	book := &reply.QuestionBook{DB: db, Now: clock.now}
	comms := &incident.Comms{DB: db, Incidents: incidents, Directory: dir, Mail: ob, Now: clock.now, Questions: book,
		ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute,
		// No first-update target here: only the questions remind.
		Policy: map[incident.Severity]incident.Policy{"SEV1": {Every: 20 * time.Minute, For: 2 * time.Hour, ThenEvery: time.Hour, AnswerWithin: 15 * time.Minute}}}
	inc, err := incidents.Declare(ctx, "lena@example.com", incident.DeclareInput{Title: "Orders cannot be placed", Severity: "SEV1",
		Roles: incident.Roles{CommsLead: "lena@example.com", IncidentLead: "sam@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ob: ob, inc: inc, outcomes: outcomes{}}
	e.svc = &reply.Service{DB: db, Incidents: incidents, Comms: comms, Mail: ob, Directory: dir, Inbox: e.outcomes, Now: clock.now,
		LocalPart: "status", TrustedAuthServIDs: []string{"mx.example.test"}}
	return &policyEnv{env: e, clock: clock, comms: comms, book: book, sent: sent}
}

// ask files a stakeholder's question at the clock's time.
func (p *policyEnv) ask(t *testing.T, id int64, from, text string) {
	t.Helper()
	out := p.receive(t, id, fmt.Sprintf(`From: %s
To: status+%s@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <q%d@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

%s
`, from, p.inc.ReplyToken, id, text))
	if !strings.Contains(out.Action, "forwarded to lena@example.com") {
		t.Fatalf("question %d: %+v", id, out)
	}
}

// reminders delivers every queued message and returns the plain text and
// recipients of the question reminders, in order.
func (p *policyEnv) reminders(t *testing.T) (texts []string, to [][]string, langs []string) {
	t.Helper()
	ctx := context.Background()
	msgs, err := p.ob.Messages(ctx, p.inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for {
			n, err := p.ob.DeliverBatch(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	p.sent.mu.Lock()
	defer p.sent.mu.Unlock()
	for i, raw := range p.sent.msgs {
		env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(env.Text, "unbeantwortet") || strings.Contains(env.Text, "Unanswered") {
			texts, to, langs = append(texts, env.Text), append(to, p.sent.to[i]), append(langs, env.GetHeader("Content-Language"))
		}
	}
	return texts, to, langs
}

// A stakeholder's question unanswered past the policy's answer_within is
// reminded to the comms lead once, in her language, whatever the number
// of checks; a question answered in time, by a mark or by an update that
// answers the open questions, is not; and a reminder whose email could
// not be queued is not marked sent, so the next check sends it.
func TestUnansweredQuestionsAreRemindedOnceInTheLeadsLanguage(t *testing.T) {
	t.Parallel()
	p := newPolicyEnv(t)
	ctx := context.Background()
	start := p.clock.now()
	at := func(d time.Duration) { p.clock.set(start.Add(d)) }
	check := func(d time.Duration, want int) {
		t.Helper()
		at(d)
		if n, err := p.comms.CheckPromises(ctx); err != nil || n != want {
			t.Fatalf("at %s: %d reminders (%v), want %d", d, n, err, want)
		}
	}

	at(time.Minute)
	p.ask(t, 1, "Catherine Osei <ceo@example.com>", "Can we tell customers to retry?")
	at(5 * time.Minute)
	p.ask(t, 2, "Carl Frost <cfo@example.com>", "Do we refund the failed orders?")

	check(15*time.Minute+59*time.Second, 0) // the first has waited 14:59
	// The outbox fails: nothing is marked, nothing sent.
	p.comms.Mail = failingMail{p.ob}
	check(16*time.Minute, 0)
	p.comms.Mail = p.ob
	check(16*time.Minute, 1) // Catherine's, alone: Carl's has waited 11 minutes
	check(19*time.Minute, 0)
	check(20*time.Minute, 1) // Carl's
	for i := 0; i < 100; i++ {
		check(20*time.Minute+time.Duration(i)*time.Minute, 0)
	}

	// Answered in time: marked on the page (or the API, the CLI), or by an
	// update that answers the open questions.
	at(121 * time.Minute)
	p.ask(t, 3, "Catherine Osei <ceo@example.com>", "Is the EU affected too?")
	at(122 * time.Minute)
	p.ask(t, 4, "Carl Frost <cfo@example.com>", "Should finance hold the invoices?")
	at(125 * time.Minute)
	marked, err := p.book.MarkAnswered(ctx, p.inc, 3, "lena@example.com", reply.AnswerInput{})
	if err != nil || len(marked) != 1 || marked[0].AnsweredAt == nil {
		t.Fatalf("mark answered: %+v %v", marked, err)
	}
	if _, err := p.book.MarkAnswered(ctx, p.inc, 3, "sam@example.com", reply.AnswerInput{}); err == nil || !strings.Contains(err.Error(), "was marked answered at 11:05 UTC by lena@example.com") {
		t.Errorf("marking it twice: %v", err)
	}
	at(130 * time.Minute)
	res, err := p.comms.SendUpdate(ctx, "lena@example.com", p.inc.Ref, incident.UpdateInput{Status: "EU only; invoices are not affected.", AnswersQuestions: true})
	// Carl's (4) and the two reminded earlier and still open (1, 2).
	if err != nil || res.QuestionsAnswered != 3 {
		t.Fatalf("an update answering the open questions: %+v %v", res, err)
	}
	check(140*time.Minute, 0)

	texts, to, langs := p.reminders(t)
	if len(texts) != 2 {
		t.Fatalf("%d question reminders delivered, want 2:\n%s", len(texts), strings.Join(texts, "\n----\n"))
	}
	for i, want := range []string{"Catherine Osei", "Carl Frost"} {
		if strings.Join(to[i], " ") != "lena@example.com" || langs[i] != "de" {
			t.Errorf("reminder %d went to %v in %q, want Lena in German", i, to[i], langs[i])
		}
		if !strings.Contains(texts[i], "unbeantwortet: Frage von "+want) || !strings.Contains(texts[i], "Richtlinie für SEV1") {
			t.Errorf("reminder %d:\n%s", i, texts[i])
		}
	}
	if strings.Contains(texts[0], "refund") || !strings.Contains(texts[1], "refund") {
		t.Errorf("each reminder carries its own question:\n%s\n----\n%s", texts[0], texts[1])
	}
	list, err := p.book.List(ctx, p.inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range list {
		reminded, answered := q.RemindedAt != nil, q.AnsweredAt != nil
		if reminded != (q.ID <= 2) || !answered || q.AnsweredBy != "lena@example.com" {
			t.Errorf("question %d: reminded %v, answered %v by %q", q.ID, reminded, answered, q.AnsweredBy)
		}
	}
}
