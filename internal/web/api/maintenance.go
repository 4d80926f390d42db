package api

import (
	"net/http"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// registerMaintenance adds planned maintenance: windows declared in
// sitrep, the list of windows with what was told, announcing one ahead
// of time, and cancelling one.
func (s *Server) registerMaintenance(mux *http.ServeMux) {
	if s.Maintenance == nil {
		return
	}
	s.Handle(mux, "POST /api/v1/maintenance", auth.Lead, s.declareMaintenance)
	s.Handle(mux, "GET /api/v1/maintenance", auth.Viewer, s.listMaintenance)
	s.Handle(mux, "GET /api/v1/maintenance/{ref}", auth.Viewer, s.getMaintenance)
	s.Handle(mux, "POST /api/v1/maintenance/{ref}/announce", auth.Lead, s.announceMaintenance)
	s.Handle(mux, "POST /api/v1/maintenance/{ref}/cancel", auth.Lead, s.cancelMaintenance)
}

func (s *Server) declareMaintenance(w http.ResponseWriter, r *http.Request) (any, error) {
	var in maintenance.DeclareInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	win, err := s.Maintenance.Declare(r.Context(), actor(r), in)
	if err != nil {
		return nil, err
	}
	return web.Created(map[string]any{"window": win}), nil
}

// listMaintenance: the windows from since ago (default 7 days) to ahead
// (default 30 days) from now.
func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request) (any, error) {
	since, err := durationParam(r, "since", 7*24*time.Hour)
	if err != nil {
		return nil, err
	}
	ahead, err := durationParam(r, "ahead", 30*24*time.Hour)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	list, err := s.Maintenance.List(r.Context(), now.Add(-since), now.Add(ahead))
	if err != nil {
		return nil, err
	}
	return map[string]any{"windows": list}, nil
}

func (s *Server) getMaintenance(w http.ResponseWriter, r *http.Request) (any, error) {
	win, err := s.Maintenance.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"window": win}, nil
}

func (s *Server) announceMaintenance(w http.ResponseWriter, r *http.Request) (any, error) {
	win, err := s.Maintenance.Announce(r.Context(), actor(r), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"window": win}, nil
}

func (s *Server) cancelMaintenance(w http.ResponseWriter, r *http.Request) (any, error) {
	win, err := s.Maintenance.Cancel(r.Context(), actor(r), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"window": win}, nil
}
