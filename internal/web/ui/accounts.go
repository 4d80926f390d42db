package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

type accountsData struct {
	Accounts []auth.Account
	Disabled []auth.Account
	Self     int64 // the signed-in admin, who cannot disable themselves
	Roles    []auth.Role
	// Shown once: the password of an account just created or reset.
	NewPassword, NewPasswordFor string
	Form                        struct{ Email, Name, Role string }
}

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*accountsData, *page)) error {
	list, err := s.Accounts.List(r.Context())
	if err != nil {
		return err
	}
	disabled, err := s.Accounts.Disabled(r.Context())
	if err != nil {
		return err
	}
	d := &accountsData{Accounts: list, Disabled: disabled, Self: sess.Account.ID, Roles: []auth.Role{auth.Admin, auth.Lead, auth.Viewer}}
	d.Form.Role = string(auth.Lead)
	p := s.newPage(r, sess, "Accounts", "accounts")
	if fill != nil {
		fill(d, p)
	}
	p.Data = d
	return s.render(w, status, "accounts", p)
}

func (s *Server) uiAccounts(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.accountsPage(w, r, sess, http.StatusOK, nil)
}
