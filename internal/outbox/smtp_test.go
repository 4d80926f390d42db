package outbox

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// A scripted server that reads MAIL, every RCPT and DATA before it
// answers the first: a client that waited for each reply would hang here
// until its timeout. The replies (one refused for good, one for now) must
// come back to the right recipients.
func TestPipelinedRcptRepliesGoToTheirRecipients(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	to := []string{"a@example.test", "b@example.test", "c@example.test", "d@example.test"}
	replies := []string{"250 ok", "550 5.1.1 no such user", "451 4.3.0 try later", "250 ok"}
	served := make(chan error, 1)
	go func() { served <- scriptedServer(ln, to, replies) }()

	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	pool, err := NewPool(SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 1, Timeout: 5 * time.Second, HELO: "sitrep.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	perRcpt, err := pool.Send(context.Background(), "status@sitrep.test", to, []byte("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	want := []int{0, 550, 451, 0}
	for i, code := range want {
		var se *SMTPError
		switch {
		case code == 0 && perRcpt[i] != nil:
			t.Errorf("%s: want accepted, got %v", to[i], perRcpt[i])
		case code != 0 && (!errors.As(perRcpt[i], &se) || se.Code != code):
			t.Errorf("%s: want %d, got %v", to[i], code, perRcpt[i])
		}
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func scriptedServer(ln net.Listener, to, replies []string) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		return strings.TrimRight(s, "\r\n"), err
	}
	reply := func(s string) { conn.Write([]byte(s + "\r\n")) }
	reply("220 scripted ESMTP")
	if l, err := line(); err != nil || !strings.HasPrefix(l, "EHLO") {
		return errors.New("want EHLO, got " + l)
	}
	reply("250-scripted\r\n250 PIPELINING")
	// MAIL, every RCPT and DATA before any reply (RFC 2920: one write,
	// two round trips in all).
	if l, err := line(); err != nil || !strings.HasPrefix(l, "MAIL FROM:") {
		return errors.New("want MAIL, got " + l)
	}
	for _, addr := range to {
		if l, err := line(); err != nil || l != "RCPT TO:<"+addr+">" {
			return errors.New("want RCPT of " + addr + ", got " + l)
		}
	}
	if l, err := line(); err != nil || l != "DATA" {
		return errors.New("want DATA, got " + l)
	}
	reply("250 ok")
	for _, s := range replies {
		reply(s)
	}
	reply("354 go on")
	for {
		l, err := line()
		if err != nil {
			return err
		}
		if l == "." {
			break
		}
	}
	reply("250 queued")
	return nil
}

// countingServer is a real SMTP server (go-smtp) that counts the
// connections it accepts and the messages it takes.
type countingServer struct {
	addr     string
	mu       sync.Mutex
	sessions int
	messages int
	utf8     []bool // each MAIL FROM: did it say SMTPUTF8
}

func startCounting(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &countingSession{s: s}, nil
	}))
	srv.Domain = "counting.test"
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *countingServer) counts() (sessions, messages int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions, s.messages
}

type countingSession struct{ s *countingServer }

func (*countingSession) Reset()                                 {}
func (*countingSession) Logout() error                          { return nil }
func (*countingSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (c *countingSession) Mail(_ string, opts *gosmtp.MailOptions) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.utf8 = append(c.s.utf8, opts != nil && opts.UTF8)
	return nil
}
func (c *countingSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	c.s.mu.Lock()
	c.s.messages++
	c.s.mu.Unlock()
	return nil
}

