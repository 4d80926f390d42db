package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiPMPropose(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	var in postmortem.ProposeInput
	switch r.PostFormValue("where") {
	case "remote":
		in.Remote = new(bool)
		*in.Remote = true
	case "room":
		in.Remote = new(bool)
	}
	if _, err := s.Postmortem.Propose(r.Context(), r.PathValue("ref"), in); err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		// No slot in the window names the nearest outside it; no room
		// big enough says which is the largest: both are in the message.
		return s.postmortemPage(w, r, sess, web.StatusOf(err), func(d *postmortemData, p *page) {
			p.Error, d.Nearest = err.Error(), postmortem.NearestOutsideWindow(err)
		})
	}
	pmBack(w, r, "proposed=1", "#slots-h")
	return nil
}
