package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

func (s *Server) now() time.Time {
	if s.Incidents != nil && s.Incidents.Now != nil {
		return s.Incidents.Now().UTC()
	}
	return time.Now().UTC()
}

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

// scopeForm is the declare and edit form as the browser sent it, so that
// a refused form comes back as it was typed.
type scopeForm struct {
	Title, Severity                      string
	DetectedVia, DetectionDetail         string
	Verified                             bool
	VerificationDetail                   string
	Extent, Segments                     string
	Systems, Teams                       []string
	OtherTeams                           string
	FirstFailure, Zone                   string
	IncidentLead, CommsLead, Facilitator string
	Version                              int
	// The first report, when a customer or an employee told us: declare
	// only (more are filed on the incident page).
	ReportEmail, ReportWhere, ReportHow, ReportSaw string
}

// reports is the declare form's report, if any of it was filled in.
func (f scopeForm) reports() []incident.ReportInput {
	if f.ReportEmail == "" && f.ReportWhere == "" && f.ReportHow == "" && f.ReportSaw == "" {
		return nil
	}
	return []incident.ReportInput{{Email: f.ReportEmail, Location: f.ReportWhere, Access: f.ReportHow, Observed: f.ReportSaw, Channel: "web"}}
}

type scopeFormData struct {
	Ref         string // edit; "" declares
	Form        scopeForm
	Severities  []incident.Severity
	Sources     []string
	Escalations []directory.Escalation
	Teams       []string
	People      []directory.Person
	Zones       []string
}

func (s *Server) scopeFormData(f scopeForm) *scopeFormData {
	d := s.Directory.Current()
	out := &scopeFormData{Form: f, Severities: incident.Severities, Sources: incident.DetectionSources,
		Escalations: d.Escalations, People: d.People}
	teams := map[string]bool{}
	zones := map[string]bool{"UTC": true}
	for _, e := range d.Escalations {
		if e.Team != "" {
			teams[e.Team] = true
		}
	}
	for _, t := range f.Teams {
		teams[t] = true
	}
	for _, p := range d.People {
		if p.TimeZone != "" {
			zones[p.TimeZone] = true
		}
	}
	for _, g := range d.Groups {
		if g.TimeZone != "" {
			zones[g.TimeZone] = true
		}
	}
	if f.Zone != "" {
		zones[f.Zone] = true
	}
	for t := range teams {
		out.Teams = append(out.Teams, t)
	}
	for z := range zones {
		out.Zones = append(out.Zones, z)
	}
	sort.Strings(out.Teams)
	sort.Strings(out.Zones)
	return out
}

func readScopeForm(r *http.Request) scopeForm {
	_ = r.ParseForm()
	f := scopeForm{
		Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity"),
		DetectedVia: r.PostFormValue("detected_via"), DetectionDetail: r.PostFormValue("detection_detail"),
		Verified: r.PostFormValue("verified") == "yes", VerificationDetail: r.PostFormValue("verification_detail"),
		Extent: r.PostFormValue("extent"), Segments: r.PostFormValue("segments"),
		Systems: r.PostForm["systems"], Teams: r.PostForm["teams"], OtherTeams: r.PostFormValue("other_teams"),
		FirstFailure: r.PostFormValue("first_failure"), Zone: r.PostFormValue("zone"),
		IncidentLead: r.PostFormValue("incident_lead"), CommsLead: r.PostFormValue("comms_lead"), Facilitator: r.PostFormValue("facilitator"),
		ReportEmail: strings.TrimSpace(r.PostFormValue("report_email")), ReportWhere: strings.TrimSpace(r.PostFormValue("report_where")),
		ReportHow: strings.TrimSpace(r.PostFormValue("report_how")), ReportSaw: strings.TrimSpace(r.PostFormValue("report_saw")),
	}
	f.Version, _ = strconv.Atoi(r.PostFormValue("version"))
	return f
}

