package ui

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The report across incidents (GET /reports): the incidents' scorecards
// by month and by severity, and the incidents per system, as charts drawn
// here (report_svg.go) with every number also in a table; the same
// figures as CSV (/reports.csv) and JSON (/reports.json, and the API's
// /api/v1/reports).

type reportData struct {
	R                  *incident.CommsReport
	From, To, Severity string
	Severities         []incident.Severity
	CSV, JSON          template.URL // the exports, with the page's filters
	Charts             []reportChart
}

type reportChart struct {
	ID, Title string
	SVG       template.HTML
}

func reportFilter(r *http.Request) incident.CommsReportFilter {
	q := r.URL.Query()
	return incident.CommsReportFilter{From: q.Get("from"), To: q.Get("to"), Severity: q.Get("severity")}
}

func (s *Server) report(r *http.Request) (*incident.CommsReport, error) {
	if s.Comms == nil {
		return nil, errs.E(errs.NotFound, "no reports on this server")
	}
	return s.Comms.Report(r.Context(), reportFilter(r))
}

func (s *Server) uiReport(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	f := reportFilter(r)
	d := &reportData{From: f.From, To: f.To, Severity: f.Severity, Severities: incident.Severities}
	p := s.newPage(r, sess, "Communication across incidents", "reports")
	rep, err := s.report(r)
	status := http.StatusOK
	switch {
	case err != nil && errs.CodeOf(err) == errs.Invalid:
		p.Error, p.Field, status = errMessage(err), errField(err), http.StatusBadRequest
	case err != nil:
		return err
	default:
		d.R, d.From, d.To, d.Severity = rep, rep.From, rep.To, rep.Severity
		v := url.Values{"from": {rep.From}, "to": {rep.To}}
		if rep.Severity != "" {
			v.Set("severity", rep.Severity)
		}
		d.CSV, d.JSON = template.URL("/reports.csv?"+v.Encode()), template.URL("/reports.json?"+v.Encode())
		d.Charts = reportCharts(rep)
	}
	p.Data = d
	return s.render(w, status, "report", p)
}

// uiReportCSV is the page's figures as CSV, with its filters.
func (s *Server) uiReportCSV(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	rep, err := s.report(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := incident.WriteCommsReportCSV(&buf, rep); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="communication-`+rep.From+`-`+rep.To+`.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}

// uiReportJSON is the page's figures as the API's JSON, for a signed-in
// person (the API takes a token).
func (s *Server) uiReportJSON(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	rep, err := s.report(r)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="communication-`+rep.From+`-`+rep.To+`.json"`)
	_, err = w.Write(b)
	return err
}

func init() {
	uiFuncs["monthName"] = monthLabel
	uiFuncs["secsValue"] = func(v *int64) any {
		if v == nil {
			return ""
		}
		return *v
	}
	uiFuncs["pctValue"] = func(v *float64) any {
		if v == nil {
			return ""
		}
		return *v
	}
	uiFuncs["systemName"] = func(s string) string {
		if s == "" {
			return "no system named"
		}
		return s
	}
}
