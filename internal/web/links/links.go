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
//
// The pages are written in their reader's language (the catalogs of
// internal/i18n, section subscription_page): the directory's language for
// the link's address when it is a person of the directory, else the
// browser's Accept-Language, else English.
package links

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Subscriptions is what the pages need of the subscriptions.
type Subscriptions interface {
	Confirm(ctx context.Context, token string) (*subscription.Subscription, error)
	UnsubscribeToken(ctx context.Context, token string) (*subscription.Subscription, error)
	// LinkLanguage is the language of the link's reader when sitrep
	// knows it (a person of the directory), "" otherwise.
	LinkLanguage(ctx context.Context, token string) string
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
	Lang    string // the html element's lang: the language the page is written in
	Title   string
	Text    string
	Button  string // "" : no form
	Action  string
	Problem bool
}

func (s *Server) show(w http.ResponseWriter, status int, v view) {
	web.SetPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.Header().Set("Vary", "Accept-Language")
	w.WriteHeader(status)
	_ = page.Execute(w, v)
}

// maxToken bounds the token before anything reads it further.
const maxToken = 100

func token(r *http.Request) (string, bool) {
	t := r.PathValue("token")
	return t, t != "" && len(t) <= maxToken
}

// wordsFor reads the token of r and the catalog section of its reader:
// the directory's language for the link's address, else the browser's
// (Accept-Language, bounded), else English; lang is the language the
// section writes. A token too long to be one is not looked up (ok false).
func (s *Server) wordsFor(r *http.Request) (t string, ok bool, words i18n.Section, lang string) {
	t, ok = token(r)
	tag := ""
	if ok {
		tag = s.Subscriptions.LinkLanguage(r.Context(), t)
	}
	if tag == "" {
		tag = i18n.AcceptLanguage(r.Header.Get("Accept-Language"))
	}
	words, lang = i18n.SectionIn(tag, "subscription_page"), i18n.Default
	if l := words.Localizer(); l != nil {
		lang = l.Lang()
	}
	return t, ok, words, lang
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	t, ok, words, lang := s.wordsFor(r)
	if !ok {
		s.refuse(w, words, lang, subscription.LinkInvalid)
		return
	}
	s.show(w, http.StatusOK, view{Lang: lang, Title: words.T("unsubscribe_title"), Text: words.T("unsubscribe_question"),
		Button: words.T("unsubscribe_button"), Action: "/unsubscribe/" + t})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10) // RFC 8058's body is "List-Unsubscribe=One-Click"
	t, ok, words, lang := s.wordsFor(r)
	if !ok {
		s.refuse(w, words, lang, subscription.LinkInvalid)
		return
	}
	sub, err := s.Subscriptions.UnsubscribeToken(r.Context(), t)
	if errs.Is(err, errs.NotFound) {
		s.show(w, http.StatusOK, view{Lang: lang, Title: words.T("unsubscribed_title"), Text: words.T("already_unsubscribed")})
		return
	}
	if err != nil {
		s.problem(w, r, words, lang, err)
		return
	}
	s.show(w, http.StatusOK, view{Lang: lang, Title: words.T("unsubscribed_title"), Text: words.T("unsubscribed", "Email", sub.Email)})
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	t, ok, words, lang := s.wordsFor(r)
	if !ok {
		s.refuse(w, words, lang, subscription.LinkInvalid)
		return
	}
	s.show(w, http.StatusOK, view{Lang: lang, Title: words.T("confirm_title"), Text: words.T("confirm_question"),
		Button: words.T("confirm_button"), Action: "/subscriptions/confirm/" + t})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	t, ok, words, lang := s.wordsFor(r)
	if !ok {
		s.refuse(w, words, lang, subscription.LinkInvalid)
		return
	}
	sub, err := s.Subscriptions.Confirm(r.Context(), t)
	if err != nil {
		s.problem(w, r, words, lang, err)
		return
	}
	var text string
	switch sub.Kind {
	case subscription.System:
		text = words.T("subscribed_system", "Email", sub.Email, "System", sub.Target)
	case subscription.Incident:
		text = words.T("subscribed_incident", "Email", sub.Email, "Incident", sub.Target)
	default:
		text = words.T("subscribed_all", "Email", sub.Email)
	}
	s.show(w, http.StatusOK, view{Lang: lang, Title: words.T("subscribed_title"), Text: text})
}

// problem shows what was wrong with the link in the reader's words, or a
// domain error's message; anything else is logged and shown as the one
// error shape says.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, words i18n.Section, lang string, err error) {
	if p := subscription.LinkProblem(err); p != "" {
		s.refuse(w, words, lang, p)
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code == errs.Internal {
		s.Error(w, r, err)
		return
	}
	s.show(w, web.StatusOf(err), view{Lang: lang, Title: words.T("problem_title"), Text: words.T("sentences", "First", e.Message+".", "Second", words.T("nothing_changed")), Problem: true})
}

// refuse says that the link did not work, and why (a subscription.LinkProblem).
func (s *Server) refuse(w http.ResponseWriter, words i18n.Section, lang, problem string) {
	s.show(w, http.StatusBadRequest, view{Lang: lang, Title: words.T("problem_title"),
		Text: words.T("sentences", "First", words.T("link_"+problem), "Second", words.T("nothing_changed")), Problem: true})
}
