package ui

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	f := readLoginForm(r)
	d := loginData{Next: f.Next, Email: f.Email}
	if !s.limiter.Allow(s.ClientIP(r), strings.ToLower(f.Email)) {
		return s.renderLogin(w, r, http.StatusTooManyRequests, d, "Too many sign-in attempts. Wait a minute and try again.")
	}
	acc, err := s.Accounts.Authenticate(r.Context(), f.Email, f.Password)
	if errs.CodeOf(err) == errs.Unauthorized {
		return s.renderLogin(w, r, http.StatusUnauthorized, d, "Wrong email or password.")
	}
	if err != nil {
		return err
	}
	return s.signIn(w, r, acc, d.Next, "password")
}

// signIn starts a session for acc, sets its cookie and sends the browser
// on to next: the one way in, after a password or a single sign-on.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, acc *auth.Account, next, method string) error {
	cookie, sess, err := s.Sessions.Start(r.Context(), acc)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: web.SessionCookie, Value: cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.Secure(r), Expires: sess.ExpiresAt})
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1})
	s.Logger.Info("signed in", "account", acc.Email, "method", method, "ip", s.ClientIP(r))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}
