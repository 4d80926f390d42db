package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

type tokensData struct {
	Tokens   []auth.Token
	Roles    []auth.Role
	NewToken string
	NewName  string
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*tokensData, *page)) error {
	list, err := s.Tokens.List(r.Context())
	if err != nil {
		return err
	}
	d := &tokensData{Tokens: list, Roles: []auth.Role{auth.Admin, auth.Lead, auth.Viewer}}
	p := s.newPage(r, sess, "API tokens", "tokens")
	if fill != nil {
		fill(d, p)
	}
	p.Data = d
	return s.render(w, status, "tokens", p)
}

func (s *Server) uiTokens(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.tokensPage(w, r, sess, http.StatusOK, nil)
}
