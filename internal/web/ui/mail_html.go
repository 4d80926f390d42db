package ui

import (
	"fmt"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

// uiMailHTML serves a message's HTML part, sanitised, for the iframe of
// the message page. Its CSP forbids scripts, plugins and any fetch: even
// something bluemonday missed could not run or call home.
func (s *Server) uiMailHTML(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	_, env, err := s.readMail(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, err = fmt.Fprintf(w, "<!doctype html><meta charset=\"utf-8\"><base target=\"_blank\">%s", mailPolicy.Sanitize(env.HTML))
	return err
}
