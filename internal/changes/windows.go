package changes

import (
	"context"
	"fmt"
	"time"
)

// Windows lists the maintenance windows overlapping [from, to], oldest
// first, after reading every maintenance calendar for that span (a
// calendar that fails is returned in warnings, and what the log already
// holds is still answered). Planned maintenance reads it ahead of time to
// announce windows.
func (s *Service) Windows(ctx context.Context, from, to time.Time) (windows []Change, warnings []string, err error) {
	warnings = s.readCalendars(ctx, from, to)
	windows, err = s.StoredWindows(ctx, from, to)
	return windows, warnings, err
}

// StoredWindows is Windows without reading the calendars: what the log
// holds. An alert asks it, so that a slow calendar never holds up intake
// (the announcer reads the calendars ahead of time).
func (s *Service) StoredWindows(ctx context.Context, from, to time.Time) ([]Change, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("maintenance-overlapping"), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("changes: maintenance windows: %w", err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("changes: maintenance windows: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}
