package api

import (
	"net/http"
	"strconv"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.Tokens.List(r.Context())
	if err != nil {
		return nil, err
	}
	return map[string]any{"tokens": list}, nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return nil, err
	}
	plain, tok, err := s.Tokens.Create(r.Context(), in.Name, role)
	if err != nil {
		return nil, err
	}
	return web.Created(map[string]any{"token": plain, "info": tok}), nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errs.E(errs.NotFound, "no token %q", r.PathValue("id"))
	}
	return nil, s.Tokens.Revoke(r.Context(), id)
}
