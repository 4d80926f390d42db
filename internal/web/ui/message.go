package ui

import (
	"net/http"
	"strconv"

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
	// After is the last recipient of the page before (0 on the first);
	// Next, this page's last when another page follows.
	After, Next int64
	PerPage     int
}

// recipientsPerPage keeps a 100,000-recipient update's page light on a
// phone; the counts above the table cover every recipient.
var recipientsPerPage = 1000

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
	page := outbox.DeliveryPage{State: filter, Limit: recipientsPerPage}
	if v := r.URL.Query().Get("after"); v != "" {
		if page.After, err = strconv.ParseInt(v, 10, 64); err != nil || page.After < 0 {
			return errs.InvalidField("after", "not a page of this message's recipients: %q", v)
		}
	}
	list, next, err := s.Outbox.Deliveries(r.Context(), id, page)
	if err != nil {
		return err
	}
	d := &messageData{Inc: inc, Msg: msg, Deliveries: list, Filter: filter, Sent: r.URL.Query().Get("sent") != "",
		After: page.After, Next: next, PerPage: recipientsPerPage}
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
