package incident_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type people map[string]bool

func (p people) KnowsPerson(email string) bool { return p[email] }

func newService(t *testing.T) (*incident.Service, *clock) {
	c := &clock{t: time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)}
	return &incident.Service{DB: storetest.Open(t), Now: c.now, DueSoon: 10 * time.Minute,
		People: people{"vp@x.test": true, "lead@x.test": true}}, c
}

func declare(t *testing.T, s *incident.Service) *incident.Incident {
	t.Helper()
	first := time.Date(2026, 11, 24, 13, 40, 0, 0, time.UTC)
	inc, err := s.Declare(context.Background(), "vp@x.test", incident.DeclareInput{
		Title: "Checkout down", Severity: "sev1", FirstFailureAt: &first,
		Scope: incident.Scope{DetectedVia: "Monitoring", Extent: "subset", Segments: []string{"region: EU", "region: EU", ""},
			Systems: []string{"Checkout"}, Teams: []string{"payments"}},
		Roles: incident.Roles{IncidentLead: "Lead@x.test", CommsLead: "vp@x.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestDeclareStoresScopeAndTimeline(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	inc := declare(t, s)
	if inc.Ref != "INC-1" || inc.Severity != "SEV1" || inc.State != incident.Investigating {
		t.Fatalf("declared %+v", inc)
	}
	got, err := s.Get(context.Background(), "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Scope.DetectedVia != "monitoring" || strings.Join(got.Scope.Segments, "|") != "region: EU" || got.Scope.Systems[0] != "checkout" {
		t.Errorf("scope not normalised: %+v", got.Scope)
	}
	if got.Roles.IncidentLead != "lead@x.test" || got.FirstFailureAt == nil || got.FirstFailureAt.Hour() != 13 {
		t.Errorf("roles/times: %+v %v", got.Roles, got.FirstFailureAt)
	}
	if len(got.ReplyToken) < 26 {
		t.Errorf("reply token too short to be unguessable: %q", got.ReplyToken)
	}
	tl, err := s.Timeline(context.Background(), "INC-1")
	if err != nil || len(tl) != 1 || tl[0].Kind != incident.EventDeclared || tl[0].Actor != "vp@x.test" {
		t.Fatalf("timeline %+v %v", tl, err)
	}
}

func TestDeclareRejectsBadInputAndStoresNothing(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	future := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cases := map[string]incident.DeclareInput{
		"severity":            {Title: "x", Severity: "SEV9"},
		"title":               {Title: "  ", Severity: "SEV2"},
		"title injection":     {Title: "Down\r\nBcc: all@x.test", Severity: "SEV2"},
		"first_failure_at":    {Title: "x", Severity: "SEV2", FirstFailureAt: &future},
		"roles.incident_lead": {Title: "x", Severity: "SEV2", Roles: incident.Roles{IncidentLead: "stranger@x.test"}},
		"scope.detected_via":  {Title: "x", Severity: "SEV2", Scope: incident.Scope{DetectedVia: "psychic"}},
		"scope.extent":        {Title: "x", Severity: "SEV2", Scope: incident.Scope{Extent: "some"}},
	}
	for name, in := range cases {
		_, err := s.Declare(context.Background(), "vp@x.test", in)
		if errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: want invalid, got %v", name, err)
		}
	}
	list, _ := s.List(context.Background(), incident.ListFilter{})
	if len(list) != 0 {
		t.Fatalf("bad input stored %d incidents", len(list))
	}
}

func TestDeclareHookFailureRollsBack(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	s.OnDeclare = append(s.OnDeclare, incident.DeclareHook(func(ctx context.Context, tx *sql.Tx, inc *incident.Incident) error {
		return errors.New("heads-up could not be queued")
	}))
	if _, err := s.Declare(context.Background(), "vp@x.test", incident.DeclareInput{Title: "x", Severity: "SEV2"}); err == nil {
		t.Fatal("want the hook's error")
	}
	if list, _ := s.List(context.Background(), incident.ListFilter{}); len(list) != 0 {
		t.Fatal("incident stored although its hook failed")
	}
}

func TestLifecycleTransitions(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	declare(t, s)
	if _, err := s.Transition(ctx, "vp@x.test", "INC-1", incident.Postmortem, ""); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("investigating → postmortem must be refused, got %v", err)
	}
	for _, to := range []incident.State{incident.Identified, incident.Monitoring, incident.Resolved, incident.Postmortem, incident.Closed} {
		if _, err := s.Transition(ctx, "vp@x.test", "INC-1", to, "step"); err != nil {
			t.Fatalf("→ %s: %v", to, err)
		}
	}
	inc, _ := s.Get(ctx, "INC-1")
	if inc.State != incident.Closed || inc.ResolvedAt == nil {
		t.Fatalf("state %s resolved %v", inc.State, inc.ResolvedAt)
	}
	if _, err := s.Transition(ctx, "vp@x.test", "INC-1", incident.Resolved, ""); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("closed → resolved must be a conflict, got %v", err)
	}
	tl, _ := s.Timeline(ctx, "INC-1")
	if len(tl) != 6 {
		t.Fatalf("want declared + 5 transitions on the timeline, got %d", len(tl))
	}
	if _, err := s.Get(ctx, "INC-99"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown incident: %v", err)
	}
}

