package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The web UI: server-rendered pages over the same services as the API,
// signed in with local accounts (internal/auth). Every page works without
// JavaScript; ui/static/app.js adds the ticking countdowns, the live
// preview of an update and the saved drafts. Single sign-on with an OpenID
// Connect provider (ui_oidc.go) is a second way in, when configured.

//go:embed ui/templates/*.html
var uiTemplateFS embed.FS

//go:embed ui/static
var uiStaticFS embed.FS

const (
	sessionCookie    = "sitrep_session"
	loginCSRFCookie  = "sitrep_login_csrf"
	csrfField        = "csrf"
	csrfHeader       = "X-CSRF-Token"
	fetchHeader      = "X-Requested-With" // "fetch": answer errors as fragments, not redirects
	uiTimeFormat     = "2006-01-02 15:04"
	uiContentSecPol  = "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
	uiMaxFormBytes   = 1 << 20
	uiPreviewTimeout = 10 * time.Second
)

// uiHandler serves one page or form. sess is nil only on public routes.
type uiHandler func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error

// uiRoute is one UI route. need "" is a public route (sign-in); its forms
// are protected by a double-submit token instead of the session's.
type uiRoute struct {
	method, path string
	need         auth.Role
	h            uiHandler
}

// ui is the UI's state: parsed templates and the login limiter.
type ui struct {
	pages   map[string]*template.Template
	limiter *auth.LoginLimiter
	routes  []uiRoute
}

// uiRoutes lists every UI route; registerUI and the CSRF test walk it.
func (s *Server) uiRoutes() []uiRoute {
	r := []uiRoute{
		{"GET", "/login", "", s.uiLoginPage},
		{"POST", "/login", "", s.uiLogin},
		{"POST", "/logout", auth.Viewer, s.uiLogout},

		{"GET", "/{$}", auth.Viewer, func(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
			http.Redirect(w, r, "/incidents", http.StatusSeeOther)
			return nil
		}},
		{"GET", "/incidents", auth.Viewer, s.uiIncidents},
		{"GET", "/incidents/new", auth.Lead, s.uiDeclarePage},
		{"POST", "/incidents", auth.Lead, s.uiDeclare},
		{"GET", "/incidents/{ref}", auth.Viewer, s.uiIncident},
		{"GET", "/incidents/{ref}/edit", auth.Lead, s.uiEditPage},
		{"POST", "/incidents/{ref}/edit", auth.Lead, s.uiEdit},
		{"POST", "/incidents/{ref}/transition", auth.Lead, s.uiTransition},
		{"POST", "/incidents/{ref}/notes", auth.Lead, s.uiAddNote},
		{"POST", "/incidents/{ref}/preview", auth.Lead, s.uiPreview},
		{"POST", "/incidents/{ref}/updates", auth.Lead, s.uiSendUpdate},
		{"GET", "/incidents/{ref}/messages/{id}", auth.Viewer, s.uiMessage},

		{"POST", "/incidents/{ref}/resolve", auth.Lead, s.uiResolve},
		{"POST", "/incidents/{ref}/reports", auth.Lead, s.uiAddReport},
		{"POST", "/incidents/{ref}/changes/{id}/suspect", auth.Lead, s.uiMarkChange(changes.Suspected)},
		{"POST", "/incidents/{ref}/changes/{id}/confirm", auth.Lead, s.uiMarkChange(changes.Confirmed)},
		{"GET", "/incidents/{ref}/summary", auth.Viewer, s.uiSummary},
		{"POST", "/incidents/{ref}/summary/check", auth.Viewer, s.uiSummaryCheck},
		{"POST", "/incidents/{ref}/summary", auth.Lead, s.uiSendSummary},

		{"GET", "/incidents/{ref}/postmortem", auth.Viewer, s.uiPostmortem},
		{"POST", "/incidents/{ref}/postmortem/attendees", auth.Lead, s.uiPMAttendee},
		{"POST", "/incidents/{ref}/postmortem/attendees/{email}/remove", auth.Lead, s.uiPMRemoveAttendee},
		{"POST", "/incidents/{ref}/postmortem/propose", auth.Lead, s.uiPMPropose},
		{"POST", "/incidents/{ref}/postmortem/book", auth.Lead, s.uiPMBook},
		{"POST", "/incidents/{ref}/postmortem/issues", auth.Lead, s.uiPMIssue},
		{"POST", "/incidents/{ref}/postmortem/improvements", auth.Lead, s.uiPMImprovement},
		{"POST", "/incidents/{ref}/postmortem/publish", auth.Lead, s.uiPMPublish},
		{"GET", "/improvements", auth.Viewer, s.uiImprovements},
		{"GET", "/improvements.csv", auth.Viewer, s.uiImprovementsCSV},
		{"POST", "/improvements/{id}", auth.Lead, s.uiUpdateImprovement},

		{"GET", "/drafts/{id}", auth.Viewer, s.uiDraft},
		{"POST", "/drafts/{id}/declare", auth.Lead, s.uiDeclareDraft},
		{"POST", "/drafts/{id}/dismiss", auth.Lead, s.uiDismissDraft},
		{"POST", "/drafts/{id}/reports", auth.Lead, s.uiDraftReport},

		{"GET", "/triage", auth.Viewer, s.uiTriage},
		{"POST", "/triage/{id}/assign", auth.Lead, s.uiAssign},
		{"GET", "/directory", auth.Viewer, s.uiDirectory},

		{"GET", "/sandbox", auth.Viewer, s.uiSandbox},
		{"GET", "/sandbox/{email}", auth.Viewer, s.uiMailbox},
		{"GET", "/sandbox/{email}/{id}", auth.Viewer, s.uiMail},
		{"GET", "/sandbox/{email}/{id}/html", auth.Viewer, s.uiMailHTML},
		{"POST", "/sandbox/{email}/{id}/reply", auth.Lead, s.uiMailReply},

		{"GET", "/accounts", auth.Admin, s.uiAccounts},
		{"POST", "/accounts", auth.Admin, s.uiCreateAccount},
		{"POST", "/accounts/{id}/role", auth.Admin, s.uiSetRole},
		{"POST", "/accounts/{id}/password", auth.Admin, s.uiResetPassword},
		{"POST", "/accounts/{id}/disable", auth.Admin, s.uiSetDisabled(true)},
		{"POST", "/accounts/{id}/enable", auth.Admin, s.uiSetDisabled(false)},
		{"GET", "/tokens", auth.Admin, s.uiTokens},
		{"POST", "/tokens", auth.Admin, s.uiCreateToken},
		{"POST", "/tokens/{id}/revoke", auth.Admin, s.uiRevokeToken},
	}
	if s.Doctor != nil {
		r = append(r,
			uiRoute{"GET", "/doctor", auth.Admin, s.uiDoctor},
			uiRoute{"POST", "/doctor", auth.Admin, s.uiRunDoctor})
	}
	if s.SSO != nil {
		r = append(r,
			uiRoute{"GET", "/login/oidc", "", s.uiOIDCStart},
			uiRoute{"GET", "/login/oidc/callback", "", s.uiOIDCCallback})
	}
	return r
}

