package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

// uiSummaryCheck lints and previews the text being edited: a fragment for
// app.js, the whole page without JavaScript.
func (s *Server) uiSummaryCheck(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needResolution(); err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	md := r.PostFormValue("markdown")
	c, err := s.checkSummary(r.Context(), inc.Ref, md)
	if err != nil {
		return err
	}
	if r.Header.Get(fetchHeader) == "fetch" {
		return s.renderFragment(w, http.StatusOK, "summary", "summary-check", s.viewerFor(r, sess), c)
	}
	return s.summaryPage(w, r, sess, http.StatusOK, &summaryData{Inc: inc, Markdown: md, Check: c, Override: r.PostFormValue("override") == "yes"}, nil)
}