func TestTimelineIsAppendOnly(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	declare(t, s)
	if _, err := s.DB.ExecContext(context.Background(), `UPDATE timeline_events SET text = 'rewritten'`); err == nil {
		t.Fatal("the database must refuse to rewrite the timeline")
	}
	if _, err := s.DB.ExecContext(context.Background(), `DELETE FROM timeline_events`); err == nil {
		t.Fatal("the database must refuse to delete from the timeline")
	}
}

func TestPatchStaleVersionConflicts(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	inc := declare(t, s)
	title, sev := "Checkout degraded", "SEV2"
	v := inc.Version
	got, err := s.Patch(ctx, "vp@x.test", inc.Ref, incident.PatchInput{Title: &title, Severity: &sev, Version: &v})
	if err != nil || got.Title != title || got.Severity != "SEV2" {
		t.Fatalf("patch: %+v %v", got, err)
	}
	if _, err := s.Patch(ctx, "vp@x.test", inc.Ref, incident.PatchInput{Title: &title, Version: &v}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("stale version must conflict, got %v", err)
	}
	tl, _ := s.Timeline(ctx, inc.Ref)
	if len(tl) != 3 {
		t.Fatalf("want one event per changed field (2) after declared, got %d", len(tl)-1)
	}
}

// The first promise, overdue with no update since: none of one kept, not
// "1" because nothing had been counted yet.
func TestFirstPromiseOverdueIsMissed(t *testing.T) {
	t.Parallel()
	s, c := newService(t)
	ctx := context.Background()
	inc := declare(t, s)
	next := c.t.Add(30 * time.Minute)
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.RecordUpdateSent(ctx, tx, inc.ID, c.t, &next) }); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, inc.Ref)
	if got.Promise.KeptRate != 1 || got.Promise.Promised != 0 {
		t.Errorf("before it is due: %+v, want nothing counted and rate 1", got.Promise)
	}
	c.t = c.t.Add(31 * time.Minute)
	for _, list := range [][]*incident.Incident{{mustGet(t, s, inc.Ref)}, mustList(t, s)} {
		if p := list[0].Promise; p.Status != "overdue" || p.KeptRate != 0 || p.Promised != 1 || p.Kept != 0 {
			t.Errorf("a minute overdue: %+v, want 0 of 1 kept", p)
		}
	}
}

func mustGet(t *testing.T, s *incident.Service, ref string) *incident.Incident {
	t.Helper()
	inc, err := s.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func mustList(t *testing.T, s *incident.Service) []*incident.Incident {
	t.Helper()
	list, err := s.List(context.Background(), incident.ListFilter{})
	if err != nil || len(list) == 0 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	return list
}

func TestPromiseKeptRate(t *testing.T) {
	t.Parallel()
	s, c := newService(t)
	ctx := context.Background()
	inc := declare(t, s)
	due := func(d time.Duration) *time.Time { t := c.t.Add(d); return &t }
	send := func(next *time.Time) {
		t.Helper()
		if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.RecordUpdateSent(ctx, tx, inc.ID, c.t, next) }); err != nil {
			t.Fatal(err)
		}
	}
	send(due(30 * time.Minute)) // first update: nothing promised before it
	c.t = c.t.Add(25 * time.Minute)
	got, _ := s.Get(ctx, inc.Ref)
	if got.Promise.Status != "due_soon" {
		t.Errorf("5 minutes before due: status %s", got.Promise.Status)
	}
	send(due(30 * time.Minute)) // on time
	c.t = c.t.Add(40 * time.Minute)
	got, _ = s.Get(ctx, inc.Ref)
	if got.Promise.Status != "overdue" {
		t.Errorf("10 minutes late: status %s", got.Promise.Status)
	}
	// Overdue now is missed now (issue 17: kept_rate was 1 while overdue).
	if got.Promise.Promised != 2 || got.Promise.Kept != 1 || got.Promise.KeptRate != 0.5 {
		t.Errorf("while the second promise is overdue: %+v, want 1 of 2 kept", got.Promise)
	}
	send(due(30 * time.Minute)) // late
	got, _ = s.Get(ctx, inc.Ref)
	if got.Promise.Promised != 2 || got.Promise.Kept != 1 || got.Promise.KeptRate != 0.5 || got.Promise.Status != "on_time" {
		t.Fatalf("promise %+v", got.Promise)
	}
}

