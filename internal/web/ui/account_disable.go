package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// uiSetDisabled disables an account (its sessions end at once) or enables it.
func (s *Server) uiSetDisabled(disabled bool) handler {
	return func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
		id, err := pathID(r, "account")
		if err != nil {
			return err
		}
		acc, err := s.Accounts.SetDisabled(r.Context(), sess.Account.ID, id, disabled)
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
				return err
			}
			return s.accountsPage(w, r, sess, web.StatusOf(err), func(d *accountsData, p *page) { p.Error = errMessage(err) })
		}
		verb := map[bool]string{true: "disabled", false: "enabled"}[disabled]
		s.Logger.Info("account "+verb, "account", acc.Email, "by", sess.Account.Email)
		return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
			p.Notice = "Account " + acc.Email + " " + verb + "."
			if disabled {
				p.Notice += " Its sessions have ended; it cannot sign in, by password or single sign-on."
			}
		})
	}
}
