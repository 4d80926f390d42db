package intake_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

var now = time.Date(2026, 11, 24, 14, 45, 0, 0, time.UTC)

func clock() time.Time { return now }

const secret = "s3cret-for-tests-only"

// notes records the note jobs queued, in place of River.
type notes struct {
	mu   sync.Mutex
	jobs []intake.NoteArgs
}

func (n *notes) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.jobs = append(n.jobs, args.(intake.NoteArgs))
	return &rivertype.JobInsertResult{}, nil
}

type harness struct {
	svc       *intake.Service
	incidents *incident.Service
	notes     *notes
	headsUps  []*incident.Incident
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	db := storetest.Open(t)
	h := &harness{notes: &notes{}}
	h.incidents = &incident.Service{DB: db, Now: clock}
	// Stands in for the outbox's heads-up hook: what a declaration sends.
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, incident.DeclareHook(func(ctx context.Context, tx *sql.Tx, inc *incident.Incident) error {
		h.headsUps = append(h.headsUps, inc)
		return nil
	}))
	secrets := map[string]string{}
	for _, s := range intake.Sources {
		secrets[s] = secret
	}
	h.svc = &intake.Service{DB: db, Incidents: h.incidents, Jobs: h.notes, Secrets: secrets, Now: clock,
		KnownSystems: systems{"checkout", "payments", "identity", "edge"}, Notify: []string{"comms@example.com"}}
	return h
}

func bearer() http.Header { return http.Header{"Authorization": {"Bearer " + secret}} }

func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) post(t testing.TB, source, file string) *intake.Receipt {
	t.Helper()
	r, err := h.svc.Receive(context.Background(), source, bearer(), nil, payload(t, file))
	if err != nil {
		t.Fatalf("%s %s: %v", source, file, err)
	}
	return r
}

func TestEachVendorsPayloadOpensADraftWithTheMonitorsFirstFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		source, file string
		drafts       int
		first        time.Time
		title        string
		systems      []string
		url          string
		severity     string
	}{
		{intake.Alertmanager, "alertmanager_firing.json", 2, time.Date(2026, 11, 24, 13, 40, 12, 345e6, time.UTC),
			"Checkout error rate above 5%", []string{"checkout"}, "http://prometheus.example.com:9090/graph", "SEV1"},
		{intake.Pingdom, "pingdom_down.json", 1, time.Date(2026, 11, 24, 13, 43, 0, 0, time.UTC),
			"Pingdom: checkout-eu is down", []string{"checkout"}, "https://shop.example.com/checkout/health", "SEV2"},
		{intake.Dynatrace, "dynatrace_open.json", 1, time.Date(2026, 11, 24, 13, 40, 0, 0, time.UTC),
			"Failure rate increase on payments-api", []string{"payments"}, "https://abc12345.live.dynatrace.com/#problems", "SEV2"},
		{intake.Generic, "generic_firing.json", 1, time.Date(2026, 11, 24, 13, 38, 0, 0, time.UTC),
			"Login journey failing from us-east", []string{"identity"}, "https://synthetics.example.com/journeys/login-us", "SEV2"},
	}
	for _, c := range cases {
		t.Run(c.source, func(t *testing.T) {
			r := h.post(t, c.source, c.file)
			if len(r.Created) != c.drafts || len(r.Attached) != 0 {
				t.Fatalf("first delivery: %+v; want %d new drafts", r, c.drafts)
			}
			d, err := h.svc.Get(context.Background(), intake.FormatID(r.Created[0]))
			if err != nil {
				t.Fatal(err)
			}
			if !d.FirstFailureAt.Equal(c.first) {
				t.Errorf("first failure %s, want the monitor's %s", d.FirstFailureAt, c.first)
			}
			if d.Title != c.title || strings.Join(d.Systems, ",") != strings.Join(c.systems, ",") || !strings.HasPrefix(d.URL, c.url) ||
				d.Severity != c.severity || d.State != intake.StateDraft || d.Fired != 1 || !d.ReceivedAt.Equal(now) {
				t.Errorf("draft %+v", d)
			}
			// The same delivery again (the monitor's repeat): attached, counted.
			again := h.post(t, c.source, c.file)
			if len(again.Created) != 0 || len(again.Attached) != c.drafts || again.Attached[0] != r.Created[0] {
				t.Fatalf("repeat: %+v; want it attached to %v", again, r.Created)
			}
			if d, _ = h.svc.Get(context.Background(), intake.FormatID(r.Created[0])); d.Fired != 2 || !d.FirstFailureAt.Equal(c.first) {
				t.Errorf("after the repeat: fired %d, first %s", d.Fired, d.FirstFailureAt)
			}
		})
	}
	if len(h.headsUps) != 0 {
		t.Errorf("drafts sent %d heads-ups; a draft sends nothing until declared", len(h.headsUps))
	}
	// One note to the comms lead per new draft, none for repeats.
	if len(h.notes.jobs) != 5 {
		t.Errorf("%d notes queued, want one per draft (5)", len(h.notes.jobs))
	}
}

