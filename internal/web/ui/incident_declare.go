package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiDeclare(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	f := readScopeForm(r)
	sc, roles, first, err := f.input()
	var inc *incident.Incident
	if err == nil {
		inc, err = s.Incidents.Declare(r.Context(), sess.Account.Email, incident.DeclareInput{
			Title: f.Title, Severity: f.Severity, Scope: sc, Roles: roles, FirstFailureAt: first, Reports: f.reports()})
	}
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		p := s.newPage(r, sess, "Declare an incident", "declare")
		p.Error, p.Field, p.Data = errMessage(err), errField(err), s.scopeFormData(f)
		return s.render(w, web.StatusOf(err), "declare", p)
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?declared=1", http.StatusSeeOther)
	return nil
}