// registerUI adds the web UI when accounts and sessions are wired. The
// templates are parsed here, at start: a broken one stops the program now,
// not at 3 a.m.
func (s *Server) registerUI(mux *http.ServeMux) {
	if s.Accounts == nil || s.Sessions == nil {
		return
	}
	pages, err := parseUITemplates()
	if err != nil {
		panic(fmt.Sprintf("web: UI templates: %v", err))
	}
	s.ui = &ui{pages: pages, limiter: &auth.LoginLimiter{}, routes: s.uiRoutes()}
	static, _ := fs.Sub(uiStaticFS, "ui/static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})))
	for _, rt := range s.ui.routes {
		mux.HandleFunc(rt.method+" "+rt.path, s.uiWrap(rt))
	}
}

func parseUITemplates() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(uiFuncs).ParseFS(uiTemplateFS, "ui/templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(uiTemplateFS, "ui/templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "ui/templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(uiTemplateFS, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("%s: no {{define \"content\"}}", n)
		}
		pages[base] = t
	}
	return pages, nil
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Account *auth.Account
	CSRF    string
	Notice  string // a success message
	Error   string // what went wrong, for people
	Field   string // the input at fault, when known
	Refresh int    // seconds; >0 adds a meta refresh (delivery progress without JS)
	Sandbox bool
	// Improvements: the post-mortem is configured (its page is in the menu).
	Improvements bool
	// MailProblem: why mail cannot sign in now (the health line); "" when it can.
	MailProblem string
	// Doctor: the doctor page is wired (admins see it in the menu).
	Doctor bool
	Path   string
	Data   any
}

// Can reports whether the signed-in account has at least role need.
func (p *page) Can(need string) bool {
	return p.Account != nil && p.Account.Role.Allows(auth.Role(need))
}

func (s *Server) uiWrap(rt uiRoute) http.HandlerFunc {
	route := rt.method + " " + rt.path
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		defer func() {
			s.requests.WithLabelValues(route, statusClass(rec.status)).Inc()
			s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h := rec.Header()
		h.Set("Content-Security-Policy", uiContentSecPol)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
		if unsafe {
			r.Body = http.MaxBytesReader(rec, r.Body, uiMaxFormBytes)
		}

		var sess *auth.Session
		if rt.need != "" {
			c, _ := r.Cookie(sessionCookie)
			var err error
			if c != nil {
				sess, err = s.Sessions.Lookup(r.Context(), c.Value)
			}
			if c == nil || err != nil {
				if err != nil && errs.CodeOf(err) != errs.Unauthorized {
					s.uiError(rec, r, nil, err)
					return
				}
				s.uiToLogin(rec, r)
				return
			}
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
				s.uiError(rec, r, sess, errs.E(errs.Forbidden, "This form is out of date or did not come from sitrep (security token mismatch). Nothing was changed; reload the page and try again."))
				return
			}
		}
		if sess != nil && !sess.Account.Role.Allows(rt.need) {
			s.uiError(rec, r, sess, errs.E(errs.Forbidden, "%s (%s) may not do this; it needs the %s role. An admin can change roles on the accounts page.", sess.Account.Email, sess.Account.Role, rt.need))
			return
		}
		if sess != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), sess.Account.Principal()))
		}
		if err := rt.h(rec, r, sess); err != nil {
			s.uiError(rec, r, sess, err)
		}
	}
}

