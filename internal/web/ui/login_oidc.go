package ui

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Single sign-on: GET /login/oidc sends the browser to the provider, which
// sends it back to GET /login/oidc/callback; the account of the verified
// email is then signed in like a password sign-in (signIn).

// SSO is single sign-on with an OpenID Connect provider.
type SSO struct {
	OIDC  *auth.OIDC
	Label string // the sign-in page's button
	// NewAccountRole is given to an email without an account at its first
	// sign-in; "": such a sign-in is refused.
	NewAccountRole auth.Role
}

const (
	oidcCookie     = "sitrep_oidc"
	oidcCookiePath = "/login/oidc"
	oidcFlowMaxAge = 600 // seconds from the button to the callback
)

// oidcFlow is what the callback is checked against. It rides in an
// HttpOnly cookie of its own; the state, nonce and verifier are random
// and single-use, so the cookie needs no signature: a forged one only
// matches a sign-in its forger started.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
}

func (s *Server) uiOIDCStart(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	next := r.URL.Query().Get("next")
	st, err := s.SSO.OIDC.Start(r.Context())
	if err != nil {
		return s.oidcFailed(w, r, next, err)
	}
	b, _ := json.Marshal(oidcFlow{State: st.State, Nonce: st.Nonce, Verifier: st.Verifier, Next: safeNext(next)})
	// SameSite=Lax, not Strict: the callback is a top-level navigation
	// from the provider's site, and must carry the cookie.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: oidcCookiePath,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.Secure(r), MaxAge: oidcFlowMaxAge})
	http.Redirect(w, r, st.URL, http.StatusFound)
	return nil
}

// oidcFailed shows why a single sign-on did not work on the sign-in page,
// where the password form still is. The details go to the log.
func (s *Server) oidcFailed(w http.ResponseWriter, r *http.Request, next string, err error) error {
	code := errs.CodeOf(err)
	if code == errs.Internal {
		return err
	}
	status := web.Status(code)
	if code == errs.NotFound {
		status = http.StatusForbidden // no account: not allowed in, not a missing page
	}
	s.Logger.Warn("single sign-on failed", "err", err, "ip", s.ClientIP(r))
	return s.renderLogin(w, r, status, loginData{Next: next}, errMessage(err))
}

// ssoLink is the sign-in button's target, with the page to come back to.
func ssoLink(next string) string {
	if next == "" {
		return oidcCookiePath
	}
	return oidcCookiePath + "?next=" + url.QueryEscape(next)
}
