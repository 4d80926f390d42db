package api

import (
	"bytes"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The audit record of one incident (docs/audit.md): every message sitrep
// sent for it, every recipient, each copy's delivery state and times. The
// outbox owns the query; the incident names it.

// auditMessage is one message of the JSON record, with its recipients.
type auditMessage struct {
	outbox.AuditMessage
	Recipients []outbox.AuditRecipient `json:"recipients"`
}

func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) (any, error) {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	if s.Outbox == nil {
		return nil, errs.E(errs.Unavailable, "no outbox: sitrep sends no mail here")
	}
	out := []auditMessage{}
	recipients := 0
	err = s.Outbox.Audit(r.Context(), inc.ID, func(m outbox.AuditMessage, rs []outbox.AuditRecipient) error {
		out = append(out, auditMessage{AuditMessage: m, Recipients: append([]outbox.AuditRecipient{}, rs...)})
		recipients += len(rs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"incident": inc.Ref, "title": inc.Title, "messages": out, "recipients": recipients}, nil
}

func (s *Server) getAuditCSV(w http.ResponseWriter, r *http.Request) (any, error) {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	if s.Outbox == nil {
		return nil, errs.E(errs.Unavailable, "no outbox: sitrep sends no mail here")
	}
	// Written whole before the first byte goes out, so that a failure
	// half-way is an error, not a CSV that looks complete.
	var buf bytes.Buffer
	if err := s.Outbox.WriteAuditCSV(r.Context(), &buf, inc.ID, inc.Ref); err != nil {
		return nil, err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+inc.Ref+`-audit.csv"`)
	_, _ = w.Write(buf.Bytes())
	return nil, web.ErrWritten
}
