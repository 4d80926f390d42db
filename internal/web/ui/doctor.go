package ui

import (
	"context"
	"net/http"
	"sync"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/doctor"
)

// Doctor runs the route checks of the admins' doctor page; *doctor.Doctor
// is one.
type Doctor interface {
	Run(ctx context.Context) *doctor.Report
}

// doctorRuns keeps the last report for the page and lets one run at a
// time (a run sends a probe email and can wait up to its bound).
type doctorRuns struct {
	mu   sync.Mutex
	last *doctor.Report
}

type doctorData struct {
	Report                  *doctor.Report
	OK, Warn, Failed, Skips int
}

func (s *Server) doctorPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, rep *doctor.Report) error {
	d := &doctorData{Report: rep}
	if rep != nil {
		d.OK, d.Warn, d.Failed, d.Skips = rep.Count(doctor.OK), rep.Count(doctor.Warn), rep.Count(doctor.Fail), rep.Count(doctor.Skip)
	}
	p := s.newPage(r, sess, "Doctor", "doctor")
	p.Data = d
	return s.render(w, status, "doctor", p)
}

func (s *Server) uiDoctor(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	s.doctorRuns.mu.Lock()
	last := s.doctorRuns.last
	s.doctorRuns.mu.Unlock()
	return s.doctorPage(w, r, sess, http.StatusOK, last)
}
