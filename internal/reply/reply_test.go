package reply_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

const org = `organization: Reply Test
people:
  - email: lena@example.com
    name: Lena Fischer
    roles: [comms-lead]
  - email: ceo@example.com
    name: Catherine Osei
groups:
  - name: exec
    display_name: Executives
    members: [ceo@example.com]
audiences:
  status: [exec]
`

// outcomes is the inbox's record of each message, kept in memory: what
// the use case decided, written in the transaction of its effects.
type outcomes map[int64]mailmsg.Outcome

func (o outcomes) Finish(_ context.Context, _ *sql.Tx, id int64, out mailmsg.Outcome) error {
	if _, done := o[id]; done {
		return mailmsg.ErrAlreadyDone
	}
	o[id] = out
	return nil
}

type env struct {
	svc      *reply.Service
	ob       *outbox.Outbox
	inc      *incident.Incident
	outcomes outcomes
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
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
	incidents := &incident.Service{DB: db, People: dir}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "example.test", From: "sitrep <status@example.test>", ReplyPart: "status"}
	comms := &incident.Comms{DB: db, Incidents: incidents, Directory: dir, Mail: ob}
	inc, err := incidents.Declare(ctx, "lena@example.com", incident.DeclareInput{Title: "Orders cannot be placed", Severity: "SEV1",
		Roles: incident.Roles{CommsLead: "lena@example.com", IncidentLead: "lena@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ob: ob, inc: inc, outcomes: outcomes{}}
	e.svc = &reply.Service{DB: db, Incidents: incidents, Comms: comms, Mail: ob, Directory: dir, Inbox: e.outcomes,
		LocalPart: "status", TrustedAuthServIDs: []string{"mx.example.test"}}
	return e
}

// receive parses raw as the inbox would and hands it to the use case.
func (e *env) receive(t *testing.T, id int64, raw string) mailmsg.Outcome {
	t.Helper()
	m, err := mailmsg.Parse([]byte(strings.ReplaceAll(raw, "\n", "\r\n")), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := mailmsg.Outcome{Class: string(mailmsg.Classify(m)), Sender: strings.ToLower(m.From.Email), SenderName: m.From.Name,
		Subject: m.Subject, NewText: m.NewText}
	if err := e.svc.Handle(context.Background(), &mailmsg.Received{ID: id, Message: m, Outcome: out}); err != nil {
		t.Fatal(err)
	}
	return e.outcomes[id]
}

// queued returns the incident's messages of one kind, with the data
// each was queued with.
func (e *env) queued(t *testing.T, kind compose.Kind) []map[string]any {
	t.Helper()
	msgs, err := e.ob.Messages(context.Background(), e.inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range msgs {
		if m.Kind != string(kind) {
			continue
		}
		var data string
		e.svc.DB.QueryRow(`SELECT render_data FROM messages WHERE id = $1`, m.ID).Scan(&data)
		v := map[string]any{"audience": m.Audience}
		json.Unmarshal([]byte(data), &v)
		out = append(out, v)
	}
	return out
}

// A stakeholder's question goes on the timeline and to the comms lead, in
// the leads' thread, saying which group the person who asked is in.
func TestAQuestionGoesToTheCommsLeadNamingTheAskersGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.receive(t, 1, `From: Catherine Osei <ceo@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <q1@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

Can we tell customers to retry?
`)
	if out.State != mailmsg.StateProcessed || out.MatchedBy != mailmsg.MatchToken || out.MatchedRef != "INC-1" || !strings.Contains(out.Action, "forwarded to lena@example.com") {
		t.Fatalf("outcome %+v", out)
	}
	fwd := e.queued(t, compose.KindStakeholderReply)
	if len(fwd) != 1 || fwd[0]["audience"] != compose.Leads || fwd[0]["Questions"].([]any)[0].(map[string]any)["Audience"] != "Executives" {
		t.Fatalf("forwards %v: want one in the leads' thread naming Executives", fwd)
	}
}

// A lead's command that no trusted server vouched for changes nothing:
// no update goes out, and the leads hear why.
func TestAnUnprovenCommandIsRefusedAndTheLeadsTold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.receive(t, 1, `From: Lena Fischer <lena@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <c1@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Authentication-Results: mx.attacker.test; dmarc=pass header.from=example.com
Content-Type: text/plain

resolve: the database was restored
`)
	if out.State != mailmsg.StateProcessed || !strings.Contains(out.Err, "command refused") || !strings.Contains(out.Err, "could not be authenticated") {
		t.Fatalf("outcome %+v", out)
	}
	if n := len(e.queued(t, compose.KindCommandRefused)); n != 1 {
		t.Errorf("%d refusal notices, want 1", n)
	}
	inc, _ := e.svc.Incidents.Get(context.Background(), "INC-1")
	if inc.State != incident.Investigating {
		t.Errorf("the incident is %s: an unproven command changed it", inc.State)
	}
}

// A message acted on once is not acted on again.
func TestAMessageIsActedOnOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	raw := `From: Catherine Osei <ceo@example.com>
To: status+` + e.inc.ReplyToken + `@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <q2@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

Any news?
`
	e.receive(t, 7, raw)
	e.receive(t, 7, raw)
	if n := len(e.queued(t, compose.KindStakeholderReply)); n != 1 {
		t.Errorf("%d forwards of one message, want 1", n)
	}
}

// Twenty-two stakeholders asking within a minute make two emails to the
// comms lead, not twenty-two: the first at once, the rest together when
// the window after it ends, and none of them lost or repeated. A question
// after a quiet spell goes at once again.
func TestQuestionsCloseTogetherReachTheCommsLeadInOneEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	now := start
	e.svc.Now = func() time.Time { return now }
	ins, err := jobs.NewInserter(e.svc.DB)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Questions = reply.Questions{Jobs: ins, Window: 2 * time.Minute}
	ask := func(id int64) mailmsg.Outcome {
		return e.receive(t, id, fmt.Sprintf(`From: Catherine Osei <ceo@example.com>
To: status+%s@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <q%d@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

Question number %d: can we tell customers to retry?
`, e.inc.ReplyToken, id, id))
	}
	questionsIn := func(email map[string]any) []string {
		var out []string
		for _, q := range email["Questions"].([]any) {
			text := q.(map[string]any)["Text"].(string)
			out = append(out, strings.Fields(text)[2])
		}
		return out
	}
	for i := int64(1); i <= 22; i++ {
		now = start.Add(time.Duration(i-1) * 2500 * time.Millisecond)
		if out := ask(i); !strings.Contains(out.Action, "forwarded to lena@example.com") {
			t.Fatalf("question %d: %+v", i, out)
		}
	}
	emails := e.queued(t, compose.KindStakeholderReply)
	if len(emails) != 1 || strings.Join(questionsIn(emails[0]), " ") != "1:" {
		t.Fatalf("the first question goes at once, alone: %v", emails)
	}
	var scheduled time.Time
	if err := e.svc.DB.QueryRow(`SELECT scheduled_at FROM river_job WHERE kind = 'reply_questions' ORDER BY id LIMIT 1`).Scan(&scheduled); err != nil {
		t.Fatal(err)
	}
	if !scheduled.Equal(start.Add(2 * time.Minute)) {
		t.Errorf("the rest are sent when the window ends, %s; scheduled at %s", start.Add(2*time.Minute), scheduled)
	}

	now = start.Add(2 * time.Minute)
	w := &reply.QuestionsWorker{Service: e.svc}
	for range 2 { // a second job for the same window finds nothing left
		if err := w.Work(context.Background(), &river.Job[reply.QuestionsArgs]{Args: reply.QuestionsArgs{Incident: e.inc.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	emails = e.queued(t, compose.KindStakeholderReply)
	if len(emails) != 2 {
		t.Fatalf("%d emails of questions, want 2", len(emails))
	}
	var want []string
	for i := 2; i <= 22; i++ {
		want = append(want, fmt.Sprintf("%d:", i))
	}
	if got := questionsIn(emails[1]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the second email carries questions 2 to 22 in order: %v", got)
	}

	now = start.Add(10 * time.Minute)
	ask(23)
	if emails = e.queued(t, compose.KindStakeholderReply); len(emails) != 3 || strings.Join(questionsIn(emails[2]), " ") != "23:" {
		t.Errorf("after a quiet spell a question goes at once: %d emails", len(emails))
	}
}
