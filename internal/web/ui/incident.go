package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// The incident page (GET /incidents/{ref}): what it shows, gathered by
// incidentData, and incidentPage, which the actions on the page use to
// show it again with their message when a form is refused.

// now is the incident service's clock, so that the countdowns agree with it.
func (s *Server) now() time.Time {
	if s.Incidents != nil && s.Incidents.Now != nil {
		return s.Incidents.Now().UTC()
	}
	return time.Now().UTC()
}

type groupOption struct {
	Name, Display string
	Recipients    int
	Checked       bool
	// Wording is the text written for this group alone, as typed.
	Wording string
}

type nextOption struct{ Value, Label string }

type headsUp struct {
	Sent       bool
	Recipients []outbox.Delivery
	Systems    []string
}

type incidentData struct {
	Inc         *incident.Incident
	Row         incidentRow
	Now         time.Time
	DueSoon     time.Duration
	Duration    time.Duration
	Transitions []incident.State
	Timeline    []incident.Event
	Messages    []*outbox.Message
	Delayed     int
	Replies     []mailmsg.Inbound
	HasInbox    bool
	HeadsUp     *headsUp
	Compose     composeForm
	Groups      []groupOption
	NextOptions []nextOption
	// Policy is the severity's communication policy at the incident's
	// phase, for the compose form (policy.go).
	Policy policyView
	// Questions are the stakeholders' questions; OpenQuestions those not
	// answered yet.
	Questions     []reply.StoredQuestion
	OpenQuestions int
	Preview       *previewData
	Hold          holdView
	Held          *outbox.Message   // the holding update just sent
	Names         map[string]string // email → name, for the roles
	// EscalationWarnings: what the lead must know, e.g. an overdue update
	// that would escalate to nobody but the comms lead (incident.Comms.Warnings).
	EscalationWarnings []string

	// The resolution side (ui_resolution.go).
	HasResolution bool
	HasChanges    bool
	HasPostmortem bool
	Resolve       resolveForm
	// ResolveAudience is how many people resolving emails: the resolve
	// form's confirmation names it.
	ResolveAudience int
	Resolved        *resolvedView // what resolving just sent
	Confirm         *confirmView
	CanReopen       bool
	Reports         reportsView
	Changes         *changes.IncidentChanges
	// MaintenanceTold is what was told of each maintenance window of
	// Changes, by change id and step (announced, started, ended, cancelled).
	MaintenanceTold map[int64]map[string]*maintenance.Notice
	ChangesError    string

	// PublicTold: the incident had public wording, so resolving tells
	// customers too; the form takes what they read of the end.
	PublicTold bool
	// Scorecard is the incident's communication, measured (scorecard.go).
	Scorecard      *incident.Scorecard
	ScorecardError string
}

// holdView is the overdue banner's holding update: to whom it goes.
type holdView struct {
	Groups     []string
	Recipients int
	Key        string // idempotency key of the banner's form
}

type previewData struct {
	Result *incident.UpdateResult
	Error  string
	Hint   string
}

