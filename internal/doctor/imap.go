package doctor

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
)

// dialIMAP connects and secures the connection as configured; step names
// what failed: "connect" or "tls".
func (d *Doctor) dialIMAP(ctx context.Context, s Server, seen *tlsSeen) (*imapclient.Client, string, error) {
	dialer := &net.Dialer{Timeout: d.timeout()}
	// A plain TCP connection first, so that an unreachable server and a
	// TLS problem are told apart.
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return nil, "connect", err
	}
	conn.Close()
	opts := &imapclient.Options{TLSConfig: s.tlsConfig(seen), Dialer: dialer}
	var c *imapclient.Client
	switch s.TLS {
	case "none":
		c, err = imapclient.DialInsecure(s.Addr(), opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(s.Addr(), opts)
	default:
		c, err = imapclient.DialTLS(s.Addr(), opts)
	}
	if err != nil {
		if s.TLS == "none" {
			return nil, "connect", err
		}
		return nil, "tls", err
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, "connect", err
	}
	return c, "", nil
}

// loginIMAP logs in with the configured credentials, or with an OAuth2
// token (OAUTHBEARER, else XOAUTH2) when a TokenSource is set.
func loginIMAP(ctx context.Context, c *imapclient.Client, s Server) error {
	if s.OAuth == nil {
		return c.Login(s.Username, s.Password).Wait()
	}
	token, err := s.OAuth.Token(ctx)
	if err != nil {
		return fmt.Errorf("OAuth2 token: %w", err)
	}
	var offered []string
	for cp := range c.Caps() {
		if m, ok := strings.CutPrefix(string(cp), "AUTH="); ok {
			offered = append(offered, m)
		}
	}
	mech, err := mailauth.ChooseMechanism(s.Addr(), offered)
	if err != nil {
		return err
	}
	return c.Authenticate(mailauth.NewSASL(mech, s.Username, token, s.Host, s.Port))
}

