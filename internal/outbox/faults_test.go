package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// faultyServer is a real SMTP server (go-smtp) written to misbehave on
// purpose: refusing some recipients, dropping the connection in DATA,
// refusing connections.
type faultyServer struct {
	addr string

	mu        sync.Mutex
	got       map[string][]string // recipient → Message-IDs accepted
	rcptReply map[string]*smtp.SMTPError
	dropData  int32 // number of DATA commands still to drop
	refuseAll atomic.Bool
	// onData, when set, sees each transaction's envelope before DATA is
	// answered; an error it returns is the answer.
	onData func(from string, rcpt []string) error
	txs    []envelope // every transaction whose DATA came, in order
	// conns are the connections accepted, open or closed (idle_test.go).
	conns []*trackedConn
}

type envelope struct {
	from string
	rcpt []string
}

func startFaulty(t *testing.T) *faultyServer {
	t.Helper()
	f := &faultyServer{got: map[string][]string{}, rcptReply: map[string]*smtp.SMTPError{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		if f.refuseAll.Load() {
			return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "too busy, try later"}
		}
		return &faultySession{f: f, conn: c}, nil
	}))
	srv.Domain = "faulty.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go srv.Serve(&trackedListener{Listener: ln, f: f})
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *faultyServer) copies(rcpt string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got[rcpt]...)
}

func (f *faultyServer) setReply(rcpt string, e *smtp.SMTPError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e == nil {
		delete(f.rcptReply, rcpt)
		return
	}
	f.rcptReply[rcpt] = e
}

type faultySession struct {
	f    *faultyServer
	conn *smtp.Conn
	from string
	rcpt []string
}

func (s *faultySession) Reset()        { s.rcpt = nil }
func (s *faultySession) Logout() error { return nil }
func (s *faultySession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *faultySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.f.mu.Lock()
	e := s.f.rcptReply[to]
	s.f.mu.Unlock()
	if e != nil {
		return e
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}
func (s *faultySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	s.f.txs = append(s.f.txs, envelope{from: s.from, rcpt: append([]string(nil), s.rcpt...)})
	onData := s.f.onData
	s.f.mu.Unlock()
	if onData != nil {
		if err := onData(s.from, s.rcpt); err != nil {
			return err
		}
	}
	if atomic.AddInt32(&s.f.dropData, -1) >= 0 {
		// The connection dies before the reply to DATA: the client cannot
		// know whether the message was taken, and must retry.
		s.conn.Conn().Close()
		return errors.New("connection dropped")
	}
	id := ""
	for _, line := range strings.Split(string(b), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "message-id:") {
			id = strings.TrimSpace(line[len("message-id:"):])
		}
		if line == "" {
			break
		}
	}
	s.f.mu.Lock()
	for _, r := range s.rcpt {
		s.f.got[r] = append(s.f.got[r], id)
	}
	s.f.mu.Unlock()
	return nil
}

func smallOrg(n int) (string, []string) {
	var people []string
	for i := 0; i < n; i++ {
		people = append(people, "p"+string(rune('a'+i)))
	}
	people = append(people, "vp", "lead", "backup")
	return orgYAML("example.test", people, nil, map[string][]string{"everyone": people[:n]}, nil), people[:n]
}

// drain runs delivery jobs by hand (no River worker), advancing the
// clock so that deferred deliveries come due, until nothing is due.
func drain(t *testing.T, h *harness, rounds int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < rounds; i++ {
		h.clock.Add(31 * time.Minute) // past the sweep's grace and any backoff
		ids, err := h.outbox.DueMessages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			for {
				n, err := h.outbox.DeliverBatch(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
		}
	}
}

// The server offers PIPELINING: the outbox sends the RCPTs of a
// transaction together, or (NoPipelining) one by one; the outcome per
// recipient must be the same.
func TestOneBadRecipientDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			testOneBadRecipient(t, func(c *outbox.SMTPConfig) { c.NoPipelining = !pipelining })
		})
	}
}

