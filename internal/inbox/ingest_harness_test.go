package inbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	replyflow "github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// The organisation of the tests: vp is the comms lead, lead the incident
// lead, ana and ben the exec group (the status audience), r1 the responder
// of checkout, mallory someone with a mailbox and bad intentions. status
// is the hub's own inbox.
const testOrg = `organization: Test Org
people:
  - {email: vp@example.test, name: Vera Pike, roles: [comms-lead]}
  - {email: lead@example.test, name: Lee Adams, roles: [incident-lead], time_zone: Europe/Berlin}
  - {email: ana@example.test, name: Ana Silva, time_zone: America/New_York}
  - {email: ben@example.test, name: Ben Okafor}
  - {email: r1@example.test, name: Raj One}
  - {email: mallory@example.test, name: Mallory}
groups:
  - {name: exec, display_name: Executives, members: [ana@example.test, ben@example.test]}
escalations:
  - {system: checkout, responders: [r1@example.test]}
`

var mailUsers = []string{"status", "vp", "lead", "ana", "ben", "r1", "mallory"}

// trustedMX is the authserv-id of the "receiving server" the tests trust.
// The test stack's Postfix adds no Authentication-Results, so the tests
// write the header a trusted receiving server would have added.
const trustedMX = "mx.example.test"

type hub struct {
	t         testing.TB
	ms        *testenv.MailStack
	db        *store.DB
	dir       *directory.Store
	incidents *incident.Service
	outbox    *outbox.Outbox
	comms     *incident.Comms
	actor     *inbox.Actor
	replies   *replyflow.Service
	store     *inbox.Store
	inserter  *river.Client[*sql.Tx]

	mu     sync.Mutex
	worker *river.Client[*sql.Tx]
}

// newHub wires the hub like serve does, against a real Postfix and
// Dovecot: it sends through Postfix and reads status@example.test. The
// mail stack serves mailUsers and extraUsers.
func newHub(t testing.TB, extraUsers ...string) *hub {
	t.Helper()
	return newHubWith(t, testenv.MailStackOptions{}, extraUsers...)
}

