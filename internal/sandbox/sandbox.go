// Package sandbox is sitrep's embedded mail system for trying the whole
// flow on one machine: an SMTP server that accepts everything the hub sends
// and an IMAP server holding one mailbox per person, plus the hub's own
// inbox. Anyone can read a sandbox mailbox with Thunderbird or mutt and see
// exactly what a real recipient would; the hub ingests replies from its own
// sandbox inbox over IMAP as from any other server.
//
// Trust: the sandbox adds to every copy it stores
//
//	Authentication-Results: sitrep-sandbox; auth=pass smtp.auth=<account> smtp.mailfrom=<from>
//
// (RFC 8601, authserv-id AuthServID) for mail submitted through Deliver (the
// account is the from argument) or over SMTP after AUTH, and "auth=none" for
// everything else. Before that it removes every Authentication-Results that
// could be taken for its own (RFC 8601 5), reading them with package
// authres, the parser the hub believes them with. So the hub may treat the
// topmost sitrep-sandbox result with auth=pass as "written inside the
// sandbox by smtp.auth", and believes the From only when it names that
// account. What that is worth: every sandbox account shares one password, so
// it proves only that the writer had the sandbox password or the web UI.
// No DKIM, SPF or DMARC result is faked.
//
// UIDs and UIDVALIDITY: with a DataDir, every mailbox keeps its UIDVALIDITY
// and its messages keep their UIDs across restarts, so an ingest checkpoint
// (UIDVALIDITY, last UID) stays valid. Without a DataDir the sandbox starts
// empty and every mailbox gets a new UIDVALIDITY (from a random start), so a
// client that cached UIDs resynchronises.
package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 subjects for the web UI
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// AuthServID is the authserv-id (RFC 8601 2.2) of the Authentication-Results
// header the sandbox adds to mail it knows was written inside it.
const AuthServID = "sitrep-sandbox"

// Defaults applied by New to zero Config fields.
const (
	DefaultSMTPAddr        = "127.0.0.1:2525"
	DefaultIMAPAddr        = "127.0.0.1:1143"
	DefaultDomain          = "sitrep.example"
	DefaultMaxMessageBytes = 25 << 20
)

// Config configures a Sandbox. Zero fields take the defaults above, except
// Password, which is required.
type Config struct {
	SMTPAddr        string // e.g. "127.0.0.1:2525"; port 0 picks a free one
	IMAPAddr        string // e.g. "127.0.0.1:1143"
	Domain          string // the sandbox mail domain, e.g. "sitrep.example"
	Password        string // one password for every mailbox: it is a sandbox
	DataDir         string // where messages persist across restarts; "" keeps them in memory
	MaxMessageBytes int64  // larger messages get SMTP 552
	Logger          *slog.Logger
}

// Mailbox summarises one account's INBOX.
type Mailbox struct {
	Email    string
	Name     string
	Messages int
	Unseen   int
}

// Message is one message in an INBOX.
type Message struct {
	ID      string // stable while the mailbox exists, across restarts with a DataDir
	UID     uint32
	From    string
	Subject string
	Date    time.Time // the Date header, or the delivery time when it has none
	Raw     []byte
	Seen    bool
}

// Sandbox is the embedded SMTP and IMAP server. Its methods are safe for
// concurrent use.
type Sandbox struct {
	cfg      Config
	log      *slog.Logger
	store    *store
	hostname string

	mu       sync.Mutex
	smtp     *smtp.Server
	imap     *imapserver.Server
	smtpLn   net.Listener
	imapLn   net.Listener
	started  bool
	closed   bool
	done     chan struct{}
	serving  sync.WaitGroup
	closeErr error
}