// A connection is reused while it has been idle for at most MaxIdle; one
// idle for longer is not tried at all (the server may be about to drop
// it), but replaced by a fresh one. The pool's clock is moved, not waited
// for.
func TestConnectionIdleLongerThanMaxIdleIsNotReused(t *testing.T) {
	t.Parallel()
	srv := startCounting(t)
	host, port, _ := net.SplitHostPort(srv.addr)
	p, _ := strconv.Atoi(port)
	pool, err := NewPool(SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 1, Timeout: 5 * time.Second, HELO: "sitrep.test", MaxIdle: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	pool.now = func() time.Time { return now }
	send := func() {
		t.Helper()
		if _, err := pool.Send(context.Background(), "status@sitrep.test", []string{"lead@example.test"}, []byte("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send()
	now = now.Add(30 * time.Second) // idle for MaxIdle: still reused
	send()
	if sessions, messages := srv.counts(); sessions != 1 || messages != 2 {
		t.Fatalf("within MaxIdle: want 2 messages on 1 connection, got %d on %d", messages, sessions)
	}
	now = now.Add(31 * time.Second) // idle for longer: a fresh connection
	send()
	if sessions, messages := srv.counts(); sessions != 2 || messages != 3 {
		t.Fatalf("after MaxIdle: want the third message on a second connection, got %d messages on %d", messages, sessions)
	}
}

// With every connection busy, a freed one goes to an urgent send (an
// alert to the leads) before a bulk send that has waited longer.
func TestFreedConnectionGoesToTheUrgentWaiterFirst(t *testing.T) {
	t.Parallel()
	pool, err := NewPool(SMTPConfig{Host: "127.0.0.1", Port: 25, TLS: "none", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := pool.acquire(ctx, false); err != nil { // the one connection, busy
		t.Fatal(err)
	}
	got := make(chan string, 2)
	waitFor := func(lane, n int) {
		for {
			pool.mu.Lock()
			queued := len(pool.waiting[lane])
			pool.mu.Unlock()
			if queued == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	go func() {
		if pool.acquire(ctx, false) == nil {
			got <- "bulk"
			pool.release()
		}
	}()
	waitFor(bulkLane, 1) // the bulk send waits first
	go func() {
		if pool.acquire(ctx, true) == nil {
			got <- "urgent"
			pool.release()
		}
	}()
	waitFor(urgentLane, 1)
	pool.release()
	if first, second := <-got, <-got; first != "urgent" || second != "bulk" {
		t.Fatalf("a freed connection went to %s, then %s; want the urgent send first", first, second)
	}
}

// A send whose context ends while it waits gives up its place: the
// connection freed later goes to the next waiter, not to nobody.
func TestCancelledWaiterDoesNotKeepAConnection(t *testing.T) {
	t.Parallel()
	pool, err := NewPool(SMTPConfig{Host: "127.0.0.1", Port: 25, TLS: "none", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pool.acquire(ctx, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the cancelled wait to fail, got %v", err)
	}
	pool.release()
	if err := pool.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.busy != 1 || len(pool.waiting[urgentLane])+len(pool.waiting[bulkLane]) != 0 {
		t.Fatalf("busy %d, waiting %v", pool.busy, pool.waiting)
	}
}

// countingLimiter records what the pool asked of it.
type countingLimiter struct {
	mu    sync.Mutex
	asked []int
}

func (l *countingLimiter) WaitN(_ context.Context, n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, n)
	return nil
}

func (*countingLimiter) Burst() int { return 10 }

// Every recipient of a transaction counts against the rate limit, a
// bucket's worth at a time: 50 recipients under a burst of 10 wait for 50
// tokens, not 10 (which let a transaction of 50 through at 5× the limit).
func TestEveryRecipientCountsAgainstTheRateLimit(t *testing.T) {
	t.Parallel()
	srv := startCounting(t)
	host, port, _ := net.SplitHostPort(srv.addr)
	p, _ := strconv.Atoi(port)
	lim := &countingLimiter{}
	pool, err := NewPool(SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 1, Timeout: 5 * time.Second, HELO: "sitrep.test", Limiter: lim})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	to := make([]string, 45)
	for i := range to {
		to[i] = "p" + strconv.Itoa(i) + "@example.test"
	}
	if _, err := pool.Send(t.Context(), "status@sitrep.test", to, []byte("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range lim.asked {
		if n > lim.Burst() {
			t.Errorf("asked for %d at once, more than the burst of %d", n, lim.Burst())
		}
		total += n
	}
	if total != len(to) {
		t.Fatalf("the limiter was asked for %d tokens (%v) for %d recipients", total, lim.asked, len(to))
	}
}

// A lax server that says 354 to DATA although it refused every
// recipient (RFC 2920 3.1 says it should not): the client ends the DATA
// with an empty body, sends nothing, reports each refusal, and the
// connection stays usable (RSET answered).
func TestPipelinedDataOpenedWithNoRecipient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		var lines []string
		read := func() string {
			l, _ := r.ReadString('\n')
			l = strings.TrimRight(l, "\r\n")
			lines = append(lines, l)
			return l
		}
		conn.Write([]byte("220 lax ESMTP\r\n"))
		read() // EHLO
		conn.Write([]byte("250-lax\r\n250 PIPELINING\r\n"))
		read() // MAIL
		read() // RCPT
		read() // RCPT
		read() // DATA
		conn.Write([]byte("250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go on\r\n"))
		for read() != "." {
		}
		conn.Write([]byte("554 5.5.1 no valid recipients\r\n"))
		if read() == "RSET" {
			conn.Write([]byte("250 reset\r\n"))
		}
		got <- strings.Join(lines, "|")
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	pool, err := NewPool(SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 1, Timeout: 5 * time.Second, HELO: "sitrep.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	perRcpt, err := pool.Send(t.Context(), "status@sitrep.test", []string{"a@example.test", "b@example.test"}, []byte("Subject: secret\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatalf("the transaction failed as a whole: %v", err)
	}
	for i, e := range perRcpt {
		if !Permanent(e) {
			t.Errorf("recipient %d: %v, want the 550", i, e)
		}
	}
	lines := <-got
	if strings.Contains(lines, "secret") || strings.Contains(lines, "body") {
		t.Errorf("the body went to a server with no recipient: %s", lines)
	}
	if !strings.HasSuffix(lines, "|.|RSET") {
		t.Errorf("want an empty body ended with \".\", then RSET; the server read %s", lines)
	}
}

// A message is flagged SMTPUTF8 only when it needs the extension: an
// internationalized address in the envelope, or UTF-8 in its header. A
// UTF-8 body is 8BITMIME's; flagged, all-ASCII mail would need SMTPUTF8 at
// every later hop, and a relay whose next hop lacks it may bounce it.
// With and without PIPELINING (two ways of writing MAIL FROM).
func TestSMTPUTF8OnlyWhenTheMessageNeedsIt(t *testing.T) {
	t.Parallel()
	for _, pipelining := range []bool{true, false} {
		srv := startCounting(t)
		host, port, _ := net.SplitHostPort(srv.addr)
		p, _ := strconv.Atoi(port)
		pool, err := NewPool(SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 1, Timeout: 5 * time.Second, HELO: "sitrep.test",
			NoPipelining: !pipelining})
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		cases := []struct {
			name string
			to   string
			msg  string
			want bool
		}{
			{"ASCII", "lead@example.test", "Subject: =?utf-8?q?St=C3=B6rung?=\r\n\r\nbody\r\n", false},
			{"UTF-8 body", "lead@example.test", "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nStörung behoben\r\n", false},
			{"UTF-8 header", "lead@example.test", "Subject: Störung\r\n\r\nbody\r\n", true},
			{"internationalized address", "jürgen@example.test", "Subject: x\r\n\r\nbody\r\n", true},
			{"ASCII again on the same connection", "lead@example.test", "Subject: x\r\n\r\nbody\r\n", false},
		}
		for _, c := range cases {
			if _, err := pool.Send(context.Background(), "status@sitrep.test", []string{c.to}, []byte(c.msg)); err != nil {
				t.Fatalf("pipelining=%v %s: %v", pipelining, c.name, err)
			}
		}
		srv.mu.Lock()
		got := slices.Clone(srv.utf8)
		srv.mu.Unlock()
		if len(got) != len(cases) {
			t.Fatalf("pipelining=%v: %d MAIL commands, want %d", pipelining, len(got), len(cases))
		}
		for i, c := range cases {
			if got[i] != c.want {
				t.Errorf("pipelining=%v %s: SMTPUTF8 %v, want %v", pipelining, c.name, got[i], c.want)
			}
		}
	}
}