func TestWrongOrMissingSecretIs401AndStoresNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := payload(t, "alertmanager_firing.json")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	cases := []struct {
		name  string
		h     http.Header
		query url.Values
		ok    bool
	}{
		{"none", http.Header{}, nil, false},
		{"wrong bearer", http.Header{"Authorization": {"Bearer nope"}}, nil, false},
		{"basic", http.Header{"Authorization": {"Basic " + secret}}, nil, false},
		{"signature of another body", http.Header{"X-Sitrep-Signature": {"sha256=" + strings.Repeat("0", 64)}}, nil, false},
		{"wrong token", http.Header{}, url.Values{"token": {"nope"}}, false},
		{"hmac", http.Header{"X-Sitrep-Signature": {good}}, nil, true},
		{"token in the URL", http.Header{}, url.Values{"token": {secret}}, true},
	}
	for _, c := range cases {
		_, err := h.svc.Receive(context.Background(), intake.Alertmanager, c.h, c.query, body)
		var e *errs.Error
		if c.ok != (err == nil) || (!c.ok && (!errors.As(err, &e) || e.Code != errs.Unauthorized)) {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok {
			if list, _ := h.svc.List(context.Background(), "", 0); len(list) != 0 {
				t.Fatalf("%s: %d drafts stored after a refused delivery", c.name, len(list))
			}
		}
	}
	// A source without a secret is off.
	h.svc.Secrets[intake.Pingdom] = ""
	if _, err := h.svc.Receive(context.Background(), intake.Pingdom, bearer(), nil, payload(t, "pingdom_down.json")); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("pingdom without a secret: %v", err)
	}
}

func TestMalformedPayloadIs400WithTheReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct{ source, body, reason string }{
		{intake.Alertmanager, `{"version":"4","alerts":[`, "malformed alertmanager payload"},
		{intake.Alertmanager, `{"version":"3","alerts":[]}`, `version "3"`},
		{intake.Alertmanager, `{"version":"4","status":"firing","alerts":[]}`, "no alerts"},
		{intake.Alertmanager, `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X"},"fingerprint":"a"}]}`, "startsAt"},
		{intake.Alertmanager, `{"version":"4","alerts":[{"status":"pending","labels":{"alertname":"X"},"startsAt":"2026-11-24T13:00:00Z"}]}`, "want firing or resolved"},
		{intake.Pingdom, `{"check_id":1,"current_state":"SIDEWAYS","state_changed_timestamp":1795527780}`, "DOWN or UP"},
		{intake.Pingdom, `{"check_name":"x","current_state":"DOWN"}`, "check_id"},
		{intake.Dynatrace, `{"PID":"1","State":"OPEN"}`, "ProblemTitle"},
		{intake.Dynatrace, `{"PID":"1","State":"OPEN","ProblemTitle":"t","ImpactedEntities":"not a list"}`, "ImpactedEntities"},
		{intake.Dynatrace, `{ProblemID}`, "malformed dynatrace"},
		{intake.Generic, `{"key":"k","title":"t"}`, "started_at"},
		{intake.Generic, `{"key":"k","title":"t","started_at":"2026-11-24T13:00:00Z","colour":"red"}`, "unknown field"},
		{intake.Generic, ``, "empty body"},
	}
	for _, c := range cases {
		_, err := h.svc.Receive(context.Background(), c.source, bearer(), nil, []byte(c.body))
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s %s: %v; want invalid saying %q", c.source, c.body, err, c.reason)
		}
	}
	if list, _ := h.svc.List(context.Background(), "", 0); len(list) != 0 {
		t.Errorf("%d drafts stored from malformed payloads", len(list))
	}
	if _, err := h.svc.Receive(context.Background(), "nagios", bearer(), nil, []byte(`{}`)); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown source: %v", err)
	}
}

