package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiCreateAccount(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	f := readAccountForm(r)
	pw := f.Password
	generated := pw == ""
	if generated {
		var err error
		if pw, err = auth.NewPassword(); err != nil {
			return err
		}
	}
	acc, err := s.Accounts.Create(r.Context(), f.Email, f.Name, auth.Role(f.Role), pw)
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.accountsPage(w, r, sess, web.StatusOf(err), func(d *accountsData, p *page) {
			d.Form.Email, d.Form.Name, d.Form.Role = f.Email, f.Name, f.Role
			p.Error, p.Field = errMessage(err), errField(err)
		})
	}
	s.Logger.Info("account created", "account", acc.Email, "role", acc.Role, "by", sess.Account.Email)
	return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
		p.Notice = "Account " + acc.Email + " created."
		if generated {
			d.NewPassword, d.NewPasswordFor = pw, acc.Email
		}
	})
}
