package ui

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

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
	f, err := readReplyForm(r, env)
	if err != nil {
		return err
	}
	toAddr, subject, body := f.To, f.Subject, f.Body

	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Name: name, Address: owner}})
	h.SetAddressList("To", []*mail.Address{toAddr})
	h.SetSubject(subject)
	if err := h.GenerateMessageIDWithHostname(s.Sandbox.Domain()); err != nil {
		return fmt.Errorf("ui: reply message-id: %w", err)
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
		return fmt.Errorf("ui: reply: %w", err)
	}
	if _, err := wc.Write([]byte(strings.ReplaceAll(body, "\r\n", "\n"))); err != nil {
		return fmt.Errorf("ui: reply: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("ui: reply: %w", err)
	}
	if err := s.Sandbox.Deliver(r.Context(), owner, []string{toAddr.Address}, buf.Bytes()); err != nil {
		return err
	}
	s.Logger.Info("sandbox reply delivered", "from", owner, "to", toAddr.Address, "by", sess.Account.Email)
	http.Redirect(w, r, "/sandbox/"+url.PathEscape(owner)+"/"+url.PathEscape(msg.ID)+"?replied="+url.QueryEscape(toAddr.Address), http.StatusSeeOther)
	return nil
}
