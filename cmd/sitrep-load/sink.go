package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is the discarding SMTP server every side sends to (go-smtp, which
// offers PIPELINING): it counts each recipient's copies, so that a run
// fails loudly on a recipient missing or served twice, keeps the first
// message it was given (the baselines send sitrep's own), and notes when
// the last expected recipient was accepted.
type sink struct {
	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	copies   map[string]int32
	sample   []byte
	want     int64
	firstAt  time.Time // when the first recipient was accepted
	lastAt   time.Time
	accepted atomic.Int64
	messages atomic.Int64 // SMTP transactions (DATA) since expect
	done     chan struct{}
	// delay is how long the sink takes over each message before its 250
	// (-sink-delay): a real server's own work per message, such as
	// Postfix writing and fsyncing a queue file. With it, the time shows
	// whether a client keeps every connection busy.
	delay time.Duration
}

func startSink(delay time.Duration) (*sink, error) {
	s := &sink{copies: map[string]int32{}, done: make(chan struct{}), delay: delay}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "sink.test"
	s.srv.MaxRecipients = 1000
	s.srv.MaxMessageBytes = 50 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	go s.srv.Serve(ln)
	return s, nil
}

// expect resets the counts for a new side that should deliver to want
// recipients; capture: keep its first message for the baselines.
func (s *sink) expect(want int, capture bool) {
	s.mu.Lock()
	s.copies = make(map[string]int32, want)
	s.want = int64(want)
	s.firstAt, s.lastAt = time.Time{}, time.Time{}
	s.done = make(chan struct{})
	if capture {
		s.sample = nil // keep this side's first message
	}
	s.mu.Unlock()
	s.accepted.Store(0)
	s.messages.Store(0)
}

// first is when the first recipient was accepted since expect.
func (s *sink) first() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstAt
}

// wait blocks until want recipients were accepted or timeout, and returns
// when the last one was.
func (s *sink) wait(timeout time.Duration) (time.Time, error) {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.lastAt, nil
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("sink: %d of %d recipients accepted after %s", s.accepted.Load(), s.want, timeout)
	}
}

// check compares what was accepted with the expected addresses: each
// exactly once.
func (s *sink) check(expected func(yield func(string) bool)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing, twice []string
	n := 0
	for e := range expected {
		n++
		switch c := s.copies[e]; {
		case c == 0:
			missing = append(missing, e)
		case c > 1:
			twice = append(twice, fmt.Sprintf("%s×%d", e, c))
		}
	}
	var stray []string
	if len(s.copies) > n-len(missing) {
		want := map[string]bool{}
		for e := range expected {
			want[e] = true
		}
		for e := range s.copies {
			if !want[e] {
				stray = append(stray, e)
			}
		}
		sort.Strings(stray)
	}
	if len(missing)+len(twice)+len(stray) == 0 {
		return nil
	}
	first := func(l []string) string {
		if len(l) > 5 {
			return strings.Join(l[:5], ", ") + ", …"
		}
		return strings.Join(l, ", ")
	}
	return fmt.Errorf("sink: NOT exactly once: %d missing (%s), %d more than once (%s), %d not expected (%s)",
		len(missing), first(missing), len(twice), first(twice), len(stray), first(stray))
}

func (s *sink) firstMessage() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sample
}

type sinkSession struct {
	s    *sink
	rcpt []string
}

func (ss *sinkSession) Reset()                               { ss.rcpt = ss.rcpt[:0] }
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpt = append(ss.rcpt, strings.ToLower(to))
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	s := ss.s
	s.messages.Add(1)
	s.mu.Lock()
	keep := s.sample == nil
	s.mu.Unlock()
	if keep {
		var b bytes.Buffer
		if _, err := io.Copy(&b, r); err != nil {
			return err
		}
		s.mu.Lock()
		if s.sample == nil {
			s.sample = b.Bytes()
		}
		s.mu.Unlock()
	} else if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	time.Sleep(s.delay)
	now := time.Now()
	s.mu.Lock()
	for _, rc := range ss.rcpt {
		s.copies[rc]++
	}
	if s.firstAt.IsZero() {
		s.firstAt = now
	}
	if n := s.accepted.Add(int64(len(ss.rcpt))); n >= s.want && s.want > 0 && s.lastAt.IsZero() {
		s.lastAt = now
		close(s.done)
	}
	s.mu.Unlock()
	return nil
}
