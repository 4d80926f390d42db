package ui

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/reply"
)

// doneBook is the inbox's record of the replies acted on.
type doneBook map[int64]bool

func (d doneBook) Finish(_ context.Context, _ *sql.Tx, id int64, _ mailmsg.Outcome) error {
	if d[id] {
		return mailmsg.ErrAlreadyDone
	}
	d[id] = true
	return nil
}

// The incident page carries its scorecard; the report page draws its
// charts as SVG with a title and a description each, and its CSV and JSON
// hold the figures its tables show.
func TestScorecardCardAndReportPage(t *testing.T) {
	t.Parallel()
	e := newUIEnvWith(t, func(s *Server, _ string) { s.Comms.Messages = s.Outbox })
	ctx := context.Background()
	inc := e.declare("Checkout down")
	if _, err := e.s.Comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Looking into it.", Next: "30m"}); err != nil {
		t.Fatal(err)
	}
	b := e.login("lead@x.test")
	status, page := b.get("/incidents/" + inc.Ref)
	if status != 200 {
		t.Fatalf("incident page: %d\n%s", status, page)
	}
	for _, want := range []string{`id="scorecard-h"`, `data-figure="first-update"`, "0 of 0", "Who was told what and when", "update 1", "not recorded on this server: questions"} {
		if !strings.Contains(strings.ToLower(page), strings.ToLower(want)) {
			t.Errorf("the scorecard card lacks %q", want)
		}
	}

	// A stakeholder's question, marked answered on the questions card (the
	// policy's one mark): the scorecard counts it, offers no second way to
	// mark it, and a second mark is refused on the page.
	replies := &reply.Service{DB: e.db, Incidents: e.incidents, Comms: e.s.Comms, Mail: e.s.Outbox, Directory: e.s.Directory, Inbox: doneBook{}, LocalPart: "status"}
	e.s.Comms.QuestionLog = replies
	book := &reply.QuestionBook{DB: e.db}
	e.s.Questions, e.s.Comms.Questions = book, book
	inc = e.declare("Search slow")
	if _, err := e.incidents.Patch(ctx, "test", inc.Ref, incident.PatchInput{Roles: &incident.Roles{CommsLead: "vp@x.test"}}); err != nil {
		t.Fatal(err)
	}
	raw := "From: Ann <ann@x.test>\r\nTo: status+" + inc.ReplyToken + "@sitrep.test\r\nSubject: Re: [" + inc.Ref + "] Search slow\r\nMessage-ID: <q41@x.test>\r\n" +
		"Content-Type: text/plain\r\n\r\nIs search back?\r\n"
	m, err := mailmsg.Parse([]byte(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := replies.Handle(ctx, &mailmsg.Received{ID: 41, Message: m, Outcome: mailmsg.Outcome{Class: string(mailmsg.Classify(m)), Sender: "ann@x.test",
		SenderName: "Ann", Subject: m.Subject, NewText: m.NewText}}); err != nil {
		t.Fatal(err)
	}
	_, page = b.get("/incidents/" + inc.Ref)
	if !strings.Contains(page, `action="/incidents/`+inc.Ref+`/questions/1/answered"`) || !strings.Contains(page, "not answered") || !strings.Contains(page, "1 asked, 0 answered") {
		t.Fatalf("the question and its button are not on the page")
	}
	if strings.Contains(page, "Answered directly") {
		t.Errorf("the scorecard card offers a second way to mark a question answered")
	}
	resp := b.post("/incidents/"+inc.Ref+"/questions/1/answered", url.Values{"csrf": {b.csrf}})
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "answered=1") {
		t.Fatalf("marked answered: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get("/incidents/" + inc.Ref + "?answered=1")
	if !strings.Contains(page, "1 asked, 1 answered") || strings.Contains(page, "/questions/1/answered") {
		t.Errorf("after the mark, the scorecard says:\n%s", page[strings.Index(page, `id="scorecard"`):])
	}
	resp = b.post("/incidents/"+inc.Ref+"/questions/1/answered", url.Values{"csrf": {b.csrf}})
	if text := body(resp); resp.StatusCode != 409 || !strings.Contains(text, "was marked answered at") {
		t.Errorf("answered twice: %d", resp.StatusCode)
	}

	status, page = b.get("/reports")
	if status != 200 {
		t.Fatalf("report page: %d\n%s", status, page)
	}
	svgs := regexp.MustCompile(`(?s)<svg class="chart" id="([^"]+)"[^>]*role="img" aria-labelledby="([^"]+)-title [^"]+-desc"[^>]*><title id="[^"]+">([^<]+)</title><desc id="[^"]+">([^<]+)</desc>`).FindAllStringSubmatch(page, -1)
	if len(svgs) != 4 {
		t.Fatalf("%d accessible charts on the report page, want 4\n%s", len(svgs), page)
	}
	for _, m := range svgs {
		if m[1] != m[2] || m[3] == "" || m[4] == "" {
			t.Errorf("chart %s: title %q, description %q", m[1], m[3], m[4])
		}
	}
	if !strings.Contains(page, `href="/reports.csv?`) || !strings.Contains(page, `data-row="SEV2"`) {
		t.Errorf("the report page lacks its export or its severity row")
	}
	_, csvText := b.get("/reports.csv")
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil || len(rows) < 2 || rows[1][0] != "total" || rows[1][4] != "2" {
		t.Fatalf("csv: %v\n%s", err, csvText)
	}
	_, js := b.get("/reports.json")
	var rep incident.CommsReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil || rep.Total.Incidents != 2 || rep.Total.FirstUpdate.Count != 1 || rep.Total.QuestionsAnswered != 1 {
		t.Fatalf("json: %v\n%s", err, js)
	}
	status, page = b.get("/reports?" + url.Values{"from": {"2026-13"}}.Encode())
	if status != 400 || !strings.Contains(page, `id="report-from" name="from" value="2026-13" aria-invalid="true"`) {
		t.Errorf("a month that is none: %d", status)
	}
}
