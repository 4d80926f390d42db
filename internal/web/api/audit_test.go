package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
)

// refusing is an SMTP server that accepts every recipient but one, which
// it refuses for good (550).
type refusing struct{ refuse string }

func (r refusing) Send(_ context.Context, _ string, to []string, _ []byte) ([]error, error) {
	errs := make([]error, len(to))
	for i, a := range to {
		if a == r.refuse {
			errs[i] = &outbox.SMTPError{Code: 550, Msg: "5.1.1 no such user"}
		}
	}
	return errs, nil
}
func (refusing) Concurrency() int { return 1 }

// withMail gives the API env an outbox, the incident's communication
// under issue 21's SEV1 policy, and the questions.
func withMail(t *testing.T, a *apiEnv, sender outbox.Sender) *outbox.Outbox {
	t.Helper()
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(a.db)
	if err != nil {
		t.Fatal(err)
	}
	dir := a.server.Directory
	ob := &outbox.Outbox{DB: a.db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "sitrep.test", From: "sitrep <status@sitrep.test>",
		ReplyPart: "status", Sender: sender, BatchSize: 10, Lease: 30 * time.Second, MaxAttempts: 3}
	book := &reply.QuestionBook{DB: a.db}
	comms := &incident.Comms{DB: a.db, Incidents: a.incidents, Directory: directoryOf{dir}, Mail: ob, Questions: book,
		Policy: map[incident.Severity]incident.Policy{"SEV1": {FirstUpdateWithin: 5 * time.Minute, Every: 20 * time.Minute, For: 2 * time.Hour,
			ThenEvery: time.Hour, AnswerWithin: 15 * time.Minute}}}
	a.incidents.OnDeclare = append(a.incidents.OnDeclare, comms)
	a.server.Outbox, a.server.Comms, a.server.Questions = ob, comms, book
	return ob
}

type directoryOf struct{ *directory.Store }

