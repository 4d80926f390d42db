package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// uiMarkChange records that the lead suspects a change, or confirms it as
// the cause (the summary draft then names it).
func (s *Server) uiMarkChange(state string) handler {
	return func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
		if s.Changes == nil {
			return errs.E(errs.NotFound, "the change log is not configured on this server")
		}
		ref := r.PathValue("ref")
		id, err := pathID(r, "change")
		if err != nil {
			return err
		}
		if _, err := s.Changes.Mark(r.Context(), sess.Account.Email, ref, id, state); err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
				return err
			}
			return s.incidentPage(w, r, sess, web.StatusOf(err), ref, nil, func(d *incidentData, p *page) { p.Error = errMessage(err) })
		}
		http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?marked="+state+"#changes-h", http.StatusSeeOther)
		return nil
	}
}
