package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
	"golang.org/x/time/rate"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
)

// SMTPConfig says where and how to send.
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string // starttls, tls or none
	Username string
	Password string
	HELO     string
	// Concurrency is the number of connections kept; each is owned by one
	// transaction at a time.
	Concurrency int
	// RatePerSecond caps recipients per second over all connections of
	// this pool (0 = none), unless Limiter is set.
	RatePerSecond float64
	// Limiter paces the recipients instead, e.g. over every replica
	// (SharedLimiter).
	Limiter RateLimiter
	// Timeout bounds each SMTP exchange (a slow server is waited for this long).
	Timeout time.Duration
	// MaxIdle is how long a connection may sit unused and still be reused;
	// an older one is closed and a fresh one dialled. Servers drop idle
	// clients (Postfix's smtpd_timeout, 300 s; many relays far less) with
	// "421 4.4.2 Idle timeout", so this stays well below theirs. Default 30 s.
	MaxIdle            time.Duration
	InsecureSkipVerify bool
	Logger             *slog.Logger
	// NoPipelining sends each RCPT after the reply to the previous one
	// even when the server offers PIPELINING (for comparisons).
	NoPipelining bool
	// OAuth, when set, signs in as Username with an OAuth2 access token
	// (XOAUTH2 or OAUTHBEARER, RFC 7628) instead of Password.
	OAuth TokenSigner
}

// TokenSigner runs an SMTP login with an OAuth2 access token, and again
// with a fresh one when the server refuses the first (mailauth.Tokens).
type TokenSigner interface {
	Do(ctx context.Context, server string, login func(token string) error) error
}

var _ TokenSigner = (*mailauth.Tokens)(nil)

// Pool sends through a small pool of SMTP connections. go-mail dials,
// negotiates TLS and authenticates; the transaction itself is driven here
// on go-mail's SMTP client, recipient by recipient, because go-mail's
// Send abandons a whole message when one RCPT is refused.
type Pool struct {
	cfg     SMTPConfig
	dialer  *gomail.Client
	idle    chan idleConn
	limiter RateLimiter
	now     func() time.Time // tests move it to age idle connections

	mu     sync.Mutex
	closed bool
	// busy counts the connections handed out (at most Concurrency);
	// waiting holds those waiting for one, urgent first (see acquire).
	busy    int
	waiting [2][]chan struct{}
}

// idleConn is a connection back in the pool and since when.
type idleConn struct {
	c     *smtp.Client
	since time.Time
}

// The lanes of Pool.waiting: a freed connection goes to the first waiter
// of the urgent lane, then of the bulk lane.
const (
	urgentLane = 0
	bulkLane   = 1
)

type urgentKey struct{}

// withUrgent marks the sends of ctx as urgent: a message the leads wait
// on (an overdue alert) takes the next free connection ahead of a bulk
// fan-out's transactions, which may have been waiting longer.
func withUrgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

func isUrgent(ctx context.Context) bool {
	u, _ := ctx.Value(urgentKey{}).(bool)
	return u
}

var _ Sender = (*Pool)(nil)

// NewPool prepares a pool; it connects lazily.
func NewPool(cfg SMTPConfig) (*Pool, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if cfg.Username != "" && cfg.OAuth == nil {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	dialer, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("outbox: smtp client: %w", err)
	}
	if err := dialer.SetTLSConfig(&tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}); err != nil {
		return nil, fmt.Errorf("outbox: smtp tls: %w", err)
	}
	p := &Pool{cfg: cfg, dialer: dialer, idle: make(chan idleConn, cfg.Concurrency), now: time.Now}
	switch {
	case cfg.Limiter != nil:
		p.limiter = cfg.Limiter
	case cfg.RatePerSecond > 0:
		p.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), max(1, int(cfg.RatePerSecond)))
	}
	return p, nil
}

// Concurrency is the number of connections.
func (p *Pool) Concurrency() int { return p.cfg.Concurrency }

