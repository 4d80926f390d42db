package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
)

// smtpSession is a connected, greeted, TLS-secured and logged-in SMTP
// client, or the checks that failed on the way.
type smtpSession struct {
	c     *smtp.Client
	conn  net.Conn
	seen  tlsSeen
	mechs []string
}

// dialSMTP connects, says EHLO and secures the connection as configured.
// step names the step that failed: "connect" or "tls".
func (d *Doctor) dialSMTP(ctx context.Context, s Server) (sess *smtpSession, step string, err error) {
	sess = &smtpSession{}
	dialer := &net.Dialer{Timeout: d.timeout()}
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return nil, "connect", err
	}
	_ = conn.SetDeadline(time.Now().Add(d.timeout()))
	if s.TLS == "tls" {
		tc := tls.Client(conn, s.tlsConfig(&sess.seen))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, "tls", err
		}
		conn = tc
	}
	sess.conn = conn
	// go-mail's client, which the outbox sends with too.
	if sess.c, err = smtp.NewClient(conn, s.Host); err != nil {
		conn.Close()
		return nil, "connect", fmt.Errorf("greeting: %w", err)
	}
	helo := d.Mail.HELO
	if helo == "" {
		helo = "localhost"
	}
	if err := sess.c.Hello(helo); err != nil {
		sess.c.Close()
		return nil, "connect", fmt.Errorf("EHLO: %w", err)
	}
	if s.TLS == "starttls" {
		if ok, _ := sess.c.Extension("STARTTLS"); !ok {
			sess.c.Close()
			return nil, "tls", errors.New("the server does not offer STARTTLS")
		}
		if err := sess.c.StartTLS(s.tlsConfig(&sess.seen)); err != nil {
			sess.c.Close()
			return nil, "tls", err
		}
	}
	if ok, v := sess.c.Extension("AUTH"); ok {
		sess.mechs = strings.Fields(strings.ToUpper(v))
	}
	return sess, "", nil
}

// login authenticates with the configured credentials: an OAuth2 token
// (OAUTHBEARER, else XOAUTH2) when a TokenSource is set; else PLAIN when
// offered, else LOGIN (what the outbox's go-mail picks too).
func (sess *smtpSession) login(ctx context.Context, s Server) error {
	if s.OAuth != nil {
		token, err := s.OAuth.Token(ctx)
		if err != nil {
			return fmt.Errorf("OAuth2 token: %w", err)
		}
		mech, err := mailauth.ChooseMechanism(s.Addr(), sess.mechs)
		if err != nil {
			return err
		}
		return sess.c.Auth(saslAuth{mailauth.NewSASL(mech, s.Username, token, s.Host, s.Port)})
	}
	switch {
	case slices.Contains(sess.mechs, "PLAIN"):
		return sess.c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host, s.TLS == "none"))
	case slices.Contains(sess.mechs, "LOGIN"):
		return sess.c.Auth(smtp.LoginAuth(s.Username, s.Password, s.Host, s.TLS == "none"))
	}
	return fmt.Errorf("the server offers AUTH %s; sitrep logs in with PLAIN or LOGIN", strings.Join(sess.mechs, " "))
}

// saslAuth drives a SASL client (go-sasl's shape) through go-mail's
// smtp.Auth.
type saslAuth struct{ c *mailauth.Client }

func (a saslAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return a.c.Start() }

func (a saslAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	return a.c.Next(fromServer)
}

// checkSMTP checks the relay step by step and reports whether mail can be
// handed to it.
func (d *Doctor) checkSMTP(ctx context.Context, r *Report) bool {
	s := d.Mail.SMTP
	where := s.Addr()
	if s.Sandbox {
		where += " (the built-in sandbox)"
	}
	sess, step, err := d.dialSMTP(ctx, s)
	if err != nil {
		if step == "connect" {
			r.add(Result{Area: "smtp", Name: "SMTP connect", Status: Fail, Detail: "cannot reach " + where + ": " + oneLine(err.Error()),
				Fix: "check mail.smtp.host and mail.smtp.port (587 submission, 465 implicit TLS, 25 relay) and that a firewall lets this machine out"})
			r.add(Result{Area: "smtp", Name: "SMTP TLS", Status: Skip, Detail: "not connected"})
		} else {
			r.add(Result{Area: "smtp", Name: "SMTP connect", Status: OK, Detail: "connected to " + where})
			r.add(Result{Area: "smtp", Name: "SMTP TLS", Status: Fail, Detail: oneLine(err.Error()), Fix: tlsFix("smtp", s, err)})
		}
		r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: Skip, Detail: "not connected"})
		r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: Skip, Detail: "not connected"})
		return false
	}
	defer sess.c.Close()
	r.add(Result{Area: "smtp", Name: "SMTP connect", Status: OK, Detail: "connected to " + where})
	switch {
	case s.TLS != "none":
		r.add(certResult("smtp", "SMTP TLS", s, &sess.seen, time.Now()))
	case s.Sandbox || loopback(s.Host):
		r.add(Result{Area: "smtp", Name: "SMTP TLS", Status: OK, Detail: "plaintext on loopback; nothing crosses a network"})
	default:
		r.add(Result{Area: "smtp", Name: "SMTP TLS", Status: Warn, Detail: "plaintext (mail.smtp.tls: none): the password and every email cross the network readable",
			Fix: "set mail.smtp.tls: starttls (port 587) or tls (port 465)"})
	}

	if !d.checkSMTPAuth(ctx, sess, s, r) {
		r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: Skip, Detail: "not logged in"})
		return false
	}
	ok := d.checkEnvelope(sess, r)
	_ = sess.c.Quit()
	return ok
}

