package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

type messageData struct {
	Inc        *incident.Incident
	Msg        *outbox.Message
	Deliveries []outbox.Delivery
	States     []stateCount
	Filter     string
	Done       int // sent + failed + skipped: no more work
	Sent       bool
}

type stateCount struct {
	State string
	N     int
}

func (s *Server) uiMessage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.NotFound, "no outbox")
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	msg, err := s.Outbox.Message(r.Context(), inc.ID, inc.Ref, id)
	if err != nil {
		return err
	}
	filter := r.URL.Query().Get("state")
	switch filter {
	case "", outbox.StateQueued, outbox.StateSending, outbox.StateSent, outbox.StateDeferred, outbox.StateFailed, outbox.StateSkipped:
	default:
		return errs.InvalidField("state", "unknown delivery state %q", filter)
	}
	list, err := s.Outbox.Deliveries(r.Context(), id, filter, 5000)
	if err != nil {
		return err
	}
	d := &messageData{Inc: inc, Msg: msg, Deliveries: list, Filter: filter, Sent: r.URL.Query().Get("sent") != ""}
	for _, st := range []string{outbox.StateSent, outbox.StateQueued, outbox.StateSending, outbox.StateDeferred, outbox.StateFailed, outbox.StateSkipped} {
		d.States = append(d.States, stateCount{st, msg.Counts[st]})
	}
	d.Done = msg.Counts[outbox.StateSent] + msg.Counts[outbox.StateFailed] + msg.Counts[outbox.StateSkipped]
	p := s.newPage(r, sess, inc.Ref+": "+msg.Subject, "incidents")
	if msg.Counts[outbox.StateQueued]+msg.Counts[outbox.StateSending] > 0 {
		p.Refresh = 2 // progress without JavaScript
	}
	p.Data = d
	return s.render(w, http.StatusOK, "message", p)
}
