package postmortem

import (
	"context"
	"fmt"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Find returns the post-mortem of the incident ref, or nil when none was
// started. Unlike Get, it never starts one: a look that must not write.
func (s *Service) Find(ctx context.Context, ref string) (*Postmortem, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	pm, err := load(ctx, s.DB, inc.ID)
	if pm == nil || err != nil {
		return nil, err
	}
	return s.finish(pm, inc), nil
}

// Scheduled lists the booked post-mortems that start in [from, to),
// soonest first, each with its incident's reference but without its
// attendees: the status page's calendar, which names no one.
func (s *Service) Scheduled(ctx context.Context, from, to time.Time) ([]Postmortem, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("scheduled"), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("postmortem: scheduled: %w", err)
	}
	defer rows.Close()
	out := []Postmortem{}
	for rows.Next() {
		pm, err := scanPostmortem(rows)
		if err != nil {
			return nil, fmt.Errorf("postmortem: scheduled: %w", err)
		}
		pm.Incident, pm.Attendees = incident.FormatRef(pm.IncidentID), []Participant{}
		out = append(out, *pm)
	}
	return out, rows.Err()
}
