package ui

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// The forms of the UI: each is read from the request into a typed value,
// checked where the check is the form's own (a time zone, an address),
// kept to render a refused form back as it was typed, and turned into the
// service's input type. The services check the rest.

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

// composeForm is the update being written.
type composeForm struct {
	Status, Next string
	Groups       []string
	Key          string // idempotency key: one per rendered form
	// Translations are the languages added, each with its text as typed
	// (translations.go).
	Translations []translationField
	// Audiences is the wording typed for single groups (for_<group>), by
	// group name; Public the public status page's.
	Audiences map[string]string
	Public    string
	// PublicNext is the public promise's interval ("" : the next update's).
	PublicNext string
	// AnswersQuestions: the update answers the open questions.
	AnswersQuestions bool
}

func readCompose(r *http.Request) composeForm {
	_ = r.ParseForm()
	f := composeForm{Status: r.PostFormValue("status"), Next: r.PostFormValue("next"), Groups: r.PostForm["groups"], Key: r.PostFormValue("idempotency_key"),
		Translations: readTranslations(r), Public: r.PostFormValue("public"),
		PublicNext: r.PostFormValue("public_next"), AnswersQuestions: r.PostFormValue("answers_questions") == "yes"}
	for name := range r.PostForm {
		group, ok := strings.CutPrefix(name, "for_")
		if !ok || strings.TrimSpace(r.PostFormValue(name)) == "" {
			continue
		}
		if f.Audiences == nil {
			f.Audiences = map[string]string{}
		}
		f.Audiences[group] = r.PostFormValue(name)
	}
	return f
}

func (f composeForm) input(dryRun bool) incident.UpdateInput {
	return incident.UpdateInput{Status: f.Status, Translations: f.translations(), Audiences: maps.Clone(f.Audiences), Public: f.Public, PublicNext: f.PublicNext,
		Next: f.Next, Groups: slices.Clone(f.Groups), DryRun: dryRun, IdempotencyKey: f.Key, AnswersQuestions: f.AnswersQuestions}
}

// holdForm is the overdue banner's holding update: the next update's
// interval ("": the severity's cadence) and the form's idempotency key.
type holdForm struct {
	Next, Key string
}

func readHold(r *http.Request) holdForm {
	_ = r.ParseForm()
	return holdForm{Next: r.PostFormValue("next"), Key: r.PostFormValue("idempotency_key")}
}

func (f holdForm) input() incident.UpdateInput {
	return incident.UpdateInput{Holding: true, Next: f.Next, IdempotencyKey: f.Key}
}

// resolveForm is the resolve form as typed, kept when it is refused.
type resolveForm struct {
	RootCause, Fix, Impact string
	// Public is what customers read of the end (the public page and its
	// subscribers' email), for an incident that had public wording.
	Public  string
	Unknown bool
	// Confirmed is the number of recipients the lead ticked to email
	// ("": not ticked).
	Confirmed string
}

func readResolveForm(r *http.Request) resolveForm {
	_ = r.ParseForm()
	return resolveForm{RootCause: r.PostFormValue("root_cause"), Fix: r.PostFormValue("fix"),
		Impact: r.PostFormValue("impact"), Public: r.PostFormValue("public"), Unknown: r.PostFormValue("root_cause_unknown") == "yes",
		Confirmed: r.PostFormValue("confirm_recipients")}
}

// checkConfirmed refuses a form that emails everyone at once unless its
// box naming how many was ticked, for the number it names now: one click
// on a button under the compose box must not email 31 people (issue 17).
// It is the server's check, so that it holds without JavaScript and
// whatever the browser did with the box's required attribute.
func checkConfirmed(confirmed string, recipients int) error {
	if confirmed == "" {
		return errs.InvalidField("confirm_recipients", "tick “Email all %d recipients now” to confirm; nothing was sent", recipients)
	}
	if confirmed != strconv.Itoa(recipients) {
		return errs.InvalidField("confirm_recipients", "it now goes to %d recipients, not the %s you confirmed (the directory or the responders changed); nothing was sent: tick the box again", recipients, confirmed)
	}
	return nil
}

