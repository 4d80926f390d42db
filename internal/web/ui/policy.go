package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The communication policy on the incident page (docs/policy.md): what
// "Default" promises at the incident's phase, which intervals are longer
// than the policy asks (they may be chosen: the form says so), and the
// stakeholders' questions, which a lead marks answered.

// policyView is the policy at the incident's phase.
type policyView struct {
	Next  time.Duration // what an update without a next time promises now
	Phase string        // "first 2 h: every 20 min"
	// AnswerWithin: the time to answer a question; 0 no target.
	AnswerWithin time.Duration
}

func (s *Server) policyView(inc *incident.Incident, now time.Time) policyView {
	if s.Comms == nil {
		return policyView{Next: incident.DefaultCadence, Phase: "every " + intervalText(incident.DefaultCadence)}
	}
	return policyView{Next: s.Comms.NextInterval(inc, now), Phase: s.Comms.PolicyPhase(inc, now),
		AnswerWithin: s.Comms.PolicyOf(inc.Severity).AnswerWithin}
}

// nextOptions are the compose form's choices: the policy's default first,
// then fixed intervals, each longer than the policy marked as such.
func (p policyView) nextOptions(sev incident.Severity) []nextOption {
	out := []nextOption{{"", "Default for " + string(sev) + " (" + intervalText(p.Next) + "; policy: " + p.Phase + ")"}}
	for _, o := range []struct {
		value string
		d     time.Duration
	}{{"15m", 15 * time.Minute}, {"20m", 20 * time.Minute}, {"30m", 30 * time.Minute}, {"45m", 45 * time.Minute},
		{"1h", time.Hour}, {"2h", 2 * time.Hour}, {"4h", 4 * time.Hour}} {
		label := longInterval(o.d)
		if o.d > p.Next {
			label += " — longer than the " + string(sev) + " policy"
		}
		out = append(out, nextOption{o.value, label})
	}
	return out
}

// longInterval writes an interval in words: 15 minutes, 1 hour, 2 hours.
func longInterval(d time.Duration) string {
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	case d == time.Hour:
		return "1 hour"
	}
	return intervalText(d)
}

// uiAnswerQuestions marks one question ({id}) or every open one answered.
func (s *Server) uiAnswerQuestions(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Questions == nil {
		return errs.E(errs.Unavailable, "no stakeholders' questions here: sitrep reads no mail")
	}
	ref := r.PathValue("ref")
	inc, err := s.Incidents.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	var id int64
	if v := r.PathValue("id"); v != "" {
		if id, err = strconv.ParseInt(v, 10, 64); err != nil || id <= 0 {
			return errs.E(errs.NotFound, "no question %q on %s", v, inc.Ref)
		}
	}
	if _, err := s.Questions.MarkAnswered(r.Context(), inc, id, sess.Account.Email, reply.AnswerInput{Note: r.PostFormValue("note")}); err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, web.Status(errs.CodeOf(err)), ref, nil, func(d *incidentData, p *page) { p.Error, p.Field = errMessage(err), errField(err) })
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(inc.Ref))+"?answered=1#questions-h", http.StatusSeeOther)
	return nil
}