// acquire waits for one of the Concurrency connections to be free. A
// freed connection is handed to an urgent waiter first, then to the bulk
// waiter that has waited longest, so an alert to the leads waits for at
// most one transaction of a fan-out in progress, however many are queued.
func (p *Pool) acquire(ctx context.Context, urgent bool) error {
	p.mu.Lock()
	if p.busy < p.cfg.Concurrency {
		// Nobody waits while one is free: release hands a freed connection
		// straight to a waiter.
		p.busy++
		p.mu.Unlock()
		return nil
	}
	lane := bulkLane
	if urgent {
		lane = urgentLane
	}
	ready := make(chan struct{})
	p.waiting[lane] = append(p.waiting[lane], ready)
	p.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		if i := slices.Index(p.waiting[lane], ready); i >= 0 {
			p.waiting[lane] = slices.Delete(p.waiting[lane], i, i+1)
			p.mu.Unlock()
			return ctx.Err()
		}
		p.mu.Unlock()
		p.release() // handed one just as ctx ended: pass it on
		return ctx.Err()
	}
}

// release gives a connection's place to the next waiter, or frees it.
func (p *Pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for lane := range p.waiting {
		if len(p.waiting[lane]) > 0 {
			close(p.waiting[lane][0])
			p.waiting[lane] = p.waiting[lane][1:]
			return
		}
	}
	p.busy--
}

// get returns an open connection, and whether it was used before (then
// the server may have dropped it meanwhile; see Send). One idle for longer
// than MaxIdle is closed rather than reused: the server may be about to
// drop it, or has already, and a failure there would count against the
// message.
func (p *Pool) get(ctx context.Context) (*smtp.Client, bool, error) {
	for {
		select {
		case ic := <-p.idle:
			if p.now().Sub(ic.since) <= p.cfg.MaxIdle {
				return ic.c, true, nil
			}
			p.quit(ic.c)
			continue
		default:
		}
		c, err := p.dial(ctx)
		return c, false, err
	}
}

// quit ends a connection politely, under a short deadline (the server
// may be gone), and closes it whatever the server answers.
func (p *Pool) quit(c *smtp.Client) {
	_ = c.UpdateDeadline(min(p.cfg.Timeout, 5*time.Second))
	if err := c.Quit(); err != nil {
		_ = c.Close()
	}
}

// dial connects, negotiates TLS and signs in. With OAuth the sign-in is
// done here rather than by go-mail, so that the mechanism is chosen from
// what the server offers and a refused token is fetched again once. A
// connection whose sign-in failed is closed: nothing is sent on it.
func (p *Pool) dial(ctx context.Context) (*smtp.Client, error) {
	server := fmt.Sprintf("SMTP server %s:%d", p.cfg.Host, p.cfg.Port)
	if p.cfg.OAuth == nil {
		c, err := p.dialer.DialToSMTPClientWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("smtp connect %s:%d: %w", p.cfg.Host, p.cfg.Port, err)
		}
		return c, nil
	}
	var c *smtp.Client
	err := p.cfg.OAuth.Do(ctx, server, func(token string) error {
		conn, err := p.dialer.DialToSMTPClientWithContext(ctx)
		if err != nil {
			return fmt.Errorf("smtp connect %s:%d: %w", p.cfg.Host, p.cfg.Port, err)
		}
		_, offered := conn.Extension("AUTH")
		mech, err := mailauth.ChooseMechanism(server, strings.Fields(offered))
		if err != nil {
			_ = conn.Close()
			return err
		}
		a := &oauthAuth{sasl: mailauth.NewSASL(mech, p.cfg.Username, token, p.cfg.Host, p.cfg.Port)}
		if err := conn.Auth(a); err != nil {
			_ = conn.Close()
			var tpErr *textproto.Error
			if errors.As(err, &tpErr) && tpErr.Code == 535 {
				// RFC 4954 6: 535 authentication credentials invalid.
				return mailauth.Refused(fmt.Errorf("smtp auth %s as %s: %w", mech, p.cfg.Username, smtpErr(err)))
			}
			return fmt.Errorf("smtp auth %s as %s: %w", mech, p.cfg.Username, err)
		}
		c = conn
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// oauthAuth carries a mailauth SASL client through go-mail's smtp.Auth.
type oauthAuth struct{ sasl *mailauth.Client }

func (a *oauthAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	// A bearer token is a password for its lifetime: not in clear text
	// except to this machine.
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, fmt.Errorf("smtp: refusing to send an OAuth2 token to %s without TLS", server.Name)
	}
	return a.sasl.Start()
}

func (a *oauthAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	resp, err := a.sasl.Next(fromServer)
	var refusal *mailauth.ServerRefusal
	if errors.As(err, &refusal) {
		// XOAUTH2: an empty response lets the server send its 535.
		return []byte{}, nil
	}
	return resp, err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *Pool) put(c *smtp.Client, healthy bool) {
	defer p.release()
	if c == nil {
		return
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !healthy || closed {
		_ = c.Close()
		return
	}
	select {
	case p.idle <- idleConn{c: c, since: p.now()}:
	default:
		p.quit(c)
	}
}

// Close ends every idle connection.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case ic := <-p.idle:
			p.quit(ic.c)
		default:
			return nil
		}
	}
}

