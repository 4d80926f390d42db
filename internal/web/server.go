// Package web is the base of sitrep's HTTP side: the configuration every
// handler shares, the middleware (a bearer token or a session cookie, the
// client's address behind proxies, body limits, security headers, metrics)
// and the one place where an error becomes a response (Error). It serves
// /healthz, /readyz and /metrics itself; the JSON API (internal/web/api)
// and the HTML UI (internal/web/ui) register their routes on its mux.
// This package imports neither of them, nor any domain package: they
// import it.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Server is what every route shares. main builds it, and the API and the
// UI each hold it beside their own services.
type Server struct {
	// Tokens authenticate the API's bearer tokens.
	Tokens *auth.Tokens
	// Sessions are the UI's signed-in browsers; nil: no UI.
	Sessions *auth.Sessions
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Storage, when set, answers /readyz and hears of writes that failed
	// for lack of storage (a full disk), so that readiness fails with them.
	Storage Storage
	// MailHealth, when set, says whether mail can sign in (OAuth2 tokens);
	// a failure turns /readyz and the UI's health line red for mail.
	MailHealth   HealthReporter
	MaxBodyBytes int64
	// PublicURL https makes cookies Secure (TLS ends at a proxy in front).
	PublicURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (ClientIP); none: the peer is the client.
	TrustedProxies []netip.Prefix

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	routes   []Route
}

// Registrar adds its routes to the server's mux: the API and the UI are two.
type Registrar interface {
	Register(mux *http.ServeMux)
}

// HealthReporter says whether a part of the hub works now; nil is healthy.
// mailauth.Tokens is one.
type HealthReporter interface {
	Health() error
}

// Route is one authenticated API route and the role it needs.
type Route struct {
	Pattern string
	Role    auth.Role
}

// Routes lists the API routes registered through Handle, for checks that
// walk the router (every state-changing route needs a token and a role).
func (s *Server) Routes() []Route { return s.routes }

// Handler builds the mux: the health and metrics endpoints, then the
// routes of each part, all behind the panic guard.
func (s *Server) Handler(parts ...Registrar) http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = 1 << 20
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitrep_http_requests_total", Help: "HTTP requests by route and status class."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sitrep_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	s.Registry.MustRegister(s.requests, s.latency)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	for _, p := range parts {
		p.Register(mux)
	}
	return s.recoverer(mux)
}

// Instrument counts and times the requests of one route; h writes to a
// recorder of the status it answers.
func (s *Server) Instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		defer func() {
			s.requests.WithLabelValues(route, statusClass(rec.status)).Inc()
			s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h(rec, r)
	}
}

// APIHandler is a handler that returns a value to encode as JSON, or an error.
type APIHandler func(w http.ResponseWriter, r *http.Request) (any, error)

// Handle registers an authenticated JSON route: a bearer token with at
// least the role need, the body bounded by MaxBodyBytes; v is answered as
// JSON (201 when wrapped by Created on a POST, 204 when nil), an error
// through Error.
func (s *Server) Handle(mux *http.ServeMux, pattern string, need auth.Role, h APIHandler) {
	s.routes = append(s.routes, Route{Pattern: pattern, Role: need})
	mux.HandleFunc(pattern, s.Instrument(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		if !p.Role.Allows(need) {
			s.Error(w, r, errs.E(errs.Forbidden, "%s (%s) may not do this; it needs the %s role", p.Name, p.Role, need))
			return
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
		v, err := h(w, r)
		if err == ErrWritten {
			return
		}
		if err != nil {
			s.Error(w, r, err)
			return
		}
		status := http.StatusOK
		if r.Method == http.MethodPost && v != nil {
			if c, ok := v.(created); ok {
				status, v = http.StatusCreated, c.v
			}
		}
		if v == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		WriteJSON(w, status, v)
	}))
}

// ErrWritten tells Handle that the handler wrote its own response (not JSON).
var ErrWritten = errors.New("response written")

// created marks a response as 201 Created.
type created struct{ v any }

// Created wraps a value to be answered with 201.
func Created(v any) any { return created{v} }

func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return nil, errs.E(errs.Unauthorized, "missing bearer token (Authorization: Bearer <token>)")
	}
	return s.Tokens.Verify(r.Context(), strings.TrimSpace(token))
}

// Storage is the database as the server sees its health; *store.DB is one.
type Storage interface {
	// Ready reports whether the database can take work now (it answers and
	// takes a write).
	Ready(ctx context.Context) error
	// NoteError hears of a failed request's error; a storage fault among
	// them makes Ready fail for a while.
	NoteError(err error)
}

var _ Storage = (*store.DB)(nil)

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Storage != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.Storage.Ready(ctx); err != nil {
			s.Logger.Warn("not ready", "err", err)
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	if err := s.MailProblem(); err != nil {
		// Mail alone is down: the rest of the hub serves on, and this
		// says which part needs an administrator.
		http.Error(w, "not ready: mail: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic in handler", "path", r.URL.Path, "panic", v)
				s.Error(w, r, errs.E(errs.Internal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func statusClass(code int) string { return string(rune('0'+code/100)) + "xx" }

// MailProblem is why mail cannot sign in, or nil.
func (s *Server) MailProblem() error {
	if s.MailHealth == nil {
		return nil
	}
	return s.MailHealth.Health()
}
