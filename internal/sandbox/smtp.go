package sandbox

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/authres"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// envelope is what the sandbox knows of a message beyond its bytes.
type envelope struct {
	from     string   // MAIL FROM, "" for the null sender
	rcpts    []string // RCPT TO, as given
	helo     string   // EHLO name; "" for Deliver
	remoteIP string   // "" for Deliver
	// authUser is the account that passed SMTP AUTH, or for Deliver the
	// sender the web UI writes as; "" when nobody authenticated.
	authUser string
}

// deliver stores one copy of raw in the INBOX of each recipient's account,
// creating accounts as needed: the sandbox accepts everything. Recipients
// that fold into the same account (status+a@ and status+b@) get one copy.
// It returns after every copy is durable.
func (s *Sandbox) deliver(ctx context.Context, env envelope, raw []byte) error {
	if int64(len(raw)) > s.cfg.MaxMessageBytes {
		return errs.E(errs.TooLarge, "message of %d bytes is over the sandbox limit of %d", len(raw), s.cfg.MaxMessageBytes)
	}
	type target struct{ account, rcpt string }
	var targets []target
	seen := make(map[string]bool)
	for _, rcpt := range env.rcpts {
		addr, err := s.normalizeAddress(rcpt)
		if err != nil {
			return errs.InvalidField("to", "%v", err)
		}
		if !seen[addr] {
			seen[addr] = true
			targets = append(targets, target{addr, s.displayRcpt(rcpt)})
		}
	}
	if len(targets) == 0 {
		return errs.InvalidField("to", "at least one recipient is required")
	}

	raw = stripAuthResults(toCRLF(raw), AuthServID)
	id := newDeliveryID()
	now := time.Now()
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		acct, created, err := s.store.ensure(t.account, "")
		if err != nil {
			return err
		}
		if created {
			s.log.Info("sandbox: mailbox created for a recipient not in the directory", "email", t.account, "id", id)
		}
		inbox, err := acct.mailbox(inboxName)
		if err != nil {
			return errs.E(errs.Internal, "sandbox: %s has no INBOX", t.account)
		}
		msg := append(s.traceHeader(env, id, t.rcpt, now), raw...)
		ad, err := inbox.append(msg, nil, now)
		if err != nil {
			return err
		}
		s.log.Info("sandbox: delivered", "id", id, "from", env.from, "rcpt", t.rcpt, "mailbox", t.account,
			"uid", ad.UID, "bytes", len(msg), "auth", env.authUser)
	}
	return nil
}

// displayRcpt is the recipient as the Delivered-To and Received headers
// show it: the address given, subaddress kept, the domain filled in.
func (s *Sandbox) displayRcpt(rcpt string) string {
	rcpt = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(rcpt), "<"), ">")
	if !strings.Contains(rcpt, "@") {
		rcpt += "@" + s.cfg.Domain
	}
	return headerSafe(rcpt)
}

// traceHeader returns the header fields the sandbox prepends to a copy,
// newest first as trace fields go (RFC 5321 4.4): Delivered-To as a
// delivery agent adds it, then Authentication-Results, then Received.
//
// The Authentication-Results field is written on every copy, stating
// auth=pass with the account (smtp.auth) or auth=none: the reader believes
// only the topmost results from a trusted id, so the sandbox's own must
// always be there on top, whatever sits below.
func (s *Sandbox) traceHeader(env envelope, id, rcpt string, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("Delivered-To: " + rcpt + "\r\n")
	b.WriteString("Authentication-Results: " + AuthServID + "; ")
	if env.authUser != "" {
		b.WriteString("auth=pass smtp.auth=" + propValue(env.authUser))
	} else {
		b.WriteString("auth=none")
	}
	if env.from != "" {
		b.WriteString(" smtp.mailfrom=" + propValue(env.from))
	}
	b.WriteString("\r\n")
	b.WriteString("Received: ")
	if env.remoteIP != "" {
		protocol := "ESMTP"
		if env.authUser != "" {
			protocol = "ESMTPA" // RFC 3848
		}
		b.WriteString("from " + headerSafe(env.helo) + " ([" + headerSafe(env.remoteIP) + "])\r\n\tby " +
			s.hostname + " (" + AuthServID + ") with " + protocol + " id " + id)
	} else {
		b.WriteString("by " + s.hostname + " (" + AuthServID + ", submitted in-process) id " + id)
	}
	b.WriteString("\r\n\tfor <" + rcpt + ">; " + now.Format(time.RFC1123Z) + "\r\n")
	return b.Bytes()
}

// propValue writes a pvalue (RFC 8601 2.2) that reads back as v: plain
// when it is a simple address, quoted otherwise.
func propValue(v string) string {
	plain := v != ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>,;:\"/[]?=`, c) >= 0 {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range headerSafe(v) {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
	return b.String()
}