func TestAdvancePromiseStageOnce(t *testing.T) {
	t.Parallel()
	s, c := newService(t)
	ctx := context.Background()
	inc := declare(t, s)
	next := c.t.Add(30 * time.Minute)
	s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.RecordUpdateSent(ctx, tx, inc.ID, c.t, &next) })
	wins := 0
	for i := 0; i < 3; i++ {
		s.DB.InTx(ctx, func(tx *sql.Tx) error {
			ok, err := incident.AdvancePromiseStage(ctx, tx, inc.ID, next, incident.StageReminded)
			if ok {
				wins++
			}
			return err
		})
	}
	if wins != 1 {
		t.Fatalf("the reminder stage must be won once, won %d times", wins)
	}
}

// Reports given with the declaration are filed in its transaction, on the
// timeline and summarised; one bad report refuses the whole declaration,
// naming the report and the field, and stores nothing.
func TestDeclareFilesItsReports(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	in := incident.DeclareInput{Title: "Checkout down", Severity: "SEV2", Reports: []incident.ReportInput{
		{Email: "ana@customer.test", Location: "EU", Access: "web", Observed: "card declined"},
		{Email: "bo@customer.test", Location: "EU", Access: "web"},
		{Email: "cy@customer.test", Location: "US", Access: "mobile app", Channel: "web"},
	}}
	bad := in
	bad.Reports = append([]incident.ReportInput{}, in.Reports...)
	bad.Reports[1].Email = "bo at customer"
	_, err := s.Declare(ctx, "vp@x.test", bad)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "reports[1].email" {
		t.Fatalf("a bad report: want invalid reports[1].email, got %v", err)
	}
	if list, _ := s.List(ctx, incident.ListFilter{}); len(list) != 0 {
		t.Fatal("a declaration with a bad report was stored")
	}

	inc, err := s.Declare(ctx, "vp@x.test", in)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := s.Reports(ctx, inc.Ref)
	if err != nil || len(reps) != 3 || reps[2].Channel != "web" || reps[0].Channel != "api" {
		t.Fatalf("reports: %+v %v", reps, err)
	}
	sum := incident.SummarizeReports(reps)
	if sum.Reports != 3 || sum.Reporters != 3 || sum.PossiblyIsolated || sum.Line() != "3 reports from 3 people in eu, us via mobile app, web" {
		t.Errorf("summary %+v %q", sum, sum.Line())
	}
	tl, _ := s.Timeline(ctx, inc.Ref)
	if len(tl) != 4 || tl[1].Kind != "report" {
		t.Errorf("timeline: declared then one event per report, got %+v", tl)
	}
}

func TestReportSummaryFlagsWhatMayBeIsolated(t *testing.T) {
	t.Parallel()
	r := func(email, where, how string) incident.Report {
		return incident.Report{Email: email, Location: where, Access: how}
	}
	cases := []struct {
		name     string
		reports  []incident.Report
		isolated bool
		line     string
	}{
		{"none", nil, false, ""},
		{"one report", []incident.Report{r("a@x.test", "EU", "web")}, true, "1 report from 1 person in eu via web"},
		{"one person twice", []incident.Report{r("a@x.test", "EU", "web"), r("a@x.test", "US", "api")}, true, "2 reports from 1 person in eu, us via api, web"},
		{"one office network", []incident.Report{r("a@x.test", "Berlin office", "office wifi"), r("b@x.test", "berlin office", "Office WiFi")}, true,
			"2 reports from 2 people in berlin office via office wifi"},
		{"three people, two regions", []incident.Report{r("a@x.test", "EU", "web"), r("b@x.test", "EU", "web"), r("c@x.test", "US", "web")}, false,
			"3 reports from 3 people in eu, us via web"},
		{"one region, two ways in", []incident.Report{r("a@x.test", "EU", "web"), r("b@x.test", "EU", "mobile app")}, false,
			"2 reports from 2 people in eu via mobile app, web"},
	}
	for _, c := range cases {
		sum := incident.SummarizeReports(c.reports)
		if sum.PossiblyIsolated != c.isolated || sum.Line() != c.line {
			t.Errorf("%s: isolated %v (%s), line %q; want %v, %q", c.name, sum.PossiblyIsolated, sum.Why, sum.Line(), c.isolated, c.line)
		}
	}
}
