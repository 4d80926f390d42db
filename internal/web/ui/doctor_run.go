package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/doctor"
)

func (s *Server) uiRunDoctor(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	s.doctorRuns.mu.Lock()
	defer s.doctorRuns.mu.Unlock()
	rep := s.Doctor.Run(r.Context())
	s.doctorRuns.last = rep
	s.Logger.Info("doctor run", "by", sess.Account.Email, "failed", rep.Count(doctor.Fail), "warnings", rep.Count(doctor.Warn))
	return s.doctorPage(w, r, sess, http.StatusOK, rep)
}
