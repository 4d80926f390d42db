package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

type triageData struct {
	Messages []mailmsg.Inbound
	Active   []*incident.Incident
}

func (s *Server) uiTriage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.triagePage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) triagePage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*page)) error {
	if s.Inbox == nil {
		return errs.E(errs.NotFound, "replies are not read on this server (no inbox configured)")
	}
	list, err := s.Inbox.Triage(r.Context(), 200)
	if err != nil {
		return err
	}
	active, err := s.Incidents.List(r.Context(), incident.ListFilter{ActiveOnly: true})
	if err != nil {
		return err
	}
	p := s.newPage(r, sess, "Triage", "triage")
	p.Data = &triageData{Messages: list, Active: active}
	if fill != nil {
		fill(p)
	}
	return s.render(w, status, "triage", p)
}
