package intake

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Reports on drafts. A customer-service agent can file what a customer
// saw while the comms lead is still deciding whether the monitor's alert
// is an incident; the summary (how many people, where, possibly
// isolated) is part of that decision, and declaring the draft files the
// reports on the incident, so the heads-up and the declare output carry
// them and the reporters are asked to confirm the fix.

// ReportFiled says where a report went: on the draft, or, when the draft
// had been declared already, on its incident.
type ReportFiled struct {
	Report   *incident.Report `json:"report"`
	Draft    string           `json:"draft"`
	Incident string           `json:"incident,omitempty"` // set when the draft had become this incident
}

// AddReport files a report on a draft. A draft already declared passes
// the report on to its incident; a dismissed draft refuses it (409), as
// the alert was judged a false alarm: declare an incident instead.
func (s *Service) AddReport(ctx context.Context, actor, ref string, in incident.ReportInput) (*ReportFiled, error) {
	id, err := ParseID(ref)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r, err := incident.CleanReport(now, in)
	if err != nil {
		return nil, err
	}
	var d *Draft
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// Touch the draft row first: the update takes the row's lock, so
		// a declaration running beside this either waits for the report
		// (and copies it) or has committed already (and the state check
		// below sends the report to its incident).
		res, err := tx.ExecContext(ctx, queries.Get("lock-draft"), id)
		if err != nil {
			return fmt.Errorf("intake: add report: %w", err)
		}
		if d, err = s.get(ctx, tx, id); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // decided: handled after the transaction
		}
		return tx.QueryRowContext(ctx, queries.Get("insert-draft-report"), id, r.Email, r.Name, r.Location, r.Access, r.Observed, r.Channel, r.ReportedAt, now).Scan(&r.ID)
	})
	if err != nil {
		return nil, err
	}
	switch d.State {
	case StateDraft:
		return &ReportFiled{Report: r, Draft: FormatID(d.ID)}, nil
	case StateDeclared:
		filed, err := s.Incidents.AddReport(ctx, s.DB, actor, d.Incident, in)
		if err != nil {
			return nil, err
		}
		return &ReportFiled{Report: filed, Draft: FormatID(d.ID), Incident: d.Incident}, nil
	}
	return nil, &errs.Error{Code: errs.Conflict, Field: "state",
		Message: fmt.Sprintf("%s was dismissed as a false alarm by %s; if the report shows it is real, declare an incident and file the report there", FormatID(d.ID), d.DecidedBy)}
}

// Reports lists a draft's reports, oldest first.
func (s *Service) Reports(ctx context.Context, ref string) ([]incident.Report, error) {
	id, err := ParseID(ref)
	if err != nil {
		return nil, err
	}
	if _, err := s.get(ctx, s.DB, id); err != nil {
		return nil, err
	}
	return incident.ScanReports(s.DB.QueryContext(ctx, queries.Get("draft-reports"), id))
}

// fileDraftReports files the draft's reports on the incident it became.
// It runs in the declaring transaction after the draft's row was updated
// (and so locked), so no report filed on the draft is left behind.
func fileDraftReports(ctx context.Context, tx *sql.Tx, now time.Time, actor string, draftID, incidentID int64) error {
	reports, err := incident.ScanReports(tx.QueryContext(ctx, queries.Get("draft-reports"), draftID))
	if err != nil {
		return fmt.Errorf("intake: draft reports: %w", err)
	}
	for i := range reports {
		if err := incident.FileReport(ctx, tx, now, incidentID, actor, &reports[i]); err != nil {
			return err
		}
	}
	return nil
}
