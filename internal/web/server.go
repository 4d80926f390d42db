// Package web serves sitrep's HTTP side: the JSON API under /api/v1/, the
// health and metrics endpoints, and (later) the web UI, on one port.
package web

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
	"github.com/sitrep-dev/sitrep/internal/store"
)

//go:embed openapi.yaml
var openapiFS embed.FS

// Server holds what the handlers need. main builds it.
type Server struct {
	Incidents *incident.Service
	Directory *directory.Store
	Tokens    *auth.Tokens
	Outbox    *outbox.Outbox
	Comms     *incident.Comms
	Inbox     *inbox.Store   // replies and triage; nil: no routes
	Replies   *reply.Service // files triaged messages
	// Resolution: resolve, confirmations, reports, the blameless summary; nil: no routes.
	Resolution *resolution.Service
	// Postmortem: booking, the board and improvements; nil: no routes.
	Postmortem *postmortem.Service
	// Changes: the change log, its deployment webhook and the incident's changes view; nil: no routes.
	Changes *changes.Service
	// Intake: monitoring webhooks and the draft incidents they open; nil: no routes.
	Intake   *intake.Service
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// SyncDirectory re-reads groups.yaml (the API's sync endpoint and SIGHUP).
	SyncDirectory func(ctx context.Context) (*directory.SyncResult, error)
	// Storage, when set, answers /readyz and hears of writes that failed
	// for lack of storage (a full disk), so that readiness fails with them.
	Storage Storage
	// MailHealth, when set, says whether mail can sign in (OAuth2 tokens);
	// a failure turns /readyz and the UI's health line red for mail.
	MailHealth   HealthReporter
	MaxBodyBytes int64
	// The web UI (ui*.go): nil Accounts or Sessions, no UI. Sandbox, when
	// set, adds the mail sandbox pages; PublicURL https makes cookies Secure.
	Accounts  *auth.Accounts
	Sessions  *auth.Sessions
	Sandbox   *sandbox.Sandbox
	PublicURL string
	// SSO, when set, adds single sign-on to the sign-in page (ui_oidc.go).
	SSO *SSO
	// Doctor, when set, adds the admins' doctor page (ui_doctor.go).
	Doctor     Doctor
	doctorRuns doctorRuns
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (clientIP); none: the peer is the client.
	TrustedProxies []netip.Prefix
	ui             *ui

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	routes   []Route
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

// Routes lists the API routes registered by Handler, for checks that walk
// the router (every state-changing route needs a token and a role).
func (s *Server) Routes() []Route { return s.routes }

// Handler builds the routes.
func (s *Server) Handler() http.Handler {
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
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		http.ServeFileFS(w, r, openapiFS, "openapi.yaml")
	})

	s.handle(mux, "GET /api/v1/me", auth.Viewer, s.me)
	s.handle(mux, "GET /api/v1/incidents", auth.Viewer, s.listIncidents)
	s.handle(mux, "POST /api/v1/incidents", auth.Lead, s.declareIncident)
	s.handle(mux, "GET /api/v1/incidents/{ref}", auth.Viewer, s.getIncident)
	s.handle(mux, "PATCH /api/v1/incidents/{ref}", auth.Lead, s.patchIncident)
	s.handle(mux, "POST /api/v1/incidents/{ref}/transitions", auth.Lead, s.transitionIncident)
	s.handle(mux, "GET /api/v1/incidents/{ref}/timeline", auth.Viewer, s.getTimeline)
	s.handle(mux, "POST /api/v1/incidents/{ref}/notes", auth.Lead, s.addNote)

	s.handle(mux, "POST /api/v1/incidents/{ref}/updates", auth.Lead, s.sendUpdate)
	s.handle(mux, "POST /api/v1/incidents/{ref}/headsup", auth.Lead, s.sendHeadsUp)
	s.handle(mux, "GET /api/v1/incidents/{ref}/messages", auth.Viewer, s.listMessages)
	s.handle(mux, "GET /api/v1/incidents/{ref}/messages/{id}/deliveries", auth.Viewer, s.listDeliveries)

	s.handle(mux, "GET /api/v1/directory", auth.Viewer, s.getDirectory)
	s.handle(mux, "POST /api/v1/directory/sync", auth.Admin, s.syncDirectory)
	s.handle(mux, "GET /api/v1/groups", auth.Viewer, s.listGroups)
	s.handle(mux, "GET /api/v1/groups/{name}", auth.Viewer, s.getGroup)
	s.handle(mux, "PUT /api/v1/groups/{name}", auth.Admin, s.putGroup)
	s.handle(mux, "GET /api/v1/people", auth.Viewer, s.listPeople)
	s.handle(mux, "PUT /api/v1/people/{email}", auth.Admin, s.putPerson)
	s.handle(mux, "GET /api/v1/escalations", auth.Viewer, s.listEscalations)
	s.handle(mux, "PUT /api/v1/escalations/{system}", auth.Admin, s.putEscalation)

	s.handle(mux, "GET /api/v1/tokens", auth.Admin, s.listTokens)
	s.handle(mux, "POST /api/v1/tokens", auth.Admin, s.createToken)
	s.handle(mux, "DELETE /api/v1/tokens/{id}", auth.Admin, s.revokeToken)

	s.registerInbox(mux)
	s.registerResolution(mux)
	s.registerPostmortem(mux)
	s.registerChanges(mux)
	s.registerIntake(mux)
	s.registerUI(mux)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errs.E(errs.NotFound, "no API route %s %s", r.Method, r.URL.Path))
	})
	return s.recoverer(mux)
}

// APIHandler is a handler that returns a value to encode as JSON, or an error.
type APIHandler func(w http.ResponseWriter, r *http.Request) (any, error)

// Handle registers an authenticated JSON route; other packages' routes use it too.
func (s *Server) Handle(mux *http.ServeMux, pattern string, need auth.Role, h APIHandler) {
	s.handle(mux, pattern, need, h)
}

func (s *Server) handle(mux *http.ServeMux, pattern string, need auth.Role, h APIHandler) {
	route := pattern
	s.routes = append(s.routes, Route{Pattern: pattern, Role: need})
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		defer func() {
			s.requests.WithLabelValues(route, statusClass(rec.status)).Inc()
			s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(rec, r, err)
			return
		}
		if !p.Role.Allows(need) {
			s.writeError(rec, r, errs.E(errs.Forbidden, "%s (%s) may not do this; it needs the %s role", p.Name, p.Role, need))
			return
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		r.Body = http.MaxBytesReader(rec, r.Body, s.MaxBodyBytes)
		v, err := h(rec, r)
		if err == errWritten {
			return
		}
		if err != nil {
			s.writeError(rec, r, err)
			return
		}
		status := http.StatusOK
		if r.Method == http.MethodPost && v != nil {
			if c, ok := v.(created); ok {
				status, v = http.StatusCreated, c.v
			}
		}
		if v == nil {
			rec.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(rec, status, v)
	})
}

// errWritten tells handle that the handler wrote its own response (not JSON).
var errWritten = errors.New("response written")

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
	if err := s.mailProblem(); err != nil {
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
				s.writeError(w, r, errs.E(errs.Internal, "internal error"))
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

func actor(r *http.Request) string {
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		return p.Name
	}
	return ""
}

// mailProblem is why mail cannot sign in, or nil.
func (s *Server) mailProblem() error {
	if s.MailHealth == nil {
		return nil
	}
	return s.MailHealth.Health()
}
