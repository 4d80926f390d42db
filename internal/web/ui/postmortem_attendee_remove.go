package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiPMRemoveAttendee(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	if _, err := s.Postmortem.RemoveAttendee(r.Context(), sess.Account.Email, r.PathValue("ref"), r.PathValue("email")); err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	pmBack(w, r, "", "#attendees-h")
	return nil
}
