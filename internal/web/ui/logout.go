package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	if c, err := r.Cookie(web.SessionCookie); err == nil {
		if err := s.Sessions.End(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: web.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.Secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
