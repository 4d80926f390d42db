package ui

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

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