// input turns the form into the service's types.
func (f scopeForm) input() (incident.Scope, incident.Roles, *time.Time, error) {
	sc := incident.Scope{DetectedVia: f.DetectedVia, DetectionDetail: f.DetectionDetail, Verified: f.Verified,
		VerificationDetail: f.VerificationDetail, Extent: f.Extent, Systems: f.Systems}
	for _, line := range strings.Split(f.Segments, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			sc.Segments = append(sc.Segments, line)
		}
	}
	sc.Teams = append(sc.Teams, f.Teams...)
	for _, t := range strings.Split(f.OtherTeams, ",") {
		if t = strings.TrimSpace(t); t != "" {
			sc.Teams = append(sc.Teams, t)
		}
	}
	roles := incident.Roles{IncidentLead: f.IncidentLead, CommsLead: f.CommsLead, Facilitator: f.Facilitator}
	var first *time.Time
	if strings.TrimSpace(f.FirstFailure) != "" {
		loc := time.UTC
		if f.Zone != "" {
			l, err := time.LoadLocation(f.Zone)
			if err != nil {
				return sc, roles, nil, errs.InvalidField("zone", "unknown time zone %q", f.Zone)
			}
			loc = l
		}
		t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(f.FirstFailure), loc)
		if err != nil {
			return sc, roles, nil, errs.InvalidField("first_failure_at", "want a date and time like 2026-03-01T09:30")
		}
		t = t.UTC()
		first = &t
	}
	return sc, roles, first, nil
}

func (s *Server) uiDeclarePage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	p := s.newPage(r, sess, "Declare an incident", "declare")
	p.Data = s.scopeFormData(scopeForm{Severity: "SEV2", Extent: "", Zone: "UTC"})
	return s.render(w, http.StatusOK, "declare", p)
}

func (s *Server) uiDeclare(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	f := readScopeForm(r)
	sc, roles, first, err := f.input()
	var inc *incident.Incident
	if err == nil {
		inc, err = s.Incidents.Declare(r.Context(), sess.Account.Email, incident.DeclareInput{
			Title: f.Title, Severity: f.Severity, Scope: sc, Roles: roles, FirstFailureAt: first, Reports: f.reports()})
	}
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		p := s.newPage(r, sess, "Declare an incident", "declare")
		p.Error, p.Field, p.Data = errMessage(err), errField(err), s.scopeFormData(f)
		return s.render(w, statusOf[errs.CodeOf(err)], "declare", p)
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?declared=1", http.StatusSeeOther)
	return nil
}

func (s *Server) uiEditPage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	f := scopeForm{Title: inc.Title, Severity: string(inc.Severity), DetectedVia: inc.Scope.DetectedVia,
		DetectionDetail: inc.Scope.DetectionDetail, Verified: inc.Scope.Verified, VerificationDetail: inc.Scope.VerificationDetail,
		Extent: inc.Scope.Extent, Segments: strings.Join(inc.Scope.Segments, "\n"), Systems: inc.Scope.Systems, Teams: inc.Scope.Teams,
		IncidentLead: inc.Roles.IncidentLead, CommsLead: inc.Roles.CommsLead, Facilitator: inc.Roles.Facilitator,
		Zone: "UTC", Version: inc.Version}
	if inc.FirstFailureAt != nil {
		f.FirstFailure = inc.FirstFailureAt.UTC().Format("2006-01-02T15:04")
	}
	d := s.scopeFormData(f)
	d.Ref = inc.Ref
	p := s.newPage(r, sess, "Edit "+inc.Ref, "incidents")
	p.Data = d
	return s.render(w, http.StatusOK, "declare", p)
}

func (s *Server) uiEdit(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	f := readScopeForm(r)
	sc, roles, first, err := f.input()
	if err == nil {
		in := incident.PatchInput{Title: &f.Title, Severity: &f.Severity, Scope: &sc, Roles: &roles, FirstFailureAt: first}
		if f.Version > 0 {
			in.Version = &f.Version
		}
		_, err = s.Incidents.Patch(r.Context(), sess.Account.Email, ref, in)
	}
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		d := s.scopeFormData(f)
		d.Ref = strings.ToUpper(ref)
		p := s.newPage(r, sess, "Edit "+d.Ref, "incidents")
		p.Error, p.Field, p.Data = errMessage(err), errField(err), d
		return s.render(w, statusOf[errs.CodeOf(err)], "declare", p)
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?saved=1", http.StatusSeeOther)
	return nil
}

// composeForm is the update being written.
type composeForm struct {
	Status, Next string
	Groups       []string
	Key          string // idempotency key: one per rendered form
}

type groupOption struct {
	Name, Display string
	Recipients    int
	Checked       bool
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
	Preview     *previewData
	Names       map[string]string // email → name, for the roles

	// The resolution side (ui_resolution.go).
	HasResolution bool
	HasChanges    bool
	HasPostmortem bool
	Resolve       resolveForm
	Resolved      *resolvedView // what resolving just sent
	Confirm       *confirmView
	CanReopen     bool
	Reports       reportsView
	Changes       *changes.IncidentChanges
	ChangesError  string
}

type previewData struct {
	Result *incident.UpdateResult
	Error  string
	Hint   string
}

