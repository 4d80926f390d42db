package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiCreateToken(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	role, err := auth.ParseRole(r.PostFormValue("role"))
	var plain string
	var tok *auth.Token
	if err == nil {
		plain, tok, err = s.Tokens.Create(r.Context(), r.PostFormValue("name"), role)
	}
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.tokensPage(w, r, sess, web.StatusOf(err), func(d *tokensData, p *page) { p.Error, p.Field = errMessage(err), errField(err) })
	}
	s.Logger.Info("API token created", "token", tok.Name, "role", tok.Role, "by", sess.Account.Email)
	return s.tokensPage(w, r, sess, http.StatusCreated, func(d *tokensData, p *page) {
		d.NewToken, d.NewName = plain, tok.Name
	})
}
