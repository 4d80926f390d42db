package ui

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func parseTemplates() (map[string]*template.Template, error) {
	// The layout, and the parts (*_parts.html) that several pages share:
	// every page has them.
	layout, err := template.New("layout.html").Funcs(uiFuncs).ParseFS(templateFS, "templates/layout.html", "templates/*_parts.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasSuffix(base, "_parts") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
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
	// SignIn, on a status page read without signing in (an open
	// network), is the sign-in link the menu offers instead.
	SignIn string
	// Feed is the page's Atom feed, for feed readers to discover.
	Feed string
	// Viewer is whom the page is written for: every date on it is in
	// their language's conventions and their zone (viewer.go).
	Viewer viewer
	Data   any
}

// Can reports whether the signed-in account has at least role need.
func (p *page) Can(need string) bool {
	return p.Account != nil && p.Account.Role.Allows(auth.Role(need))
}

func (s *Server) newPage(r *http.Request, sess *auth.Session, title, nav string) *page {
	p := &page{Title: title, Nav: nav, Sandbox: s.Sandbox != nil, Improvements: s.Postmortem != nil, Doctor: s.Doctor != nil, Path: r.URL.Path,
		Viewer: s.viewerFor(r, sess)}
	if sess != nil {
		p.Account, p.CSRF = sess.Account, sess.CSRF
		if err := s.MailProblem(); err != nil {
			p.MailProblem = err.Error()
		}
	}
	return p
}

// render writes a page with status.
func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) error {
	t, err := s.pageFor(name, p.Viewer)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("ui: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

// renderFragment writes one named template of a page, for fetch requests,
// with its dates written for v.
func (s *Server) renderFragment(w http.ResponseWriter, status int, name, fragment string, v viewer, data any) error {
	t, err := s.pageFor(name, v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, fragment, data); err != nil {
		return fmt.Errorf("ui: render %s/%s: %w", name, fragment, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

func newUIToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("ui: random: %v", err)) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
