package ui

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiOIDCCallback(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	// The flow's cookie is used once, whatever the outcome.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: oidcCookiePath, MaxAge: -1, HttpOnly: true, Secure: s.Secure(r)})
	var flow oidcFlow
	if c, err := r.Cookie(oidcCookie); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			_ = json.Unmarshal(b, &flow)
		}
	}
	q := r.URL.Query()
	// RFC 6749 section 4.1.2.1: the provider refused or the person cancelled.
	if e := q.Get("error"); e != "" {
		s.Logger.Warn("single sign-on refused by the provider", "error", e, "description", q.Get("error_description"), "ip", s.ClientIP(r))
		return s.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: flow.Next},
			"Sign-in was cancelled or refused at the identity provider. Nothing changed here; try again, or sign in with your password.")
	}
	// The state ties the answer to this browser's sign-in (RFC 6749 section 10.12).
	if flow.State == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 || q.Get("code") == "" {
		s.Logger.Warn("single sign-on callback without its sign-in", "has_cookie", flow.State != "", "ip", s.ClientIP(r))
		return s.renderLogin(w, r, http.StatusBadRequest, loginData{Next: flow.Next},
			"This sign-in was not started in this browser, or it took longer than 10 minutes. Start again.")
	}
	id, err := s.SSO.OIDC.Finish(r.Context(), q.Get("code"), flow.Verifier, flow.Nonce)
	if err != nil {
		return s.oidcFailed(w, r, flow.Next, err)
	}
	acc, created, err := s.Accounts.SignOn(r.Context(), id.Email, id.Name, s.SSO.NewAccountRole)
	if err != nil {
		return s.oidcFailed(w, r, flow.Next, err)
	}
	if created {
		s.Logger.Info("account created", "account", acc.Email, "role", acc.Role, "by", "single sign-on")
	}
	return s.signIn(w, r, acc, flow.Next, "oidc")
}
