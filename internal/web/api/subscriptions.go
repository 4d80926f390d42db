package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// registerSubscriptions adds the subscription routes. A viewer's token
// is read only, as on every route: it lists its own; a lead manages its
// own (an account's name is its address), an admin anyone's. Viewers
// subscribe from the status page or by replying "subscribe".
func (s *Server) registerSubscriptions(mux *http.ServeMux) {
	if s.Subscriptions == nil {
		return
	}
	s.Handle(mux, "GET /api/v1/subscriptions", auth.Viewer, s.listSubscriptions)
	s.Handle(mux, "POST /api/v1/subscriptions", auth.Lead, s.createSubscription)
	s.Handle(mux, "DELETE /api/v1/subscriptions/{id}", auth.Lead, s.deleteSubscription)
}

// isAdmin says whether the caller may manage everyone's subscriptions.
func isAdmin(r *http.Request) bool {
	p := auth.PrincipalFrom(r.Context())
	return p != nil && p.Role.Allows(auth.Admin)
}

// self is the caller's own address, "" for a token whose name is not one.
func self(r *http.Request) string {
	name := strings.ToLower(strings.TrimSpace(actor(r)))
	if strings.Contains(name, "@") {
		return name
	}
	return ""
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) (any, error) {
	email := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("email")))
	if !isAdmin(r) {
		if email != "" && email != self(r) {
			return nil, errs.E(errs.Forbidden, "only an admin lists someone else's subscriptions")
		}
		if email = self(r); email == "" {
			return nil, errs.E(errs.Forbidden, "this token (%s) names no address: only an admin lists subscriptions with it", actor(r))
		}
	}
	list, err := s.Subscriptions.List(r.Context(), email)
	if err != nil {
		return nil, err
	}
	return map[string]any{"subscriptions": list}, nil
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Email  string `json:"email"`
		Kind   string `json:"kind"`
		Target string `json:"target"`
		Source string `json:"source"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if email == "" {
		email = self(r)
	}
	source := "api"
	if in.Source == "cli" {
		source = "cli"
	}
	// The caller proves the address is theirs by being signed in as it.
	// Nobody, an admin included, can prove that another address outside
	// the directory wants these emails: it gets a confirmation link first
	// (the directory's people are subscribed at once whoever asks).
	verified := email != "" && email == self(r)
	sub, pending, err := s.Subscriptions.Subscribe(r.Context(), actor(r), subscription.Request{Email: email, Kind: in.Kind, Target: in.Target,
		Source: source, Verified: verified})
	if err != nil {
		return nil, err
	}
	return web.Created(map[string]any{"subscription": sub, "pending": pending}), nil
}

func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errs.E(errs.NotFound, "no subscription %q", r.PathValue("id"))
	}
	owner := ""
	if !isAdmin(r) {
		if owner = self(r); owner == "" {
			return nil, errs.E(errs.Forbidden, "this token (%s) names no address: only an admin removes subscriptions with it", actor(r))
		}
	}
	return nil, s.Subscriptions.Unsubscribe(r.Context(), actor(r), owner, id)
}
