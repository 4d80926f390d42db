package ui

import (
	"fmt"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiPMPublish(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	res, err := s.Postmortem.Publish(r.Context(), sess.Account.Email, r.PathValue("ref"))
	if err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	return s.postmortemPage(w, r, sess, http.StatusOK, func(d *postmortemData, p *page) {
		d.Published = res
		p.Notice = fmt.Sprintf("Results sent to %d people.", len(res.Notified))
	})
}
