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
// first, and then the windows watch names that are elsewhere now, after
// reading every maintenance calendar for that span and as far as the
// watched windows go (a calendar that fails is returned in warnings, and
// what the log already holds is still answered). Planned maintenance reads
// it ahead of time to announce windows, and watches the windows it told
// about: a window no longer at its time in its calendar is looked up
// there (Finder), so that one moved far is stored at its new time, and
// one the calendar no longer has is cancelled (GoneAfter).
func (s *Service) Windows(ctx context.Context, from, to time.Time, watch []int64) (windows []maintenance.Span, warnings []string, err error) {
	readTo := to
	for _, id := range watch {
		w, err := s.MaintenanceWindow(ctx, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if w.End.After(readTo) {
			readTo = w.End
		}
	}
	if limit := to.Add(maxWatchAhead); readTo.After(limit) {
		readTo = limit
	}
	r := s.read(ctx, from, readTo)
	warnings = append(r.warnings, s.reconcile(ctx, readTo, r)...)
	if windows, err = s.StoredWindows(ctx, from, to); err != nil {
		return nil, warnings, err
	}
	listed := map[int64]bool{}
	for _, w := range windows {
		listed[w.ID] = true
	}
	for _, id := range watch {
		if listed[id] {
			continue
		}
		w, err := s.MaintenanceWindow(ctx, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, warnings, err
		}
		listed[id] = true
		windows = append(windows, *w)
	}
	return windows, warnings, nil
}

// maxWatchAhead bounds how far past the announcer's span a read of the
// calendars goes to follow a watched window.
const maxWatchAhead = 400 * 24 * time.Hour

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
		Start: c.At, End: c.At, Cancelled: c.CancelledAt != nil}
	if c.End != nil {
		w.End = *c.End
	}
	return w
}