// uiToLogin sends a caller without a live session to the sign-in page,
// with the page to come back to. A form posted with an expired session
// comes back to the page it was on; its draft is kept by the browser
// (app.js saves drafts as they are typed).
func (s *Server) uiToLogin(w http.ResponseWriter, r *http.Request) {
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
	http.Redirect(w, r, "/login?expired=1&next="+url.QueryEscape(next), http.StatusSeeOther)
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

func (s *Server) newPage(r *http.Request, sess *auth.Session, title, nav string) *page {
	p := &page{Title: title, Nav: nav, Sandbox: s.Sandbox != nil, Improvements: s.Postmortem != nil, Doctor: s.Doctor != nil, Path: r.URL.Path}
	if sess != nil {
		p.Account, p.CSRF = sess.Account, sess.CSRF
		if err := s.mailProblem(); err != nil {
			p.MailProblem = err.Error()
		}
	}
	return p
}

// render writes a page with status.
func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) error {
	t := s.ui.pages[name]
	if t == nil {
		return fmt.Errorf("web: no UI template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// renderFragment writes one named template of a page, for fetch requests.
func (s *Server) renderFragment(w http.ResponseWriter, status int, name, fragment string, data any) error {
	var buf bytes.Buffer
	if err := s.ui.pages[name].ExecuteTemplate(&buf, fragment, data); err != nil {
		return fmt.Errorf("web: render %s/%s: %w", name, fragment, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// uiError shows err as a page (or a fragment to a fetch), with the status
// the API would use. Internal details go to the log only.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, sess *auth.Session, err error) {
	var e *errs.Error
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		e = errs.E(errs.TooLarge, "the form is over %d bytes", maxBytes.Limit)
	case errors.As(err, &e):
	default:
		if e = s.outageError(w, r, err); e == nil {
			s.Logger.Error("UI request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			e = errs.E(errs.Internal, "Something went wrong on the server; its log has the details.")
		}
	}
	status := statusOf[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if r.Header.Get(fetchHeader) == "fetch" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, e.Error())
		return
	}
	p := s.newPage(r, sess, "Error", "")
	p.Error, p.Field = e.Message, e.Field
	if rerr := s.render(w, status, "error", p); rerr != nil {
		s.Logger.Error("UI error page failed", "err", rerr)
		http.Error(w, e.Error(), status)
	}
}

// secure says whether cookies get the Secure attribute: the request came
// over TLS, or the public URL is https (TLS ends at a proxy in front).
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.PublicURL), "https://")
}

func newUIToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("web: random: %v", err)) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Template helpers.
var uiFuncs = template.FuncMap{
	"utc": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format(uiTimeFormat) + " UTC"
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format(uiTimeFormat) + " UTC"
		}
		return ""
	},
	"hhmm": func(t time.Time) string { return t.UTC().Format("15:04") },
	"iso": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format(time.RFC3339)
		case *time.Time:
			if v != nil {
				return v.UTC().Format(time.RFC3339)
			}
		}
		return ""
	},
	"dur":         humanDuration,
	"countdown":   countdownText,
	"join":        func(l []string) string { return strings.Join(l, ", ") },
	"reportsCard": func(p *page, v reportsView) reportsCard { return reportsCard{P: p, V: v} },
	"lower":       strings.ToLower,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		s = strings.ReplaceAll(s, "_", " ")
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"pct": func(n, total int) int {
		if total <= 0 {
			return 0
		}
		return n * 100 / total
	},
	"has": func(l []string, s string) bool {
		for _, x := range l {
			if strings.EqualFold(x, s) {
				return true
			}
		}
		return false
	},
	"seconds": func(d time.Duration) int { return int(d.Seconds()) },
	"sum": func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	},
	"pathesc":     url.PathEscape,
	"changeTitle": changeTitle,
	"before":      beforeText,
	"span": func(d string) string {
		v, err := time.ParseDuration(d)
		if err != nil {
			return d
		}
		return humanDuration(v)
	},
	"add": func(a, b int) int { return a + b },
	// sanitize cleans email HTML for a sandboxed srcdoc iframe.
	"sanitize": func(html string) string { return mailPolicy.Sanitize(html) },
}

// humanDuration says a duration the way a person would: 45s, 12m, 3h 05m, 2d 4h.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// countdownText is the server's rendering of a countdown; app.js keeps it ticking.
func countdownText(next *time.Time, now time.Time) string {
	if next == nil {
		return "no update promised"
	}
	d := next.Sub(now)
	if d < 0 {
		return "overdue by " + humanDuration(-d)
	}
	return "due in " + humanDuration(d)
}