func testOneBadRecipient(t *testing.T, option func(*outbox.SMTPConfig)) {
	f := startFaulty(t)
	org, people := smallOrg(7)
	h := newHarness(t, f.addr, org, false, option)
	inc := h.declare(t)
	f.setReply("pb@example.test", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	f.setReply("pc@example.test", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"})
	res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, h, 1)
	m, _ := h.outbox.Message(context.Background(), inc.ID, inc.Ref, res.Message.ID)
	if m.Counts[outbox.StateSent] != 5 || m.Counts[outbox.StateFailed] != 1 || m.Counts[outbox.StateDeferred] != 1 {
		t.Fatalf("want 5 sent, 1 failed (550), 1 deferred (451); got %v", m.Counts)
	}
	failed, _, _ := h.outbox.Deliveries(context.Background(), m.ID, outbox.DeliveryPage{State: outbox.StateFailed})
	if len(failed) != 1 || failed[0].Email != "pb@example.test" || !strings.Contains(failed[0].LastError, "550") {
		t.Fatalf("the failure must say who and why: %+v", failed)
	}
	// The server recovers: the deferred recipient gets its copy, once.
	f.setReply("pc@example.test", nil)
	drain(t, h, 2)
	m, _ = h.outbox.Message(context.Background(), inc.ID, inc.Ref, res.Message.ID)
	if m.Counts[outbox.StateSent] != 6 {
		t.Fatalf("after recovery want 6 sent, got %v", m.Counts)
	}
	for _, p := range people {
		want := 1
		if p == "pb" {
			want = 0
		}
		if got := f.copies(p + "@example.test"); len(got) != want || (want == 1 && got[0] != res.Message.MessageID) {
			t.Errorf("%s received %v, want %d copy of %s", p, got, want, res.Message.MessageID)
		}
	}
}

func TestDroppedDataAndRefusedConnectionsAreRetriedWithTheSameMessageID(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, people := smallOrg(6)
	h := newHarness(t, f.addr, org, false)
	inc := h.declare(t)
	f.refuseAll.Store(true)
	res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, h, 1)
	if n, _ := h.outbox.Delayed(context.Background(), inc.ID); n != 6 {
		t.Fatalf("with the server refusing (421) all 6 must wait for a retry, got %d", n)
	}
	f.refuseAll.Store(false)
	atomic.StoreInt32(&f.dropData, 1) // the next DATA is lost mid-way
	drain(t, h, 3)
	m, _ := h.outbox.Message(context.Background(), inc.ID, inc.Ref, res.Message.ID)
	if m.Counts[outbox.StateSent] != 6 {
		t.Fatalf("want all 6 sent in the end, got %v", m.Counts)
	}
	for _, p := range people {
		got := f.copies(p + "@example.test")
		if len(got) != 1 || got[0] != res.Message.MessageID {
			t.Errorf("%s received %v: want exactly one copy with Message-ID %s", p, got, res.Message.MessageID)
		}
	}
}

func TestBadUpdatesQueueNothing(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, _ := smallOrg(2)
	h := newHarness(t, f.addr, org, false)
	inc := h.declare(t)
	past := h.clock.Now().Add(-time.Minute)
	ctx := context.Background()
	cases := map[string]incident.UpdateInput{
		"empty status":    {Status: "   ", Groups: []string{"everyone"}},
		"next in past":    {Status: "x", NextAt: &past, Groups: []string{"everyone"}},
		"bad interval":    {Status: "x", Next: "soon", Groups: []string{"everyone"}},
		"unknown group":   {Status: "x", Groups: []string{"everyone", "martians"}},
		"both next forms": {Status: "x", Next: "30m", NextAt: &past},
	}
	for name, in := range cases {
		if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, in); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: want invalid, got %v", name, err)
		}
	}
	msgs, _ := h.outbox.Messages(ctx, inc.ID)
	if len(msgs) != 0 {
		t.Fatalf("bad updates queued %d messages", len(msgs))
	}
	// A template that fails to render: nothing queued either.
	broken := t.TempDir()
	writeFile(t, broken+"/status.md.tmpl", "{{define \"subject\"}}x{{end}}{{.Nope}}")
	if _, err := newRendererOrErr(broken); err == nil {
		t.Fatal("a broken template override must fail at start-up")
	}
	// An idempotency key makes a double click one update.
	in := incident.UpdateInput{Status: "Once.", Groups: []string{"everyone"}, IdempotencyKey: "click-1"}
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, in); err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, in); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("the same idempotency key twice must conflict, got %v", err)
	}
	// A resolved incident takes no status updates.
	if _, err := h.incidents.Transition(ctx, "vp@example.test", inc.Ref, incident.Resolved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "x"}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("an update to a resolved incident must conflict, got %v", err)
	}
}