// Send runs one SMTP transaction: MAIL, one RCPT per recipient (a refused
// recipient is reported and the others go on), DATA.
func (p *Pool) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	// The connection's turn first, then the rate: waiting for the rate in
	// turn keeps an urgent message behind at most the transactions that
	// hold a connection, not behind every one queued.
	if err := p.acquire(ctx, isUrgent(ctx)); err != nil {
		return nil, err
	}
	if p.limiter != nil {
		// Every recipient counts, in pieces no larger than the bucket: a
		// transaction of 50 under a limit of 10 a second waits 5 seconds,
		// not one.
		for left := len(to); left > 0; {
			k := min(left, p.limiter.Burst())
			if err := p.limiter.WaitN(ctx, k); err != nil {
				p.release()
				return nil, err
			}
			left -= k
		}
	}
	c, reused, err := p.get(ctx)
	if err != nil {
		p.release()
		return nil, err
	}
	healthy := false
	defer func() { p.put(c, healthy) }()
	if err := c.UpdateDeadline(p.cfg.Timeout); err != nil {
		return nil, err
	}
	smtputf8 := needsSMTPUTF8(from, to, msg)
	if ok, _ := c.Extension("PIPELINING"); ok && !p.cfg.NoPipelining {
		perRcpt, err := p.sendPipelined(ctx, &c, reused, &healthy, from, to, msg, smtputf8)
		return perRcpt, err
	}
	c.SkipSMTPUTF8(!smtputf8)
	if err := c.Mail("<" + from + ">"); err != nil {
		var tpErr *textproto.Error
		dropped := !errors.As(err, &tpErr) || tpErr.Code == 421
		if !reused || !dropped {
			healthy = !dropped && c.Reset() == nil
			return nil, smtpErr(err)
		}
		// A pooled connection the server dropped meanwhile: gone (a
		// broken pipe, EOF), or closing with RFC 5321 4.2.3's "421
		// service not available" (Postfix and go-smtp say "4.4.2 Idle
		// timeout"; RFC 5321 3.8). No RCPT was sent, so no one has the
		// message: try once more at once on a fresh connection, within the
		// same delivery attempt (the claim counted it). A failure on the
		// fresh connection is the server's answer, and is reported.
		_ = c.Close()
		if c, err = p.dial(ctx); err != nil {
			c = nil
			return nil, fmt.Errorf("smtp reconnect: %w", err)
		}
		if err := c.UpdateDeadline(p.cfg.Timeout); err != nil {
			return nil, err
		}
		c.SkipSMTPUTF8(!smtputf8)
		if err = c.Mail("<" + from + ">"); err != nil {
			healthy = errors.As(err, &tpErr) && tpErr.Code != 421 && c.Reset() == nil
			return nil, smtpErr(err)
		}
	}
	perRcpt, accepted, err := rcptOneByOne(c, to)
	if err != nil {
		return nil, err // connection lost: the whole transaction is unsent
	}
	if accepted == 0 {
		healthy = c.Reset() == nil
		return perRcpt, nil
	}
	w, err := c.Data()
	if err != nil {
		return perRcpt, smtpErr(err)
	}
	if _, err := w.Write(msg); err != nil {
		return perRcpt, smtpErr(err)
	}
	if err := w.Close(); err != nil {
		var tpErr *textproto.Error
		healthy = errors.As(err, &tpErr) // a reply (e.g. 552) leaves the connection usable
		return perRcpt, smtpErr(err)
	}
	healthy = true
	return perRcpt, nil
}

