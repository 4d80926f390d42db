// Package api serves sitrep's JSON API under /api/v1/: one handler per
// route over the domain services, mounted on the base server (internal/web),
// which authenticates the token, checks the role, bounds the body and
// turns errors into the one error shape. openapi.yaml documents every route.
package api

import (
	"context"
	"embed"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
)

//go:embed openapi.yaml
var openapiFS embed.FS

// GroupsFile is where the directory comes from (groups.yaml).
type GroupsFile interface {
	Sync(ctx context.Context) (*directory.SyncResult, error)
}

// Server is the API: the base server and the services its routes call.
// main builds it.
type Server struct {
	*web.Server
	Incidents *incident.Service
	Directory *directory.Store
	Outbox    *outbox.Outbox
	Comms     *incident.Comms
	Inbox     *inbox.Store   // replies and triage; nil: no routes
	Replies   *reply.Service // files triaged messages
	// Questions: the stakeholders' questions, answered or not; nil: no routes.
	Questions *reply.QuestionBook
	// Resolution: resolve, confirmations, reports, the blameless summary; nil: no routes.
	Resolution *resolution.Service
	// Postmortem: booking, the board and improvements; nil: no routes.
	Postmortem *postmortem.Service
	// Changes: the change log, its deployment webhook and the incident's changes view; nil: no routes.
	Changes *changes.Service
	// Intake: monitoring webhooks and the draft incidents they open; nil: no routes.
	Intake *intake.Service
	// Maintenance: planned maintenance windows declared, announced, cancelled; nil: no routes.
	Maintenance *maintenance.Service
	// Groups re-reads groups.yaml for the sync endpoint; nil: no endpoint.
	Groups GroupsFile

	// Subscriptions: people following incidents themselves; nil: no routes.
	Subscriptions *subscription.Service
	// Backlog: the tracker's webhook (an issue closed or reopened); nil: no route.
	Backlog *backlog.Service
}

var _ web.Registrar = (*Server)(nil)

// Register adds the API's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		http.ServeFileFS(w, r, openapiFS, "openapi.yaml")
	})

	s.Handle(mux, "GET /api/v1/me", auth.Viewer, s.me)
	s.Handle(mux, "GET /api/v1/incidents", auth.Viewer, s.listIncidents)
	s.Handle(mux, "POST /api/v1/incidents", auth.Lead, s.declareIncident)
	s.Handle(mux, "GET /api/v1/incidents/{ref}", auth.Viewer, s.getIncident)
	s.Handle(mux, "PATCH /api/v1/incidents/{ref}", auth.Lead, s.patchIncident)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/transitions", auth.Lead, s.transitionIncident)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/timeline", auth.Viewer, s.getTimeline)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/notes", auth.Lead, s.addNote)

	s.Handle(mux, "POST /api/v1/incidents/{ref}/updates", auth.Lead, s.sendUpdate)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/headsup", auth.Lead, s.sendHeadsUp)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/messages", auth.Viewer, s.listMessages)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/messages/{id}/deliveries", auth.Viewer, s.listDeliveries)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/audit", auth.Viewer, s.getAudit)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/audit.csv", auth.Viewer, s.getAuditCSV)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/questions", auth.Viewer, s.listQuestions)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/questions/answered", auth.Lead, s.answerQuestions)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/questions/{id}/answered", auth.Lead, s.answerQuestions)

	s.Handle(mux, "GET /api/v1/directory", auth.Viewer, s.getDirectory)
	s.Handle(mux, "POST /api/v1/directory/sync", auth.Admin, s.syncDirectory)
	s.Handle(mux, "GET /api/v1/groups", auth.Viewer, s.listGroups)
	s.Handle(mux, "GET /api/v1/groups/{name}", auth.Viewer, s.getGroup)
	s.Handle(mux, "PUT /api/v1/groups/{name}", auth.Admin, s.putGroup)
	s.Handle(mux, "GET /api/v1/people", auth.Viewer, s.listPeople)
	s.Handle(mux, "PUT /api/v1/people/{email}", auth.Admin, s.putPerson)
	s.Handle(mux, "GET /api/v1/escalations", auth.Viewer, s.listEscalations)
	s.Handle(mux, "PUT /api/v1/escalations/{system}", auth.Admin, s.putEscalation)

	s.Handle(mux, "GET /api/v1/tokens", auth.Admin, s.listTokens)
	s.Handle(mux, "POST /api/v1/tokens", auth.Admin, s.createToken)
	s.Handle(mux, "DELETE /api/v1/tokens/{id}", auth.Admin, s.revokeToken)

	s.registerInbox(mux)
	s.registerResolution(mux)
	s.registerPostmortem(mux)
	s.registerChanges(mux)
	s.registerIntake(mux)
	s.registerMaintenance(mux)
	s.registerSubscriptions(mux)
	s.registerBacklog(mux)
	s.registerScorecard(mux)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, errs.E(errs.NotFound, "no API route %s %s", r.Method, r.URL.Path))
	})
}

// actor is who is calling: the token's name.
func actor(r *http.Request) string {
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		return p.Name
	}
	return ""
}
