package ui

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

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
	if to := r.URL.Query().Get("replied"); to != "" {
		// After "Send reply" the page is the same message again: say it went.
		p.Notice = "Reply sent to " + to + " as " + d.Mailbox + ". sitrep reads it like any email: it shows on the incident page once the inbox has fetched it."
	}
	p.Data = d
	return s.render(w, http.StatusOK, "mail", p)
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
