package statuspage

import (
	"context"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
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
}

// maxForm bounds the subscribe form's body: one address fits many times.
const maxForm = 4 << 10

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
}

func (p *PublicSite) registerSubscriptions(mux *http.ServeMux) {
	if p.Subscriptions == nil {
		return
	}
	mux.HandleFunc("POST /subscribe", p.subscribe)
	mux.HandleFunc("GET /subscriptions/confirm/{token}", func(w http.ResponseWriter, r *http.Request) {
		p.say(w, http.StatusOK, message{Heading: "Confirm your subscription",
			Text: "Confirm that this address should receive this status page's updates by email.", Button: "Confirm", Action: r.PathValue("token"), Root: "../../"})
	})
	mux.HandleFunc("POST /subscriptions/confirm/{token}", func(w http.ResponseWriter, r *http.Request) {
		if err := p.Subscriptions.ConfirmPublic(r.Context(), r.PathValue("token")); err != nil {
			p.refuse(w, r, "../../", "This link does not work", err)
			return
		}
		p.say(w, http.StatusOK, message{Root: "../../", Heading: "Subscribed", Text: "You will receive this status page's updates by email. Each one has a link to unsubscribe."})
	})
	mux.HandleFunc("GET /unsubscribe/{token}", func(w http.ResponseWriter, r *http.Request) {
		p.say(w, http.StatusOK, message{Heading: "Unsubscribe",
			Text: "Stop the emails of this status page to this address.", Button: "Unsubscribe", Action: r.PathValue("token"), Root: "../"})
	})
	mux.HandleFunc("POST /unsubscribe/{token}", func(w http.ResponseWriter, r *http.Request) {
		if err := p.Subscriptions.UnsubscribePublic(r.Context(), r.PathValue("token")); err != nil {
			p.refuse(w, r, "../", "This link does not work", err)
			return
		}
		p.say(w, http.StatusOK, message{Root: "../", Heading: "Unsubscribed", Text: "You will receive no more emails from this status page."})
	})
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
	pg := &publicPage{Title: p.Title, PageTitle: m.Heading + " · " + p.Title, Root: m.Root, Feed: m.Root + "feed.atom", Now: p.Reader.Now(), Message: &m}
	body, err := p.render("message", pg)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPublicHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
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
