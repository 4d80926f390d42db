package ui

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

const (
	loginCSRFCookie = "sitrep_login_csrf"
	csrfField       = "csrf"
	csrfHeader      = "X-CSRF-Token"
	fetchHeader     = "X-Requested-With" // "fetch": answer errors as fragments, not redirects
)

// wrap is the UI's middleware around a route: metrics, the page security
// headers, the form size limit, the session (none: to the sign-in page),
// the CSRF token of every unsafe request and the route's role. Errors are
// shown as the error page (errorPage).
func (s *Server) wrap(rt route) http.HandlerFunc {
	return s.Instrument(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
		web.SetPageHeaders(w.Header())
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
		if unsafe {
			r.Body = http.MaxBytesReader(w, r.Body, web.MaxFormBytes)
		}
		ep := &errorPage{s: s}
		r = web.WithErrorPage(r, ep)

		var sess *auth.Session
		if rt.need != "" {
			var err error
			if sess, err = s.Session(r); err != nil {
				if errs.CodeOf(err) != errs.Unauthorized {
					s.Error(w, r, err)
					return
				}
				s.toLogin(w, r)
				return
			}
			ep.sess = sess
		}
		if unsafe {
			want := ""
			if sess != nil {
				want = sess.CSRF
			} else if c, err := r.Cookie(loginCSRFCookie); err == nil {
				want = c.Value
			}
			got := r.Header.Get(csrfHeader)
			if got == "" {
				got = r.PostFormValue(csrfField)
			}
			if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				s.Error(w, r, errs.E(errs.Forbidden, "This form is out of date or did not come from sitrep (security token mismatch). Nothing was changed; reload the page and try again."))
				return
			}
		}
		if sess != nil && !sess.Account.Role.Allows(rt.need) {
			s.Error(w, r, errs.E(errs.Forbidden, "%s (%s) may not do this; it needs the %s role. An admin can change roles on the accounts page.", sess.Account.Email, sess.Account.Role, rt.need))
			return
		}
		if sess != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), sess.Account.Principal()))
		}
		if err := rt.h(w, r, sess); err != nil {
			s.Error(w, r, err)
		}
	})
}

// toLogin sends a caller without a live session to the sign-in page,
// with the page to come back to. A form posted with an expired session
// comes back to the page it was on; its draft is kept by the browser
// (app.js saves drafts as they are typed).
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = "/"
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
			next = ref.RequestURI()
		}
	}
	if r.Header.Get(fetchHeader) == "fetch" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Sitrep-Login", "/login?next="+url.QueryEscape(next))
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintln(w, "Your session has expired; sign in again. Your draft is kept in this browser.")
		return
	}
	// "Your session has expired" only to someone who had one: a first
	// visit has no session cookie and is simply asked to sign in.
	expired := ""
	if _, err := r.Cookie(web.SessionCookie); err == nil {
		expired = "expired=1&"
	}
	http.Redirect(w, r, "/login?"+expired+"next="+url.QueryEscape(next), http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site: a path, not //host or a URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/incidents"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/incidents"
	}
	return next
}

// errorPage shows an error of a UI request (web.Server.Error maps it) as
// a page with the menu of the signed-in account, or as plain text to a
// fetch (app.js shows it in place). Internal details go to the log only.
var _ web.ErrorPage = (*errorPage)(nil)

type errorPage struct {
	s    *Server
	sess *auth.Session // nil until the session is known
}

func (ep *errorPage) ServeError(w http.ResponseWriter, r *http.Request, status int, e *errs.Error) {
	if r.Header.Get(fetchHeader) == "fetch" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, e.Error())
		return
	}
	p := ep.s.newPage(r, ep.sess, "Error", "")
	p.Error, p.Field = e.Message, e.Field
	if rerr := ep.s.render(w, status, "error", p); rerr != nil {
		ep.s.Logger.Error("UI error page failed", "err", rerr)
		http.Error(w, e.Error(), status)
	}
}
