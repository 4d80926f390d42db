package ui

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

func (s *Server) uiPMBook(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	slot := strings.TrimSpace(r.PostFormValue("slot"))
	if slot == "" {
		return s.pmRefused(w, r, sess, errs.InvalidField("slot", "pick one of the proposed slots"), nil)
	}
	if _, err := s.Postmortem.Book(r.Context(), sess.Account.Email, r.PathValue("ref"), postmortem.BookInput{Slot: slot}); err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	pmBack(w, r, "booking=1", "#booking-h")
	return nil
}