// New validates cfg, applies defaults and, with a DataDir, loads the
// mailboxes stored there. It does not listen: see Start.
func New(cfg Config) (*Sandbox, error) {
	if cfg.SMTPAddr == "" {
		cfg.SMTPAddr = DefaultSMTPAddr
	}
	if cfg.IMAPAddr == "" {
		cfg.IMAPAddr = DefaultIMAPAddr
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Domain = strings.ToLower(strings.TrimSuffix(cfg.Domain, "."))

	var problems []error
	if cfg.Password == "" {
		problems = append(problems, errs.InvalidField("sandbox.password", "is required"))
	}
	if !validDomain(cfg.Domain) {
		problems = append(problems, errs.InvalidField("sandbox.domain", "%q is not a domain name", cfg.Domain))
	}
	if cfg.MaxMessageBytes < 0 {
		problems = append(problems, errs.InvalidField("sandbox.max_message_bytes", "must be positive"))
	}
	for field, addr := range map[string]string{"sandbox.smtp_addr": cfg.SMTPAddr, "sandbox.imap_addr": cfg.IMAPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			problems = append(problems, errs.InvalidField(field, "%q is not host:port", addr))
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	s := &Sandbox{
		cfg:      cfg,
		log:      cfg.Logger,
		store:    newStore(cfg.DataDir, cfg.Logger),
		hostname: "sandbox." + cfg.Domain,
		done:     make(chan struct{}),
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, dirPermissions); err != nil {
			return nil, fmt.Errorf("sandbox: data dir: %w", err)
		}
		if err := s.store.load(); err != nil {
			return nil, err
		}
		s.log.Info("sandbox: loaded mailboxes", "dir", cfg.DataDir, "accounts", len(s.store.accounts))
	}
	return s, nil
}

// EnsureMailbox creates the account for email with an empty INBOX unless it
// exists, and records name as its display name when name is not empty.
// Plus-addressing is folded: "status+x@d" is "status@d".
func (s *Sandbox) EnsureMailbox(email, name string) error {
	addr, err := s.normalizeAddress(email)
	if err != nil {
		return errs.InvalidField("email", "%v", err)
	}
	_, created, err := s.store.ensure(addr, name)
	if err != nil {
		return err
	}
	if created {
		s.log.Info("sandbox: mailbox created", "email", addr)
	}
	return nil
}

// Start listens on the SMTP and IMAP addresses and returns once both are
// listening. The servers run until Close is called or ctx is done.
func (s *Sandbox) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errs.E(errs.Conflict, "sandbox: already started or closed")
	}
	var lc net.ListenConfig
	smtpLn, err := lc.Listen(ctx, "tcp", s.cfg.SMTPAddr)
	if err != nil {
		return fmt.Errorf("sandbox: listen smtp: %w", err)
	}
	imapLn, err := lc.Listen(ctx, "tcp", s.cfg.IMAPAddr)
	if err != nil {
		_ = smtpLn.Close()
		return fmt.Errorf("sandbox: listen imap: %w", err)
	}
	s.smtpLn, s.imapLn = smtpLn, imapLn
	s.started = true

	s.smtp = smtp.NewServer(smtp.BackendFunc(s.newSMTPSession))
	s.smtp.Domain = s.hostname
	s.smtp.MaxMessageBytes = s.cfg.MaxMessageBytes
	s.smtp.MaxRecipients = 1000
	s.smtp.AllowInsecureAuth = true // a sandbox has no certificate; the password is printed at start-up anyway
	s.smtp.EnableSMTPUTF8 = true
	s.smtp.ReadTimeout = 5 * time.Minute
	s.smtp.WriteTimeout = time.Minute
	s.smtp.ErrorLog = printfLogger{s.log, "sandbox: smtp"}

	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{sb: s}, nil, nil
		},
		Caps:         imapCaps,
		Logger:       printfLogger{s.log, "sandbox: imap"},
		InsecureAuth: true,
	})

	s.serving.Add(3)
	go func() {
		defer s.serving.Done()
		if err := s.smtp.Serve(smtpLn); err != nil && !s.isClosed() {
			s.log.Error("sandbox: smtp server stopped", "err", err)
		}
	}()
	go func() {
		defer s.serving.Done()
		if err := s.imap.Serve(imapLn); err != nil && !s.isClosed() {
			s.log.Error("sandbox: imap server stopped", "err", err)
		}
	}()
	go func() {
		defer s.serving.Done()
		select {
		case <-ctx.Done():
			_ = s.shutdown()
		case <-s.done:
		}
	}()
	s.log.Info("sandbox: listening", "smtp", smtpLn.Addr().String(), "imap", imapLn.Addr().String(),
		"domain", s.cfg.Domain, "data_dir", s.cfg.DataDir)
	return nil
}

