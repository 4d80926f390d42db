package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiResetPassword(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	acc, err := s.Accounts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	pw, err := auth.NewPassword()
	if err != nil {
		return err
	}
	if err := s.Accounts.SetPassword(r.Context(), id, pw); err != nil {
		return err
	}
	s.Logger.Info("account password reset", "account", acc.Email, "by", sess.Account.Email)
	if acc.ID == sess.Account.ID {
		// Resetting one's own password ends one's own session too.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
		p.Notice = "Password of " + acc.Email + " reset; their sessions are signed out."
		d.NewPassword, d.NewPasswordFor = pw, acc.Email
	})
}
