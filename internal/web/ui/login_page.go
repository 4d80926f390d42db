package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

type loginData struct {
	Next, Email string
	Expired     bool
	// SSOLabel and SSOLink are the single sign-on button; "": none.
	SSOLabel, SSOLink string
}

func (s *Server) uiLoginPage(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	// Already signed in: straight on.
	if _, err := s.Session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.renderLogin(w, r, http.StatusOK, loginData{Next: r.URL.Query().Get("next"), Expired: r.URL.Query().Get("expired") != ""}, "")
}

// renderLogin shows the sign-in form with a fresh double-submit token: the
// form is posted before there is a session to hold a synchronizer token,
// and a forged sign-in (into the attacker's account) must fail too.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData, msg string) error {
	if s.SSO != nil {
		d.SSOLabel, d.SSOLink = s.SSO.Label, ssoLink(d.Next)
	}
	token := newUIToken()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.Secure(r), MaxAge: 3600})
	p := s.newPage(r, nil, "Sign in", "")
	p.CSRF, p.Error, p.Data = token, msg, d
	return s.render(w, status, "login", p)
}