// newHubWith is newHub on a mail stack with options.
func newHubWith(t testing.TB, opts testenv.MailStackOptions, extraUsers ...string) *hub {
	t.Helper()
	ms := testenv.StartMailStackWith(t, opts, append(slices.Clone(mailUsers), extraUsers...)...)
	ctx := context.Background()
	h := &hub{t: t, ms: ms, db: storetest.Open(t)}
	h.dir = &directory.Store{DB: h.db}
	if _, err := h.dir.SyncFile(ctx, []byte(testOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	h.incidents = &incident.Service{DB: h.db, People: h.dir, DueSoon: 10 * time.Minute}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(h.db)
	if err != nil {
		t.Fatal(err)
	}
	h.inserter = ins
	host, port, _ := net.SplitHostPort(ms.SMTPAddr)
	p, _ := strconv.Atoi(port)
	pool, err := outbox.NewPool(outbox.SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 2, Timeout: 10 * time.Second, HELO: "hub.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	h.outbox = &outbox.Outbox{
		DB: h.db, Jobs: ins, Renderer: renderer, Directory: h.dir,
		Domain: "example.test", From: "sitrep <status@example.test>", ReplyPart: "status",
		Sender: pool, BatchSize: 10,
		Lease: 5 * time.Second, MaxAttempts: 3,
	}
	h.comms = &incident.Comms{DB: h.db, Incidents: h.incidents, Directory: h.dir, Mail: h.outbox, ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute}
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, h.comms)
	h.actor = &inbox.Actor{DB: h.db}
	h.store = &inbox.Store{DB: h.db}
	h.replies = &replyflow.Service{DB: h.db, Incidents: h.incidents, Comms: h.comms, Mail: h.outbox, Directory: h.dir,
		Inbox: h.actor, Triage: h.store, LocalPart: "status", TrustedAuthServIDs: []string{trustedMX}}
	h.actor.Handler = h.replies
	return h
}

// startWorker runs River with the outbox's and the inbox's workers.
func (h *hub) startWorker() {
	h.t.Helper()
	workers := river.NewWorkers()
	h.outbox.Register(workers)
	h.actor.Register(workers)
	w, err := jobs.NewWorker(h.db, jobs.Config{Workers: workers, PollInterval: 20 * time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.worker = w
	h.mu.Unlock()
	h.t.Cleanup(h.stopWorker)
}

func (h *hub) stopWorker() {
	h.mu.Lock()
	w := h.worker
	h.worker = nil
	h.mu.Unlock()
	if w == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.Stop(ctx)
}

// ingester returns an ingester of the hub's Dovecot inbox.
func (h *hub) ingester(mailbox string) *inbox.Ingester {
	if mailbox == "" {
		mailbox = "INBOX"
	}
	return &inbox.Ingester{
		IMAP: inbox.IMAPConfig{Addr: h.ms.IMAPAddr, TLS: "none", Username: h.ms.Address("status"), Password: h.ms.Password("status"),
			Mailbox: mailbox, MaxMessageBytes: 1 << 20, Horizon: 24 * time.Hour},
		DB: h.db, Jobs: h.inserter, Lease: 3 * time.Second, Housekeeping: 200 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}
}

// run starts g until the returned stop is called (or the test ends).
func (h *hub) run(g *inbox.Ingester) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	h.t.Cleanup(stop)
	return stop
}

func (h *hub) declare() *incident.Incident {
	h.t.Helper()
	inc, err := h.incidents.Declare(context.Background(), "vp@example.test", incident.DeclareInput{
		Title: "Checkout unavailable", Severity: "SEV1",
		Scope: incident.Scope{DetectedVia: "monitoring", Extent: "all", Systems: []string{"checkout"}},
		Roles: incident.Roles{IncidentLead: "lead@example.test", CommsLead: "vp@example.test"},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return inc
}

// update sends a status update to exec and waits until Postfix took it.
func (h *hub) update(inc *incident.Incident, status string) *outbox.Message {
	h.t.Helper()
	res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, incident.UpdateInput{Status: status, Next: "30m"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.waitSent(res.Message.ID)
	return res.Message
}

func (h *hub) waitSent(messageID int64) {
	h.t.Helper()
	h.eventually(30*time.Second, func() (bool, string) {
		var pending int
		h.db.QueryRow(`SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state IN ('queued', 'sending', 'deferred')`, messageID).Scan(&pending)
		return pending == 0, fmt.Sprintf("%d deliveries pending", pending)
	})
}

func (h *hub) eventually(limit time.Duration, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not after %s: %s", limit, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replies counts the reply events on the timeline, by inbound message id.
func (h *hub) replyEvents(inc *incident.Incident) map[float64]int {
	h.t.Helper()
	evs, err := h.incidents.Timeline(context.Background(), inc.Ref)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[float64]int{}
	for _, e := range evs {
		if e.Kind == incident.EventReply {
			id, _ := e.Data["inbound"].(float64)
			out[id]++
		}
	}
	return out
}

func (h *hub) count(q string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(q, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitStates waits until no inbound message is waiting to be acted on and
// at least n are stored.
func (h *hub) waitActed(n int) {
	h.t.Helper()
	h.eventually(60*time.Second, func() (bool, string) {
		total := h.count(`SELECT COUNT(*) FROM inbound_messages`)
		waiting := h.count(`SELECT COUNT(*) FROM inbound_messages WHERE state = 'stored'`)
		return total >= n && waiting == 0, fmt.Sprintf("%d stored, %d waiting to be acted on (want %d)", total, waiting, n)
	})
}

// reply is what a person's mail client sends in answer to a message.
type reply struct {
	from       string // local part
	body       string
	extra      string // more header lines, each ending in \r\n
	to         string // overrides the Reply-To of the original
	subject    string
	noThreadID bool // leave out In-Reply-To and References
}

// compose builds the answer to orig as a mail client would: To the
// Reply-To, Re: subject, threading headers, the original quoted below.
func (h *hub) compose(orig []byte, r reply) []byte {
	h.t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(orig))
	if err != nil {
		h.t.Fatal(err)
	}
	to := r.to
	if to == "" {
		rt, err := m.Header.AddressList("Reply-To")
		if err != nil || len(rt) == 0 {
			h.t.Fatalf("original has no Reply-To: %v", err)
		}
		to = rt[0].Address
	}
	subject := r.subject
	if subject == "" {
		dec := new(mime.WordDecoder)
		s, _ := dec.DecodeHeader(m.Header.Get("Subject"))
		subject = "Re: " + s
	}
	id := m.Header.Get("Message-Id")
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.%s@client.example.test>\r\n",
		r.from, h.ms.Address(r.from), to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), r.from)
	if !r.noThreadID {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s %s\r\n", id, m.Header.Get("References"), id)
	}
	b.WriteString(r.extra)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(r.body, "\n", "\r\n"))
	b.WriteString("\r\n\r\nOn Mon, 1 Jan 2024 at 10:00, sitrep <status@example.test> wrote:\r\n> the update\r\n> quoted\r\n")
	return []byte(b.String())
}

// send submits raw through Postfix as from.
func (h *hub) send(from string, to []string, raw []byte) {
	h.t.Helper()
	if err := smtp.SendMail(h.ms.SMTPAddr, nil, h.ms.Address(from), to, raw); err != nil {
		h.t.Fatalf("smtp: %v", err)
	}
}

// answer replies to orig as r.from, through Postfix to the Reply-To.
func (h *hub) answer(orig []byte, r reply) {
	h.t.Helper()
	raw := h.compose(orig, r)
	m, _ := mail.ReadMessage(bytes.NewReader(raw))
	to, _ := m.Header.AddressList("To")
	h.send(r.from, []string{to[0].Address}, raw)
}

// appendRaw puts messages straight into a mailbox of status (as if
// delivered), faster than SMTP and for what Postfix would refuse.
func (h *hub) appendRaw(mailbox string, raws ...[]byte) {
	h.t.Helper()
	c, err := h.ms.DialIMAP("status")
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	for _, raw := range raws {
		cmd := c.Append(mailbox, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			h.t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			h.t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			h.t.Fatalf("append: %v", err)
		}
	}
}

// flagged returns the flags of every message in status's mailbox.
func (h *hub) flags(mailbox string) [][]imap.Flag {
	h.t.Helper()
	c, err := h.ms.DialIMAP("status")
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		h.t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		h.t.Fatal(err)
	}
	var out [][]imap.Flag
	for _, b := range bufs {
		out = append(out, b.Flags)
	}
	return out
}

// mailOf returns the messages in user's INBOX, waiting for at least n.
func (h *hub) mailOf(user string, n int) [][]byte {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raws, err := h.ms.WaitForMessages(ctx, user, n)
	if err != nil {
		h.t.Fatal(err)
	}
	return raws
}

func subjectOf(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	s, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	return s
}

func bodyOf(raw []byte) string {
	m, err := mailmsg.Parse(raw, 0)
	if err != nil {
		return ""
	}
	return m.Text
}

// messagesOfKind counts our outgoing messages of a kind.
func (h *hub) messagesOfKind(kind compose.Kind) int {
	return h.count(`SELECT COUNT(*) FROM messages WHERE kind = $1`, string(kind))
}

// answers is a reply.Resolution that only answers ordinary replies, for
// tests of what happens when that answer fails or never comes.
type answers func(ctx context.Context, text string) (bool, string, error)

func (f answers) ResolveByReply(ctx context.Context, tx *sql.Tx, inc *incident.Incident, actor, note, public string) error {
	return nil
}

func (f answers) AnswerByReply(ctx context.Context, _ *sql.Tx, _ *incident.Incident, _, text string, _ time.Time) (bool, string, error) {
	return f(ctx, text)
}

// invitations is a reply.Invitations that notes each calendar reply.
type invitations func(ics []byte) error

func (f invitations) RecordCalendarReply(_ context.Context, _ *sql.Tx, ics []byte) error {
	return f(ics)
}