// Close stops both servers, drops open connections and waits for them.
func (s *Sandbox) Close() error {
	err := s.shutdown()
	s.serving.Wait()
	return err
}

func (s *Sandbox) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	close(s.done)
	if s.started {
		// Close the listeners ourselves too: a server whose Serve has not
		// yet registered its listener would otherwise miss the Close and
		// accept forever.
		var problems []error
		for _, err := range []error{s.smtpLn.Close(), s.imapLn.Close(), s.smtp.Close(), s.imap.Close()} {
			if err != nil && !errors.Is(err, net.ErrClosed) {
				problems = append(problems, err)
			}
		}
		if err := errors.Join(problems...); err != nil {
			s.closeErr = fmt.Errorf("sandbox: close: %w", err)
		}
	}
	s.log.Info("sandbox: stopped")
	return s.closeErr
}

func (s *Sandbox) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// SMTPAddr returns the address the SMTP server listens on, or "" before
// Start.
func (s *Sandbox) SMTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.smtpLn == nil {
		return ""
	}
	return s.smtpLn.Addr().String()
}

// IMAPAddr returns the address the IMAP server listens on, or "" before
// Start.
func (s *Sandbox) IMAPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.imapLn == nil {
		return ""
	}
	return s.imapLn.Addr().String()
}

// Domain returns the sandbox mail domain.
func (s *Sandbox) Domain() string { return s.cfg.Domain }

// Mailboxes lists every account, ordered by address, with its INBOX counts.
func (s *Sandbox) Mailboxes() []Mailbox {
	accts := s.store.list()
	l := make([]Mailbox, 0, len(accts))
	for _, a := range accts {
		m := Mailbox{Email: a.email, Name: a.displayName()}
		if inbox, err := a.mailbox(inboxName); err == nil {
			inbox.mu.Lock()
			m.Messages = len(inbox.msgs)
			m.Unseen = m.Messages - int(inbox.countByFlagLocked(imap.FlagSeen))
			inbox.mu.Unlock()
		}
		l = append(l, m)
	}
	return l
}

// Messages returns the messages in email's INBOX, newest first.
func (s *Sandbox) Messages(ctx context.Context, email string) ([]Message, error) {
	inbox, err := s.inbox(email)
	if err != nil {
		return nil, err
	}
	inbox.mu.Lock()
	snap := make([]Message, 0, len(inbox.msgs))
	msgs := slices.Clone(inbox.msgs)
	for _, msg := range msgs {
		snap = append(snap, Message{UID: uint32(msg.uid), Seen: msg.hasFlag(imap.FlagSeen)})
	}
	inbox.mu.Unlock()

	l := make([]Message, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := snap[i]
		describe(&m, inbox.uidValidity, msgs[i])
		l = append(l, m)
	}
	return l, nil
}

// Message returns one message of email's INBOX by its ID.
func (s *Sandbox) Message(ctx context.Context, email, id string) (*Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inbox, err := s.inbox(email)
	if err != nil {
		return nil, err
	}
	uidValidity, uid, ok := parseMessageID(id)
	if !ok || uidValidity != inbox.uidValidity {
		return nil, errs.E(errs.NotFound, "no message %q in %s", id, email)
	}
	inbox.mu.Lock()
	i, found := slices.BinarySearchFunc(inbox.msgs, imap.UID(uid), func(m *message, uid imap.UID) int {
		return int(m.uid) - int(uid)
	})
	var m Message
	var msg *message
	if found {
		msg = inbox.msgs[i]
		m = Message{UID: uint32(msg.uid), Seen: msg.hasFlag(imap.FlagSeen)}
	}
	inbox.mu.Unlock()
	if !found {
		return nil, errs.E(errs.NotFound, "no message %q in %s", id, email)
	}
	describe(&m, inbox.uidValidity, msg)
	return &m, nil
}

