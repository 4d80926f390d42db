package api

import (
	"io"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/web"
)

// registerBacklog adds the tracker's webhook. It carries no token: the
// delivery is authenticated by its signature (GitHub's
// X-Hub-Signature-256), checked before the body is read as JSON.
func (s *Server) registerBacklog(mux *http.ServeMux) {
	if s.Backlog == nil {
		return
	}
	mux.HandleFunc("POST /api/v1/backlog/{tracker}", s.Instrument("POST /api/v1/backlog/{tracker}", s.backlogWebhook))
}

// backlogWebhook: 202 with the number of improvements whose state
// changed; 401 (nothing changed) without a valid signature; 404 for a
// tracker that is not the configured one.
func (s *Server) backlogWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	receipt, err := s.Backlog.Receive(r.Context(), r.PathValue("tracker"), r.Header, body)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusAccepted, receipt)
}
