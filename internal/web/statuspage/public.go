package statuspage

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The public status page: customers' view of the same incidents, in the
// public wording alone (Public). It is off unless configured
// (status_page.public), and served on a listener of its own (Handler), never
// beside the web UI, or written out as static files (Export) for any web
// server or bucket. The pages link each other relatively, so that the
// served and the exported site are the same files:
//
//	index.html                 the components, the incidents of now, the last 90 days
//	incidents/INC-42.html      one incident's public updates
//	feed.atom                  every public update (Atom)
//	incidents/INC-42.atom      one incident's
//	status.css, status.js
//
// An incident without any public wording is not on it at all, not even
// as a number: its page is a 404 like one that does not exist.

//go:embed public/*.html public/status.css public/status.js
var publicFS embed.FS

// Component is one public component and the systems it stands for.
type Component struct {
	Name    string
	Systems []string
}

// PublicSite is the public status page.
type PublicSite struct {
	Reader *Reader
	// Title heads the page ("Example Corp status").
	Title string
	// URL is where customers reach it ("https://status.example.com"): the
	// feed's links. Empty: the request's address, or relative links in
	// an export.
	URL        string
	Components []Component
	Logger     *slog.Logger

	// Subscriptions, when set, puts the email subscription form on the
	// index and serves its confirm and unsubscribe pages
	// (status_page.public.subscriptions). Nil: no form.
	Subscriptions PublicSubscriptions
	// SubscribesPerHour caps the form's requests per client network per
	// hour (default 5).
	SubscribesPerHour int
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (server.trusted_proxies): behind one, every customer would
	// otherwise be the proxy and share one limit.
	TrustedProxies []netip.Prefix
	// SubscribeURL is where the exported page's subscription form posts:
	// the public listener's /subscribe as customers reach it
	// (status_page.public.url), an absolute URL, since the exported files
	// are served elsewhere. Empty: the export has no form (it would have
	// nowhere to post). The served page posts to its own listener.
	SubscribeURL string

	tmpl      *template.Template
	limitOnce sync.Once
	limits    *clientLimiter
}

// publicCSP lets the page load its own style and script only.
const publicCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

func (p *PublicSite) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// Load parses the templates; Handler and Export call it.
func (p *PublicSite) Load() error {
	if p.tmpl != nil {
		return nil
	}
	t, err := template.New("public").Funcs(publicFuncs).ParseFS(publicFS, "public/*.html")
	if err != nil {
		return fmt.Errorf("statuspage: templates: %w", err)
	}
	p.tmpl = t
	return nil
}

