package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// clock is the injectable time of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	db        *store.DB
	dbURL     string // for a second process's handle
	dir       *directory.Store
	incidents *incident.Service
	outbox    *outbox.Outbox
	comms     *incident.Comms
	clock     *clock
	worker    *river.Client[*sql.Tx]
}

// orgYAML is a small organisation on domain; people maps local part → zone.
func orgYAML(domain string, people []string, zones map[string]string, groups map[string][]string, escalation []string) string {
	var b strings.Builder
	b.WriteString("organization: Test Org\npeople:\n")
	for _, p := range people {
		fmt.Fprintf(&b, "  - email: %s@%s\n    name: %s\n", p, domain, strings.ToUpper(p[:1])+p[1:])
		if z := zones[p]; z != "" {
			fmt.Fprintf(&b, "    time_zone: %s\n", z)
		}
		if p == "vp" {
			b.WriteString("    roles: [comms-lead]\n")
		}
		if p == "lead" {
			b.WriteString("    roles: [incident-lead]\n")
		}
	}
	b.WriteString("groups:\n")
	for name, members := range groups {
		fmt.Fprintf(&b, "  - name: %s\n    display_name: %s team\n", name, strings.ToUpper(name[:1])+name[1:])
		var ms, gs []string
		for _, m := range members {
			if strings.HasPrefix(m, "@") {
				gs = append(gs, m[1:])
			} else {
				ms = append(ms, m+"@"+domain)
			}
		}
		if len(ms) > 0 {
			fmt.Fprintf(&b, "    members: [%s]\n", strings.Join(ms, ", "))
		}
		if len(gs) > 0 {
			fmt.Fprintf(&b, "    groups: [%s]\n", strings.Join(gs, ", "))
		}
	}
	if len(escalation) > 0 {
		var rs []string
		for _, r := range escalation {
			rs = append(rs, r+"@"+domain)
		}
		fmt.Fprintf(&b, "escalations:\n  - system: checkout\n    responders: [%s]\n", strings.Join(rs, ", "))
	}
	return b.String()
}

// newHarness wires the outbox like serve does, sending to smtpAddr.
// Options change the pool's configuration.
func newHarness(t *testing.T, smtpAddr, org string, startWorker bool, options ...func(*outbox.SMTPConfig)) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	h.db, h.dbURL = storetest.OpenURL(t)
	h.dir = &directory.Store{DB: h.db}
	if _, err := h.dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
		t.Fatalf("org: %v\n%s", err, org)
	}
	h.incidents = &incident.Service{DB: h.db, People: h.dir, Now: h.clock.Now, DueSoon: 10 * time.Minute}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(h.db)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(smtpAddr)
	p, _ := strconv.Atoi(port)
	cfg := outbox.SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 3, Timeout: 10 * time.Second, HELO: "sitrep.test"}
	for _, o := range options {
		o(&cfg)
	}
	pool, err := outbox.NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	h.outbox = &outbox.Outbox{
		DB: h.db, Jobs: ins, Renderer: renderer, Directory: h.dir, Now: h.clock.Now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
		Sender: pool, BatchSize: 3,
		// The lease is for a worker that died, and these tests kill none:
		// with 5 s a batch on a loaded machine outlived it and was sent
		// twice (production's default is 2 minutes).
		Lease: 30 * time.Second, MaxAttempts: 5,
	}
	h.comms = &incident.Comms{DB: h.db, Incidents: h.incidents, Directory: h.dir, Mail: h.outbox, Now: h.clock.Now, ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute, Backup: "backup@example.test"}
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, h.comms)
	if startWorker {
		h.startWorker(t)
	}
	return h
}

// startWorker runs the outbox's jobs until the test ends.
func (h *harness) startWorker(t *testing.T) {
	t.Helper()
	h.worker = runWorker(t, h.db, h.outbox, jobs.Config{})
}

// runWorker runs o's jobs on db, as a replica's worker does, until the
// test ends; cfg's workers are o's, its poll 20 ms unless set.
func runWorker(t *testing.T, db *store.DB, o *outbox.Outbox, cfg jobs.Config) *river.Client[*sql.Tx] {
	t.Helper()
	cfg.Workers = river.NewWorkers()
	o.Register(cfg.Workers)
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	worker, err := jobs.NewWorker(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		worker.Stop(c)
	})
	return worker
}

func (h *harness) declare(t *testing.T, systems ...string) *incident.Incident {
	t.Helper()
	first := h.clock.Now().Add(-20 * time.Minute)
	inc, err := h.incidents.Declare(context.Background(), "vp@example.test", incident.DeclareInput{
		Title: "Checkout unavailable", Severity: "SEV1", FirstFailureAt: &first,
		Scope: incident.Scope{DetectedVia: "monitoring", Extent: "subset", Segments: []string{"region: EU"}, Systems: systems},
		Roles: incident.Roles{IncidentLead: "lead@example.test", CommsLead: "vp@example.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// waitDelivered waits until no delivery of the incident is queued, sending or deferred.
func (h *harness) waitDelivered(t *testing.T, inc *incident.Incident) []*outbox.Message {
	t.Helper()
	return h.waitDeliveredWithin(t, inc, 60*time.Second)
}

func (h *harness) waitDeliveredWithin(t *testing.T, inc *incident.Incident, limit time.Duration) []*outbox.Message {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msgs, err := h.outbox.Messages(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, m := range msgs {
			pending += m.Counts[outbox.StateQueued] + m.Counts[outbox.StateSending] + m.Counts[outbox.StateDeferred]
		}
		if pending == 0 {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after %s: %d", limit, pending)
		}
		time.Sleep(30 * time.Millisecond)
	}
}
