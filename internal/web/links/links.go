// Package links serves the pages that links in emails open without
// signing in: a subscriber's one-click unsubscribe (/unsubscribe/{token},
// RFC 8058) and a double opt-in's confirmation (/subscriptions/confirm/{token}).
// The token in the URL is the whole authorization: random, single-use,
// and known only to the mailbox it was sent to.
//
// A GET never changes anything, since mail scanners and link previews
// follow links: it shows a button, and the POST it sends acts. The POST
// needs no session or CSRF token (RFC 8058 3.1: the mail client's POST
// carries none); a forged POST would need the token, which is the
// permission itself.
package links

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Subscriptions is what the pages need of the subscriptions.
type Subscriptions interface {
	Confirm(ctx context.Context, token string) (*subscription.Subscription, error)
	UnsubscribeToken(ctx context.Context, token string) (*subscription.Subscription, error)
}

// Server serves the pages.
type Server struct {
	*web.Server
	Subscriptions Subscriptions
}

var _ web.Registrar = (*Server)(nil)

//go:embed page.html
var pageFS embed.FS

// page is parsed at start: a broken template stops the program then.
var page = template.Must(template.ParseFS(pageFS, "page.html"))

// Register adds the pages to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /unsubscribe/{token}", s.Instrument("GET /unsubscribe/{token}", s.unsubscribePage))
	mux.HandleFunc("POST /unsubscribe/{token}", s.Instrument("POST /unsubscribe/{token}", s.unsubscribe))
	mux.HandleFunc("GET /subscriptions/confirm/{token}", s.Instrument("GET /subscriptions/confirm/{token}", s.confirmPage))
	mux.HandleFunc("POST /subscriptions/confirm/{token}", s.Instrument("POST /subscriptions/confirm/{token}", s.confirm))
}

// view is what page.html shows: a question with its button, or an outcome.
type view struct {
	Title   string
	Text    string
	Button  string // "" : no form
	Action  string
	Problem bool
}

func (s *Server) show(w http.ResponseWriter, status int, v view) {
	web.SetPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = page.Execute(w, v)
}

// maxToken bounds the token before anything reads it further.
const maxToken = 100

func token(r *http.Request) (string, bool) {
	t := r.PathValue("token")
	return t, t != "" && len(t) <= maxToken
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	t, ok := token(r)
	if !ok {
		s.problem(w, r, errs.InvalidField("token", "this link is not valid"))
		return
	}
	s.show(w, http.StatusOK, view{Title: "Unsubscribe", Text: "Stop receiving these incident emails at this address? Only your own subscription ends; distribution groups you are in are not changed.",
		Button: "Unsubscribe", Action: "/unsubscribe/" + t})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10) // RFC 8058's body is "List-Unsubscribe=One-Click"
	t, ok := token(r)
	if !ok {
		s.problem(w, r, errs.InvalidField("token", "this link is not valid"))
		return
	}
	sub, err := s.Subscriptions.UnsubscribeToken(r.Context(), t)
	if errs.Is(err, errs.NotFound) {
		s.show(w, http.StatusOK, view{Title: "Unsubscribed", Text: "You were already unsubscribed."})
		return
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.show(w, http.StatusOK, view{Title: "Unsubscribed", Text: sub.Email + " will not receive these incident emails any more."})
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	t, ok := token(r)
	if !ok {
		s.problem(w, r, errs.InvalidField("token", "this link is not valid"))
		return
	}
	s.show(w, http.StatusOK, view{Title: "Confirm your subscription", Text: "Receive the status emails you asked for at this address?",
		Button: "Confirm", Action: "/subscriptions/confirm/" + t})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	t, ok := token(r)
	if !ok {
		s.problem(w, r, errs.InvalidField("token", "this link is not valid"))
		return
	}
	sub, err := s.Subscriptions.Confirm(r.Context(), t)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	what := "every incident"
	switch sub.Kind {
	case subscription.System:
		what = "incidents that affect " + sub.Target
	case subscription.Incident:
		what = sub.Target
	}
	s.show(w, http.StatusOK, view{Title: "Subscribed", Text: sub.Email + " will receive the status emails of " + what + ". Every email has a link to unsubscribe."})
}

// problem shows a domain error's message; anything else is logged and
// shown as the one error shape says.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code == errs.Internal {
		s.Error(w, r, err)
		return
	}
	s.show(w, web.StatusOf(err), view{Title: "This link did not work", Text: e.Message + ". Nothing was changed.", Problem: true})
}
