package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiAddReport(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	in := readReport(r)
	if _, err := s.Incidents.AddReport(r.Context(), s.Incidents.DB, sess.Account.Email, ref, in); err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, web.StatusOf(err), ref, nil, func(d *incidentData, p *page) {
			d.Reports.Form = in
			p.Error, p.Field = errMessage(err), "report_"+errField(err)
		})
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?reported=1#reports-h", http.StatusSeeOther)
	return nil
}