// headerSafe keeps client-supplied text from breaking a header line.
func headerSafe(v string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, v)
}

// toCRLF turns bare LF line endings into CRLF, as RFC 5322 2.3 requires
// and IMAP clients expect.
func toCRLF(raw []byte) []byte {
	bare := false
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			bare = true
			break
		}
	}
	if !bare {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(raw)/32)
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// stripAuthResults removes Authentication-Results fields that could be
// taken for the sandbox's own from the message header: RFC 8601 5 has a
// border MTA delete such fields from incoming mail, or anyone could forge
// the sandbox's verdict. It reads them with package authres, the parser the
// inbox believes them with, and removes more rather than less: every field
// that names authServID in any spelling (in a comment, quoted, escaped) or
// that does not parse at all.
func stripAuthResults(raw []byte, authServID string) []byte {
	var out []byte // nil until a field is dropped
	pos := 0
	for pos < len(raw) {
		end := fieldEnd(raw, pos)
		line := raw[pos:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // the empty line ending the header
		}
		drop := false
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && isAuthResultsName(name) {
			v := strings.TrimRight(string(value), "\r\n")
			id, err := authres.AuthServID(v)
			drop = err != nil || authres.EqualID(id, authServID) || authres.Names(v, authServID)
		}
		if drop && out == nil {
			out = append(make([]byte, 0, len(raw)), raw[:pos]...)
		} else if !drop && out != nil {
			out = append(out, line...)
		}
		pos = end
	}
	if out == nil {
		return raw
	}
	return append(out, raw[pos:]...)
}

// isAuthResultsName matches the field name loosely (any case, white space
// around it, Unicode case folding): a reader more lenient than this one
// must not find a field this one missed.
func isAuthResultsName(name []byte) bool {
	return strings.EqualFold(strings.TrimSpace(string(name)), "Authentication-Results")
}

// fieldEnd returns the end of the header field starting at pos, including
// its folded continuation lines (RFC 5322 2.2.3).
func fieldEnd(raw []byte, pos int) int {
	for {
		i := bytes.IndexByte(raw[pos:], '\n')
		if i < 0 {
			return len(raw)
		}
		pos += i + 1
		if pos >= len(raw) || (raw[pos] != ' ' && raw[pos] != '\t') {
			return pos
		}
	}
}

// smtpSession is one SMTP connection.
type smtpSession struct {
	sb       *Sandbox
	helo     func() string
	remoteIP string
	loopback bool
	authUser string
	from     string
	rcpts    []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *Sandbox) newSMTPSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &smtpSession{sb: s, helo: c.Hostname}
	if addr, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		sess.remoteIP = addr.IP.String()
		sess.loopback = addr.IP.IsLoopback()
	}
	return sess, nil
}

func (sess *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth accepts AUTH PLAIN for any sandbox account with the sandbox
// password, so a client configured with credentials works too.
func (sess *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		email, ok := sess.sb.loginAddress(username)
		known := ok && sess.sb.store.account(email) != nil
		passOK := subtle.ConstantTimeCompare([]byte(password), []byte(sess.sb.cfg.Password)) == 1
		if !known || !passOK || (identity != "" && identity != username) {
			sess.sb.log.Info("sandbox: smtp auth refused", "user", username, "remote", sess.remoteIP)
			return smtp.ErrAuthFailed
		}
		sess.authUser = email
		return nil
	}), nil
}

func (sess *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !sess.loopback && sess.authUser == "" {
		// Anyone may reach a sandbox bound beyond loopback; make them
		// at least know the password.
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if from != "" {
		if _, err := sess.sb.normalizeAddress(from); err != nil {
			return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Bad sender address"}
		}
	}
	sess.from = from
	return nil
}

func (sess *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := sess.sb.normalizeAddress(to); err != nil {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address"}
	}
	sess.rcpts = append(sess.rcpts, to)
	return nil
}

func (sess *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // smtp.ErrDataTooLarge becomes 552
	}
	env := envelope{
		from:     sess.from,
		rcpts:    sess.rcpts,
		helo:     sess.helo(),
		remoteIP: sess.remoteIP,
		authUser: sess.authUser,
	}
	err = sess.sb.deliver(context.Background(), env, raw)
	switch {
	case err == nil:
		return nil
	case errs.Is(err, errs.TooLarge):
		return smtp.ErrDataTooLarge
	case errs.Is(err, errs.Invalid):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	default:
		sess.sb.log.Error("sandbox: delivery failed", "from", sess.from, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Delivery failed, try again later"}
	}
}

func (sess *smtpSession) Reset() {
	sess.from, sess.rcpts = "", nil
}

func (sess *smtpSession) Logout() error { return nil }
