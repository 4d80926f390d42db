package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiSetRole(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	acc, err := s.Accounts.SetRole(r.Context(), id, auth.Role(r.PostFormValue("role")))
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.accountsPage(w, r, sess, web.StatusOf(err), func(d *accountsData, p *page) { p.Error = errMessage(err) })
	}
	s.Logger.Info("account role changed", "account", acc.Email, "role", acc.Role, "by", sess.Account.Email)
	return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
		p.Notice = acc.Email + " is now " + string(acc.Role) + "."
	})
}