func TestDryRunShowsEachGroupAndSendsNothing(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, _ := smallOrg(3)
	h := newHarness(t, f.addr, org, false)
	inc := h.declare(t)
	res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Checking the **CDN**.", Groups: []string{"everyone"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Previews) != 1 || res.Previews[0].Recipients != 3 || res.Previews[0].Headers["To"] != "Everyone team:;" {
		t.Fatalf("preview %+v", res)
	}
	if !strings.Contains(res.Previews[0].Text, "Checking the *CDN*") || !strings.Contains(res.Previews[0].Text, "Next update by") {
		t.Fatalf("preview text:\n%s", res.Previews[0].Text)
	}
	msgs, _ := h.outbox.Messages(context.Background(), inc.ID)
	if len(msgs) != 0 {
		t.Fatal("a dry run stored a message")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := writeFileErr(path, s); err != nil {
		t.Fatal(err)
	}
}

// bounceTag is the plus part of an envelope sender the outbox used.
func bounceTag(t *testing.T, from string) string {
	t.Helper()
	local, domain, _ := strings.Cut(from, "@")
	tag, ok := strings.CutPrefix(local, "status+")
	if !ok || domain != "sitrep.test" {
		t.Fatalf("envelope sender %q is not a bounce address of the hub", from)
	}
	return tag
}

// Each SMTP transaction goes out from its own bounce address, which is
// in the database before the server has the message (a crash after DATA
// must not lose it), and it vouches for the recipients of that
// transaction only. A copy resent after a lost DATA gets a new address;
// the first one still vouches for the recipient, since the server may
// have taken and bounced that copy too.
func TestEveryTransactionHasItsOwnBounceAddress(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, _ := smallOrg(7)
	h := newHarness(t, f.addr, org, false) // 3 recipients per transaction
	inc := h.declare(t)
	ctx := context.Background()
	var checked atomic.Int32
	f.onData = func(from string, rcpt []string) error {
		for _, r := range rcpt {
			if _, err := outbox.VerifyBounce(ctx, h.db, bounceTag(t, from), r); err != nil {
				t.Errorf("at DATA, %s of %s is not recorded: %v", from, r, err)
			}
			checked.Add(1)
		}
		return nil
	}
	atomic.StoreInt32(&f.dropData, 1) // the first DATA is lost: its recipients are sent again
	res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, h, 3)
	m, _ := h.outbox.Message(ctx, inc.ID, inc.Ref, res.Message.ID)
	if m.Counts[outbox.StateSent] != 7 {
		t.Fatalf("want 7 sent, got %v", m.Counts)
	}
	f.mu.Lock()
	var txs []envelope
	for _, e := range f.txs {
		if len(e.rcpt) > 0 && strings.HasPrefix(e.rcpt[0], "p") {
			txs = append(txs, e) // the update's transactions, not the heads-up's
		}
	}
	f.mu.Unlock()
	if len(txs) != 4 || checked.Load() == 0 {
		t.Fatalf("want 3 transactions of at most 3 and the lost one again, got %+v", txs)
	}
	seen := map[string]bool{}
	for i, tx := range txs {
		tag := bounceTag(t, tx.from)
		if seen[tag] {
			t.Errorf("transaction %d reuses the bounce address %s", i, tx.from)
		}
		seen[tag] = true
		row, _, ok := outbox.ParseBounceTag(tag)
		if !ok || row != res.Message.ID {
			t.Errorf("bounce address %s does not name message %d", tx.from, res.Message.ID)
		}
		for _, r := range tx.rcpt {
			if _, err := outbox.VerifyBounce(ctx, h.db, tag, r); err != nil {
				t.Errorf("%s must vouch for %s of its transaction: %v", tx.from, r, err)
			}
		}
		// Not for someone of another transaction of the same message.
		other := txs[(i+1)%len(txs)].rcpt[0]
		if !slices.Contains(tx.rcpt, other) {
			if _, err := outbox.VerifyBounce(ctx, h.db, tag, other); !errors.Is(err, outbox.ErrBounceUnverified) {
				t.Errorf("%s vouches for %s of another transaction: %v", tx.from, other, err)
			}
		}
		// A guessed token, or another message's row, proves nothing.
		if _, tok, _ := outbox.ParseBounceTag(tag); tok != "" {
			guess := fmt.Sprintf("b-%d-%s", row, strings.Repeat("a", len(tok)))
			if _, err := outbox.VerifyBounce(ctx, h.db, guess, tx.rcpt[0]); !errors.Is(err, outbox.ErrBounceUnverified) {
				t.Errorf("a guessed token verified: %v", err)
			}
			if _, err := outbox.VerifyBounce(ctx, h.db, fmt.Sprintf("b-%d-%s", row+1000, tok), tx.rcpt[0]); !errors.Is(err, outbox.ErrBounceUnverified) {
				t.Errorf("another message's row verified: %v", err)
			}
		}
	}
}

