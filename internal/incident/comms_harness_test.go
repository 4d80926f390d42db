package incident_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// commsOrg: Ann and Bob answer for checkout; the DBA and SRE teams are
// groups with display names; on-call managers are the fallback group.
const commsOrg = `organization: Comms Test
people:
  - email: vp@x.test
    name: Vera Price
    roles: [comms-lead]
  - email: lead@x.test
    name: Lee Ng
    roles: [incident-lead]
  - email: ann@x.test
    name: Ann Responder
  - email: bob@x.test
    name: Bob Responder
  - email: mgr@x.test
    name: Mona Manager
  - email: exec@x.test
    name: Ed Exec
groups:
  - name: exec
    display_name: Executives
    members: [exec@x.test]
  - name: dba
    display_name: DBA
    members: [bob@x.test]
  - name: sre
    display_name: SRE
    members: [ann@x.test]
  - name: oncall-managers
    display_name: On-call managers
    members: [mgr@x.test]
escalations:
  - system: checkout
    team: sre
    responders: [ann@x.test, bob@x.test]
`

// captureSender is the SMTP server's stand-in: it accepts every
// recipient and keeps each message as sent, so that a test reads what a
// recipient's mail client would show.
type captureSender struct {
	mu   sync.Mutex
	msgs []captured
}

type captured struct {
	to  []string
	raw []byte
}

func (c *captureSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, captured{to: append([]string{}, to...), raw: append([]byte{}, msg...)})
	return make([]error, len(to)), nil
}

func (c *captureSender) Concurrency() int { return 2 }

type commsHarness struct {
	dir       *directory.Store
	incidents *incident.Service
	outbox    *outbox.Outbox
	comms     *incident.Comms
	sent      *captureSender
	clock     *clock
}

// newCommsHarness wires the incident's communication as serve does: the
// real directory, templates and outbox on the test's database, with a
// capturing sender in place of SMTP.
func newCommsHarness(t *testing.T) *commsHarness {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	h := &commsHarness{dir: &directory.Store{DB: db}, sent: &captureSender{},
		clock: &clock{t: time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)}}
	if _, err := h.dir.SyncFile(ctx, []byte(commsOrg), "groups.yaml"); err != nil {
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
	h.incidents = &incident.Service{DB: db, People: h.dir, KnownSystems: h.dir, CommsLeads: h.dir, Now: h.clock.now, DueSoon: 10 * time.Minute}
	h.outbox = &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: h.dir, Now: h.clock.now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
		Sender: h.sent, BatchSize: 10, Lease: 30 * time.Second, MaxAttempts: 3}
	h.comms = &incident.Comms{DB: db, Incidents: h.incidents, Directory: h.dir, Mail: h.outbox, Now: h.clock.now,
		ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute}
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, h.comms)
	return h
}

// deliver sends every queued message of inc.
func (h *commsHarness) deliver(t *testing.T, inc *incident.Incident) {
	t.Helper()
	ctx := context.Background()
	msgs, err := h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for {
			n, err := h.outbox.DeliverBatch(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}

// textTo is the plain text of the one message to addr whose subject or
// text holds subject, as a mail client shows it.
func (h *commsHarness) textTo(t *testing.T, addr, subject string) string {
	t.Helper()
	h.sent.mu.Lock()
	defer h.sent.mu.Unlock()
	var found []string
	for _, m := range h.sent.msgs {
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(env.GetHeader("Subject")+"\n"+env.Text, subject) {
			continue
		}
		for _, r := range m.to {
			if r == addr {
				found = append(found, env.Text)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d messages to %s with %q, want 1", len(found), addr, subject)
	}
	return found[0]
}

// recipients lists who got a message whose subject or text holds subject.
func (h *commsHarness) recipients(t *testing.T, subject string) []string {
	t.Helper()
	h.sent.mu.Lock()
	defer h.sent.mu.Unlock()
	var out []string
	for _, m := range h.sent.msgs {
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(env.GetHeader("Subject")+"\n"+env.Text, subject) {
			out = append(out, m.to...)
		}
	}
	return out
}
