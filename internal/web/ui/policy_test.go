package ui

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/reply"
)

type uiClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *uiClock) now() time.Time                  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *uiClock) set(t time.Time)                 { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *uiClock) add(d time.Duration)             { c.set(c.now().Add(d)) }
func (c *uiClock) since(t time.Time) time.Duration { return c.now().Sub(t) }

// The compose form's default follows the policy's phase (at minute 30 of
// a SEV1: 20 minutes; at hour 3: an hour) and marks the intervals longer
// than the policy; choosing one is allowed, and the preview warns.
func TestComposeFormFollowsThePolicy(t *testing.T) {
	t.Parallel()
	clock := &uiClock{t: time.Now().UTC().Truncate(time.Minute)}
	e := newUIEnvWith(t, func(s *Server, _ string) {
		s.Incidents.Now, s.Comms.Now = clock.now, clock.now
		s.Comms.Policy = map[incident.Severity]incident.Policy{"SEV1": {FirstUpdateWithin: 5 * time.Minute, Every: 20 * time.Minute,
			For: 2 * time.Hour, ThenEvery: time.Hour, AnswerWithin: 15 * time.Minute}}
	})
	ctx := context.Background()
	inc, err := e.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV1",
		Scope: incident.Scope{Systems: []string{"checkout"}}, Roles: incident.Roles{CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	lead := e.login("lead@x.test")
	page := "/incidents/" + inc.Ref

	clock.add(30 * time.Minute)
	_, text := lead.get(page)
	text = html.UnescapeString(text)
	for _, want := range []string{
		`<option value="" selected>Default for SEV1 (20 min; policy: first 2 h: every 20 min)</option>`,
		`<option value="20m" >20 minutes</option>`,
		`<option value="1h" >1 hour — longer than the SEV1 policy</option>`,
		"The SEV1 policy now: first 2 h: every 20 min.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("at minute 30 the form lacks %q", want)
		}
	}
	form := func(next string) url.Values {
		return url.Values{"csrf": {lead.csrf}, "idempotency_key": {"k-" + next}, "status": {"Failing over to the backup provider."}, "groups": {"exec"}, "next": {next}}
	}
	resp := lead.post(page+"/preview", form("1h"), fetchHeader, "fetch")
	body := html.UnescapeString(readBody(t, resp))
	if !strings.Contains(body, `class="warn policy-warning"`) || !strings.Contains(body, "The next update in 1 h is later than the SEV1 policy asks (first 2 h: every 20 min)") {
		t.Errorf("the preview of a longer promise does not warn:\n%s", body)
	}
	resp = lead.post(page+"/preview", form(""), fetchHeader, "fetch")
	if body := readBody(t, resp); strings.Contains(body, "policy-warning") {
		t.Errorf("the default warns:\n%s", body)
	}
	resp = lead.post(page+"/updates", form("1h"))
	if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "/messages/") {
		t.Fatalf("a longer promise must be sent: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cur, err := e.incidents.Get(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := cur.Promise.NextUpdateAt.Sub(clock.now()); got != time.Hour {
		t.Errorf("the update promised %s, want the hour chosen", got)
	}

	clock.add(150 * time.Minute) // hour 3
	_, text = lead.get(page)
	text = html.UnescapeString(text)
	if !strings.Contains(text, `Default for SEV1 (1 hour; policy: after 2 h: every 1 h)`) || strings.Contains(text, "1 hour — longer") {
		t.Errorf("at hour 3 the default must be an hour, and an hour not longer than the policy")
	}
}

// A stakeholder's question shows on the incident page with its state; a
// lead marks it answered (once: a second mark is refused), and the
// timeline says so. A viewer sees no button.
func TestQuestionsCardMarksAnswered(t *testing.T) {
	t.Parallel()
	var book *reply.QuestionBook
	e := newUIEnvWith(t, func(s *Server, _ string) {
		book = &reply.QuestionBook{DB: s.Incidents.DB}
		s.Questions = book
	})
	ctx := context.Background()
	inc := e.declare("Checkout down")
	now := time.Now().UTC().Truncate(time.Second)
	for i, q := range []string{"Can we tell customers to retry?", "Do we refund?"} {
		if _, err := e.db.ExecContext(ctx, `INSERT INTO lead_questions (incident_id, inbound_id, sender, audience, subject, question, received_at, sent_at)
			VALUES ($1, $2, $3, 'Executives', 'Re: [INC-1] Checkout down', $4, $5, $5)`, inc.ID, i+1, "Vera <vp@x.test>", q, now); err != nil {
			t.Fatal(err)
		}
	}
	viewer := e.login("viewer@x.test")
	_, text := viewer.get("/incidents/" + inc.Ref)
	if !strings.Contains(text, "Stakeholders' questions") || !strings.Contains(text, "Do we refund?") || strings.Contains(text, "/questions/1/answered") {
		t.Fatalf("the viewer's page:\n%s", text)
	}
	lead := e.login("lead@x.test")
	_, text = lead.get("/incidents/" + inc.Ref)
	if !strings.Contains(text, `action="/incidents/INC-1/questions/1/answered"`) || !strings.Contains(text, "Mark all 2 answered") ||
		!strings.Contains(text, "This update answers the open questions (2)") {
		t.Fatalf("the lead's page lacks the answer buttons or the compose box")
	}
	resp := lead.post("/incidents/"+inc.Ref+"/questions/1/answered", url.Values{"csrf": {lead.csrf}})
	if resp.StatusCode != 303 {
		t.Fatalf("mark answered: %d", resp.StatusCode)
	}
	resp = lead.post("/incidents/"+inc.Ref+"/questions/1/answered", url.Values{"csrf": {lead.csrf}})
	if body := readBody(t, resp); resp.StatusCode != 409 || !strings.Contains(body, "was marked answered at") {
		t.Errorf("a second mark: %d", resp.StatusCode)
	}
	list, err := book.List(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if list[0].AnsweredBy != "lead@x.test" || list[1].AnsweredAt != nil {
		t.Errorf("questions after one mark: %+v", list)
	}
	tl, _ := e.incidents.Timeline(ctx, inc.Ref)
	if last := tl[len(tl)-1]; last.Kind != reply.EventQuestionAnswered || last.Actor != "lead@x.test" {
		t.Errorf("the timeline's last entry: %+v", last)
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
