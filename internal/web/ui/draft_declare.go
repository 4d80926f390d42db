package ui

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

func (s *Server) uiDeclareDraft(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	in := readDraftDeclare(r)
	inc, _, err := s.Intake.Declare(r.Context(), sess.Account.Email, r.PathValue("id"), in)
	if err != nil {
		return s.draftFormError(w, r, sess, err, func(d *draftData, p *page) { d.Declare, p.Field = in, "declare_"+errField(err) })
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(inc.Ref)+"?declared=1", http.StatusSeeOther)
	return nil
}
