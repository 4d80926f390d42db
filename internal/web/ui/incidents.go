package ui

import (
	"net/http"
	"sort"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

type incidentRow struct {
	*incident.Incident
	Duration time.Duration
	Now      time.Time
	DueSoon  time.Duration
}

// CountdownText is the countdown as the server renders it.
func (r incidentRow) CountdownText() string { return countdownText(r.Promise.NextUpdateAt, r.Now) }

// DueSoonSeconds is when app.js turns the countdown amber.
func (r incidentRow) DueSoonSeconds() int { return int(r.DueSoon.Seconds()) }

func (s *Server) row(inc *incident.Incident, now time.Time) incidentRow {
	return incidentRow{Incident: inc, Duration: inc.Duration(now), Now: now, DueSoon: s.Incidents.DueSoon}
}

type listData struct {
	Drafts       []*intake.Draft // monitoring alerts waiting for a decision
	Active, Past []incidentRow
	Now          time.Time
	DueSoon      time.Duration
}

func (s *Server) uiIncidents(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	list, err := s.Incidents.List(r.Context(), incident.ListFilter{Limit: 200})
	if err != nil {
		return err
	}
	now := s.now()
	d := &listData{Now: now, DueSoon: s.Incidents.DueSoon}
	for _, inc := range list {
		row := s.row(inc, now)
		if inc.State.Active() {
			d.Active = append(d.Active, row)
		} else {
			d.Past = append(d.Past, row)
		}
	}
	// The most urgent first: overdue, then the nearest promise, then the worst severity.
	sort.SliceStable(d.Active, func(i, j int) bool {
		a, b := d.Active[i].Promise.NextUpdateAt, d.Active[j].Promise.NextUpdateAt
		switch {
		case a != nil && b != nil && !a.Equal(*b):
			return a.Before(*b)
		case (a == nil) != (b == nil):
			return a != nil
		}
		return d.Active[i].Severity < d.Active[j].Severity
	})
	if d.Drafts, err = s.openDrafts(r); err != nil {
		return err
	}
	p := s.newPage(r, sess, "Incidents", "incidents")
	p.Data = d
	return s.render(w, http.StatusOK, "incidents", p)
}