// A worker that stops between handing recipients to an SMTP transaction
// and recording the server's answer (kill -9, a cut network) leaves that
// transaction open. Its recipients read as being sent; once its lease has
// run out the sweep finds the message, and the next worker sends them
// again (same Message-ID, the lost try counted), and only them.
// (claim-queued writes no recipient row: the open transaction is the
// only trace of the claim; see migration 00031.)
//
// The lost worker may come back and answer late, when the others are
// done and the message is settled: what the server tells it then changes
// nothing recorded, whether the server took its copy (a repeat of the
// same Message-ID) or refused it (a 451 once set the recipients deferred
// in a settled message, where no sweep looked again: db-cut found 70
// recipients pending for good; and in one not settled yet, sent twice).
//
// Or it answers while its recipients wait for a retry (the second
// worker's try was deferred): the server took them, so they are sent and
// nobody tries them again.
func TestTransactionOfALostWorkerGoesAgainAfterItsLease(t *testing.T) {
	t.Parallel()
	deferred := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	for _, late := range []struct {
		name        string
		answer      error // nil: accepted
		retryAnswer error // the second worker's try: nil, accepted
	}{
		{"accepted", nil, nil},
		{"deferred", deferred, nil},
		{"refused", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "no thanks"}, nil},
		{"accepted while the retry waits", nil, deferred},
	} {
		t.Run("late answer "+late.name, func(t *testing.T) {
			t.Parallel()
			testLostWorker(t, late.answer, late.retryAnswer)
		})
	}
}

