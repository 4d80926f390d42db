package reliability

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is a real SMTP server (go-smtp) in the driver's process: it
// outlives every `sitrep serve` it is given, so what it counts is exactly
// what was accepted over SMTP across crashes. It can be told to misbehave.
type Sink struct {
	Addr string

	srv *smtp.Server

	// Discard keeps only counts and the first accept time per Message-ID,
	// not who got what: for load runs of hundreds of thousands.
	discard bool

	mu        sync.Mutex
	got       map[string][]string  // recipient → Message-IDs accepted for it
	firstSeen map[string]time.Time // Message-ID → first accepted DATA
	inFlight  map[string]bool      // recipients of transactions dropped or stalled
	accepted  atomic.Int64         // recipients accepted
	messages  atomic.Int64         // DATA accepted

	// What the faults did: connections refused, DATA dropped, DATA stalled.
	Refused, Dropped, Stalled atomic.Int64

	// Faults, read on every command.
	faults Faults
	fmu    sync.Mutex
}

// Faults says how the sink misbehaves. Zero: it behaves.
type Faults struct {
	// RefuseConnect answers 421 to every new connection while true.
	RefuseConnect bool
	// Rcpt answers a RCPT TO: nil accepts. It is asked per attempt, so a
	// fault can clear itself (451 once, then accept).
	Rcpt func(rcpt string) *smtp.SMTPError
	// DropData is how many DATA commands to answer by closing the
	// connection after the body arrived, before the reply.
	DropData int
	// DataDelay is how long to wait before answering DATA (a stalled
	// server); the client's timeout should fire first.
	DataDelay time.Duration
	// DelayCount bounds how many DATA commands are delayed (0: all while
	// DataDelay is set).
	DelayCount int
}

// StartSink listens on a loopback port. discard: count only.
func StartSink(discard bool) (*Sink, error) {
	s := &Sink{discard: discard, got: map[string][]string{}, firstSeen: map[string]time.Time{}, inFlight: map[string]bool{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.fmu.Lock()
		refuse := s.faults.RefuseConnect
		s.fmu.Unlock()
		if refuse {
			s.Refused.Add(1)
			return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "too busy, try later"}
		}
		return &sinkSession{s: s, conn: c}, nil
	}))
	s.srv.Domain = "sink.test"
	// Killed clients reset connections on purpose; that is not news.
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.MaxRecipients = 1000
	s.srv.MaxMessageBytes = 50 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = 2*time.Minute, 2*time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("reliability: sink: %w", err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Sink) Close() { s.srv.Close() }

// Port is the sink's port.
func (s *Sink) Port() string { _, p, _ := net.SplitHostPort(s.Addr); return p }

// SetFaults replaces the faults.
func (s *Sink) SetFaults(f Faults) {
	s.fmu.Lock()
	s.faults = f
	s.fmu.Unlock()
}

// Accepted is the number of recipients accepted so far.
func (s *Sink) Accepted() int64 { return s.accepted.Load() }

// Messages is the number of DATA commands accepted so far.
func (s *Sink) Messages() int64 { return s.messages.Load() }

// Copies returns the Message-IDs each recipient received (a copy).
func (s *Sink) Copies() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.got))
	for k, v := range s.got {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// CopiesOf counts, for one Message-ID, how many recipients got it at least
// once and how many copies there were beyond one each.
func (s *Sink) CopiesOf(messageID string) (recipients, extra int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ids := range s.got {
		n := 0
		for _, id := range ids {
			if id == messageID {
				n++
			}
		}
		if n > 0 {
			recipients++
			extra += n - 1
		}
	}
	return recipients, extra
}

// InFlight reports whether rcpt was in a transaction the sink dropped or
// stalled: the one message a client may rightly send twice.
func (s *Sink) InFlight(rcpt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[rcpt]
}

// FirstSeen is when a Message-ID was first accepted (zero if never).
func (s *Sink) FirstSeen(messageID string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstSeen[messageID]
}

// Reset forgets everything received.
func (s *Sink) Reset() {
	s.mu.Lock()
	s.got = map[string][]string{}
	s.firstSeen = map[string]time.Time{}
	s.inFlight = map[string]bool{}
	s.mu.Unlock()
	s.accepted.Store(0)
	s.messages.Store(0)
}

type sinkSession struct {
	s    *Sink
	conn *smtp.Conn
	rcpt []string
}

func (ss *sinkSession) Reset()                               { ss.rcpt = ss.rcpt[:0] }
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.fmu.Lock()
	f := ss.s.faults.Rcpt
	ss.s.fmu.Unlock()
	if f != nil {
		if e := f(strings.ToLower(to)); e != nil {
			return e
		}
	}
	ss.rcpt = append(ss.rcpt, strings.ToLower(to))
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	id, err := readMessageID(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.fmu.Lock()
	drop := s.faults.DropData > 0
	if drop {
		s.faults.DropData--
	}
	var delay time.Duration
	if !drop {
		// A dropped transaction is not also stalled: each fault its own.
		delay = s.faults.DataDelay
	}
	if delay > 0 && s.faults.DelayCount > 0 {
		s.faults.DelayCount--
		if s.faults.DelayCount == 0 {
			s.faults.DataDelay = 0
		}
	}
	s.fmu.Unlock()
	if drop || delay > 0 {
		// The client cannot know whether these were taken: a second copy
		// of this message to them is allowed, and no other.
		s.mu.Lock()
		for _, rc := range ss.rcpt {
			s.inFlight[rc] = true
		}
		s.mu.Unlock()
	}
	if drop {
		s.Dropped.Add(1)
		// The body arrived but the reply never will: the client cannot know
		// whether the message was taken, and must send it again.
		ss.conn.Conn().Close()
		return errors.New("connection dropped in DATA")
	}
	if delay > 0 {
		s.Stalled.Add(1)
		time.Sleep(delay)
	}
	now := time.Now()
	s.mu.Lock()
	if _, ok := s.firstSeen[id]; !ok {
		s.firstSeen[id] = now
	}
	if !s.discard {
		for _, rc := range ss.rcpt {
			s.got[rc] = append(s.got[rc], id)
		}
	}
	s.mu.Unlock()
	s.accepted.Add(int64(len(ss.rcpt)))
	s.messages.Add(1)
	return nil
}

// readMessageID reads the whole message and returns its Message-ID
// header's value (RFC 5322 3.6.4), "" when there is none.
func readMessageID(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 8192)
	id := ""
	inHeader := true
	for inHeader {
		line, err := br.ReadSlice('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			inHeader = false
		} else if len(line) > 11 && bytes.EqualFold(line[:11], []byte("message-id:")) {
			id = string(bytes.TrimSpace(line[11:]))
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return id, nil
			}
			return id, err
		}
	}
	_, err := io.Copy(io.Discard, br)
	return id, err
}
