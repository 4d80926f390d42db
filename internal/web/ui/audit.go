package ui

import (
	"bytes"
	"net/http"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// The audit record of one incident as a page to print (or save as PDF
// from the browser's print dialog) and as CSV: every message sitrep sent
// for it, every recipient, each copy's delivery state and times
// (docs/audit.md). The outbox owns the query; the page puts the incident
// beside it.

type auditData struct {
	Inc       *incident.Incident
	Generated time.Time
	Messages  []auditMessage
	// Recipients counts the rows; States them by delivery state, in a
	// fixed order.
	Recipients int
	States     []stateCount
}

type auditMessage struct {
	outbox.AuditMessage
	Number     int
	Recipients []outbox.AuditRecipient
}

func (s *Server) uiAudit(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.NotFound, "no outbox")
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	d := &auditData{Inc: inc, Generated: s.now()}
	counts := map[string]int{}
	err = s.Outbox.Audit(r.Context(), inc.ID, func(m outbox.AuditMessage, rs []outbox.AuditRecipient) error {
		d.Messages = append(d.Messages, auditMessage{AuditMessage: m, Number: len(d.Messages) + 1, Recipients: append([]outbox.AuditRecipient{}, rs...)})
		for _, r := range rs {
			counts[r.State]++
		}
		d.Recipients += len(rs)
		return nil
	})
	if err != nil {
		return err
	}
	for _, st := range []string{outbox.StateSent, outbox.StateBounced, outbox.StateFailed, outbox.StateDeferred, outbox.StateQueued, outbox.StateSending, outbox.StateSkipped} {
		if counts[st] > 0 {
			d.States = append(d.States, stateCount{st, counts[st]})
		}
	}
	p := s.newPage(r, sess, "Audit record: "+inc.Ref+" "+inc.Title, "incidents")
	p.Data = d
	return s.render(w, http.StatusOK, "audit", p)
}

func (s *Server) uiAuditCSV(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.NotFound, "no outbox")
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.Outbox.WriteAuditCSV(r.Context(), &buf, inc.ID, inc.Ref); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+inc.Ref+`-audit.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}
