package ui

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

func (s *Server) uiDismissDraft(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	_ = r.ParseForm()
	reason := r.PostFormValue("reason")
	d, err := s.Intake.Dismiss(r.Context(), sess.Account.Email, r.PathValue("id"), reason)
	if err != nil {
		return s.draftFormError(w, r, sess, err, func(d *draftData, p *page) { d.Reason, p.Field = reason, "reason" })
	}
	http.Redirect(w, r, "/drafts/"+url.PathEscape(intake.FormatID(d.ID))+"?dismissed=1", http.StatusSeeOther)
	return nil
}