func testLostWorker(t *testing.T, lateAnswer, retryAnswer error) {
	f := startFaulty(t)
	org, _ := smallOrg(7)
	// 3 recipients per transaction; the SMTP timeout outlasts the test.
	h := newHarness(t, f.addr, org, false, func(c *outbox.SMTPConfig) { c.Timeout = 5 * time.Minute })
	h.outbox.Lease = 2 * time.Second
	inc := h.declare(t)
	ctx := context.Background()

	// The worker to be lost is a second process's: its own handle on the
	// database, of one connection, which the test takes from it below.
	db2, err := store.Open(ctx, h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	db2.SetMaxOpenConns(1)
	lostOutbox := *h.outbox
	lostOutbox.DB = db2

	// The update's first transaction to reach DATA hangs there.
	gate := make(chan struct{})
	var held atomic.Int32
	hungCh := make(chan []string, 1)
	var hungRcpt atomic.Pointer[[]string]
	f.onData = func(_ string, rcpt []string) error {
		if strings.HasPrefix(rcpt[0], "p") && held.Add(1) == 1 {
			hungRcpt.Store(&rcpt)
			hungCh <- slices.Clone(rcpt)
			<-gate
			return lateAnswer
		}
		if h := hungRcpt.Load(); h != nil && slices.Equal(*h, rcpt) {
			return retryAnswer // the same recipients, tried again after the lease
		}
		return nil
	}
	res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 1)
	go func() {
		_, err := lostOutbox.DeliverBatch(ctx, res.Message.ID)
		lost <- err
	}()
	counts := func() map[string]int {
		m, err := h.outbox.Message(ctx, inc.ID, inc.Ref, res.Message.ID)
		if err != nil {
			t.Fatal(err)
		}
		return m.Counts
	}
	hung := <-hungCh
	for deadline := time.Now().Add(30 * time.Second); counts()[outbox.StateSent] != 7-len(hung); {
		if time.Now().After(deadline) {
			t.Fatalf("the transactions that went through were not recorded: %v (%d hung)", counts(), len(hung))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Then its path to the database stops answering (a cut network, a
	// paused VM): it can no longer renew its lease, and, as far as the
	// database can tell, it is gone.
	cut, err := db2.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := counts(); c[outbox.StateSending] != len(hung) || c[outbox.StateQueued] != 0 {
		t.Fatalf("want the hung transaction's %d recipients read as being sent, got %v", len(hung), c)
	}
	sending, _, err := h.outbox.Deliveries(ctx, res.Message.ID, outbox.DeliveryPage{State: outbox.StateSending})
	if err != nil || len(sending) != len(hung) {
		t.Fatalf("listing those being sent: %v, %v", sending, err)
	}

	// After the lease, the sweep lists the message; a second worker sends
	// the 3 again, and nobody else.
	for deadline := time.Now().Add(30 * time.Second); ; {
		ids, err := h.outbox.DueMessages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, res.Message.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep does not find the lost transaction's message: %v", ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, err := h.outbox.DeliverBatch(ctx, res.Message.ID); err != nil || n != len(hung) {
		t.Fatalf("the second worker claimed %d (want the %d of the lost transaction): %v", n, len(hung), err)
	}
	if retryAnswer != nil {
		testLateAnswerWhileTheRetryWaits(t, h, f, res.Message, hung, counts, func() error {
			close(gate)
			cut.Close()
			return <-lost
		})
		return
	}
	if c := counts(); c[outbox.StateSent] != 7 {
		t.Fatalf("want all 7 sent, got %v", c)
	}
	list, _, err := h.outbox.Deliveries(ctx, res.Message.ID, outbox.DeliveryPage{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		want := 1
		if slices.Contains(hung, d.Email) {
			want = 2
		}
		if d.Attempts != want {
			t.Errorf("%s: %d attempts recorded, want %d", d.Email, d.Attempts, want)
		}
		if got := f.copies(d.Email); len(got) != 1 || got[0] != res.Message.MessageID {
			t.Errorf("%s received %v, want one copy of %s", d.Email, got, res.Message.MessageID)
		}
	}
	if ids, _ := h.outbox.DueMessages(ctx); slices.Contains(ids, res.Message.ID) {
		t.Errorf("the message is still due after everyone has it")
	}
	// Nothing left to claim: this worker settles the message.
	if n, err := h.outbox.DeliverBatch(ctx, res.Message.ID); err != nil || n != 0 {
		t.Fatalf("a third worker claimed %d: %v", n, err)
	}

	// The lost worker comes back with the server's answer: it changes
	// nothing recorded, and nobody is sent anything again.
	close(gate)
	cut.Close()
	if err := <-lost; err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Hour) // any retry it had set would be due
	if ids, _ := h.outbox.DueMessages(ctx); slices.Contains(ids, res.Message.ID) {
		t.Errorf("after the lost worker's answer the message is due again")
	}
	if n, err := h.outbox.DeliverBatch(ctx, res.Message.ID); err != nil || n != 0 {
		t.Errorf("after the lost worker's answer a worker claimed %d: %v", n, err)
	}
	for _, who := range hung {
		want := []string{res.Message.MessageID}
		if lateAnswer == nil {
			want = append(want, res.Message.MessageID) // a repeat of the same Message-ID
		}
		if got := f.copies(who); !slices.Equal(got, want) {
			t.Errorf("%s received %v, want %v", who, got, want)
		}
	}
	if c := counts(); c[outbox.StateSent] != 7 || len(c) != 1 {
		t.Errorf("after the lost worker's answer: %v", c)
	}
}

// testLateAnswerWhileTheRetryWaits goes on from testLostWorker once the
// second worker's try of the hung recipients was deferred: the lost
// worker's answer, that the server took them, must record them sent, so
// that no retry sends them again.
func testLateAnswerWhileTheRetryWaits(t *testing.T, h *harness, f *faultyServer, msg *compose.Message, hung []string, counts func() map[string]int, answer func() error) {
	ctx := context.Background()
	if c := counts(); c[outbox.StateDeferred] != len(hung) || c[outbox.StateSent] != 7-len(hung) {
		t.Fatalf("want the retried %d deferred, got %v", len(hung), c)
	}
	if err := answer(); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c[outbox.StateSent] != 7 || len(c) != 1 {
		t.Errorf("after the lost worker's late answer that the server took them: %v, want all 7 sent", c)
	}
	h.clock.Add(time.Hour) // the deferred retry would be due
	if n, err := h.outbox.DeliverBatch(ctx, msg.ID); err != nil || n != 0 {
		t.Errorf("a worker claimed %d after the late answer: %v", n, err)
	}
	for _, who := range hung {
		if got := f.copies(who); !slices.Equal(got, []string{msg.MessageID}) {
			t.Errorf("%s received %v, want the one copy the lost worker sent", who, got)
		}
	}
}