// sendPipelined runs the transaction as RFC 2920 lets a client when the
// server offers PIPELINING: MAIL, the RCPTs and DATA in one write, their
// replies read together, then the body: two round trips, where one
// command at a time took one per recipient and two more. *cp is the
// connection (replaced when a pooled one turns out dropped); *healthy
// says whether it may go back to the pool.
func (p *Pool) sendPipelined(ctx context.Context, cp **smtp.Client, reused bool, healthy *bool, from string, to []string, msg []byte, smtputf8 bool) ([]error, error) {
	c := *cp
	res, err := pipeline(c, mailCommand(c, from, smtputf8), to)
	if reused && (err != nil || code(res.mail) == 421) {
		// A pooled connection the server dropped meanwhile (see the
		// one-at-a-time path in Send): no body was sent, so no one has
		// the message; once more on a fresh connection.
		_ = c.Close()
		*cp = nil
		if c, err = p.dial(ctx); err != nil {
			return nil, fmt.Errorf("smtp reconnect: %w", err)
		}
		*cp = c
		if err := c.UpdateDeadline(p.cfg.Timeout); err != nil {
			return nil, err
		}
		res, err = pipeline(c, mailCommand(c, from, smtputf8), to)
	}
	if err != nil {
		return nil, err // connection lost before the body: the whole transaction is unsent
	}
	if res.mail != nil || res.accepted == 0 {
		// Nobody will get this one. A server that still said 354 to DATA
		// gets an empty body to end it (RFC 2920 3.1).
		ended := !res.open || endEmpty(c) == nil
		*healthy = ended && code(res.mail) != 421 && c.Reset() == nil
		if res.mail != nil {
			return nil, res.mail
		}
		return res.perRcpt, nil
	}
	if res.data != nil {
		*healthy = c.Reset() == nil
		return res.perRcpt, res.data
	}
	w := c.Text.DotWriter()
	if _, err := w.Write(msg); err != nil {
		return res.perRcpt, err
	}
	if err := w.Close(); err != nil {
		return res.perRcpt, err
	}
	if _, _, err := c.Text.ReadResponse(250); err != nil {
		var tpErr *textproto.Error
		*healthy = errors.As(err, &tpErr) // a reply (e.g. 552) leaves the connection usable
		return res.perRcpt, smtpErr(err)
	}
	*healthy = true
	return res.perRcpt, nil
}

// pipelined is what the server answered to a pipelined MAIL, RCPTs, DATA.
type pipelined struct {
	mail     error   // MAIL refused
	perRcpt  []error // per recipient, nil: accepted
	accepted int
	data     error // DATA refused
	open     bool  // DATA answered 354: a body must follow
}

