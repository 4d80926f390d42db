package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiDeclarePage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	p := s.newPage(r, sess, "Declare an incident", "declare")
	p.Data = s.scopeFormData(scopeForm{Severity: "SEV2", Extent: "", Zone: "UTC"})
	return s.render(w, http.StatusOK, "declare", p)
}
