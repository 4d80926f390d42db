package postmortem

import (
	"context"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// The pre-read's "how it was communicated": the incident's scorecard as
// facts every attendee may read. Blameless like the rest of the shared
// view: figures and times, the groups told, never who asked, who was late
// or who answered ("the 14:20 UTC promise was met 6 min late", not who
// sent it late).

// communication is inc's scorecard as lines in the organisation's
// language; none when there is no scorecard to read (no Comms) or it
// cannot be read (the pre-read goes out without it: the meeting matters
// more than this part of it).
func (s *Service) communication(ctx context.Context, q store.Querier, inc *incident.Incident) []string {
	if s.Comms == nil {
		return nil
	}
	sc, err := s.Comms.ScorecardOf(ctx, q, inc)
	if err != nil {
		s.logger().Warn("postmortem: the scorecard is left out of the pre-read", "incident", inc.Ref, "err", err)
		return nil
	}
	return communicationFacts(sc, newProse(s.language()), s.Directory.Current())
}

// communicationFacts writes sc's figures as lines in p's language; d names
// the groups by their display names.
func communicationFacts(sc *incident.Scorecard, p prose, d *directory.Directory) []string {
	dur := func(secs int64) string {
		d := time.Duration(secs) * time.Second
		if l := p.Localizer(); l != nil {
			return l.Duration(d)
		}
		return d.String()
	}
	clock := func(t time.Time) string { return t.UTC().Format("15:04") }
	var out []string

	switch h := sc.HeadsUp; {
	case h == nil:
		out = append(out, p.t("comms_no_headsup"))
	case sc.TimeToHeadsUp != nil:
		out = append(out, p.t("comms_headsup", "Responders", h.Responders, "After", dur(*sc.TimeToHeadsUp)))
	default:
		out = append(out, p.t("comms_headsup_undelivered", "Responders", h.Responders))
	}
	if sc.TimeToFirstUpdate != nil {
		out = append(out, p.t("comms_first_update", "After", dur(*sc.TimeToFirstUpdate), "Time", clock(sc.Updates[0].At)))
	} else {
		out = append(out, p.t("comms_no_update"))
	}
	if due := sc.Promises.Kept + sc.Promises.Missed; due > 0 {
		out = append(out, p.t("comms_promises", "Kept", sc.Promises.Kept, "Due", due))
	} else {
		out = append(out, p.t("comms_no_promises"))
	}
	for _, pr := range sc.Promises.List {
		switch {
		case pr.Outcome == incident.PromiseOverdue:
			out = append(out, p.t("comms_promise_overdue", "Time", clock(pr.DueAt), "Late", dur(pr.Lateness)))
		case pr.Outcome != incident.PromiseMissed:
		case pr.SettledBy == incident.ByResolution:
			out = append(out, p.t("comms_promise_resolved", "Time", clock(pr.DueAt), "Late", dur(pr.Lateness)))
		default:
			out = append(out, p.t("comms_promise_late", "Time", clock(pr.DueAt), "Late", dur(pr.Lateness), "Number", pr.SettledByUpdate))
		}
	}
	switch q := sc.Questions; {
	case q.Asked == 0:
		out = append(out, p.t("comms_no_questions"))
	case q.MedianAnswer == nil:
		out = append(out, p.t("comms_questions_unanswered", "Asked", q.Asked))
	default:
		out = append(out, p.t("comms_questions", "Asked", q.Asked, "Answered", q.Answered, "Median", dur(*q.MedianAnswer)))
	}
	if c := sc.Confirmations; c.Asked > 0 {
		out = append(out, p.t("comms_confirmations", "Asked", c.Asked, "Answered", c.Answered, "Confirmed", c.Confirmed,
			"StillBroken", c.StillBroken, "Unclear", c.Unclear))
	}
	// Who was told: the stakeholders' groups, by the names the
	// organisation gave them. The leads' thread and those asked to
	// confirm are people, not an audience, and stay out.
	for _, a := range sc.Told {
		if a.Audience != compose.Stakeholders {
			continue
		}
		for _, g := range a.Groups {
			grp, ok := d.Group(g.Group)
			if !ok || len(g.Sends) == 0 {
				continue // followers, or a group since removed
			}
			name := g.Group
			if grp.DisplayName != "" {
				name = grp.DisplayName
			}
			most := 0
			for _, s := range g.Sends {
				most = max(most, s.Recipients)
			}
			out = append(out, p.t("comms_told", "Group", name, "Messages", len(g.Sends), "Recipients", most,
				"First", clock(g.Sends[0].At), "Last", clock(g.Sends[len(g.Sends)-1].At)))
		}
	}
	return out
}
