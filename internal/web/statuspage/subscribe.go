package statuspage

import (
	"context"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Email subscriptions on the public page (status_page.public.subscriptions):
// a form that posts an address, and the pages its confirmation and
// unsubscribe links open. Customers cannot reach the web UI, so the links
// point here. A GET never changes anything, since mail scanners follow
// links: it shows a button, and the POST acts (RFC 8058 3.1: the one-click
// POST carries no session; the token is the permission).

// PublicSubscriptions is what the public page needs of the subscriptions.
type PublicSubscriptions interface {
	// SubscribePublic starts a double opt-in; its answer must not say
	// whether the address was subscribed already.
	// component "" is every component.
	SubscribePublic(ctx context.Context, email, component string) error
	ConfirmPublic(ctx context.Context, token string) error
	UnsubscribePublic(ctx context.Context, token string) error
	// LinkLanguage is the language of a link's reader when sitrep knows
	// it (a person of the directory), "" otherwise.
	LinkLanguage(ctx context.Context, token string) string
	// LinkProblem says what was wrong with a link ConfirmPublic or
	// UnsubscribePublic refused: "invalid", "used", "expired" or
	// "withdrawn" (the catalog's link_<problem>); "" for another error.
	LinkProblem(err error) string
}

// maxForm bounds the subscribe form's body: one address fits many times.
const maxForm = 4 << 10

// maxToken bounds a link's token before anything looks it up.
const maxToken = 100

// message is a page that says one thing, with a button or not.
type message struct {
	// Root is the way back to the site's root, relative, so that the site
	// works under a proxy's path prefix as the index does ("", "../").
	Root    string
	Heading string
	Text    string
	Button  string // "": no form
	Action  string
	Problem bool
	// Lang is the language the page is written in ("" is English); Back
	// the link back to the index in it.
	Lang string
	Back string
}

func (p *PublicSite) registerSubscriptions(mux *http.ServeMux) {
	if p.Subscriptions == nil {
		return
	}
	mux.HandleFunc("POST /subscribe", p.subscribe)
	mux.HandleFunc("GET /subscriptions/confirm/{token}", func(w http.ResponseWriter, r *http.Request) {
		words := p.linkWords(r, "../../")
		p.say(w, http.StatusOK, words.message(message{Heading: words.T("confirm_title"), Text: words.T("public_confirm_question"),
			Button: words.T("confirm_button"), Action: r.PathValue("token")}))
	})
	mux.HandleFunc("POST /subscriptions/confirm/{token}", func(w http.ResponseWriter, r *http.Request) {
		words := p.linkWords(r, "../../")
		if err := p.Subscriptions.ConfirmPublic(r.Context(), r.PathValue("token")); err != nil {
			p.refuseLink(w, r, words, err)
			return
		}
		p.say(w, http.StatusOK, words.message(message{Heading: words.T("subscribed_title"), Text: words.T("public_subscribed")}))
	})
	mux.HandleFunc("GET /unsubscribe/{token}", func(w http.ResponseWriter, r *http.Request) {
		words := p.linkWords(r, "../")
		p.say(w, http.StatusOK, words.message(message{Heading: words.T("unsubscribe_title"), Text: words.T("public_unsubscribe_question"),
			Button: words.T("unsubscribe_button"), Action: r.PathValue("token")}))
	})
	mux.HandleFunc("POST /unsubscribe/{token}", func(w http.ResponseWriter, r *http.Request) {
		words := p.linkWords(r, "../")
		if err := p.Subscriptions.UnsubscribePublic(r.Context(), r.PathValue("token")); err != nil {
			p.refuseLink(w, r, words, err)
			return
		}
		p.say(w, http.StatusOK, words.message(message{Heading: words.T("unsubscribed_title"), Text: words.T("public_unsubscribed")}))
	})
}

// linkWords are the words of a page a link in a customer's email opens,
// in its reader's language: the directory's for the link's address when
// it is a person of it, else the browser's (Accept-Language, bounded),
// else English. root is the way back to the index from the page.
type linkWords struct {
	i18n.Section
	lang, root string
}

func (p *PublicSite) linkWords(r *http.Request, root string) linkWords {
	tag := ""
	if t := r.PathValue("token"); t != "" && len(t) <= maxToken {
		tag = p.Subscriptions.LinkLanguage(r.Context(), t)
	}
	if tag == "" {
		tag = i18n.AcceptLanguage(r.Header.Get("Accept-Language"))
	}
	w := linkWords{Section: i18n.SectionIn(tag, "subscription_page"), lang: i18n.Default, root: root}
	if l := w.Localizer(); l != nil {
		w.lang = l.Lang()
	}
	return w
}

// message is m in these words: their language, the way back.
func (w linkWords) message(m message) message {
	m.Root, m.Lang, m.Back = w.root, w.lang, w.T("back")
	return m
}

// refuseLink answers a link that did not work: what was wrong with it (a
// used or expired link) in the reader's words, a generic answer otherwise.
func (p *PublicSite) refuseLink(w http.ResponseWriter, r *http.Request, words linkWords, err error) {
	problem := p.Subscriptions.LinkProblem(err)
	switch {
	case problem != "":
		p.say(w, http.StatusBadRequest, words.message(message{Heading: words.T("problem_title"),
			Text: words.T("sentences", "First", words.T("link_"+problem), "Second", words.T("nothing_changed")), Problem: true}))
	case errs.CodeOf(err) == errs.NotFound: // unsubscribed already
		p.say(w, http.StatusBadRequest, words.message(message{Heading: words.T("problem_title"),
			Text: words.T("sentences", "First", words.T("already_unsubscribed"), "Second", words.T("nothing_changed")), Problem: true}))
	default:
		p.logger().Error("public status page: subscription failed", "path", r.URL.Path, "err", err)
		p.say(w, http.StatusInternalServerError, words.message(message{Heading: words.T("problem_title"), Text: words.T("failed"), Problem: true}))
	}
}

// subscribe takes the form's address. The answer is the same for a new
// address, one subscribed already, and one that had its day's
// confirmation emails.
func (p *PublicSite) subscribe(w http.ResponseWriter, r *http.Request) {
	if !p.limiter().allow(p.clientIP(r)) {
		p.say(w, http.StatusTooManyRequests, message{Heading: "Too many requests",
			Text: "Too many subscriptions were asked from your network in the last hour; nothing was done. Please try again later.", Problem: true})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.say(w, http.StatusBadRequest, message{Heading: "Not subscribed", Text: "The form could not be read; nothing was done.", Problem: true})
		return
	}
	if err := p.Subscriptions.SubscribePublic(r.Context(), r.PostFormValue("email"), r.PostFormValue("component")); err != nil {
		p.refuse(w, r, "", "Not subscribed", err)
		return
	}
	p.say(w, http.StatusOK, message{Heading: "Check your inbox",
		Text: "If this address can receive email, a confirmation link is on its way. Nothing will be sent to it until the link is followed."})
}

// refuse answers an error: its message for a bad request (a malformed
// address, a used or expired link), a generic one otherwise.
func (p *PublicSite) refuse(w http.ResponseWriter, r *http.Request, root, heading string, err error) {
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.NotFound:
		text := err.Error()
		if e, ok := err.(*errs.Error); ok {
			text = e.Message
		}
		p.say(w, http.StatusBadRequest, message{Root: root, Heading: heading, Text: text + ". Nothing was changed.", Problem: true})
	default:
		p.logger().Error("public status page: subscription failed", "path", r.URL.Path, "err", err)
		p.say(w, http.StatusInternalServerError, message{Root: root, Heading: heading, Text: "Something went wrong; please try again shortly.", Problem: true})
	}
}