// checkIMAP checks the mailbox sitrep reads replies from, step by step,
// and reports whether it can be read.
func (d *Doctor) checkIMAP(ctx context.Context, r *Report) bool {
	s := d.Mail.IMAP
	names := []string{"IMAP connect", "IMAP TLS", "IMAP AUTH", "IMAP mailbox", "IMAP IDLE"}
	skipRest := func(from int, why string) {
		for _, n := range names[from:] {
			r.add(Result{Area: "imap", Name: n, Status: Skip, Detail: why})
		}
	}
	if s.Host == "" {
		r.add(Result{Area: "imap", Name: "IMAP connect", Status: Fail, Detail: "no mailbox configured: replies, questions and bounces are never read",
			Fix: "set mail.imap.host, username and password to the mailbox that " + d.Mail.ReplyLocalPart + "@" + d.Mail.Domain + " delivers to"})
		skipRest(1, "no mailbox configured")
		return false
	}
	where := s.Addr()
	if s.Sandbox {
		where += " (the built-in sandbox)"
	}
	var seen tlsSeen
	c, step, err := d.dialIMAP(ctx, s, &seen)
	if err != nil {
		if step == "connect" {
			r.add(Result{Area: "imap", Name: "IMAP connect", Status: Fail, Detail: "cannot reach " + where + ": " + oneLine(err.Error()),
				Fix: "check mail.imap.host and mail.imap.port (993 with tls, 143 with starttls) and that a firewall lets this machine out"})
			skipRest(1, "not connected")
			return false
		}
		r.add(Result{Area: "imap", Name: "IMAP connect", Status: OK, Detail: "connected to " + where})
		r.add(Result{Area: "imap", Name: "IMAP TLS", Status: Fail, Detail: oneLine(err.Error()), Fix: tlsFix("imap", s, err)})
		skipRest(2, "not connected")
		return false
	}
	defer c.Close()
	// imapclient has no contexts: closing the connection ends a blocked call.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r.add(Result{Area: "imap", Name: "IMAP connect", Status: OK, Detail: "connected to " + where})
	switch {
	case s.TLS != "none":
		r.add(certResult("imap", "IMAP TLS", s, &seen, time.Now()))
	case s.Sandbox || loopback(s.Host):
		r.add(Result{Area: "imap", Name: "IMAP TLS", Status: OK, Detail: "plaintext on loopback; nothing crosses a network"})
	default:
		r.add(Result{Area: "imap", Name: "IMAP TLS", Status: Warn, Detail: "plaintext (mail.imap.tls: none): the password and every reply cross the network readable",
			Fix: "set mail.imap.tls: tls (port 993) or starttls (port 143)"})
	}

	caps := c.Caps()
	var mechs []string
	for cp := range caps {
		if m, ok := strings.CutPrefix(string(cp), "AUTH="); ok {
			mechs = append(mechs, m)
		}
	}
	offered := strings.Join(mechs, " ")
	if offered == "" {
		offered = "LOGIN only"
	}
	if caps.Has(imap.CapLoginDisabled) && s.OAuth == nil {
		r.add(Result{Area: "imap", Name: "IMAP AUTH", Status: Fail, Detail: "the server refuses LOGIN here (LOGINDISABLED; offered: " + offered + ")",
			Fix: "use TLS (mail.imap.tls: tls or starttls); Microsoft 365 refuses passwords for IMAP altogether: OAuth2"})
		skipRest(3, "not logged in")
		return false
	}
	if err := loginIMAP(ctx, c, s); err != nil {
		fix := "check mail.imap.username and mail.imap.password; Google Workspace needs an app password or OAuth2, Microsoft 365 needs OAuth2 for IMAP"
		if s.OAuth != nil {
			fix = "check mail.oauth against docs/mail-google-workspace.md or docs/mail-microsoft-365.md: the mailbox, the scope, and that the app may open this mailbox"
		}
		r.add(Result{Area: "imap", Name: "IMAP AUTH", Status: Fail, Detail: "login as " + s.Username + " refused: " + oneLine(err.Error()) + " (offered: " + offered + ")",
			Fix: fix})
		skipRest(3, "not logged in")
		return false
	}
	how := ""
	if s.OAuth != nil {
		how = " with an OAuth2 token"
	}
	r.add(Result{Area: "imap", Name: "IMAP AUTH", Status: OK, Detail: "logged in as " + s.Username + how + " (offered: " + offered + ")"})

	mailbox := d.mailbox()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		r.add(Result{Area: "imap", Name: "IMAP mailbox", Status: Fail, Detail: "cannot open " + mailbox + ": " + oneLine(err.Error()),
			Fix: "mail.imap.mailbox must name a folder that exists; this account has: " + listMailboxes(c)})
		skipRest(4, "no mailbox")
		return false
	}
	detail := mailbox + " holds " + itoa(int(sel.NumMessages)) + " message(s)"
	if d.Mail.MoveTo != "" {
		if _, err := c.Status(d.Mail.MoveTo, &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
			r.add(Result{Area: "imap", Name: "IMAP mailbox", Status: Fail, Detail: detail + ", but mail.imap.move_to " + d.Mail.MoveTo + " cannot be opened: " + oneLine(err.Error()),
				Fix: "create the folder " + d.Mail.MoveTo + " or empty mail.imap.move_to; this account has: " + listMailboxes(c)})
			skipRest(4, "no mailbox")
			return false
		}
		detail += "; processed mail moves to " + d.Mail.MoveTo
	}
	r.add(Result{Area: "imap", Name: "IMAP mailbox", Status: OK, Detail: detail})
	if caps.Has(imap.CapIdle) {
		r.add(Result{Area: "imap", Name: "IMAP IDLE", Status: OK, Detail: "IDLE offered: replies are read as they arrive"})
	} else {
		r.add(Result{Area: "imap", Name: "IMAP IDLE", Status: Warn, Detail: "the server does not offer IDLE (RFC 2177): sitrep polls instead, so replies are seen later",
			Fix: "nothing is broken; if the provider can turn IDLE on, replies arrive within seconds"})
	}
	_ = c.Logout().Wait()
	return true
}

func (d *Doctor) mailbox() string {
	if d.Mail.Mailbox == "" {
		return "INBOX"
	}
	return d.Mail.Mailbox
}

func listMailboxes(c *imapclient.Client) string {
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return "(the list failed: " + oneLine(err.Error()) + ")"
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Mailbox)
	}
	return joinMax(names, ", ", 15)
}
