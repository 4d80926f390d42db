package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) me(w http.ResponseWriter, r *http.Request) (any, error) {
	return auth.PrincipalFrom(r.Context()), nil
}

// IncidentView is an incident as the API shows it: the incident, its
// timeline, and whatever other packages add (deliveries, replies, ...).
type IncidentView struct {
	*incident.Incident
	Duration string            `json:"duration"`
	Timeline []incident.Event  `json:"timeline,omitempty"`
	Messages []*outbox.Message `json:"messages,omitempty"`
	// DeliveryDelayed counts recipients waiting for a retry (SMTP down or deferring).
	DeliveryDelayed int `json:"delivery_delayed"`
	// ReportSummary: how many reports from how many people, where, and
	// whether they may be isolated; what the declare output shows.
	ReportSummary *incident.ReportSummary `json:"report_summary,omitempty"`
	// Warnings: what the lead must know, such as an overdue update that
	// would escalate to nobody but the comms lead (no incident lead, no
	// backup).
	Warnings []string `json:"warnings,omitempty"`
	// PublicPromise is the next public update customers were told to
	// expect (status_page.public), kept apart from Promise.
	PublicPromise *incident.PublicPromise `json:"public_promise,omitempty"`
	// Policy: the severity's communication policy at the incident's phase.
	Policy *PolicyView `json:"policy,omitempty"`
}

func (s *Server) view(inc *incident.Incident) IncidentView {
	return IncidentView{Incident: inc, Duration: HumanDuration(inc.Duration(time.Now()))}
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) (any, error) {
	f := incident.ListFilter{ActiveOnly: r.URL.Query().Get("active") == "true" || r.URL.Query().Get("active") == "1"}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return nil, errs.InvalidField("limit", "want a positive integer")
		}
		f.Limit = n
	}
	list, err := s.Incidents.List(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := make([]IncidentView, len(list))
	for i, inc := range list {
		out[i] = s.view(inc)
	}
	return map[string]any{"incidents": out}, nil
}

func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request) (any, error) {
	var in incident.DeclareInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	inc, err := s.Incidents.Declare(r.Context(), actor(r), in)
	if err != nil {
		return nil, err
	}
	return web.Created(s.fullView(r, inc)), nil
}

func (s *Server) fullView(r *http.Request, inc *incident.Incident) IncidentView {
	v := s.view(inc)
	if tl, err := s.Incidents.Timeline(r.Context(), inc.Ref); err == nil {
		v.Timeline = tl
	}
	if s.Outbox != nil {
		v.Messages, _ = s.Outbox.Messages(r.Context(), inc.ID)
		v.DeliveryDelayed, _ = s.Outbox.Delayed(r.Context(), inc.ID)
	}
	if s.Comms != nil {
		v.Warnings = s.Comms.Warnings(inc)
		v.Policy = s.policyView(inc)
	}
	if reps, err := s.Incidents.Reports(r.Context(), inc.Ref); err == nil {
		sum := incident.SummarizeIncidentReports(inc.Scope, reps)
		v.ReportSummary = &sum
	}
	if p, err := s.Incidents.PublicPromiseOf(r.Context(), s.Incidents.DB, inc); err == nil {
		v.PublicPromise = &p
	}
	return v
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) (any, error) {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return s.fullView(r, inc), nil
}

func (s *Server) patchIncident(w http.ResponseWriter, r *http.Request) (any, error) {
	var in incident.PatchInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	inc, err := s.Incidents.Patch(r.Context(), actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	return s.fullView(r, inc), nil
}

func (s *Server) transitionIncident(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		State string `json:"state"`
		Note  string `json:"note"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	to, err := incident.ParseState(in.State)
	if err != nil {
		return nil, err
	}
	inc, err := s.Incidents.Transition(r.Context(), actor(r), r.PathValue("ref"), to, strings.TrimSpace(in.Note))
	if err != nil {
		return nil, err
	}
	return s.fullView(r, inc), nil
}

func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) (any, error) {
	tl, err := s.Incidents.Timeline(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"timeline": tl}, nil
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	ev, err := s.Incidents.AddNote(r.Context(), actor(r), r.PathValue("ref"), in.Text)
	if err != nil {
		return nil, err
	}
	return web.Created(ev), nil
}

// HumanDuration is "45m", "3h 05m" or "2d 4h": what people say.
func HumanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
