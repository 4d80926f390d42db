package ui

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// uiDraftReport files a report on the draft, or on its incident once
// declared (and then shows the incident).
func (s *Server) uiDraftReport(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	in := readReport(r)
	filed, err := s.Intake.AddReport(r.Context(), sess.Account.Email, r.PathValue("id"), in)
	if err != nil {
		return s.draftFormError(w, r, sess, err, func(d *draftData, p *page) { d.Reports.Form, p.Field = in, "report_"+errField(err) })
	}
	if filed.Incident != "" {
		http.Redirect(w, r, "/incidents/"+url.PathEscape(filed.Incident)+"?reported=1#reports-h", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/drafts/"+url.PathEscape(filed.Draft)+"?reported=1#reports-h", http.StatusSeeOther)
	return nil
}
