package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiRevokeToken(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	if err := s.Tokens.Revoke(r.Context(), id); err != nil {
		return err
	}
	s.Logger.Info("API token revoked", "id", id, "by", sess.Account.Email)
	return s.tokensPage(w, r, sess, http.StatusOK, func(d *tokensData, p *page) { p.Notice = "Token revoked." })
}
