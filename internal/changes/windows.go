package changes

import (
	"context"
	"fmt"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
)

// The change log is where planned maintenance finds its windows: the
// calendars' and those declared in sitrep. It satisfies
// maintenance.Windows.
var _ maintenance.Windows = (*Service)(nil)

// Windows lists the maintenance windows overlapping [from, to], oldest
// first, after reading every maintenance calendar for that span (a
// calendar that fails is returned in warnings, and what the log already
// holds is still answered). Planned maintenance reads it ahead of time to
// announce windows.
func (s *Service) Windows(ctx context.Context, from, to time.Time) (windows []maintenance.Span, warnings []string, err error) {
	warnings = s.readCalendars(ctx, from, to)
	windows, err = s.StoredWindows(ctx, from, to)
	return windows, warnings, err
}

// StoredWindows is Windows without reading the calendars: what the log
// holds. An alert asks it, so that a slow calendar never holds up intake
// (the announcer reads the calendars ahead of time).
func (s *Service) StoredWindows(ctx context.Context, from, to time.Time) ([]maintenance.Span, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("maintenance-overlapping"), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("changes: maintenance windows: %w", err)
	}
	defer rows.Close()
	out := []maintenance.Span{}
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("changes: maintenance windows: %w", err)
		}
		out = append(out, span(c))
	}
	return out, rows.Err()
}

// MaintenanceWindow is the maintenance window of change id; not found when the
// change is a deployment.
func (s *Service) MaintenanceWindow(ctx context.Context, id int64) (*maintenance.Span, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Kind != Maintenance {
		return nil, errs.E(errs.NotFound, "change %d is a %s, not a maintenance window", id, c.Kind)
	}
	w := span(c)
	return &w, nil
}

// DeclareWindow records a window declared in sitrep (source
// maintenance.SourceDeclared), with externalID as its identity.
func (s *Service) DeclareWindow(ctx context.Context, actor, externalID string, w maintenance.Span) (*maintenance.Span, error) {
	end := w.End
	c, _, err := s.Record(ctx, Input{Source: maintenance.SourceDeclared, ExternalID: externalID, Kind: Maintenance, Systems: w.Systems,
		TriggeredBy: actor, Summary: w.Title, Details: w.Details, URL: w.URL, At: w.Start, End: &end})
	if err != nil {
		return nil, err
	}
	out := span(c)
	return &out, nil
}

func span(c *Change) maintenance.Span {
	w := maintenance.Span{ID: c.ID, Source: c.Source, Title: c.Summary, Details: c.Details, URL: c.URL, Systems: c.Systems,
		Start: c.At, End: c.At}
	if c.End != nil {
		w.End = *c.End
	}
	return w
}