func (p *PublicSite) say(w http.ResponseWriter, status int, m message) {
	if m.Lang == "" {
		m.Lang = i18n.Default
	}
	if m.Back == "" {
		m.Back = "Back to the status page"
	}
	pg := &publicPage{Title: p.Title, PageTitle: m.Heading + " · " + p.Title, Root: m.Root, Feed: m.Root + "feed.atom", Now: p.Reader.Now(), Message: &m, Lang: m.Lang}
	body, err := p.render("message", pg)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPublicHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", m.Lang)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (p *PublicSite) clientIP(r *http.Request) string {
	return (&web.Server{TrustedProxies: p.TrustedProxies}).ClientIP(r)
}

func (p *PublicSite) limiter() *clientLimiter {
	p.limitOnce.Do(func() {
		p.limits = &clientLimiter{per: p.SubscribesPerHour, seen: map[netip.Prefix]*window{}}
		if p.limits.per <= 0 {
			p.limits.per = 5
		}
	})
	return p.limits
}

// clientLimiter caps the subscribe form's requests per client network per
// hour, in memory: a restart forgets it, and each replica counts its
// own, which is enough to stop one client from mailing confirmation links
// to a list of strangers (each address also has its daily limit, kept in
// the database).
type clientLimiter struct {
	mu   sync.Mutex
	per  int
	seen map[netip.Prefix]*window
}

type window struct {
	start time.Time
	n     int
}

// maxClients bounds the limiter's memory; past it, the expired windows go.
const maxClients = 10000

func (l *clientLimiter) allow(ip string) bool {
	key := clientKey(ip)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) >= maxClients {
		for k, w := range l.seen {
			if now.Sub(w.start) >= time.Hour {
				delete(l.seen, k)
			}
		}
		if len(l.seen) >= maxClients {
			return false // under a flood from many networks: refuse rather than grow
		}
	}
	w := l.seen[key]
	if w == nil || now.Sub(w.start) >= time.Hour {
		w = &window{start: now}
		l.seen[key] = w
	}
	if w.n >= l.per {
		return false
	}
	w.n++
	return true
}

// clientKey is the network a client is counted by: its address, or its
// /64 for IPv6, which one customer's line usually has whole.
func clientKey(ip string) netip.Prefix {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