func TestDeclareKeepsTheMonitorsFirstFailureAndTheRecoveryGoesOnTheTimeline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	r := h.post(t, intake.Pingdom, "pingdom_down.json")
	id := intake.FormatID(r.Created[0])
	inc, d, err := h.svc.Declare(ctx, "comms@example.com", id, intake.DeclareInput{})
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 11, 24, 13, 43, 0, 0, time.UTC)
	if inc.FirstFailureAt == nil || !inc.FirstFailureAt.Equal(first) {
		t.Errorf("incident first failure %v, want the monitor's %s", inc.FirstFailureAt, first)
	}
	if inc.Scope.DetectedVia != "monitoring" || inc.Scope.Verified || inc.Severity != "SEV2" ||
		inc.Title != "Pingdom: checkout-eu is down" || strings.Join(inc.Scope.Systems, ",") != "checkout" ||
		!strings.Contains(inc.Scope.DetectionDetail, "https://shop.example.com/checkout/health") {
		t.Errorf("incident %+v", inc)
	}
	if d.State != intake.StateDeclared || d.Incident != inc.Ref || d.DecidedBy != "comms@example.com" {
		t.Errorf("draft after declaring: %+v", d)
	}
	if len(h.headsUps) != 1 || h.headsUps[0].ID != inc.ID {
		t.Errorf("heads-up hooks ran %d times", len(h.headsUps))
	}
	// Declared once: a second press is a conflict, and makes no incident.
	if _, _, err := h.svc.Declare(ctx, "lead@example.com", id, intake.DeclareInput{}); !errs.Is(err, errs.Conflict) {
		t.Errorf("second declare: %v", err)
	}
	if list, _ := h.incidents.List(ctx, incident.ListFilter{}); len(list) != 1 {
		t.Errorf("%d incidents after two declares", len(list))
	}
	// The check fires again while the incident runs: attached, no new draft.
	if again := h.post(t, intake.Pingdom, "pingdom_down.json"); len(again.Attached) != 1 {
		t.Errorf("repeat after declaring: %+v", again)
	}
	// Recovery goes on the incident's timeline with the monitor's time.
	if up := h.post(t, intake.Pingdom, "pingdom_up.json"); len(up.Resolved) != 1 {
		t.Fatalf("recovery: %+v", up)
	}
	events, err := h.incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	last := events[len(events)-1]
	if last.Kind != intake.EventMonitorRecovered || !strings.Contains(last.Text, "14:30:00") {
		t.Errorf("timeline %v; last %+v", kinds, last)
	}
	// Down again after the recovery is a new outage: a new draft.
	if r2 := h.post(t, intake.Pingdom, "pingdom_down.json"); len(r2.Created) != 1 || r2.Created[0] == r.Created[0] {
		t.Errorf("down after recovery: %+v", r2)
	}
}

func TestDismissAndRepliesToTheNote(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	r := h.post(t, intake.Alertmanager, "alertmanager_firing.json")
	d, err := h.svc.Dismiss(ctx, "comms@example.com", intake.FormatID(r.Created[1]), "canary instance, known flaky")
	if err != nil || d.State != intake.StateDismissed || !strings.Contains(d.Detail, "known flaky") {
		t.Fatalf("dismiss: %+v %v", d, err)
	}
	if _, _, err := h.svc.Declare(ctx, "x@example.com", intake.FormatID(r.Created[1]), intake.DeclareInput{}); !errs.Is(err, errs.Conflict) {
		t.Errorf("declare after dismiss: %v", err)
	}
	// Firing again after the dismissal attaches quietly: no second note.
	before := len(h.notes.jobs)
	if again := h.post(t, intake.Alertmanager, "alertmanager_firing.json"); len(again.Created) != 0 {
		t.Errorf("repeat after dismissal made drafts: %+v", again)
	}
	if len(h.notes.jobs) != before {
		t.Errorf("repeat queued notes")
	}
	// The other draft, declared by reply.
	first, _ := h.svc.Get(ctx, intake.FormatID(r.Created[0]))
	if _, err := h.svc.HandleReply(ctx, first.ReplyToken, "comms@example.com", "maybe later"); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown reply: %v", err)
	}
	msg, err := h.svc.HandleReply(ctx, first.ReplyToken, "comms@example.com", "declare SEV1")
	if err != nil || !strings.Contains(msg, "declared as INC-") {
		t.Fatalf("declare by reply: %q %v", msg, err)
	}
	inc, _ := h.incidents.Get(ctx, "INC-1")
	if inc.Severity != "SEV1" || inc.Roles.CommsLead != "comms@example.com" || !inc.FirstFailureAt.Equal(time.Date(2026, 11, 24, 13, 40, 12, 345e6, time.UTC)) {
		t.Errorf("incident declared by reply: %+v", inc)
	}
	if list, _ := h.svc.List(ctx, intake.StateDraft, 0); len(list) != 0 {
		t.Errorf("%d drafts still open", len(list))
	}
}

func TestRecoveryOfAnUnknownAlertIsIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.post(t, intake.Dynatrace, "dynatrace_resolved.json")
	if r.Ignored != 1 || len(r.Created)+len(r.Resolved) != 0 {
		t.Errorf("%+v", r)
	}
	// A draft whose alert recovers before anyone decided stays a draft,
	// marked recovered; declaring it records the recovery too.
	open := h.post(t, intake.Dynatrace, "dynatrace_open.json")
	h.post(t, intake.Dynatrace, "dynatrace_resolved.json")
	d, _ := h.svc.Get(context.Background(), intake.FormatID(open.Created[0]))
	if d.State != intake.StateDraft || d.ResolvedAt == nil || !d.ResolvedAt.Equal(time.Date(2026, 11, 24, 14, 35, 0, 0, time.UTC)) {
		t.Fatalf("draft after recovery: %+v", d)
	}
	inc, _, err := h.svc.Declare(context.Background(), "comms@example.com", intake.FormatID(d.ID), intake.DeclareInput{Severity: "SEV3"})
	if err != nil {
		t.Fatal(err)
	}
	events, _ := h.incidents.Timeline(context.Background(), inc.Ref)
	if events[len(events)-1].Kind != intake.EventMonitorRecovered {
		t.Errorf("timeline %+v", events)
	}
}
