package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/reply"
)

// PolicyView is the incident's communication policy as it stands now
// (docs/policy.md): what an update without a next time promises, and the
// targets for the first update and for answers.
type PolicyView struct {
	Severity string `json:"severity"`
	// Phase in words: "first 2 h: every 20 min", "after 2 h: every 1 h".
	Phase               string `json:"phase"`
	NextInterval        string `json:"next_interval"` // Go duration: "20m0s"
	NextIntervalMinutes int    `json:"next_interval_minutes"`
	FirstUpdateWithin   string `json:"first_update_within,omitempty"`
	AnswerWithin        string `json:"answer_within,omitempty"`
}

func (s *Server) policyView(inc *incident.Incident) *PolicyView {
	if s.Comms == nil {
		return nil
	}
	now := time.Now().UTC()
	if s.Incidents.Now != nil {
		now = s.Incidents.Now().UTC()
	}
	p, next := s.Comms.PolicyOf(inc.Severity), s.Comms.NextInterval(inc, now)
	v := &PolicyView{Severity: string(inc.Severity), Phase: s.Comms.PolicyPhase(inc, now), NextInterval: next.String(), NextIntervalMinutes: int(next / time.Minute)}
	if p.FirstUpdateWithin > 0 {
		v.FirstUpdateWithin = p.FirstUpdateWithin.String()
	}
	if p.AnswerWithin > 0 {
		v.AnswerWithin = p.AnswerWithin.String()
	}
	return v
}

func (s *Server) needQuestions() error {
	if s.Questions == nil {
		return errs.E(errs.Unavailable, "no stakeholders' questions here: sitrep reads no mail")
	}
	return nil
}

func (s *Server) listQuestions(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.needQuestions(); err != nil {
		return nil, err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	list, err := s.Questions.List(r.Context(), inc.ID)
	if err != nil {
		return nil, err
	}
	open := 0
	for _, q := range list {
		if q.AnsweredAt == nil {
			open++
		}
	}
	return map[string]any{"incident": inc.Ref, "questions": list, "open": open, "policy": s.policyView(inc)}, nil
}

// answerQuestions marks one question ({id}) or every open one answered.
func (s *Server) answerQuestions(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.needQuestions(); err != nil {
		return nil, err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	var id int64
	if v := r.PathValue("id"); v != "" {
		if id, err = strconv.ParseInt(v, 10, 64); err != nil || id <= 0 {
			return nil, errs.E(errs.NotFound, "no question %q on %s", v, inc.Ref)
		}
	}
	// An optional body says when (a call an hour ago) and how ("by phone").
	var in reply.AnswerInput
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return nil, err
		}
	}
	marked, err := s.Questions.MarkAnswered(r.Context(), inc, id, actor(r), in)
	if err != nil {
		return nil, err
	}
	if marked == nil {
		marked = []reply.StoredQuestion{}
	}
	return map[string]any{"incident": inc.Ref, "answered": marked}, nil
}
