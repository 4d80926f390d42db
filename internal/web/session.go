package web

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// SessionCookie holds a signed-in browser's session id (auth.Sessions).
const SessionCookie = "sitrep_session"

// MaxFormBytes bounds a form posted by a browser.
const MaxFormBytes = 1 << 20

// pageContentSecurityPolicy lets a page load only its own scripts, styles
// and frames (the sandboxed email previews), and be framed by no one.
const pageContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// Session is the live session of the request's cookie. Without a cookie,
// or with one that is expired, unknown or of a disabled account, the
// error is Unauthorized; any other error is the store's.
func (s *Server) Session(r *http.Request) (*auth.Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, errs.E(errs.Unauthorized, "no session")
	}
	return s.Sessions.Lookup(r.Context(), c.Value)
}

// SetPageHeaders sets the security headers of an HTML page: its content
// policy, no sniffing, no framing, no caching, no referrer to other sites.
func SetPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// Secure says whether cookies get the Secure attribute: the request came
// over TLS, or the public URL is https (TLS ends at a proxy in front).
func (s *Server) Secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.PublicURL), "https://")
}