func (s *Server) incidentData(ctx context.Context, r *http.Request, ref string, form *composeForm) (*incidentData, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	events, err := s.Incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		return nil, err
	}
	slices.Reverse(events) // newest first: what just happened is what matters
	now := s.now()
	d := &incidentData{Inc: inc, Row: s.row(inc, now), Now: now, DueSoon: s.Incidents.DueSoon, Duration: inc.Duration(now), Timeline: events, Names: map[string]string{}}
	if s.Comms != nil {
		d.EscalationWarnings = s.Comms.Warnings(inc)
	}
	for _, st := range incident.States {
		if inc.State.CanMoveTo(st) {
			d.Transitions = append(d.Transitions, st)
		}
	}
	dir := s.Directory.Current()
	for _, e := range []string{inc.Roles.IncidentLead, inc.Roles.CommsLead, inc.Roles.Facilitator} {
		if p, ok := dir.Person(e); ok && p.Name != "" {
			d.Names[e] = p.Name
		}
	}
	if s.Outbox != nil {
		if d.Messages, err = s.Outbox.Messages(ctx, inc.ID); err != nil {
			return nil, err
		}
		slices.Reverse(d.Messages)
		if d.Delayed, err = s.Outbox.Delayed(ctx, inc.ID); err != nil {
			return nil, err
		}
		if r.URL.Query().Get("declared") != "" {
			d.HeadsUp = &headsUp{Systems: inc.Scope.Systems}
			for _, m := range d.Messages {
				if m.Kind == "headsup" {
					d.HeadsUp.Sent = true
					if d.HeadsUp.Recipients, _, err = s.Outbox.Deliveries(ctx, m.ID, outbox.DeliveryPage{Limit: 200}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if s.Inbox != nil {
		d.HasInbox = true
		if d.Replies, err = s.Inbox.Replies(ctx, inc.ID); err != nil {
			return nil, err
		}
	}
	if err := s.resolutionData(ctx, d); err != nil {
		return nil, err
	}
	if err := s.scorecardData(ctx, d); err != nil {
		return nil, err
	}
	if form != nil {
		d.Compose = *form
	}
	if d.Compose.Key == "" {
		d.Compose.Key = newUIToken()
	}
	checked := d.Compose.Groups
	if len(checked) == 0 {
		checked = dir.Audience(directory.KindStatus)
	}
	for _, g := range dir.Groups {
		rs, _ := dir.Expand(g.Name)
		display := g.DisplayName
		if display == "" {
			display = g.Name
		}
		d.Groups = append(d.Groups, groupOption{Name: g.Name, Display: display, Recipients: len(rs), Checked: slices.Contains(checked, g.Name),
			Wording: d.Compose.Audiences[g.Name]})
	}
	d.Policy = s.policyView(inc, now)
	d.NextOptions = d.Policy.nextOptions(inc.Severity)
	if s.Questions != nil {
		if d.Questions, err = s.Questions.List(ctx, inc.ID); err != nil {
			return nil, err
		}
		for _, q := range d.Questions {
			if q.AnsweredAt == nil {
				d.OpenQuestions++
			}
		}
	}
	d.Hold = holdView{Groups: dir.Audience(directory.KindStatus), Key: newUIToken()}
	if rs, err := dir.Expand(d.Hold.Groups...); err == nil {
		d.Hold.Recipients = len(rs)
	}
	if id := r.URL.Query().Get("held"); id != "" {
		for _, m := range d.Messages {
			if strconv.FormatInt(m.ID, 10) == id {
				d.Held = m
			}
		}
	}
	return d, nil
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, ref string, form *composeForm, fill func(*incidentData, *page)) error {
	d, err := s.incidentData(r.Context(), r, ref, form)
	if err != nil {
		return err
	}
	p := s.newPage(r, sess, d.Inc.Ref+" "+d.Inc.Title, "incidents")
	q := r.URL.Query()
	switch {
	case q.Get("saved") != "":
		p.Notice = "Saved."
	case q.Get("dup") != "":
		p.Notice = "That update was already sent (the send button was pressed twice); it went out once."
	case q.Get("moved") != "":
		p.Notice = d.Inc.Ref + " is now " + string(d.Inc.State) + "."
	case q.Get("reported") != "":
		p.Notice = "Report filed."
	case q.Get("answered") != "":
		p.Notice = "Marked answered; it is on the timeline and in the scorecard, and no reminder goes out for it."
	case q.Get("marked") == "suspected":
		p.Notice = "Change marked as suspected; it is on the timeline."
	case q.Get("marked") == "confirmed":
		p.Notice = "Change confirmed as a cause; the summary draft names it."
	}
	if fill != nil {
		fill(d, p)
	}
	p.Data = d
	return s.render(w, status, "incident", p)
}

func (s *Server) uiIncident(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.incidentPage(w, r, sess, http.StatusOK, r.PathValue("ref"), nil, nil)
}

// confirmView sorts the answers to "is it fixed for you?".
type confirmView struct {
	Confirmed, Waiting, StillBroken, Ambiguous []resolution.Confirmation
	Total                                      int
}

// reportsView is the reports card of an incident or a draft page.
type reportsView struct {
	List    []incident.Report
	Summary incident.ReportSummary
	Form    incident.ReportInput
	Action  string // where the card's form posts
}

// reportsCard is the data of layout.html's "reports" template: the page
// (for the role, the CSRF token and the field at fault) and the card.
type reportsCard struct {
	P *page
	V reportsView
}

// resolutionData fills the incident page's resolution, reports and changes
// cards. A maintenance calendar that cannot be read is a warning on the
// changes card, not a broken page.
func (s *Server) resolutionData(ctx context.Context, d *incidentData) error {
	inc := d.Inc
	d.HasResolution = s.Resolution != nil
	d.HasChanges = s.Changes != nil
	d.HasPostmortem = s.Postmortem != nil
	if s.Resolution != nil {
		// The resolve form replaces the bare "Mark resolved": resolving
		// records the root cause, emails everyone and asks for confirmations.
		kept := d.Transitions[:0]
		for _, st := range d.Transitions {
			if st != incident.Resolved {
				kept = append(kept, st)
			}
		}
		d.Transitions = kept
		list, err := s.Resolution.Confirmations(ctx, inc.Ref)
		if err != nil {
			return err
		}
		c := &confirmView{Total: len(list)}
		for _, x := range list {
			switch x.State {
			case resolution.AnswerConfirmed:
				c.Confirmed = append(c.Confirmed, x)
			case resolution.AnswerStillBroken:
				c.StillBroken = append(c.StillBroken, x)
			case resolution.AnswerAmbiguous:
				c.Ambiguous = append(c.Ambiguous, x)
			default:
				c.Waiting = append(c.Waiting, x)
			}
		}
		d.Confirm = c
		d.CanReopen = inc.State.CanMoveTo(incident.Investigating) && !inc.State.Active()
		if inc.State.Active() {
			who, err := s.Resolution.Audience(ctx, inc.Ref, directory.KindResolved)
			if err != nil {
				return err
			}
			d.ResolveAudience = len(who)
			if d.PublicTold, err = incident.HadPublicWording(ctx, s.Incidents.DB, inc.ID); err != nil {
				return err
			}
		}
	}
	reports, err := s.Incidents.Reports(ctx, inc.Ref)
	if err != nil {
		return err
	}
	d.Reports.List, d.Reports.Summary = reports, incident.SummarizeIncidentReports(inc.Scope, reports)
	d.Reports.Action = "/incidents/" + url.PathEscape(inc.Ref) + "/reports"
	if s.Changes != nil {
		ch, err := s.Changes.ForIncident(ctx, inc.Ref, 0)
		if err != nil {
			if errs.CodeOf(err) == errs.Internal {
				return err
			}
			d.ChangesError = errMessage(err)
		}
		d.Changes = ch
		if ch != nil && s.Maintenance != nil {
			var ids []int64
			for _, c := range ch.Changes {
				if c.Kind == changes.Maintenance {
					ids = append(ids, c.ID)
				}
			}
			if d.MaintenanceTold, err = s.Maintenance.Notices(ctx, ids); err != nil {
				return err
			}
		}
	}
	return nil
}
