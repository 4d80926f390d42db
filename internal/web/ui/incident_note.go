package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiAddNote(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	if _, err := s.Incidents.AddNote(r.Context(), sess.Account.Email, ref, r.PostFormValue("note")); err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, web.StatusOf(err), ref, nil, func(d *incidentData, p *page) { p.Error, p.Field = errMessage(err), "note" })
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref)), http.StatusSeeOther)
	return nil
}
