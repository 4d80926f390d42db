package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/jhillyerd/enmime/v2"
	"github.com/microcosm-cc/bluemonday"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

// The mail sandbox pages let a newcomer read every mailbox of the embedded
// sandbox as a mail client would, and answer as any person, so that the
// whole loop (declare, update, reply) runs on one machine.

// mailPolicy is what survives of a message's HTML: formatting and inline
// styles (status emails are styled inline for Gmail and Outlook), no
// scripts, no forms, no remote images. The HTML is also served in a
// sandboxed iframe under its own strict CSP: two locks, not one.
var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowStyles("color", "background-color", "background", "font-size", "font-weight", "font-family", "font-style",
		"text-align", "text-decoration", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
		"padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border", "border-left",
		"border-bottom", "border-top", "border-right", "border-radius", "border-collapse", "width", "max-width",
		"line-height", "display", "vertical-align", "white-space").Globally()
	p.AllowAttrs("width", "height", "align", "valign", "bgcolor", "cellpadding", "cellspacing", "border").Globally()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

func (s *Server) needSandbox() (*sandbox.Sandbox, error) {
	if s.Sandbox == nil {
		return nil, errs.E(errs.NotFound, "the mail sandbox runs only in the embedded default (no SMTP server configured)")
	}
	return s.Sandbox, nil
}

type sandboxData struct {
	Mailboxes []sandbox.Mailbox
	Domain    string
}

func (s *Server) uiSandbox(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	sb, err := s.needSandbox()
	if err != nil {
		return err
	}
	p := s.newPage(r, sess, "Mail sandbox", "sandbox")
	p.Data = &sandboxData{Mailboxes: sb.Mailboxes(), Domain: sb.Domain()}
	return s.render(w, http.StatusOK, "sandbox", p)
}

type mailboxData struct {
	Email, Name string
	Messages    []sandbox.Message
}

func (s *Server) uiMailbox(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	sb, err := s.needSandbox()
	if err != nil {
		return err
	}
	email := r.PathValue("email")
	msgs, err := sb.Messages(r.Context(), email)
	if err != nil {
		return err
	}
	d := &mailboxData{Email: email, Messages: msgs}
	for _, m := range sb.Mailboxes() {
		if strings.EqualFold(m.Email, email) {
			d.Name = m.Name
		}
	}
	p := s.newPage(r, sess, "Mailbox of "+email, "sandbox")
	p.Data = d
	return s.render(w, http.StatusOK, "mailbox", p)
}

type header struct{ Name, Value string }

type mailData struct {
	Mailbox string
	Msg     *sandbox.Message
	Headers []header
	Text    string
	HasHTML bool
	Reply   struct {
		To, Subject, Body string
	}
	Problems []string
}

func (s *Server) readMail(r *http.Request) (*sandbox.Message, *enmime.Envelope, error) {
	sb, err := s.needSandbox()
	if err != nil {
		return nil, nil, err
	}
	msg, err := sb.Message(r.Context(), r.PathValue("email"), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(msg.Raw))
	if err != nil {
		return msg, nil, errs.E(errs.Invalid, "the message does not parse as MIME: %v", err)
	}
	return msg, env, nil
}

func (s *Server) uiMail(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	msg, env, err := s.readMail(r)
	if err != nil {
		return err
	}
	d := &mailData{Mailbox: r.PathValue("email"), Msg: msg, Text: env.Text, HasHTML: strings.TrimSpace(env.HTML) != ""}
	for _, h := range []string{"From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "List-Id", "Authentication-Results"} {
		if v := env.GetHeader(h); v != "" {
			d.Headers = append(d.Headers, header{h, v})
		}
	}
	for _, e := range env.Errors {
		d.Problems = append(d.Problems, e.Error())
	}
	d.Reply.To = replyAddress(env)
	d.Reply.Subject = replySubject(env.GetHeader("Subject"))
	d.Reply.Body = "\n\n" + quote(env.GetHeader("From"), msg.Date, env.Text)
	p := s.newPage(r, sess, msg.Subject, "sandbox")
	p.Data = d
	return s.render(w, http.StatusOK, "mail", p)
}

