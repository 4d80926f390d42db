package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiEdit(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	f := readScopeForm(r)
	sc, roles, first, err := f.input()
	if err == nil {
		in := incident.PatchInput{Title: &f.Title, Severity: &f.Severity, Scope: &sc, Roles: &roles, FirstFailureAt: first}
		if f.Version > 0 {
			in.Version = &f.Version
		}
		_, err = s.Incidents.Patch(r.Context(), sess.Account.Email, ref, in)
	}
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		d := s.scopeFormData(f)
		d.Ref = strings.ToUpper(ref)
		p := s.newPage(r, sess, "Edit "+d.Ref, "incidents")
		p.Error, p.Field, p.Data = errMessage(err), errField(err), d
		return s.render(w, web.StatusOf(err), "declare", p)
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?saved=1", http.StatusSeeOther)
	return nil
}
