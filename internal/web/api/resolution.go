package api

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) registerResolution(mux *http.ServeMux) {
	if s.Resolution == nil {
		return
	}
	s.Handle(mux, "POST /api/v1/incidents/{ref}/resolve", auth.Lead, s.resolve)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/confirmations", auth.Viewer, s.listConfirmations)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/reports", auth.Viewer, s.listReports)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/reports", auth.Lead, s.addReport)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/summary/draft", auth.Viewer, s.summaryDraft)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/summary/lint", auth.Viewer, s.summaryLint)
	s.Handle(mux, "POST /api/v1/incidents/{ref}/summary", auth.Lead, s.sendSummary)
	s.Handle(mux, "GET /api/v1/incidents/{ref}/summaries", auth.Viewer, s.listSummaries)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) (any, error) {
	var in resolution.ResolveInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	return s.Resolution.Resolve(r.Context(), actor(r), r.PathValue("ref"), in)
}

func (s *Server) listConfirmations(w http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.Resolution.Confirmations(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, c := range list {
		counts[c.State]++
	}
	return map[string]any{"confirmations": list, "counts": counts}, nil
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request) (any, error) {
	list, sum, err := s.Incidents.ReportSummaryOf(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"reports": list, "summary": sum}, nil
}

func (s *Server) addReport(w http.ResponseWriter, r *http.Request) (any, error) {
	var in incident.ReportInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	rep, err := s.Incidents.AddReport(r.Context(), s.Incidents.DB, actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	_, sum, _ := s.Incidents.ReportSummaryOf(r.Context(), r.PathValue("ref"))
	return web.Created(map[string]any{"report": rep, "summary": sum}), nil
}

func (s *Server) summaryDraft(w http.ResponseWriter, r *http.Request) (any, error) {
	md, err := s.Resolution.DraftSummary(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"markdown": md}, nil
}

func (s *Server) summaryLint(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Markdown string `json:"markdown"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if _, err := s.Incidents.Get(r.Context(), r.PathValue("ref")); err != nil {
		return nil, err
	}
	findings, err := s.Resolution.CheckSummary(in.Markdown)
	if err != nil {
		return nil, err
	}
	return map[string]any{"findings": findings}, nil
}

func (s *Server) sendSummary(w http.ResponseWriter, r *http.Request) (any, error) {
	var in resolution.SummaryInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	res, err := s.Resolution.SendSummary(r.Context(), actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	if res.Sent {
		return web.Created(res), nil
	}
	return res, nil
}

func (s *Server) listSummaries(w http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.Resolution.Summaries(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	if r.URL.Query().Get("format") == "markdown" && len(list) > 0 {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Write([]byte(list[0].Markdown))
		return nil, web.ErrWritten
	}
	return map[string]any{"summaries": list}, nil
}
