package api

import (
	"net/http"
	"strconv"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) sendUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	var in incident.UpdateInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" && in.IdempotencyKey == "" {
		in.IdempotencyKey = key
	}
	res, err := s.Comms.SendUpdate(r.Context(), actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	if res.DryRun {
		return res, nil
	}
	return web.Created(res), nil
}

func (s *Server) sendHeadsUp(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		To []string `json:"to"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	msg, err := s.Comms.SendHeadsUp(r.Context(), actor(r), r.PathValue("ref"), in.To)
	if err != nil {
		return nil, err
	}
	return web.Created(msg), nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) (any, error) {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	msgs, err := s.Outbox.Messages(r.Context(), inc.ID)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []*outbox.Message{}
	}
	return map[string]any{"messages": msgs}, nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) (any, error) {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errs.E(errs.NotFound, "no message %q", r.PathValue("id"))
	}
	msg, err := s.Outbox.Message(r.Context(), inc.ID, inc.Ref, id)
	if err != nil {
		return nil, err
	}
	state := r.URL.Query().Get("state")
	switch state {
	case "", outbox.StateQueued, outbox.StateSending, outbox.StateSent, outbox.StateDeferred, outbox.StateFailed, outbox.StateSkipped:
	default:
		return nil, errs.InvalidField("state", "unknown delivery state %q", state)
	}
	page := outbox.DeliveryPage{State: state}
	if v := r.URL.Query().Get("after"); v != "" {
		if page.After, err = strconv.ParseInt(v, 10, 64); err != nil || page.After < 0 {
			return nil, errs.InvalidField("after", "want the next_after of the page before (a delivery id), not %q", v)
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		if page.Limit, err = strconv.Atoi(v); err != nil || page.Limit < 1 || page.Limit > 10000 {
			return nil, errs.InvalidField("limit", "want 1 to 10000 deliveries a page, not %q", v)
		}
	}
	list, next, err := s.Outbox.Deliveries(r.Context(), id, page)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"message": msg, "deliveries": list, "more": next != 0}
	if next != 0 {
		out["next_after"] = next
	}
	return out, nil
}