type issueForm struct {
	Text     string
	Override bool
	Refused  []blameless.Finding // the lint's findings when it was refused
}

type improvementForm struct {
	Text, Owner, Due, Issue string
}

func improvementFilter(r *http.Request) postmortem.ImprovementFilter {
	q := r.URL.Query()
	return postmortem.ImprovementFilter{Owner: q.Get("owner"), Incident: q.Get("incident"), Overdue: q.Get("overdue") == "yes", Open: q.Get("open") == "yes"}
}

// readReport is the reports card's form (an incident's or a draft's).
func readReport(r *http.Request) incident.ReportInput {
	_ = r.ParseForm()
	return incident.ReportInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Location: r.PostFormValue("location"),
		Access: r.PostFormValue("access"), Observed: r.PostFormValue("observed"), Channel: "web"}
}

func readIssueForm(r *http.Request) issueForm {
	_ = r.ParseForm()
	return issueForm{Text: r.PostFormValue("text"), Override: r.PostFormValue("override") == "yes"}
}

func (f issueForm) input() postmortem.IssueInput {
	return postmortem.IssueInput{Text: f.Text, Override: f.Override}
}

func readImprovementForm(r *http.Request) improvementForm {
	_ = r.ParseForm()
	return improvementForm{Text: r.PostFormValue("text"), Owner: r.PostFormValue("owner"), Due: r.PostFormValue("due"), Issue: r.PostFormValue("issue")}
}

func (f improvementForm) input() postmortem.ImprovementInput {
	return postmortem.ImprovementInput{Text: f.Text, Owner: f.Owner, Due: f.Due, Issue: f.Issue}
}

// readImprovementPatch is the improvements list's row form: an owner
// field present (even empty: unassign) changes the owner; a state, the state.
func readImprovementPatch(r *http.Request) postmortem.ImprovementPatch {
	_ = r.ParseForm()
	var in postmortem.ImprovementPatch
	if _, ok := r.PostForm["owner"]; ok {
		v := r.PostFormValue("owner")
		in.Owner = &v
	}
	if v := r.PostFormValue("state"); v != "" {
		in.State = &v
	}
	return in
}

// accountForm is the new account form; an empty password is generated.
type accountForm struct {
	Email, Name, Role, Password string
}

func readAccountForm(r *http.Request) accountForm {
	_ = r.ParseForm()
	return accountForm{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: r.PostFormValue("role"), Password: r.PostFormValue("password")}
}

// loginForm is the sign-in form; Next is the page to go on to.
type loginForm struct {
	Email, Password, Next string
}

func readLoginForm(r *http.Request) loginForm {
	_ = r.ParseForm()
	return loginForm{Email: strings.TrimSpace(r.PostFormValue("email")), Password: r.PostFormValue("password"), Next: r.PostFormValue("next")}
}

// readDraftDeclare is a draft's declare form.
func readDraftDeclare(r *http.Request) intake.DeclareInput {
	_ = r.ParseForm()
	return intake.DeclareInput{Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity")}
}

// replyForm is a sandbox reply, written as the owner of the mailbox.
type replyForm struct {
	To            *mail.Address
	Subject, Body string
}

// readReplyForm reads a reply to the message env: to its Reply-To or From
// and with its subject when the form leaves them empty.
func readReplyForm(r *http.Request, env *enmime.Envelope) (replyForm, error) {
	_ = r.ParseForm()
	var f replyForm
	to := strings.TrimSpace(r.PostFormValue("to"))
	if to == "" {
		to = replyAddress(env)
	}
	toAddr, err := mail.ParseAddress(to)
	if err != nil {
		return f, errs.InvalidField("to", "not an address: %q", to)
	}
	f.To = toAddr
	f.Body = r.PostFormValue("body")
	if strings.TrimSpace(f.Body) == "" {
		return f, errs.InvalidField("body", "write something to send")
	}
	f.Subject = strings.TrimSpace(r.PostFormValue("subject"))
	if f.Subject == "" {
		f.Subject = replySubject(env.GetHeader("Subject"))
	}
	if strings.ContainsAny(f.Subject, "\r\n") {
		return f, errs.InvalidField("subject", "must be one line")
	}
	return f, nil
}