func (s *Sandbox) inbox(email string) (*mailbox, error) {
	addr, err := s.normalizeAddress(email)
	if err != nil {
		return nil, errs.InvalidField("email", "%v", err)
	}
	a := s.store.account(addr)
	if a == nil {
		return nil, errs.E(errs.NotFound, "no sandbox mailbox for %s", addr)
	}
	inbox, err := a.mailbox(inboxName)
	if err != nil {
		return nil, errs.E(errs.NotFound, "no INBOX for %s", addr)
	}
	return inbox, nil
}

// describe fills the parts of m read from the message itself.
func describe(m *Message, uidValidity uint32, msg *message) {
	m.ID = strconv.FormatUint(uint64(uidValidity), 10) + "-" + strconv.FormatUint(uint64(msg.uid), 10)
	m.Raw = slices.Clone(msg.buf)
	m.Date = msg.t
	th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg.buf)))
	if err != nil {
		return
	}
	h := mail.Header{Header: gomessage.Header{Header: th}}
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		m.From = from[0].String()
	} else {
		m.From = h.Get("From")
	}
	if subject, err := h.Subject(); err == nil {
		m.Subject = subject
	} else {
		m.Subject = h.Get("Subject")
	}
	if d, err := h.Date(); err == nil && !d.IsZero() {
		m.Date = d
	}
}

func parseMessageID(id string) (uidValidity, uid uint32, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	v, err1 := strconv.ParseUint(a, 10, 32)
	u, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(v), uint32(u), true
}

// Deliver delivers raw from the envelope sender from to each address in to,
// exactly as the SMTP server does, and marks it as written inside the
// sandbox (see AuthServID). It returns once every copy is stored (and
// fsynced, with a DataDir). The web UI's "reply as this person" uses it.
func (s *Sandbox) Deliver(ctx context.Context, from string, to []string, raw []byte) error {
	if len(to) == 0 {
		return errs.InvalidField("to", "at least one recipient is required")
	}
	account, err := s.normalizeAddress(from)
	if err != nil {
		return errs.InvalidField("from", "%v", err)
	}
	return s.deliver(ctx, envelope{from: from, rcpts: to, authUser: account}, raw)
}

// loginAddress turns an IMAP or SMTP AUTH user name into an account
// address: the local part alone means the sandbox domain.
func (s *Sandbox) loginAddress(username string) (string, bool) {
	username = strings.TrimSpace(username)
	if username != "" && !strings.Contains(username, "@") {
		username += "@" + s.cfg.Domain
	}
	addr, err := s.normalizeAddress(username)
	return addr, err == nil
}

// normalizeAddress maps an address to the account it is delivered to:
// lowercased, angle brackets dropped, a bare local part put in the sandbox
// domain, and a "+detail" removed from the local part (subaddressing, RFC
// 5233), so status+token@d lands in status@d.
func (s *Sandbox) normalizeAddress(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	if addr == "" {
		return "", errors.New("empty address")
	}
	if len(addr) > 254 {
		return "", errors.New("address longer than 254 octets (RFC 5321 4.5.3.1.3)")
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '/' || r == '\\' || r == '"' {
			return "", fmt.Errorf("address %q has a character the sandbox does not accept", addr)
		}
	}
	local, domain := addr, s.cfg.Domain
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i+1:]
	}
	local, domain = strings.ToLower(local), strings.ToLower(strings.TrimSuffix(domain, "."))
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if local == "" || local == "." || local == ".." || !validDomain(domain) {
		return "", fmt.Errorf("%q is not an email address", addr)
	}
	return local + "@" + domain, nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, r := range d {
		if !(r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80) {
			return false
		}
	}
	return true
}

func newDeliveryID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// printfLogger adapts the Printf-style loggers of go-smtp and imapserver.
type printfLogger struct {
	log *slog.Logger
	msg string
}

func (l printfLogger) Printf(format string, v ...any) {
	l.log.Warn(l.msg, "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l printfLogger) Println(v ...any) {
	l.log.Warn(l.msg, "detail", strings.TrimSpace(fmt.Sprintln(v...)))
}