var publicFuncs = template.FuncMap{
	// utc writes a date for people: the zone is named, as a reader's is unknown.
	"utc": func(t any) string {
		v, ok := timeArg(t)
		if !ok {
			return "—"
		}
		return v.UTC().Format("Mon 2 Jan 2006, 15:04") + " UTC"
	},
	"iso": func(t any) string {
		v, ok := timeArg(t)
		if !ok {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	},
	"dur":   web.HumanDuration,
	"state": stateWord,
}

func timeArg(t any) (time.Time, bool) {
	switch v := t.(type) {
	case time.Time:
		return v, !v.IsZero()
	case *time.Time:
		if v != nil {
			return *v, !v.IsZero()
		}
	}
	return time.Time{}, false
}

// stateWord is an incident's state as customers read it.
func stateWord(s string) string {
	switch s {
	case "investigating":
		return "Investigating"
	case "identified":
		return "Identified"
	case "monitoring":
		return "Monitoring"
	}
	return "Resolved"
}

// publicCard is an incident on the public page.
type publicCard struct {
	*Incident
	// Name is what it affects, in components ("Checkout, Sign-in"), else
	// "Service disruption": the internal title is never shown.
	Name string
	Now  time.Time
}

// Countdown is the time to the promise, as the server writes it.
func (c publicCard) Countdown() string {
	if c.NextUpdateAt == nil {
		return ""
	}
	return web.Countdown(*c.NextUpdateAt, c.Now)
}

// Lasted is how long it lasted, or has so far.
func (c publicCard) Lasted() time.Duration { return c.Duration(c.Now) }

// componentState is a component and whether an incident of now affects it.
type componentState struct {
	Name      string
	Disrupted bool
}

type publicPage struct {
	Title      string
	PageTitle  string
	Root       string // "" on the index, "../" under incidents/
	Feed       string // the page's feed, relative
	Now        time.Time
	Since      time.Time
	Components []componentState
	Current    []publicCard
	History    []publicCard
	Card       *publicCard // the incident page's
	// Subscribe shows the email subscription form: served, or exported
	// with SubscribeAction.
	Subscribe bool
	// SubscribeAction is where the form posts: "subscribe" on the served
	// page, the listener's absolute URL in an export.
	SubscribeAction string
	Message         *message // a message page's
	// Lang is the language the page is written in: the html element's lang.
	Lang string
}

// componentsOf names the components an incident's systems map to.
func (p *PublicSite) componentsOf(inc *Incident) []string {
	var out []string
	for _, c := range p.Components {
		if touches(c, inc.Systems) {
			out = append(out, c.Name)
		}
	}
	return out
}

func touches(c Component, systems []string) bool {
	for _, s := range c.Systems {
		for _, t := range systems {
			if strings.EqualFold(s, t) {
				return true
			}
		}
	}
	return false
}

func (p *PublicSite) card(inc *Incident, now time.Time) publicCard {
	name := "Service disruption"
	if comps := p.componentsOf(inc); len(comps) > 0 {
		name = strings.Join(comps, ", ")
	}
	return publicCard{Incident: inc, Name: name, Now: now}
}

// indexPage is the index's content.
func (p *PublicSite) indexPage(ctx context.Context) (*publicPage, *Board, error) {
	b, err := p.Reader.Board(ctx, Public)
	if err != nil {
		return nil, nil, err
	}
	pg := &publicPage{Title: p.Title, PageTitle: p.Title, Feed: "feed.atom", Now: b.Now, Since: b.Since}
	for _, c := range p.Components {
		cs := componentState{Name: c.Name}
		for _, inc := range b.Current {
			cs.Disrupted = cs.Disrupted || touches(c, inc.Systems)
		}
		pg.Components = append(pg.Components, cs)
	}
	for _, inc := range b.Current {
		pg.Current = append(pg.Current, p.card(inc, b.Now))
	}
	for _, inc := range b.History {
		pg.History = append(pg.History, p.card(inc, b.Now))
	}
	return pg, b, nil
}

func (p *PublicSite) incidentPage(inc *Incident, now time.Time) *publicPage {
	c := p.card(inc, now)
	return &publicPage{Title: p.Title, PageTitle: c.Name + " · " + p.Title, Root: "../", Feed: inc.Ref + ".atom", Now: now, Card: &c}
}

func (p *PublicSite) render(name string, pg *publicPage) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, pg); err != nil {
		return nil, fmt.Errorf("statuspage: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// feed is the Atom feed of incs; self is its path from the root, base
// the site's URL ("" in an export: relative links).
func (p *PublicSite) feed(incs []*Incident, base, site, self, name string) Feed {
	link := func(ref string) string { return base + "incidents/" + ref + ".html" }
	if base == "" && strings.HasPrefix(self, "incidents/") {
		link = func(ref string) string { return ref + ".html" }
	}
	f := Feed{ID: FeedID(site, "public/"+name), Title: p.Title, Author: p.Title,
		Entries: Entries(incs, Public, FeedOptions{Site: site, LinkOf: link, TitleOf: func(inc *Incident) string { return p.card(inc, time.Time{}).Name }})}
	if base != "" {
		f.Self, f.Alternate = base+self, base
	}
	for _, inc := range incs {
		if inc.DeclaredAt.After(f.Updated) {
			f.Updated = inc.DeclaredAt
		}
	}
	return f
}

func (p *PublicSite) atom(f Feed) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteAtom(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Handler serves the public page. Nothing of the web UI or the API is
// here: a listener of its own, for the world.
func (p *PublicSite) Handler() (http.Handler, error) {
	if err := p.Load(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(publicFS, "public")
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(static)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.serveIndex)
	mux.HandleFunc("GET /index.html", p.serveIndex)
	mux.HandleFunc("GET /feed.atom", p.serveFeed)
	mux.HandleFunc("GET /incidents/{file}", p.serveIncident)
	for _, f := range []string{"/status.css", "/status.js"} {
		mux.Handle("GET "+f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setPublicHeaders(w.Header())
			w.Header().Set("Cache-Control", "public, max-age=300")
			files.ServeHTTP(w, r)
		}))
	}
	p.registerSubscriptions(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return p.recoverer(mux), nil
}

func setPublicHeaders(h http.Header) {
	h.Set("Content-Security-Policy", publicCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

func (p *PublicSite) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				p.logger().Error("panic in the public status page", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// base is the site's URL for a request, with a slash at the end.
func (p *PublicSite) base(r *http.Request) string {
	if p.URL != "" {
		return strings.TrimSuffix(p.URL, "/") + "/"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/"
}

func (p *PublicSite) site(r *http.Request) string {
	if p.URL != "" {
		return strings.TrimSuffix(p.URL, "/")
	}
	return r.Host
}

// fail answers an error: a short page for people, nothing internal.
func (p *PublicSite) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong; please try again shortly."
	if errs.CodeOf(err) == errs.NotFound {
		status, msg = http.StatusNotFound, "There is no such page here."
	} else {
		p.logger().Error("public status page failed", "path", r.URL.Path, "err", err)
	}
	setPublicHeaders(w.Header())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func (p *PublicSite) write(w http.ResponseWriter, contentType string, body []byte) {
	setPublicHeaders(w.Header())
	w.Header().Set("Content-Type", contentType)
	// Short: a reader reloading in an outage sees news within a minute.
	w.Header().Set("Cache-Control", "public, max-age=30")
	_, _ = w.Write(body)
}

func (p *PublicSite) serveIndex(w http.ResponseWriter, r *http.Request) {
	pg, _, err := p.indexPage(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pg.Subscribe, pg.SubscribeAction = p.Subscriptions != nil, "subscribe"
	body, err := p.render("index", pg)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.write(w, "text/html; charset=utf-8", body)
}

func (p *PublicSite) serveFeed(w http.ResponseWriter, r *http.Request) {
	_, b, err := p.indexPage(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	body, err := p.atom(p.feed(b.All(), p.base(r), p.site(r), "feed.atom", "all"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.write(w, AtomType, body)
}

// serveIncident serves incidents/INC-42.html and incidents/INC-42.atom.
func (p *PublicSite) serveIncident(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	ref, ext := file, ""
	if i := strings.LastIndexByte(file, '.'); i > 0 {
		ref, ext = file[:i], file[i:]
	}
	if ext != ".html" && ext != ".atom" {
		p.fail(w, r, errs.E(errs.NotFound, "no page %q", file))
		return
	}
	inc, err := p.Reader.Incident(r.Context(), Public, ref)
	if err != nil {
		p.fail(w, r, errs.E(errs.NotFound, "no page %q", file)) // unknown, or nothing public: the same answer
		if errs.CodeOf(err) != errs.NotFound {
			p.logger().Error("public status page failed", "path", r.URL.Path, "err", err)
		}
		return
	}
	if inc.Ref != ref {
		http.Redirect(w, r, inc.Ref+ext, http.StatusMovedPermanently) // inc-42, 42: the one name
		return
	}
	if ext == ".atom" {
		body, err := p.atom(p.feed([]*Incident{inc}, p.base(r), p.site(r), "incidents/"+inc.Ref+".atom", inc.Ref))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.write(w, AtomType, body)
		return
	}
	body, err := p.render("incident", p.incidentPage(inc, p.Reader.Now()))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.write(w, "text/html; charset=utf-8", body)
}
