package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

func (s *Server) uiPMAttendee(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	in := postmortem.AttendeeInput{Email: r.PostFormValue("email"), Optional: r.PostFormValue("optional") == "yes"}
	if _, err := s.Postmortem.SetAttendee(r.Context(), sess.Account.Email, r.PathValue("ref"), in); err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	pmBack(w, r, "", "#attendees-h")
	return nil
}
