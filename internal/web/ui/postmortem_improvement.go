package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

func (s *Server) uiPMImprovement(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	f := readImprovementForm(r)
	if _, err := s.Postmortem.AddImprovement(r.Context(), sess.Account.Email, r.PathValue("ref"), f.input()); err != nil {
		if fld := errField(err); fld != "" {
			err = &errs.Error{Code: errs.CodeOf(err), Field: "improvement_" + fld, Message: errMessage(err)}
		}
		return s.pmRefused(w, r, sess, err, func(d *postmortemData) { d.Improvement = f })
	}
	pmBack(w, r, "added=improvement", "#improvements-h")
	return nil
}
