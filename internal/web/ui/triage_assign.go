package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiAssign(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Inbox == nil {
		return errs.E(errs.NotFound, "no inbox")
	}
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	filed, err := s.Replies.File(r.Context(), id, r.PostFormValue("incident"), sess.Account.Email)
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.triagePage(w, r, sess, web.StatusOf(err), func(p *page) { p.Error = errMessage(err) })
	}
	return s.triagePage(w, r, sess, http.StatusOK, func(p *page) { p.Notice = "Filed on " + filed.Incident + "." })
}
