package api

import (
	"io"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// registerIntake adds the monitoring webhooks (one per source, each with
// its own secret and no token: a monitor cannot hold a sitrep token) and
// the drafts they open: list, show, declare, dismiss.
func (s *Server) registerIntake(mux *http.ServeMux) {
	if s.Intake == nil {
		return
	}
	mux.HandleFunc("POST /api/v1/intake/{source}", s.Instrument("POST /api/v1/intake/{source}", s.intakeWebhook))
	s.Handle(mux, "GET /api/v1/drafts", auth.Viewer, s.listDrafts)
	s.Handle(mux, "GET /api/v1/drafts/{id}", auth.Viewer, s.getDraft)
	s.Handle(mux, "POST /api/v1/drafts/{id}/declare", auth.Lead, s.declareDraft)
	s.Handle(mux, "POST /api/v1/drafts/{id}/dismiss", auth.Lead, s.dismissDraft)
	s.Handle(mux, "GET /api/v1/drafts/{id}/reports", auth.Viewer, s.listDraftReports)
	s.Handle(mux, "POST /api/v1/drafts/{id}/reports", auth.Lead, s.addDraftReport)
}

// intakeWebhook: 202 with what each alert did; 401 (nothing stored)
// without the source's secret; 400 with the reason for a payload that
// does not read; 404 for an unknown source.
func (s *Server) intakeWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	receipt, err := s.Intake.Receive(r.Context(), r.PathValue("source"), r.Header, r.URL.Query(), body)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusAccepted, receipt)
}

func (s *Server) listDrafts(w http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.Intake.List(r.Context(), r.URL.Query().Get("state"), 0)
	if err != nil {
		return nil, err
	}
	return map[string]any{"drafts": list}, nil
}

func (s *Server) getDraft(w http.ResponseWriter, r *http.Request) (any, error) {
	d, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	list, err := s.Intake.Reports(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"draft": d, "report_summary": incident.SummarizeReports(list)}, nil
}

func (s *Server) listDraftReports(w http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.Intake.Reports(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"reports": list, "summary": incident.SummarizeReports(list)}, nil
}

// addDraftReport files a report on a draft, or on its incident once
// declared; the summary is of wherever it went.
func (s *Server) addDraftReport(w http.ResponseWriter, r *http.Request) (any, error) {
	var in incident.ReportInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	filed, err := s.Intake.AddReport(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return nil, err
	}
	var sum incident.ReportSummary
	if filed.Incident != "" {
		_, sum, err = s.Incidents.ReportSummaryOf(r.Context(), filed.Incident)
	} else {
		var list []incident.Report
		list, err = s.Intake.Reports(r.Context(), filed.Draft)
		sum = incident.SummarizeReports(list)
	}
	if err != nil {
		return nil, err
	}
	return web.Created(map[string]any{"report": filed.Report, "draft": filed.Draft, "incident": filed.Incident,
		"summary": sum}), nil
}

func (s *Server) declareDraft(w http.ResponseWriter, r *http.Request) (any, error) {
	var in intake.DeclareInput
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return nil, err
		}
	}
	inc, d, err := s.Intake.Declare(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return nil, err
	}
	return web.Created(map[string]any{"incident": s.fullView(r, inc), "draft": d}), nil
}

func (s *Server) dismissDraft(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return nil, err
		}
	}
	d, err := s.Intake.Dismiss(r.Context(), actor(r), r.PathValue("id"), in.Reason)
	if err != nil {
		return nil, err
	}
	return map[string]any{"draft": d}, nil
}