// pipeline sends MAIL, the RCPTs and DATA, in windows of pipelineWindow
// recipients (MAIL with the first, DATA with the last), and reads every
// reply in order (RFC 2920 3.1). err is a lost connection.
func pipeline(c *smtp.Client, mail string, to []string) (pipelined, error) {
	res := pipelined{perRcpt: make([]error, len(to))}
	if strings.ContainsAny(mail, "\r\n") {
		return res, &SMTPError{Code: 501, Msg: "sender address contains a line break"}
	}
	for start := 0; start == 0 || start < len(to); start += pipelineWindow {
		end := min(start+pipelineWindow, len(to))
		last := end == len(to)
		if start == 0 {
			fmt.Fprintf(c.Text.W, "%s\r\n", mail)
		}
		sent := make([]bool, end-start)
		for i, addr := range to[start:end] {
			// RFC 5321 4.1.1: a command is one line; an address with a
			// line break would smuggle a second command.
			if strings.ContainsAny(addr, "\r\n") {
				res.perRcpt[start+i] = &SMTPError{Code: 501, Msg: "address contains a line break"}
				continue
			}
			fmt.Fprintf(c.Text.W, "RCPT TO:<%s>\r\n", addr)
			sent[i] = true
		}
		if last {
			fmt.Fprintf(c.Text.W, "DATA\r\n")
		}
		if err := c.Text.W.Flush(); err != nil {
			return res, err
		}
		if start == 0 {
			if _, _, err := c.Text.ReadResponse(25); err != nil {
				if !isReply(err) {
					return res, err
				}
				res.mail = smtpErr(err)
			}
		}
		for i, ok := range sent {
			if !ok {
				continue
			}
			if _, _, err := c.Text.ReadResponse(25); err != nil {
				if !isReply(err) {
					return res, err
				}
				res.perRcpt[start+i] = smtpErr(err)
				continue
			}
			if res.mail == nil {
				res.accepted++
			}
		}
		if last {
			if _, _, err := c.Text.ReadResponse(354); err != nil {
				if !isReply(err) {
					return res, err
				}
				res.data = smtpErr(err)
			} else {
				res.open = true
			}
		}
	}
	return res, nil
}

// mailCommand is MAIL FROM with the parameters go-mail's Mail adds for
// what the server offers, SMTPUTF8 only when the transaction needs it.
func mailCommand(c *smtp.Client, from string, smtputf8 bool) string {
	cmd := "MAIL FROM:<" + from + ">"
	if ok, _ := c.Extension("8BITMIME"); ok {
		cmd += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok && smtputf8 {
		cmd += " SMTPUTF8"
	}
	return cmd
}

// needsSMTPUTF8 says whether a transaction carries UTF-8 where only
// SMTPUTF8 allows it (RFC 6531 3.4): in an address of the envelope or in
// the message's header (a UTF-8 body is 8BITMIME's). sitrep encodes its
// headers (RFC 2047), so only an internationalized address asks for it.
// A message flagged SMTPUTF8 needs the extension at every hop after
// this one, and a relay whose next hop does not offer it may bounce it
// or downgrade it: all-ASCII mail is not flagged.
func needsSMTPUTF8(from string, to []string, msg []byte) bool {
	header := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		header = msg[:i]
	}
	if !ascii(from) || !ascii(header) {
		return true
	}
	for _, r := range to {
		if !ascii(r) {
			return true
		}
	}
	return false
}

func ascii[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// endEmpty ends a DATA the server opened when there is nothing to send.
func endEmpty(c *smtp.Client) error {
	if err := c.Text.DotWriter().Close(); err != nil {
		return err
	}
	_, _, err := c.Text.ReadResponse(0)
	if isReply(err) {
		return nil // refused, as it should be: the connection is fine
	}
	return err
}

func isReply(err error) bool {
	var tpErr *textproto.Error
	return errors.As(err, &tpErr)
}

// code is an SMTP reply's code, 0 for anything else.
func code(err error) int {
	var se *SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// rcptOneByOne sends the RCPT commands one at a time, each waiting for
// its reply. It returns one error per recipient (nil: accepted), how many
// were accepted, and an error when the connection failed.
func rcptOneByOne(c *smtp.Client, to []string) ([]error, int, error) {
	perRcpt := make([]error, len(to))
	accepted := 0
	for i, addr := range to {
		if err := c.Rcpt("<" + addr + ">"); err != nil {
			var tpErr *textproto.Error
			if !errors.As(err, &tpErr) {
				return nil, 0, smtpErr(err)
			}
			perRcpt[i] = smtpErr(err)
			continue
		}
		accepted++
	}
	return perRcpt, accepted, nil
}

// pipelineWindow is how many RCPT commands go out before their replies are
// read: few enough that neither side can fill the other's socket buffer
// and block (RFC 2920 3.5).
const pipelineWindow = 100

// smtpErr turns a textproto reply into an *SMTPError; other errors
// (network) stay as they are and count as temporary.
func smtpErr(err error) error {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		return &SMTPError{Code: tpErr.Code, Msg: tpErr.Msg}
	}
	return err
}
