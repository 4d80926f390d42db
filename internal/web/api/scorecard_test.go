package api_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/api"
)

type finished map[int64]bool

func (f finished) Finish(_ context.Context, _ *sql.Tx, id int64, _ mailmsg.Outcome) error {
	if f[id] {
		return mailmsg.ErrAlreadyDone
	}
	f[id] = true
	return nil
}

// newScorecardAPI is newAPI with the communication wired as serve wires
// it: the outbox, Comms reading the outbox and the reply flow's questions,
// and the policy's QuestionBook, the one way a question is marked answered.
func newScorecardAPI(t *testing.T) (*apiEnv, *incident.Comms, *reply.Service) {
	t.Helper()
	a := newAPI(t)
	dir := a.server.Directory
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(a.db)
	if err != nil {
		t.Fatal(err)
	}
	ob := &outbox.Outbox{DB: a.db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "x.test", From: "sitrep <status@x.test>", ReplyPart: "status"}
	comms := &incident.Comms{DB: a.db, Incidents: a.incidents, Directory: dir, Mail: ob, Messages: ob}
	replies := &reply.Service{DB: a.db, Incidents: a.incidents, Comms: comms, Mail: ob, Directory: dir, Inbox: finished{}, LocalPart: "status"}
	comms.QuestionLog = replies
	book := &reply.QuestionBook{DB: a.db}
	comms.Questions = book
	tokens := &auth.Tokens{DB: a.db}
	base := &web.Server{Tokens: tokens, MaxBodyBytes: 4096}
	s := &api.Server{Server: base, Incidents: a.incidents, Directory: dir, Outbox: ob, Comms: comms, Questions: book}
	a.srv.Config.Handler = base.Handler(s)
	return a, comms, replies
}

// The scorecard and the report through the API: every key they answer is
// documented in openapi.yaml, errors have the one shape with the status
// of their code, and the CSV is the JSON's figures.
func TestScorecardAndReportInTheAPI(t *testing.T) {
	t.Parallel()
	a, comms, replies := newScorecardAPI(t)
	ctx := context.Background()
	inc, err := a.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2", Scope: incident.Scope{Systems: []string{"checkout"}},
		Roles: incident.Roles{CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking into it.", Groups: []string{"all"}}); err != nil {
		t.Fatal(err)
	}
	raw := "From: Ann <ann@x.test>\r\nTo: status+" + inc.ReplyToken + "@x.test\r\nSubject: Re: [" + inc.Ref + "] Checkout down\r\nMessage-ID: <q7@x.test>\r\n" +
		"Content-Type: text/plain\r\n\r\nWhen is it back?\r\n"
	m, err := mailmsg.Parse([]byte(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := replies.Handle(ctx, &mailmsg.Received{ID: 7, Message: m, Outcome: mailmsg.Outcome{Class: string(mailmsg.Classify(m)),
		Sender: "ann@x.test", SenderName: "Ann", Subject: m.Subject, NewText: m.NewText}}); err != nil {
		t.Fatal(err)
	}

	schemas := openAPISchemas(t)
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	status, out := a.call(t, a.view, "GET", "/api/v1/incidents/"+inc.Ref+"/scorecard", "")
	if status != 200 || out["incident"] != inc.Ref || out["time_to_first_update_seconds"] == nil {
		t.Fatalf("scorecard: %d %v", status, out)
	}
	if bad := undocumented(schemas, ref("Scorecard"), out, ""); len(bad) > 0 {
		t.Errorf("the scorecard answers keys openapi.yaml does not document: %v", bad)
	}
	q := out["questions"].(map[string]any)
	if q["asked"] != 1.0 || q["answered"] != 0.0 {
		t.Errorf("questions %v: one asked, none answered yet", q)
	}

	// Marking it answered, by the policy's route (the question's id is
	// the one GET .../questions lists): a lead may, once; a viewer may not;
	// not before the question, not in the future.
	status, out = a.call(t, a.view, "POST", "/api/v1/incidents/"+inc.Ref+"/questions/1/answered", "")
	if code, _ := errCode(out); status != 403 || code != "forbidden" {
		t.Errorf("a viewer marks a question answered: %d %v", status, out)
	}
	for _, at := range []string{"2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z"} {
		status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+inc.Ref+"/questions/1/answered", `{"answered_at": "`+at+`"}`)
		if code, field := errCode(out); status != 400 || code != "invalid" || field != "answered_at" {
			t.Errorf("answered at %s: %d %v, want invalid answered_at", at, status, out)
		}
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+inc.Ref+"/questions/1/answered", `{"note": "by phone"}`)
	if marked, _ := out["answered"].([]any); status != 200 || len(marked) != 1 || marked[0].(map[string]any)["answered_by"] != "lead" {
		t.Fatalf("mark answered: %d %v", status, out)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+inc.Ref+"/questions/1/answered", "")
	if code, _ := errCode(out); status != 409 || code != "conflict" {
		t.Errorf("marked twice: %d %v", status, out)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+inc.Ref+"/questions/8/answered", "{}")
	if code, _ := errCode(out); status != 404 || code != "not_found" {
		t.Errorf("an unknown question: %d %v", status, out)
	}
	// The scorecard reads the mark: answered, by whom, and how long after.
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/"+inc.Ref+"/scorecard", "")
	q = out["questions"].(map[string]any)
	if list, _ := q["list"].([]any); status != 200 || q["answered"] != 1.0 || len(list) != 1 ||
		list[0].(map[string]any)["answered_by"] != "lead" || list[0].(map[string]any)["time_to_answer_seconds"] == nil {
		t.Errorf("the scorecard after the mark: %d %v", status, q)
	}
	if bad := undocumented(schemas, ref("Scorecard"), out, ""); len(bad) > 0 {
		t.Errorf("the scorecard answers keys openapi.yaml does not document: %v", bad)
	}
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/INC-999/scorecard", "")
	if code, _ := errCode(out); status != 404 || code != "not_found" {
		t.Errorf("no such incident: %d %v", status, out)
	}

	// The report: this year, by month and severity.
	status, out = a.call(t, a.view, "GET", "/api/v1/reports", "")
	if status != 200 {
		t.Fatalf("report: %d %v", status, out)
	}
	if bad := undocumented(schemas, ref("CommsReport"), out, ""); len(bad) > 0 {
		t.Errorf("the report answers keys openapi.yaml does not document: %v", bad)
	}
	total := out["total"].(map[string]any)
	if total["incidents"] != 1.0 || total["questions_answered"] != 1.0 || len(out["months"].([]any)) != 12 || len(out["severities"].([]any)) != 4 {
		t.Errorf("report: %v", out)
	}
	for _, c := range []struct{ query, field string }{{"from=2026-13", "from"}, {"to=May", "to"}, {"from=2020-01&to=2026-01", "from"}, {"severity=SEV9", "severity"}, {"format=xml", "format"}} {
		status, out = a.call(t, a.view, "GET", "/api/v1/reports?"+c.query, "")
		if code, field := errCode(out); status != 400 || code != "invalid" || field != c.field {
			t.Errorf("report?%s: %d %v, want invalid %s", c.query, status, out, c.field)
		}
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/reports?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+a.view)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %v %s\n%s", err, res.Header.Get("Content-Type"), body)
	}
	if strings.Join(rows[0], ",") != strings.Join(incident.CommsReportCSVHeader, ",") || rows[1][0] != "total" || rows[1][4] != "1" {
		t.Errorf("csv:\n%s", body)
	}
}
