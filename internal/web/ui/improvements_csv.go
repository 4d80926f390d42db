package ui

import (
	"bytes"
	"net/http"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// uiImprovementsCSV is the export with the page's filters, for a backlog
// tool or a spreadsheet (the API's export needs a token; this, a session).
func (s *Server) uiImprovementsCSV(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	list, err := s.Postmortem.Improvements(r.Context(), improvementFilter(r))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := postmortem.WriteCSV(&buf, list); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="improvements-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}