// uiMailHTML serves a message's HTML part, sanitised, for the iframe of
// the message page. Its CSP forbids scripts, plugins and any fetch: even
// something bluemonday missed could not run or call home.
func (s *Server) uiMailHTML(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	_, env, err := s.readMail(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, err = fmt.Fprintf(w, "<!doctype html><meta charset=\"utf-8\"><base target=\"_blank\">%s", mailPolicy.Sanitize(env.HTML))
	return err
}

// replyAddress is where a reply goes: Reply-To, else From (RFC 5322 3.6.2).
func replyAddress(env *enmime.Envelope) string {
	for _, h := range []string{"Reply-To", "From"} {
		if l, err := env.AddressList(h); err == nil && len(l) > 0 {
			return l[0].Address
		}
	}
	return ""
}

func replySubject(subject string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(subject)), "re:") {
		return subject
	}
	return "Re: " + subject
}

// quote is the quoted history a mail client puts under a reply.
func quote(from string, at time.Time, text string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "On %s, %s wrote:\n", at.UTC().Format("Mon, 2 Jan 2006 at 15:04 MST"), from)
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			b.WriteString(">\n")
		} else {
			b.WriteString("> " + line + "\n")
		}
	}
	return b.String()
}

// uiMailReply writes a reply as the owner of the mailbox and delivers it
// through the sandbox, which vouches for it (Authentication-Results) since
// the From: and the envelope sender are the same person.
func (s *Server) uiMailReply(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	msg, env, err := s.readMail(r)
	if err != nil {
		return err
	}
	owner := strings.ToLower(r.PathValue("email"))
	name := ""
	for _, m := range s.Sandbox.Mailboxes() {
		if strings.EqualFold(m.Email, owner) {
			name = m.Name
		}
	}
	to := strings.TrimSpace(r.PostFormValue("to"))
	if to == "" {
		to = replyAddress(env)
	}
	toAddr, err := mail.ParseAddress(to)
	if err != nil {
		return errs.InvalidField("to", "not an address: %q", to)
	}
	body := r.PostFormValue("body")
	if strings.TrimSpace(body) == "" {
		return errs.InvalidField("body", "write something to send")
	}
	subject := strings.TrimSpace(r.PostFormValue("subject"))
	if subject == "" {
		subject = replySubject(env.GetHeader("Subject"))
	}
	if strings.ContainsAny(subject, "\r\n") {
		return errs.InvalidField("subject", "must be one line")
	}

	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Name: name, Address: owner}})
	h.SetAddressList("To", []*mail.Address{toAddr})
	h.SetSubject(subject)
	if err := h.GenerateMessageIDWithHostname(s.Sandbox.Domain()); err != nil {
		return fmt.Errorf("web: reply message-id: %w", err)
	}
	// RFC 5322 3.6.4: In-Reply-To is the parent's Message-ID; References
	// is the parent's References (or In-Reply-To) followed by its Message-ID.
	ph := mail.HeaderFromMap(env.Root.Header)
	if parent, err := ph.MessageID(); err == nil && parent != "" {
		refs, _ := ph.MsgIDList("References")
		if len(refs) == 0 {
			refs, _ = ph.MsgIDList("In-Reply-To")
		}
		h.SetMsgIDList("In-Reply-To", []string{parent})
		h.SetMsgIDList("References", append(refs, parent))
	}
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	wc, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return fmt.Errorf("web: reply: %w", err)
	}
	if _, err := wc.Write([]byte(strings.ReplaceAll(body, "\r\n", "\n"))); err != nil {
		return fmt.Errorf("web: reply: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("web: reply: %w", err)
	}
	if err := s.Sandbox.Deliver(r.Context(), owner, []string{toAddr.Address}, buf.Bytes()); err != nil {
		return err
	}
	s.Logger.Info("sandbox reply delivered", "from", owner, "to", toAddr.Address, "by", sess.Account.Email)
	http.Redirect(w, r, "/sandbox/"+url.PathEscape(owner)+"/"+url.PathEscape(msg.ID)+"?replied="+url.QueryEscape(toAddr.Address), http.StatusSeeOther)
	return nil
}
