package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The incident page's communication scorecard (scorecard_parts.html). Its
// questions are marked answered on the questions card (policy.go).

// scorecardView is the data of the "scorecard" template.
type scorecardView struct {
	P   *page
	Ref string
	SC  *incident.Scorecard
	// Missed are the promises missed or overdue, for the summary line.
	Missed []incident.PromiseFigure
}

func init() {
	uiFuncs["scorecardCard"] = func(p *page, d *incidentData) *scorecardView {
		if d.Scorecard == nil {
			return nil
		}
		v := &scorecardView{P: p, Ref: d.Inc.Ref, SC: d.Scorecard}
		for _, pr := range d.Scorecard.Promises.List {
			if pr.Outcome == incident.PromiseMissed || pr.Outcome == incident.PromiseOverdue {
				v.Missed = append(v.Missed, pr)
			}
		}
		return v
	}
	// secs is a figure in seconds as the page says a duration: "6m", "5h 22m".
	uiFuncs["secs"] = func(v any) string {
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case *int64:
			if x == nil {
				return "—"
			}
			n = *x
		default:
			return ""
		}
		return web.HumanDuration(time.Duration(n) * time.Second)
	}
	// lateness says how a promise was met: "on time", "2m early", "6m late".
	uiFuncs["lateness"] = func(s int64) string {
		switch {
		case s == 0:
			return "on time"
		case s < 0:
			return web.HumanDuration(time.Duration(-s)*time.Second) + " early"
		}
		return web.HumanDuration(time.Duration(s)*time.Second) + " late"
	}
	uiFuncs["pctText"] = func(p *float64) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", *p)
	}
	// recipientsRange is one group's recipients over its messages: "3",
	// or "2–4" when they changed.
	uiFuncs["recipientsRange"] = func(sends []incident.GroupSend) string {
		if len(sends) == 0 {
			return "0"
		}
		lo, hi := sends[0].Recipients, sends[0].Recipients
		for _, s := range sends {
			lo, hi = min(lo, s.Recipients), max(hi, s.Recipients)
		}
		if lo == hi {
			return fmt.Sprint(lo)
		}
		return fmt.Sprintf("%d–%d", lo, hi)
	}
	uiFuncs["kindName"] = kindName
}

// kindName is a message's kind as the scorecard's reader says it.
func kindName(kind string, update int) string {
	if update > 0 {
		return fmt.Sprintf("update %d", update)
	}
	switch kind {
	case "headsup":
		return "heads-up"
	case "stakeholder_reply":
		return "questions forwarded"
	case "confirm":
		return "asked to confirm"
	case "public_status":
		return "public update"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// scorecardData fills the incident page's scorecard. A scorecard that
// cannot be read is a line on its card, not a broken page.
func (s *Server) scorecardData(ctx context.Context, d *incidentData) error {
	if s.Comms == nil {
		return nil
	}
	sc, err := s.Comms.ScorecardOf(ctx, s.Comms.DB, d.Inc)
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		d.ScorecardError = errMessage(err)
		return nil
	}
	d.Scorecard = sc
	return nil
}