// The audit record's JSON and CSV: every message and recipient, with the
// delivery state the outbox recorded (sent, failed with its time and
// error, bounced with both times), every key documented in openapi.yaml;
// the update's policy warning and the incident's policy too.
func TestAuditRecordAndPolicyOverTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ob := withMail(t, a, refusing{refuse: "ann@x.test"})
	ctx := context.Background()
	status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV1","scope":{"systems":["checkout"]},"roles":{"comms_lead":"vp@x.test"}}`)
	if status != 201 {
		t.Fatalf("declare: %d %v", status, out)
	}
	schemas := openAPISchemas(t)
	// (The Incident schema predates this test and leaves out some keys;
	// the policy's are checked.)
	for _, bad := range undocumented(schemas, map[string]any{"$ref": "#/components/schemas/Incident"}, out, "") {
		if strings.HasPrefix(bad, ".policy") {
			t.Errorf("the incident's policy has a key openapi.yaml does not document: %s", bad)
		}
	}
	if p, _ := out["policy"].(map[string]any); p["phase"] != "first 2 h: every 20 min" || p["next_interval_minutes"] != float64(20) || p["answer_within"] != "15m0s" {
		t.Errorf("the incident's policy: %v", out["policy"])
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/INC-1/updates", `{"status":"Card payments fail.","groups":["all"],"next":"1h"}`)
	if status != 201 || !strings.Contains(fmt.Sprint(out["policy_warning"]), "later than the SEV1 policy asks") {
		t.Fatalf("a longer promise is sent, with a warning: %d %v", status, out)
	}
	if bad := undocumented(schemas, map[string]any{"$ref": "#/components/schemas/UpdateResult"}, out, ""); len(bad) > 0 {
		t.Errorf("the update's answer has keys openapi.yaml does not document: %v", bad)
	}
	inc, err := a.incidents.Get(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ob.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for {
			n, err := ob.DeliverBatch(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	// A bounce proves vp's copy of the update failed after the server
	// accepted it.
	var update, vp int64
	if err := a.db.QueryRowContext(ctx, `SELECT d.message_id, d.id FROM deliveries d JOIN messages m ON m.id = d.message_id
		WHERE m.kind = 'status' AND d.email = 'vp@x.test'`).Scan(&update, &vp); err != nil {
		t.Fatal(err)
	}
	bounced := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	if err := outbox.FailBounced(ctx, a.db, outbox.BouncedDelivery{ID: vp, MessageID: update, Email: "vp@x.test"}, "bounced: 550 mailbox full", bounced); err != nil {
		t.Fatal(err)
	}

	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/INC-1/audit", "")
	if status != 200 {
		t.Fatalf("audit: %d %v", status, out)
	}
	rec := map[string]any{"type": "object", "properties": map[string]any{"incident": map[string]any{}, "title": map[string]any{}, "recipients": map[string]any{},
		"messages": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/AuditMessage"}}}}
	if bad := undocumented(schemas, rec, out, ""); len(bad) > 0 {
		t.Errorf("the audit answers keys openapi.yaml does not document: %v", bad)
	}
	states := map[string]string{}
	for _, m := range out["messages"].([]any) {
		m := m.(map[string]any)
		for _, r := range m["recipients"].([]any) {
			r := r.(map[string]any)
			states[fmt.Sprint(m["kind"], " ", r["email"])] = fmt.Sprint(r["state"], " sent:", r["sent_at"] != nil, " failed:", r["failed_at"] != nil, " bounced:", r["bounced_at"] != nil)
		}
	}
	for key, want := range map[string]string{
		"headsup ann@x.test": "failed sent:false failed:true bounced:false",
		"status ann@x.test":  "failed sent:false failed:true bounced:false",
		"status vp@x.test":   "bounced sent:true failed:true bounced:true",
	} {
		if states[key] != want {
			t.Errorf("%s: %q, want %q (all: %v)", key, states[key], want, states)
		}
	}
	if len(states) != 3 || out["recipients"] != float64(3) {
		t.Errorf("the record lists %d recipients (%v): %v", len(states), out["recipients"], states)
	}

	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/incidents/INC-1/audit.csv", nil)
	req.Header.Set("Authorization", "Bearer "+a.view)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 4 {
		t.Fatalf("audit.csv: %d %s %v\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), err, raw)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for _, r := range rows[1:] {
		if r[col["recipient"]] == "vp@x.test" && (r[col["state"]] != "bounced" || r[col["bounced_at"]] != bounced.Format(time.RFC3339) ||
			!strings.Contains(r[col["last_error"]], "mailbox full") || r[col["sent_at"]] == "") {
			t.Errorf("vp's bounced row: %q", r)
		}
		if !strings.HasPrefix(r[col["message_id"]], "<") || r[col["incident"]] != "INC-1" {
			t.Errorf("a row without its Message-ID or incident: %q", r)
		}
	}

	// Questions: listed with the policy, marked answered by a lead only.
	if _, err := a.db.ExecContext(ctx, `INSERT INTO lead_questions (incident_id, inbound_id, sender, question, received_at) VALUES ($1, 1, 'Ann <ann@x.test>', 'Retry?', $2)`,
		inc.ID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/INC-1/questions", "")
	qs := map[string]any{"type": "object", "properties": map[string]any{"incident": map[string]any{}, "open": map[string]any{},
		"policy": map[string]any{"$ref": "#/components/schemas/Policy"}, "questions": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Question"}}}}
	if bad := undocumented(schemas, qs, out, ""); status != 200 || out["open"] != float64(1) || len(bad) > 0 {
		t.Errorf("questions: %d %v; undocumented %v", status, out, bad)
	}
	if status, _ := a.call(t, a.view, "POST", "/api/v1/incidents/INC-1/questions/answered", ""); status != 403 {
		t.Errorf("a viewer marked questions answered: %d", status)
	}
	if status, out := a.call(t, a.lead, "POST", "/api/v1/incidents/INC-1/questions/1/answered", ""); status != 200 || len(out["answered"].([]any)) != 1 {
		t.Errorf("mark answered: %d %v", status, out)
	}
	if status, out := a.call(t, a.lead, "POST", "/api/v1/incidents/INC-1/questions/answered", ""); status != 409 {
		t.Errorf("none open: %d %v", status, out)
	}
}
