package api

import (
	"bytes"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The communication scorecard of one incident and the report across
// incidents (docs/scorecard.md). A question is marked answered by the
// policy's route (policy.go): one meaning of answered, one way to say it.

func (s *Server) registerScorecard(mux *http.ServeMux) {
	if s.Comms == nil {
		return
	}
	s.Handle(mux, "GET /api/v1/incidents/{ref}/scorecard", auth.Viewer, s.getScorecard)
	s.Handle(mux, "GET /api/v1/reports", auth.Viewer, s.getReport)
}

func (s *Server) getScorecard(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.Comms.Scorecard(r.Context(), r.PathValue("ref"))
}

// getReport answers the report as JSON, or with format=csv as the CSV
// the report page offers.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return nil, errs.InvalidField("format", "want json or csv, got %q", format)
	}
	rep, err := s.Comms.Report(r.Context(), incident.CommsReportFilter{From: q.Get("from"), To: q.Get("to"), Severity: q.Get("severity")})
	if err != nil {
		return nil, err
	}
	if format != "csv" {
		return rep, nil
	}
	var buf bytes.Buffer
	if err := incident.WriteCommsReportCSV(&buf, rep); err != nil {
		return nil, err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Write(buf.Bytes())
	return nil, web.ErrWritten
}