func (d *Doctor) checkSMTPAuth(ctx context.Context, sess *smtpSession, s Server, r *Report) bool {
	offered := "none"
	if len(sess.mechs) > 0 {
		offered = strings.Join(sess.mechs, " ")
	}
	if s.OAuth != nil {
		if err := sess.login(ctx, s); err != nil {
			r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: Fail, Detail: "OAuth2 sign-in as " + s.Username + " failed: " + oneLine(err.Error()) + " (offered: " + offered + ")",
				Fix: "see docs/mail-google-workspace.md or docs/mail-microsoft-365.md for the grant, consent and mailbox permission the error names"})
			return false
		}
		r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: OK, Detail: "signed in as " + s.Username + " with an OAuth2 token (offered: " + offered + ")"})
		return true
	}
	if s.Username == "" {
		r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: OK, Detail: "no login configured: the relay must accept this machine by its address (AUTH offered: " + offered + ")"})
		return true
	}
	if len(sess.mechs) == 0 {
		r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: Fail, Detail: "mail.smtp.username is set but the server offers no AUTH" + map[bool]string{true: "", false: " (many servers offer it only after TLS)"}[s.TLS != "none"],
			Fix: "use the submission port (587 with starttls, or 465 with tls) where AUTH is offered, or remove mail.smtp.username for a relay that accepts by address"})
		return false
	}
	if err := sess.login(ctx, s); err != nil {
		r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: Fail, Detail: "login as " + s.Username + " refused: " + oneLine(err.Error()) + " (offered: " + offered + ")",
			Fix: "check mail.smtp.username and mail.smtp.password; Google Workspace needs an app password or OAuth2, Microsoft 365 needs SMTP AUTH enabled for the mailbox (Exchange admin center → mailbox → Manage email apps → Authenticated SMTP)"})
		return false
	}
	r.add(Result{Area: "smtp", Name: "SMTP AUTH", Status: OK, Detail: "logged in as " + s.Username + " (offered: " + offered + ")"})
	return true
}

func (d *Doctor) envelopeFrom() string {
	if d.Mail.EnvelopeFrom != "" {
		return d.Mail.EnvelopeFrom
	}
	return d.Mail.From
}

// checkEnvelope tries MAIL FROM (the outbox's kind of bounce address) and RCPT TO the reply address, plain and
// plus-addressed, then RSET: nothing is sent.
func (d *Doctor) checkEnvelope(sess *smtpSession, r *Report) bool {
	m := d.Mail
	sender := d.envelopeFrom()
	if err := sess.c.Mail(sender); err != nil {
		r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: Fail, Detail: "MAIL FROM:<" + sender + "> refused: " + oneLine(err.Error()),
			Fix: "the relay must let this login send as " + sender + " (the bounce address of every transaction) and as " + m.From +
				" (Google: send-as alias; Microsoft 365: Send As permission on that mailbox; Postfix: smtpd_sender_login_maps with a recipient_delimiter)"})
		return false
	}
	plain := m.ReplyLocalPart + "@" + m.Domain
	plus := m.ReplyLocalPart + "+probe-rcptcheck@" + m.Domain
	errPlain := sess.c.Rcpt(plain)
	errPlus := sess.c.Rcpt(plus)
	_ = sess.c.Reset()
	switch {
	case errPlain != nil && errPlus != nil:
		r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: Fail, Detail: "RCPT TO:<" + plain + "> refused: " + oneLine(errPlain.Error()),
			Fix: "create the mailbox or alias " + plain + " (replies go to " + m.ReplyLocalPart + "+<token>@" + m.Domain + "), or set mail.reply_local_part and mail.domain to one that exists"})
		return false
	case errPlus != nil:
		r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: Fail, Detail: "the relay accepts <" + plain + "> but refuses the plus address <" + plus + ">: " + oneLine(errPlus.Error()),
			Fix: "turn plus-addressing on: Postfix recipient_delimiter = +; Microsoft 365: Set-OrganizationConfig -DisablePlusAddressInRecipients $false; Google Workspace has it on"})
		return false
	case errPlain != nil:
		r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: Warn, Detail: "<" + plus + "> accepted but <" + plain + "> refused: " + oneLine(errPlain.Error()),
			Fix: "replies carry a token and will arrive; give " + plain + " a mailbox too, for people who write to it without one"})
		return true
	}
	r.add(Result{Area: "smtp", Name: "SMTP envelope", Status: OK,
		Detail: "MAIL FROM:<" + sender + ">, RCPT TO:<" + plain + "> and <" + plus + "> accepted; RSET, nothing sent"})
	return true
}
