package resolution_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// draftOrg has an escalation list whose team the incident does not name.
const draftOrg = `organization: Draft Test
people:
  - {email: vp@x.test, name: Vera Park, roles: [comms-lead]}
  - {email: lead@x.test, name: Leo Ortiz, roles: [incident-lead]}
  - {email: ann@x.test, name: Ann Lee}
  - {email: ida@x.test, name: Ida Berg}
  - {email: rob@x.test, name: Rob Kane}
groups:
  - {name: exec, members: [ann@x.test]}
escalations:
  - {system: auth, team: Identity, responders: [ida@x.test]}
audiences:
  status: [exec]
  resolved: [exec]
  summary: [exec]
`

// The draft of a real incident: the time it lasted counts from the first
// report (the first failure was never set), the teams come from the
// escalation list the heads-up went to, a reporter's "still broken" is in
// the summary, and the timeline's texts have no doubled words or stops
// (issue 17).
func TestDraftSummaryOfAnIncident(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(draftOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	incidents := &incident.Service{DB: db, People: dir, Now: c.now}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Now: c.now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status"}
	comms := &incident.Comms{DB: db, Incidents: incidents, Directory: dir, Mail: ob, Now: c.now}
	incidents.OnDeclare = []incident.DeclareListener{comms}
	s := &resolution.Service{DB: db, Incidents: incidents, Mail: ob, Comms: comms, Directory: dir, Now: c.now, WriteUpAfter: 48 * time.Hour,
		Confirmers: []string{"ann@x.test"}}

	reported := c.t.Add(-50 * time.Minute)
	inc, err := incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Login fails.", Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"auth"}}, Roles: incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"},
		Reports: []incident.ReportInput{{Email: "rob@x.test", Location: "Berlin", Access: "web", Observed: "The login page spins", Channel: "cli", ReportedAt: &reported}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Logins fail; the certificate is being renewed."}); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Minute)
	if _, err := s.Resolve(ctx, "lead@x.test", inc.Ref, resolution.ResolveInput{RootCause: "An expired certificate.", Fix: "It was renewed."}); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := s.RecordAnswer(ctx, tx, inc.ID, "rob@x.test", resolution.AnswerStillBroken, "No, the login page still spins.", c.t)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	events, err := incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, ev := range events {
		texts = append(texts, ev.Text)
	}
	timeline := strings.Join(texts, "\n")
	for _, slip := range []string{"resolved: resolved", "..", "1 people", "1 recipients", "1 responders", "via cli", ": :"} {
		if strings.Contains(timeline, slip) {
			t.Errorf("the timeline says %q:\n%s", slip, timeline)
		}
	}
	for _, want := range []string{"Heads-up to 1 responder of auth", "(1 recipient)", "Asked 2 people to confirm the fix: 1 who reported the problem and 1 on the confirmers list",
		"State investigating → resolved: An expired certificate.", "Root cause: An expired certificate. Resolved email sent to exec"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, timeline)
		}
	}

	// Only the reporter is told "You reported ...".
	rows, err := db.Query(`SELECT d.email, m.render_data FROM messages m JOIN deliveries d ON d.message_id = m.id WHERE m.kind = 'confirm' ORDER BY d.email`)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	for rows.Next() {
		var email, data string
		rows.Scan(&email, &data)
		asked = append(asked, fmt.Sprintf("%s %v", email, strings.Contains(data, `"Reporter":true`)))
	}
	rows.Close()
	if strings.Join(asked, ", ") != "ann@x.test false, rob@x.test true" {
		t.Errorf("confirmation requests: %v", asked)
	}

	// The chat mirror's own trouble is on the timeline for the leads, not
	// in the summary for its readers.
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := incident.AddEvent(ctx, tx, c.t, inc.ID, "chat_problem", "sitrep", "The post to teams may be missing: the flow never answered", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	md, err := s.DraftSummary(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(md), "chat problem") || strings.Contains(md, "teams may be missing") {
		t.Errorf("the draft tells its readers of a chat post:\n%s", md)
	}
	for _, want := range []string{
		"# [INC-1] Login fails: summary",
		"that lasted at least 51 min, from the first report at 2026-11-24 09:10 to 10:01 UTC",
		"A fix is in place, but 1 person asked to confirm it says it is still broken for them: “No, the login page still spins.”",
		"## Teams involved\n\n- Identity\n",
		"Thank you to the Identity team",
		"Report received from Berlin (web): “The login page spins”",
		"Status update 1 sent to 1 group: “Logins fail; the certificate is being renewed.”",
		"A reporter says it is still broken: “No, the login page still spins.”",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft lacks %q:\n%s", want, md)
		}
	}
	for _, not := range []string{"found and fixed", "lasted 1 min", "_TODO: list the teams", "| Report |", "| Confirmation |", "| Resolved email |"} {
		if strings.Contains(md, not) {
			t.Errorf("the draft says %q:\n%s", not, md)
		}
	}
}
