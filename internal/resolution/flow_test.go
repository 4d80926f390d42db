package resolution_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

const org = `organization: Flow Test
people:
  - email: vp@x.test
    name: Vera Park
    roles: [comms-lead]
  - email: lead@x.test
    name: Leo Ortiz
    roles: [incident-lead]
  - email: ann@x.test
    name: Ann Lee
groups:
  - name: exec
    members: [ann@x.test]
audiences:
  status: [exec]
  resolved: [exec]
  summary: [exec]
`

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFlow(t *testing.T) (*resolution.Service, *incident.Incident, *clock) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
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
	s := &resolution.Service{DB: db, Incidents: incidents, Mail: ob, Comms: comms, Directory: dir, Now: c.now, WriteUpAfter: 48 * time.Hour}
	inc, err := incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Login fails", Severity: "SEV2",
		Roles: incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, inc, c
}

func kinds(t *testing.T, s *resolution.Service, inc *incident.Incident) string {
	t.Helper()
	msgs, err := s.Mail.(*outbox.Outbox).Messages(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Kind)
	}
	return strings.Join(out, " ")
}

func TestWriteUpPromiseRemindedOnceEach(t *testing.T) {
	t.Parallel()
	s, inc, c := newFlow(t)
	ctx := context.Background()
	if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "An expired certificate."}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at   time.Duration
		want string
	}{
		{45 * time.Hour, "resolved"},                            // too early
		{47 * time.Hour, "resolved writeup_due"},                // due within 2h
		{47*time.Hour + 30*time.Minute, "resolved writeup_due"}, // already reminded
		{49 * time.Hour, "resolved writeup_due writeup_due"},    // overdue
		{72 * time.Hour, "resolved writeup_due writeup_due"},    // once
	} {
		c.t = inc.DeclaredAt.Add(step.at)
		if err := s.CheckPromises(ctx); err != nil {
			t.Fatal(err)
		}
		if got := kinds(t, s, inc); got != step.want {
			t.Fatalf("at +%s: messages %q, want %q", step.at, got, step.want)
		}
	}
}

func TestUnknownRootCauseStaysInMonitoringAndIsRemindedDaily(t *testing.T) {
	t.Parallel()
	s, inc, c := newFlow(t)
	ctx := context.Background()
	res, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCauseUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Incident.State != incident.Monitoring || res.WriteUpBy != nil {
		t.Fatalf("unknown root cause: state %s, write-up %v", res.Incident.State, res.WriteUpBy)
	}
	for _, step := range []struct {
		at   time.Duration
		want int
	}{{time.Hour, 0}, {25 * time.Hour, 1}, {30 * time.Hour, 1}, {50 * time.Hour, 2}} {
		c.t = inc.DeclaredAt.Add(step.at)
		if err := s.CheckPromises(ctx); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(kinds(t, s, inc), "rootcause_due"); got != step.want {
			t.Fatalf("at +%s: %d daily reminders, want %d", step.at, got, step.want)
		}
	}
	// Recording the root cause later resolves it and stops the reminders.
	if _, err := s.Resolve(ctx, "lead@x.test", inc.Ref, resolution.ResolveInput{RootCause: "A full disk on the session store."}); err != nil {
		t.Fatal(err)
	}
	c.t = inc.DeclaredAt.Add(80 * time.Hour)
	s.CheckPromises(ctx)
	if got := strings.Count(kinds(t, s, inc), "rootcause_due"); got != 2 {
		t.Fatalf("reminders after the root cause was found: %d", got)
	}
}

func TestResolveAndSummaryBadInput(t *testing.T) {
	t.Parallel()
	s, inc, _ := newFlow(t)
	ctx := context.Background()
	if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{}); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("no root cause: %v", err)
	}
	if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "x", RootCauseUnknown: true}); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("both: %v", err)
	}
	if _, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: "# Summary\n\nAll fine."}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("a summary before resolution must conflict: %v", err)
	}
	if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "A bad config."}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "again"}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("resolving twice must conflict: %v", err)
	}
	bad := map[string]string{
		"not UTF-8": "# Summary\n\xff\xfe broken",
		"empty":     "  \n ",
		"too large": strings.Repeat("a", resolution.MaxSummaryBytes+1),
	}
	for name, md := range bad {
		if _, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: md}); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	res, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: "# Summary\n\n<script>alert(1)</script> The cache was cold.", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.HTML, "<script") {
		t.Fatal("raw HTML from the author must never be rendered")
	}
	before := kinds(t, s, inc)
	if _, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: "# Summary\n\nLeo forgot to renew it."}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("a blaming summary must be refused: %v", err)
	}
	if kinds(t, s, inc) != before {
		t.Fatal("a refused summary queued mail")
	}
	sent, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: "# Summary\n\nThe certificate expired; renewal is now automated.\n\n| when | what |\n|---|---|\n| 10:00 | alert |"})
	if err != nil || !sent.Sent || !strings.Contains(sent.HTML, "<table") {
		t.Fatalf("clean summary: %+v %v", sent, err)
	}
	archived, _ := s.Summaries(ctx, inc.Ref)
	if len(archived) != 1 || !strings.Contains(archived[0].Markdown, "renewal is now automated") || archived[0].HTML == "" {
		t.Fatalf("archive: %+v", archived)
	}
}

// A summary with a TODO placeholder left in is unfinished: it is refused
// with the lines named, and the lint override does not send it.
func TestASummaryWithATODOIsNeverSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, inc, _ := newFlow(t)
	if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "A bad config."}); err != nil {
		t.Fatal(err)
	}
	draft, err := s.DraftSummary(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range []string{draft, "# Summary\n\nCheckout failed for an hour.\n\nTODO: ask the payments team.\n"} {
		for _, override := range []bool{false, true} {
			_, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: md, Override: override})
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Conflict || e.Field != "markdown" || !strings.Contains(e.Message, "TODO placeholder") {
				t.Fatalf("override %v: a summary with a TODO: %v", override, err)
			}
		}
	}
	if sent, err := s.Summaries(ctx, inc.Ref); err != nil || len(sent) != 0 {
		t.Fatalf("%d summaries sent with TODOs (%v)", len(sent), err)
	}
	if _, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: "# Summary\n\nCheckout failed for an hour; a bad config was rolled back.\n"}); err != nil {
		t.Fatalf("a finished summary: %v", err)
	}
}
