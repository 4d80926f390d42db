package ui

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// uiTransition moves the incident. The form carries the state the page
// showed: when someone else moved it meanwhile, nothing happens and the
// page says so, rather than applying a decision made on stale facts.
func (s *Server) uiTransition(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	inc, err := s.Incidents.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	to, err := incident.ParseState(r.PostFormValue("to"))
	if err == nil && r.PostFormValue("from") != "" && r.PostFormValue("from") != string(inc.State) {
		err = errs.E(errs.Conflict, "%s was moved to %s by someone else after your page loaded (it showed %s). Nothing was changed; the page below is current.",
			inc.Ref, inc.State, r.PostFormValue("from"))
	}
	if err == nil {
		_, err = s.Incidents.Transition(r.Context(), sess.Account.Email, inc.Ref, to, strings.TrimSpace(r.PostFormValue("note")))
	}
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.incidentPage(w, r, sess, web.StatusOf(err), inc.Ref, nil, func(d *incidentData, p *page) { p.Error = errMessage(err) })
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?moved=1", http.StatusSeeOther)
	return nil
}
