package ui

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// uiUpdateImprovement assigns an owner or marks an improvement done.
func (s *Server) uiUpdateImprovement(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	id, err := pathID(r, "improvement")
	if err != nil {
		return err
	}
	_, err = s.Postmortem.UpdateImprovement(r.Context(), sess.Account.Email, id, readImprovementPatch(r))
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.improvementsPage(w, r, sess, web.StatusOf(err), func(p *page) { p.Error = errMessage(err) })
	}
	back := "/improvements"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path == "/improvements" {
		back = ref.RequestURI()
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
