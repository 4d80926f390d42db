package api

import (
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// registerChanges adds the change log: the deployment webhook (shared
// secret, no token: CI/CD tools cannot hold a sitrep token per user), the
// lead's manual entry, and the changes view of an incident.
func (s *Server) registerChanges(mux *http.ServeMux) {
	if s.Changes == nil {
		return
	}
	mux.HandleFunc("POST /api/v1/changes/deployments", s.Instrument("POST /api/v1/changes/deployments", s.deploymentWebhook))
	s.Handle(mux, "POST /api/v1/changes", auth.Lead, s.addChange)
	s.Handle(mux, "GET /api/v1/changes", auth.Viewer, s.listChanges)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/changes", auth.Viewer, s.incidentChanges)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/changes/{id}/suspect", auth.Lead, s.markChange(changes.Suspected))
	s.Handle(mux, "POST /api/v1/incidents/{ref}/changes/{id}/confirm", auth.Lead, s.markChange(changes.Confirmed))
}

// deploymentWebhook: 201 with the change when new, 200 when it was posted
// before, 202 when the event is not a finished deployment, 401 (nothing
// stored) without the secret.
func (s *Server) deploymentWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	c, created, ignored, err := s.Changes.ReceiveDeployment(r.Context(), r.Header, body)
	switch {
	case err != nil:
		s.Error(w, r, err)
	case c == nil:
		web.WriteJSON(w, http.StatusAccepted, map[string]any{"ignored": ignored})
	case created:
		web.WriteJSON(w, http.StatusCreated, map[string]any{"change": c, "created": true})
	default:
		web.WriteJSON(w, http.StatusOK, map[string]any{"change": c, "created": false})
	}
}

func (s *Server) addChange(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		changes.GenericDeployment
		Source string `json:"source"` // api (default) or cli
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	switch in.Source {
	case "":
		in.Source = "api"
	case "api", "cli":
	default:
		return nil, errs.InvalidField("source", "want api or cli")
	}
	by := in.TriggeredBy
	if by == "" {
		by = actor(r)
	}
	c, created, err := s.Changes.Record(r.Context(), changes.Input{Source: in.Source, ExternalID: in.ID, Kind: changes.Deployment,
		Service: in.Service, Version: in.Version, Environment: in.Environment, TriggeredBy: by, At: in.At, URL: in.URL, Summary: in.Description})
	if err != nil {
		return nil, err
	}
	if !created {
		return map[string]any{"change": c, "created": false}, nil
	}
	return web.Created(map[string]any{"change": c, "created": true}), nil
}

func (s *Server) listChanges(w http.ResponseWriter, r *http.Request) (any, error) {
	since, err := durationParam(r, "since", 7*24*time.Hour)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	list, err := s.Changes.List(r.Context(), now.Add(-since), now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"changes": list}, nil
}

// incidentChangesOut is an incident's change log with, for each
// maintenance window in it, what planned maintenance told of it.
type incidentChangesOut struct {
	*changes.IncidentChanges
	// Maintenance is what was told of each maintenance window listed, by
	// change id: its steps (announced, started, ended, cancelled).
	Maintenance map[int64]maintenanceTold `json:"maintenance,omitempty"`
}

type maintenanceTold struct {
	Ref     string                         `json:"ref"`
	Notices map[string]*maintenance.Notice `json:"notices"`
}

func (s *Server) incidentChanges(w http.ResponseWriter, r *http.Request) (any, error) {
	window, err := durationParam(r, "window", 0)
	if err != nil {
		return nil, err
	}
	ic, err := s.Changes.ForIncident(r.Context(), r.PathValue("ref"), window)
	if err != nil || s.Maintenance == nil {
		return ic, err
	}
	var ids []int64
	for _, c := range ic.Changes {
		if c.Kind == changes.Maintenance {
			ids = append(ids, c.ID)
		}
	}
	told, err := s.Maintenance.Notices(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	out := incidentChangesOut{IncidentChanges: ic, Maintenance: map[int64]maintenanceTold{}}
	for _, id := range ids {
		notices := told[id]
		if notices == nil {
			notices = map[string]*maintenance.Notice{} // nothing told yet
		}
		out.Maintenance[id] = maintenanceTold{Ref: maintenance.Ref(id), Notices: notices}
	}
	return out, nil
}

func (s *Server) markChange(state string) web.APIHandler {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			return nil, errs.E(errs.NotFound, "no change %q", r.PathValue("id"))
		}
		c, err := s.Changes.Mark(r.Context(), actor(r), r.PathValue("ref"), id, state)
		if err != nil {
			return nil, err
		}
		return map[string]any{"change": c}, nil
	}
}

// durationParam reads a Go duration ("24h", "90m") from the query; absent,
// def. A plain number counts as hours.
func durationParam(r *http.Request, name string, def time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errs.InvalidField(name, "want a duration like 24h or 90m, got %q", v)
	}
	return d, nil
}
