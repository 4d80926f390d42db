// Package ui serves sitrep's web UI: server-rendered pages over the same
// services as the API, signed in with local accounts (internal/auth) or
// single sign-on with an OpenID Connect provider (login_oidc.go). Every
// page works without JavaScript; static/app.js adds the ticking
// countdowns, the live preview of an update and the saved drafts.
//
// This file is the route table; each page or action has a file of its own
// (incident_declare.go, postmortem_book.go, ...), the forms they read are
// in form.go, and the templates in templates/.
package ui

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/netip"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Server is the UI: the base server and the services its pages use. main
// builds it; without Accounts or the base's Sessions there is no UI.
type Server struct {
	*web.Server
	Incidents *incident.Service
	Directory *directory.Store
	Outbox    *outbox.Outbox  // nil: updates cannot be sent
	Comms     *incident.Comms // status updates: who gets which message in which thread
	Inbox     *inbox.Store    // nil: no replies or triage
	Replies   *reply.Service  // files triaged messages
	// Questions: the stakeholders' questions, answered or not; nil: no questions card.
	Questions  *reply.QuestionBook
	Resolution *resolution.Service // nil: no resolve form or summary editor
	Postmortem *postmortem.Service // nil: no post-mortem pages
	Changes    *changes.Service    // nil: no changes card
	// Maintenance: what was told of each maintenance window in the changes card; nil: not shown.
	Maintenance *maintenance.Service
	Intake      *intake.Service // nil: no drafts
	Accounts    *auth.Accounts
	// Sandbox, when set, adds the mail sandbox pages.
	Sandbox *sandbox.Sandbox
	// SSO, when set, adds single sign-on to the sign-in page (login_oidc.go).
	SSO *SSO
	// Doctor, when set, adds the admins' doctor page (doctor.go).
	Doctor Doctor
	// StatusOpenTo are the networks whose people read the status page and
	// its feeds without signing in (status_page.open_to; status.go).
	StatusOpenTo []netip.Prefix
	// Subscriptions, when set, lets people follow incidents from the
	// status page (status_follow.go); nil: no following there.
	Subscriptions Subscriptions

	doctorRuns doctorRuns
	pages      map[string]*template.Template // as parsed; run through pageFor
	clones     clones                        // the pages per viewer
	readersOf  readersOf                     // the viewers' languages and zones
	limiter    *auth.LoginLimiter
}

var _ web.Registrar = (*Server)(nil)

// handler serves one page or form. sess is nil only on public routes.
type handler func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error

// route is one UI route. need "" is a public route (sign-in); its forms
// are protected by a double-submit token instead of the session's.
type route struct {
	method, path string
	need         auth.Role
	h            handler
}

// routes lists every UI route; Register and the CSRF test walk it.
func (s *Server) routes() []route {
	r := []route{
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
		{"POST", "/incidents/{ref}/hold", auth.Lead, s.uiSendHold},
		{"GET", "/incidents/{ref}/messages/{id}", auth.Viewer, s.uiMessage},
		{"GET", "/incidents/{ref}/audit", auth.Viewer, s.uiAudit},
		{"GET", "/incidents/{ref}/audit.csv", auth.Viewer, s.uiAuditCSV},
		{"POST", "/incidents/{ref}/questions/answered", auth.Lead, s.uiAnswerQuestions},
		{"POST", "/incidents/{ref}/questions/{id}/answered", auth.Lead, s.uiAnswerQuestions},
		{"GET", "/reports", auth.Viewer, s.uiReport},
		{"GET", "/reports.csv", auth.Viewer, s.uiReportCSV},
		{"GET", "/reports.json", auth.Viewer, s.uiReportJSON},

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
			route{"GET", "/doctor", auth.Admin, s.uiDoctor},
			route{"POST", "/doctor", auth.Admin, s.uiRunDoctor})
	}
	if s.Subscriptions != nil {
		r = append(r,
			route{"POST", "/status/follow", auth.Viewer, s.uiStatusFollow},
			route{"POST", "/status/follow/{id}/remove", auth.Viewer, s.uiStatusUnfollow})
	}
	if s.SSO != nil {
		r = append(r,
			route{"GET", "/login/oidc", "", s.uiOIDCStart},
			route{"GET", "/login/oidc/callback", "", s.uiOIDCCallback})
	}
	return r
}

// Register adds the web UI to mux when accounts and sessions are wired.
// The templates are parsed here, at start: a broken one stops the program
// now, not at 3 a.m.
func (s *Server) Register(mux *http.ServeMux) {
	if s.Accounts == nil || s.Sessions == nil {
		return
	}
	pages, err := parseTemplates()
	if err != nil {
		panic(fmt.Sprintf("ui: templates: %v", err))
	}
	s.pages, s.limiter = pages, &auth.LoginLimiter{}
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})))
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.registerStatus(mux)
}