func readCompose(r *http.Request) composeForm {
	_ = r.ParseForm()
	return composeForm{Status: r.PostFormValue("status"), Next: r.PostFormValue("next"), Groups: r.PostForm["groups"], Key: r.PostFormValue("idempotency_key")}
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
					if d.HeadsUp.Recipients, err = s.Outbox.Deliveries(ctx, m.ID, "", 200); err != nil {
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
		d.Groups = append(d.Groups, groupOption{Name: g.Name, Display: display, Recipients: len(rs), Checked: slices.Contains(checked, g.Name)})
	}
	d.NextOptions = []nextOption{{"", "Default for " + string(inc.Severity)}, {"15m", "15 minutes"}, {"30m", "30 minutes"},
		{"45m", "45 minutes"}, {"1h", "1 hour"}, {"2h", "2 hours"}, {"4h", "4 hours"}}
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

// uiTransition moves the incident. The form carries the state the page
// showed: when someone else moved it meanwhile, nothing happens and the
// page says so, rather than applying a decision made on stale facts.
func (s *Server) uiTransition(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	inc, err := s.Incidents.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	to, err := incident.ParseState(r.PostFormValue("to"))
	if err == nil && r.PostFormValue("from") != "" && r.PostFormValue("from") != string(inc.State) {
		err = errs.E(errs.Conflict, "%s was moved to %s by someone else after your page loaded (it showed %s). Nothing was changed; the page below is current.",
			inc.Ref, inc.State, r.PostFormValue("from"))
	}
	if err == nil {
		_, err = s.Incidents.Transition(r.Context(), sess.Account.Email, inc.Ref, to, strings.TrimSpace(r.PostFormValue("note")))
	}
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.incidentPage(w, r, sess, statusOf[errs.CodeOf(err)], inc.Ref, nil, func(d *incidentData, p *page) { p.Error = errMessage(err) })
	}
	http.Redirect(w, r, "/incidents/"+inc.Ref+"?moved=1", http.StatusSeeOther)
	return nil
}

func (s *Server) uiAddNote(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	if _, err := s.Incidents.AddNote(r.Context(), sess.Account.Email, ref, r.PostFormValue("note")); err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, statusOf[errs.CodeOf(err)], ref, nil, func(d *incidentData, p *page) { p.Error, p.Field = errMessage(err), "note" })
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref)), http.StatusSeeOther)
	return nil
}

func (f composeForm) input(dryRun bool) incident.UpdateInput {
	return incident.UpdateInput{Status: f.Status, Next: f.Next, Groups: slices.Clone(f.Groups), DryRun: dryRun, IdempotencyKey: f.Key}
}

// uiPreview renders each group's copy of the update being written, without
// sending: the fragment for app.js's live preview, or the whole page for a
// browser without JavaScript.
func (s *Server) uiPreview(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "no outbox: updates cannot be sent")
	}
	f := readCompose(r)
	pd := &previewData{}
	if strings.TrimSpace(f.Status) == "" {
		pd.Hint = "Write what is known now to see the email each group will receive."
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), uiPreviewTimeout)
		defer cancel()
		res, err := s.Comms.SendUpdate(ctx, sess.Account.Email, r.PathValue("ref"), f.input(true))
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		if err != nil {
			pd.Error = errMessage(err)
		}
		pd.Result = res
	}
	if r.Header.Get(fetchHeader) == "fetch" {
		return s.renderFragment(w, http.StatusOK, "incident", "preview", pd)
	}
	return s.incidentPage(w, r, sess, http.StatusOK, r.PathValue("ref"), &f, func(d *incidentData, p *page) { d.Preview = pd })
}

func (s *Server) uiSendUpdate(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "no outbox: updates cannot be sent")
	}
	ref := r.PathValue("ref")
	f := readCompose(r)
	res, err := s.Comms.SendUpdate(r.Context(), sess.Account.Email, ref, f.input(false))
	if err != nil {
		c := errs.CodeOf(err)
		// The outbox refuses a second message with the same idempotency
		// key: this form was sent before (a double click, a resubmit).
		if c == errs.Conflict && f.Key != "" && strings.Contains(errMessage(err), "already sent") {
			http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?dup=1", http.StatusSeeOther)
			return nil
		}
		if c == errs.Internal || c == errs.NotFound {
			return err
		}
		f.Key = "" // a refused form may be corrected and sent: it gets a new key
		return s.incidentPage(w, r, sess, statusOf[c], ref, &f, func(d *incidentData, p *page) { p.Error, p.Field = errMessage(err), errField(err) })
	}
	http.Redirect(w, r, fmt.Sprintf("/incidents/%s/messages/%d?sent=1", res.Message.Incident, res.Message.ID), http.StatusSeeOther)
	return nil
}

