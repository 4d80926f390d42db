package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// registerInbox adds the routes of what comes back by mail: an incident's
// replies and the triage list of mail that matched no incident. Texts are
// the plain new text of each message; HTML never leaves the store.
func (s *Server) registerInbox(mux *http.ServeMux) {
	if s.Inbox == nil {
		return
	}
	s.Handle(mux, "GET /api/v1/incidents/{ref}/replies", auth.Viewer, s.listReplies)
	s.Handle(mux, "GET /api/v1/triage", auth.Viewer, s.listTriage)
	s.Handle(mux, "POST /api/v1/triage/{id}/assign", auth.Lead, s.assignTriage)
}

func (s *Server) listReplies(w http.ResponseWriter, r *http.Request) (any, error) {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	list, err := s.Inbox.Replies(r.Context(), inc.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"incident": inc.Ref, "replies": list}, nil
}

func (s *Server) listTriage(w http.ResponseWriter, r *http.Request) (any, error) {
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return nil, errs.InvalidField("limit", "want a positive integer")
		}
		limit = n
	}
	list, err := s.Inbox.Triage(r.Context(), limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"messages": list}, nil
}

func (s *Server) assignTriage(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.E(errs.NotFound, "no inbound message %q", r.PathValue("id"))
	}
	var in struct {
		Incident string `json:"incident"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Incident) == "" {
		return nil, errs.InvalidField("incident", "name the incident to file the message on, like INC-42")
	}
	return s.Replies.File(r.Context(), id, in.Incident, actor(r))
}
