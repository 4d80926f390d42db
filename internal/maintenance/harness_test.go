package maintenance_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// org: checkout's maintenance goes to customer service (notify:);
// payments names no group, so it falls back to the status audience
// (executives). Eve is in engineering, which hears of neither.
const org = `organization: Maintenance Test
people:
  - email: cs@x.test
    name: Cora Service
    time_zone: America/New_York
  - email: exec@x.test
    name: Ed Exec
    time_zone: Europe/Berlin
    language: de
  - email: eve@x.test
    name: Eve Engineer
  - email: ann@x.test
    name: Ann Responder
groups:
  - name: customer-service
    display_name: Customer service
    members: [cs@x.test]
  - name: exec
    display_name: Executives
    members: [exec@x.test]
  - name: engineering
    display_name: Engineering
    members: [eve@x.test]
escalations:
  - system: checkout
    responders: [ann@x.test]
    notify: [customer-service]
  - system: payments
    responders: [ann@x.test]
audiences:
  status: [exec]
`

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// captureSender stands in for SMTP: it keeps every message as sent.
type captureSender struct {
	mu   sync.Mutex
	msgs []captured
}

type captured struct {
	to  []string
	env *enmime.Envelope
}

func (c *captureSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	env, err := enmime.ReadEnvelope(bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, captured{to: append([]string{}, to...), env: env})
	return make([]error, len(to)), nil
}

func (c *captureSender) Concurrency() int { return 2 }

type harness struct {
	db      *store.DB
	dir     *directory.Store
	changes *changes.Service
	outbox  *outbox.Outbox
	sent    *captureSender
	clock   *clock
}

var t0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	sent := &captureSender{}
	h := newHarnessWith(t, org, sent)
	h.sent = sent
	return h
}

// newHarnessWith wires planned maintenance as serve does, on the test's
// database, with the directory groupsYAML and mail sent through sender.
func newHarnessWith(t *testing.T, groupsYAML string, sender outbox.Sender) *harness {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	h := &harness{db: db, dir: &directory.Store{DB: db}, clock: &clock{t: t0}}
	if _, err := h.dir.SyncFile(ctx, []byte(groupsYAML), "groups.yaml"); err != nil {
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
	h.changes = &changes.Service{DB: db, Incidents: &incident.Service{DB: db, Now: h.clock.now}, KnownSystems: h.dir, Now: h.clock.now}
	h.outbox = &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: h.dir, Now: h.clock.now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
		Sender: sender, BatchSize: 10, Lease: 30 * time.Second, MaxAttempts: 3}
	return h
}

// service is one replica's maintenance service on the harness's database:
// a second call is a second process (a restart, or another replica).
func (h *harness) service(manual bool) *maintenance.Service {
	return &maintenance.Service{DB: h.db, Changes: h.changes, Directory: h.dir, Mail: h.outbox,
		AnnounceBefore: 24 * time.Hour, Manual: manual, Now: h.clock.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// messages are the outbox's messages in window id's thread.
func (h *harness) messages(t *testing.T, id int64) []*outbox.Message {
	t.Helper()
	msgs, err := h.outbox.Messages(context.Background(), -id)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// deliver sends every queued message of window id.
func (h *harness) deliver(t *testing.T, id int64) {
	t.Helper()
	for _, m := range h.messages(t, id) {
		for {
			n, err := h.outbox.DeliverBatch(context.Background(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}

// received lists the messages addr received, in the order sent.
func (h *harness) received(addr string) []*enmime.Envelope {
	h.sent.mu.Lock()
	defer h.sent.mu.Unlock()
	var out []*enmime.Envelope
	for _, m := range h.sent.msgs {
		for _, r := range m.to {
			if r == addr {
				out = append(out, m.env)
			}
		}
	}
	return out
}