type messageData struct {
	Inc        *incident.Incident
	Msg        *outbox.Message
	Deliveries []outbox.Delivery
	States     []stateCount
	Filter     string
	Done       int // sent + failed + skipped: no more work
	Sent       bool
}

type stateCount struct {
	State string
	N     int
}

func (s *Server) uiMessage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.NotFound, "no outbox")
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	msg, err := s.Outbox.Message(r.Context(), inc.ID, inc.Ref, id)
	if err != nil {
		return err
	}
	filter := r.URL.Query().Get("state")
	switch filter {
	case "", outbox.StateQueued, outbox.StateSending, outbox.StateSent, outbox.StateDeferred, outbox.StateFailed, outbox.StateSkipped:
	default:
		return errs.InvalidField("state", "unknown delivery state %q", filter)
	}
	list, err := s.Outbox.Deliveries(r.Context(), id, filter, 5000)
	if err != nil {
		return err
	}
	d := &messageData{Inc: inc, Msg: msg, Deliveries: list, Filter: filter, Sent: r.URL.Query().Get("sent") != ""}
	for _, st := range []string{outbox.StateSent, outbox.StateQueued, outbox.StateSending, outbox.StateDeferred, outbox.StateFailed, outbox.StateSkipped} {
		d.States = append(d.States, stateCount{st, msg.Counts[st]})
	}
	d.Done = msg.Counts[outbox.StateSent] + msg.Counts[outbox.StateFailed] + msg.Counts[outbox.StateSkipped]
	p := s.newPage(r, sess, inc.Ref+": "+msg.Subject, "incidents")
	if msg.Counts[outbox.StateQueued]+msg.Counts[outbox.StateSending] > 0 {
		p.Refresh = 2 // progress without JavaScript
	}
	p.Data = d
	return s.render(w, http.StatusOK, "message", p)
}

type triageData struct {
	Messages []mailmsg.Inbound
	Active   []*incident.Incident
}

func (s *Server) uiTriage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.triagePage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) triagePage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*page)) error {
	if s.Inbox == nil {
		return errs.E(errs.NotFound, "replies are not read on this server (no inbox configured)")
	}
	list, err := s.Inbox.Triage(r.Context(), 200)
	if err != nil {
		return err
	}
	active, err := s.Incidents.List(r.Context(), incident.ListFilter{ActiveOnly: true})
	if err != nil {
		return err
	}
	p := s.newPage(r, sess, "Triage", "triage")
	p.Data = &triageData{Messages: list, Active: active}
	if fill != nil {
		fill(p)
	}
	return s.render(w, status, "triage", p)
}

func (s *Server) uiAssign(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Inbox == nil {
		return errs.E(errs.NotFound, "no inbox")
	}
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	filed, err := s.Replies.File(r.Context(), id, r.PostFormValue("incident"), sess.Account.Email)
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.triagePage(w, r, sess, statusOf[errs.CodeOf(err)], func(p *page) { p.Error = errMessage(err) })
	}
	return s.triagePage(w, r, sess, http.StatusOK, func(p *page) { p.Notice = "Filed on " + filed.Incident + "." })
}

type dirGroup struct {
	directory.Group
	Expanded int
	File     bool
}

type dirPerson struct {
	directory.Person
	File bool
}

type dirEscalation struct {
	directory.Escalation
	File  bool
	Names map[string]string
}

type directoryData struct {
	Organization string
	Example      bool
	People       []dirPerson
	Groups       []dirGroup
	Escalations  []dirEscalation
	Audiences    map[string][]string
}

func (s *Server) uiDirectory(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	d := s.Directory.Current()
	out := &directoryData{Organization: d.Organization, Example: d.Example, Audiences: d.Audiences}
	names := map[string]string{}
	for _, p := range d.People {
		names[p.Email] = p.Name
		out.People = append(out.People, dirPerson{p, s.Directory.SourceOf("person", p.Email) == "file"})
	}
	for _, g := range d.Groups {
		rs, _ := d.Expand(g.Name)
		out.Groups = append(out.Groups, dirGroup{g, len(rs), s.Directory.SourceOf("group", g.Name) == "file"})
	}
	for _, e := range d.Escalations {
		out.Escalations = append(out.Escalations, dirEscalation{e, s.Directory.SourceOf("escalation", e.System) == "file", names})
	}
	p := s.newPage(r, sess, "Directory", "directory")
	p.Data = out
	return s.render(w, http.StatusOK, "directory", p)
}
