package incident

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Mailer delivers messages in threads: the outbox in production. The
// incident decides who gets which message in which thread; the mailer
// only delivers, and knows nothing of incidents.
type Mailer interface {
	// Queue stores the message and its recipients in tx; nothing is sent
	// until tx commits.
	Queue(ctx context.Context, tx *sql.Tx, m compose.Outgoing) (*compose.Message, error)
	// Preview renders what each of m's groups would receive under subject.
	Preview(ctx context.Context, m compose.Outgoing, subject string) ([]compose.Preview, int, error)
	// ThreadSubject is the subject the thread started with, "" before its
	// first message.
	ThreadSubject(ctx context.Context, q store.Querier, t compose.Thread) (string, error)
	// Recipients lists everyone the thread's messages went to.
	Recipients(ctx context.Context, q store.Querier, t compose.Thread) ([]string, error)
	// ReplyAddress is where replies to a thread with this token go.
	ReplyAddress(token string) string
}

// Directory is what the incident's communication needs of the directory.
type Directory interface {
	Current() *directory.Directory
}

// OrganisationLanguage is the language of documents that go to many
// readers at once (a summary, a calendar event): override when set, else
// the directory's organisation language ("" is English). groups.yaml may
// change it, so it is read at each use.
func OrganisationLanguage(override string, d Directory) string {
	if override != "" || d == nil {
		return override
	}
	if cur := d.Current(); cur != nil {
		return cur.Language
	}
	return ""
}

// Thread is the incident's conversation with one audience
// (compose.Responders, Stakeholders or Leads).
//
// The leads' thread has a neutral subject of its own ("[INC-42] For the
// leads: Checkout unavailable"): it carries reminders, escalations,
// stakeholders' questions and notices, and each says what it is in its
// first line. Named after its first message, the thread would be
// "Update due at 05:17 CET" for the thirty messages after it.
func (i *Incident) Thread(audience string) compose.Thread {
	t := compose.Thread{Key: i.ID, Audience: audience, Ref: i.Ref, ReplyToken: i.ReplyToken}
	if audience == compose.Leads {
		t.Subject = compose.ThreadSubject(i.Ref, "For the leads: "+i.Title)
		t.SubjectKey, t.Title = "thread.leads", i.Title
	}
	return t
}

// Comms is the incident's communication: the heads-up to responders, the
// status updates to stakeholders and the next-update promise they carry,
// and the reminders and escalations to the leads when it runs late. It
// decides who gets which message in which thread; Mail delivers.
type Comms struct {
	DB        *store.DB
	Incidents *Service
	Directory Directory
	Mail      Mailer
	Logger    *slog.Logger
	Now       func() time.Time

	// PublicURL, when set, links the emails to the incident page.
	PublicURL string
	// Bridge is the conference call in one line (config bridge:), shown in the heads-up.
	Bridge string
	// Policy is the communication policy per severity (policy.go): the
	// default interval to the next update at each phase of an incident,
	// and the first-update and question reminders. A severity it does not
	// name gets its Cadence, with no reminders of either.
	Policy map[Severity]Policy
	// Cadence is the interval to the next update per severity ("SEV1")
	// where Policy names none; neither: DefaultCadence.
	Cadence map[Severity]time.Duration
	// Questions, when set, are the stakeholders' questions the policy's
	// answer_within reminds (policy_check.go); nil: no question reminders.
	Questions Questions
	// ReminderBefore and OverdueAfter drive the promise checker.
	ReminderBefore, OverdueAfter time.Duration
	// Backup is escalated to, beside the incident lead, when an update is overdue.
	Backup string
	// FallbackGroup is escalated to when an overdue update would otherwise
	// reach nobody but the comms lead (no incident lead, no backup).
	FallbackGroup string
	// Followers, when set, adds the people who follow the incident
	// (subscriptions) to the status emails, each with their own
	// unsubscribe link. Unset: the groups only.
	Followers Followers
	// PublicFollowers, when set, are the customers who subscribed to the
	// public status page: an update with public wording is also mailed to
	// them, as a message of its own (compose.KindPublicStatus). Unset: the
	// public wording only shows on the page.
	PublicFollowers PublicFollowers
	// PublicSite is what the customers' message may say of the public
	// status page: its title, address and components.
	PublicSite PublicSite
	// PublicPage: the public status page is on (status_page.public.enabled),
	// so the public promise is kept (checkPublicPromises); off, no
	// customer reads it and nobody is reminded of it.
	PublicPage bool

	// Messages and QuestionLog are what the communication scorecard reads
	// beside the timeline (scorecard.go): the outbox's record of who was
	// sent what, and the stakeholders' questions. Unset: the scorecard
	// says those figures are not recorded.
	Messages    MessageLog
	QuestionLog QuestionLog
}

// PublicFollowers says who receives the public wording of updates. It runs
// in q, the transaction that queues the email, as Followers does; the
// preview reads the same people and stores nothing.
type PublicFollowers interface {
	PublicFollowers(ctx context.Context, q store.Querier, systems []string) (compose.FollowerSet, error)
	PublicFollowersPreview(ctx context.Context, systems []string) (compose.FollowerSet, error)
}

// PublicSite is the public status page as its customers' emails name it.
type PublicSite struct {
	Title string // "Example Corp status"
	URL   string // "https://status.example.com"; "" no link
	// Components are the public components and the systems each stands
	// for: the email names the components, never the systems.
	Components []PublicComponent
}

// PublicComponent is one public component and its systems.
type PublicComponent struct {
	Name    string
	Systems []string
}

// componentsOf names the public components systems map to, in the
// site's order.
func (p PublicSite) componentsOf(systems []string) []string {
	var out []string
	for _, c := range p.Components {
		for _, s := range c.Systems {
			if slices.ContainsFunc(systems, func(t string) bool { return strings.EqualFold(s, t) }) {
				out = append(out, c.Name)
				break
			}
		}
	}
	return out
}

// Followers says who follows an incident beside its groups, and what of
// theirs makes them follow it. It runs in q, the transaction that queues
// the email: the unsubscribe links it returns (by address) are stored
// with that email, or not at all. FollowersPreview reads the same people
// for a dry run, storing nothing (their links are placeholders).
type Followers interface {
	Followers(ctx context.Context, q store.Querier, ref string, systems []string) (compose.FollowerSet, error)
	FollowersPreview(ctx context.Context, ref string, systems []string) (compose.FollowerSet, error)
}

// AddFollowers adds inc's followers to req, a status email to the
// stakeholders' thread, in tx.
func (c *Comms) AddFollowers(ctx context.Context, tx store.Querier, inc *Incident, req *compose.Outgoing) error {
	if c.Followers == nil {
		return nil
	}
	f, err := c.Followers.Followers(ctx, tx, inc.Ref, inc.Scope.Systems)
	if err != nil {
		return fmt.Errorf("incident: followers of %s: %w", inc.Ref, err)
	}
	req.SetFollowers(f)
	return nil
}

// DefaultCadence is the interval to the next update when Cadence names
// no interval for the severity.
const DefaultCadence = 30 * time.Minute

func (c *Comms) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Comms) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// View is the incident as emails describe it.
func (c *Comms) View(inc *Incident) compose.IncidentView {
	d := c.Directory.Current()
	name := func(email string) string {
		if p, ok := d.Person(email); ok && p.Name != "" {
			return p.Name
		}
		return email
	}
	v := compose.IncidentView{
		ID: inc.Ref, Title: inc.Title, Severity: string(inc.Severity), State: string(inc.State),
		DetectedVia: inc.Scope.DetectedVia, DetectionDetail: inc.Scope.DetectionDetail, Verified: inc.Scope.Verified,
		VerificationDetail: inc.Scope.VerificationDetail, Extent: inc.Scope.Extent, Segments: inc.Scope.Segments,
		Systems: inc.Scope.Systems, Teams: teamNames(d, inc.Scope.Teams), IncidentLead: name(inc.Roles.IncidentLead), CommsLead: name(inc.Roles.CommsLead),
		Bridge: c.Bridge,
	}
	if v.Extent == "all" {
		v.Extent = "all users"
	}
	if inc.FirstFailureAt != nil {
		v.FirstFailureAt = *inc.FirstFailureAt
	}
	if inc.DetectedAt != nil {
		v.DetectedAt = *inc.DetectedAt
	}
	if inc.ResolvedAt != nil {
		v.ResolvedAt = *inc.ResolvedAt
	}
	if inc.Roles.IncidentLead == "" {
		v.IncidentLead = ""
	}
	if inc.Roles.CommsLead == "" {
		v.CommsLead = ""
	}
	if c.PublicURL != "" {
		v.URL = strings.TrimSuffix(c.PublicURL, "/") + "/incidents/" + inc.Ref
	}
	return v
}

// ReplyTo is the address replies to the incident's emails go to.
func (c *Comms) ReplyTo(inc *Incident) string { return c.Mail.ReplyAddress(inc.ReplyToken) }

// UpdateInput is a status update as the comms lead writes it.
type UpdateInput struct {
	Status string `json:"status"` // Markdown
	// Translations are the lead's own versions of Status by language tag
	// ("de" → Markdown), for the recipients who read that language (its
	// own tag, else its base language: "de" serves "de-CH"). Everyone
	// else gets Status. sitrep never translates the status itself.
	Translations map[string]string `json:"translations,omitempty"`
	// Audiences is wording for one audience, by the name of a group this
	// update goes to ("customer-service" → what to tell customers,
	// "executives" → the business summary). That group's members get it
	// instead of Status; everyone else gets Status. Markdown, checked as
	// Status is.
	Audiences map[string]string `json:"audiences,omitempty"`
	// Public is the wording for the public status page, written for
	// customers. The internal text never goes there: without Public the
	// public page shows nothing new for this update.
	Public string `json:"public,omitempty"`
	// PublicNext is the public promise: the interval to the next public
	// update ("1h"), shown on the public page and in the customers'
	// email. Empty: the update's own next time. Only with Public.
	PublicNext string `json:"public_next,omitempty"`
	// Next is the interval to the next update ("30m"); NextAt an explicit
	// time. Neither: the policy's interval at the incident's phase.
	Next   string     `json:"next,omitempty"`
	NextAt *time.Time `json:"next_at,omitempty"`
	// Groups overrides the status audience.
	Groups         []string `json:"groups,omitempty"`
	DryRun         bool     `json:"dry_run,omitempty"`
	Holding        bool     `json:"holding,omitempty"`
	IdempotencyKey string   `json:"idempotency_key,omitempty"`
	// AnswersQuestions: this update answers the stakeholders' questions
	// still open, which are marked answered with it (policy_check.go).
	AnswersQuestions bool `json:"answers_questions,omitempty"`
}

// UpdateResult says what was (or would be) sent.
type UpdateResult struct {
	Message      *compose.Message  `json:"message,omitempty"`
	DryRun       bool              `json:"dry_run"`
	Previews     []compose.Preview `json:"previews,omitempty"`
	Recipients   int               `json:"recipients"`
	NextUpdateAt time.Time         `json:"next_update_at"`
	// PublicNextUpdateAt is the public promise an update with public
	// wording made; PublicMessage its email to the public page's
	// subscribers, PublicRecipients how many they are (in a dry run: would be).
	PublicNextUpdateAt *time.Time       `json:"public_next_update_at,omitempty"`
	PublicMessage      *compose.Message `json:"public_message,omitempty"`
	PublicRecipients   int              `json:"public_recipients,omitempty"`
	// PolicyWarning says that NextUpdateAt is later than the severity's
	// policy asks: allowed, but the lead is told (policy.go).
	PolicyWarning string `json:"policy_warning,omitempty"`
	// QuestionsAnswered is how many open questions the update answered.
	QuestionsAnswered int `json:"questions_answered,omitempty"`
}

const maxStatusBytes = 20000

// SendUpdate validates and queues a status update to the stakeholder
// thread, and books it against the next-update promise. With DryRun it
// only says what each group would receive.
func (c *Comms) SendUpdate(ctx context.Context, actor, ref string, in UpdateInput) (*UpdateResult, error) {
	inc, err := c.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	status := strings.TrimSpace(in.Status)
	if status == "" && !in.Holding {
		return nil, errs.InvalidField("status", "must not be empty: say what is known now")
	}
	if len(status) > maxStatusBytes {
		return nil, errs.InvalidField("status", "is %d bytes; at most %d (a status email reads in ten seconds)", len(status), maxStatusBytes)
	}
	if err := errs.CheckBlock("status", status, maxStatusBytes, !in.Holding); err != nil {
		return nil, err
	}
	translations, err := checkTranslations(status, in.Translations)
	if err != nil {
		return nil, err
	}
	if !inc.State.Active() {
		return nil, errs.E(errs.Conflict, "%s is %s: status updates are for active incidents", inc.Ref, inc.State)
	}
	now := c.now()
	next, err := c.nextUpdateAt(inc, in, now)
	if err != nil {
		return nil, err
	}
	d := c.Directory.Current()
	groups := in.Groups
	if len(groups) == 0 {
		groups = d.Audience(directory.KindStatus)
	}
	for i, g := range groups {
		groups[i] = strings.ToLower(strings.TrimSpace(g))
		if _, ok := d.Group(groups[i]); !ok {
			return nil, errs.InvalidField("groups", "unknown group %q; the groups are %s", g, strings.Join(d.GroupNames(), ", "))
		}
	}
	if len(groups) == 0 {
		return nil, errs.InvalidField("groups", "no audience: name groups or configure audiences.status")
	}
	audiences, err := checkAudiences(in.Audiences, groups)
	if err != nil {
		return nil, err
	}
	public := strings.TrimSpace(in.Public)
	if err := errs.CheckBlock("public", public, maxStatusBytes, false); err != nil {
		return nil, err
	}
	publicNext, err := c.publicNextAt(public, in.PublicNext, next, now)
	if err != nil {
		return nil, err
	}
	number, err := c.updateCount(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	if status == "" { // a holding update in sitrep's words; the template adds none of its own
		status = "No change since the last update; we are still working on it."
		if number == 0 {
			status = "We are still working on it and have nothing new to report yet."
		}
	}
	data := compose.StatusData{Incident: c.View(inc), Status: status, Translations: translations, ForGroups: audiences, NextUpdateAt: next, Holding: in.Holding, Now: now, UpdateNumber: number + 1}
	data.Incident.ThreadTitle = c.threadTitle(ctx, inc)
	data.Incident.Reports, data.Incident.ReportFacts = c.reportsLine(ctx, c.DB, inc)
	req := compose.Outgoing{Thread: inc.Thread(compose.Stakeholders), Kind: compose.KindStatus, Groups: groups, Data: data,
		NextUpdateAt: &next, Actor: actor, IdempotencyKey: in.IdempotencyKey}

	if in.DryRun {
		res, err := c.previewUpdate(ctx, inc, req, actor, public, publicNext, now)
		if err != nil {
			return nil, err
		}
		res.PolicyWarning = c.PolicyWarning(inc, next, now)
		return res, nil
	}
	var msg, pub *compose.Message
	var asked []time.Time // the questions this update answers, when each was received
	answered := 0
	err = c.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := c.AddFollowers(ctx, tx, inc, &req); err != nil {
			return err
		}
		var err error
		if asked, err = c.answerQuestions(ctx, tx, inc, actor, in.AnswersQuestions, now); err != nil {
			return err
		}
		answered = len(asked)
		if msg, err = c.Mail.Queue(ctx, tx, req); err != nil {
			return err
		}
		if err := c.Incidents.RecordUpdateSent(ctx, tx, inc.ID, now, &next); err != nil {
			return err
		}
		text := fmt.Sprintf("Status update %d to %s (%d %s); next update by %s UTC", number+1, strings.Join(groups, ", "), msg.Total,
			plural(msg.Total, "recipient", "recipients"), next.Format("15:04"))
		ev := map[string]any{"message": msg.ID, "status": status, "next_update_at": next, "groups": groups, "holding": in.Holding}
		if len(translations) > 0 {
			ev["translations"] = translations
		}
		if len(audiences) > 0 {
			ev["audiences"] = audiences
		}
		if answered > 0 {
			ev["questions_answered"] = answered
			text += fmt.Sprintf("; answers %d open %s", answered, plural(answered, "question", "questions"))
		}
		if public != "" {
			ev["public"] = public
			ev["public_next_update_at"] = publicNext
			if err := c.Incidents.RecordPublicUpdate(ctx, tx, inc.ID, publicNext); err != nil {
				return err
			}
			if pub, err = c.queuePublic(ctx, tx, inc, actor, public, publicNext, now); err != nil {
				return err
			}
			if pub != nil {
				ev["public_message"] = pub.ID
				text += fmt.Sprintf("; public update to %d %s, next by %s UTC", pub.Total, plural(pub.Total, "subscriber", "subscribers"), publicNext.Format("15:04"))
			}
		}
		_, err = AddEvent(ctx, tx, now, inc.ID, EventUpdateQueued, actor, text, ev)
		return err
	})
	if err != nil {
		return nil, err
	}
	res := &UpdateResult{Message: msg, Recipients: msg.Total, NextUpdateAt: next, PolicyWarning: c.PolicyWarning(inc, next, now),
		QuestionsAnswered: answered}
	if public != "" {
		res.PublicNextUpdateAt = &publicNext
		if pub != nil {
			res.PublicMessage, res.PublicRecipients = pub, pub.Total
		}
	}
	c.observeUpdate(inc, number+1, now, asked)
	return res, nil
}

// publicNextAt is the public promise of an update with public wording:
// PublicNext from now, else the update's own next time. A public promise
// without public wording would promise customers nothing they can see.
func (c *Comms) publicNextAt(public, interval string, next, now time.Time) (time.Time, error) {
	if interval == "" {
		return next, nil
	}
	if public == "" {
		return time.Time{}, errs.InvalidField("public_next", "a public promise needs public wording: write the public text too")
	}
	d, err := time.ParseDuration(interval)
	if err != nil {
		return time.Time{}, errs.InvalidField("public_next", "want a duration like 30m or 1h, got %q", interval)
	}
	if d < time.Minute || d > 7*24*time.Hour {
		return time.Time{}, errs.InvalidField("public_next", "want between 1m and a week, got %s", d)
	}
	return promiseAt(now, d), nil
}

// queuePublic queues an update's public wording to the public page's
// subscribers, in tx (the internal update's: both or neither), in the
// incident's thread of the public audience. It names the public
// components, never the title, severity, systems or anyone: customers
// read it. No subscribers (or none configured): nothing, and nil.
func (c *Comms) queuePublic(ctx context.Context, tx *sql.Tx, inc *Incident, actor, public string, next, now time.Time) (*compose.Message, error) {
	if c.PublicFollowers == nil {
		return nil, nil
	}
	f, err := c.PublicFollowers.PublicFollowers(ctx, tx, inc.Scope.Systems)
	if err != nil {
		return nil, fmt.Errorf("incident: public subscribers: %w", err)
	}
	if len(f.Emails) == 0 {
		return nil, nil
	}
	req := c.publicRequest(inc, compose.KindPublicStatus, actor, c.publicData(inc, public, next, now))
	req.SetFollowers(f)
	msg, err := c.Mail.Queue(ctx, tx, req)
	if err != nil {
		return nil, fmt.Errorf("incident: public update: %w", err)
	}
	return msg, nil
}

// checkAudiences checks the wording written for single audiences and
// returns it by group name, nil when there is none. Each names a group the
// update goes to: wording for a group that is not in the audience would
// reach nobody, and the lead should hear so rather than believe customer
// service was told. Each is checked as the status is; an empty one is
// dropped (that group gets the status).
func checkAudiences(in map[string]string, groups []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for name, text := range in {
		key := strings.ToLower(strings.TrimSpace(name))
		field := "audiences." + key
		if !slices.Contains(groups, key) {
			return nil, errs.InvalidField(field, "%q is not one of this update's groups (%s): its wording would reach nobody", name, strings.Join(groups, ", "))
		}
		if _, dup := out[key]; dup {
			return nil, errs.InvalidField(field, "wording for %q is given twice", key)
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if err := errs.CheckBlock(field, text, maxStatusBytes, false); err != nil {
			return nil, err
		}
		out[key] = text
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// checkTranslations checks the lead's translations of status and returns
// them by canonical tag ("de-ch" is "de-CH"), without the surrounding
// blank lines, nil when there are none.
//
// Each is checked as the status is (not empty, the same size limit, no
// control characters). A tag must be a language sitrep writes in
// (i18n.Supported): a translation for another language would reach nobody,
// since its readers get sitrep's words in English and so the original.
// A translation for the organisation's own language (English by default)
// is allowed, for an update written in another language: like any other,
// it is what the recipients whose emails are in that language get, and
// the outbox sends those whose language is not known the organisation's
// language's email. One that repeats the original word for word replaces
// nothing and is dropped. Two tags that are one language ("de" and "DE") are refused.
// A holding update with no status of its own has nothing to translate.
func checkTranslations(status string, in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if status == "" {
		return nil, errs.InvalidField("translations", "translate a status: give the status text too (a holding update without one is in sitrep's words)")
	}
	tags := make([]string, 0, len(in))
	for tag := range in {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	out := map[string]string{}
	for _, tag := range tags {
		canon, ok := i18n.Supported(strings.TrimSpace(tag))
		if !ok {
			return nil, errs.InvalidField("translations", "%q is not a language sitrep writes in; give one of %s (or a regional tag of one, such as de-CH)",
				tag, strings.Join(i18n.Available(), ", "))
		}
		field := "translations." + canon
		if _, dup := out[canon]; dup {
			return nil, errs.InvalidField(field, "given twice (%q is %s): give each language once", tag, canon)
		}
		text := strings.TrimSpace(in[tag])
		if text == "" {
			return nil, errs.InvalidField(field, "the %s translation must not be empty: write it, or leave the language out to send its readers the original", canon)
		}
		if len(text) > maxStatusBytes {
			return nil, errs.InvalidField(field, "the %s translation is %d bytes; at most %d, as for the status", canon, len(text), maxStatusBytes)
		}
		if err := errs.CheckBlock(field, text, maxStatusBytes, true); err != nil {
			if e, ok := err.(*errs.Error); ok {
				// "contains U+0007" alone does not say which of the texts.
				e.Message = "the " + canon + " translation " + e.Message
			}
			return nil, err
		}
		out[canon] = text
	}
	for tag, text := range out {
		if text == status {
			delete(out, tag)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (c *Comms) nextUpdateAt(inc *Incident, in UpdateInput, now time.Time) (time.Time, error) {
	switch {
	case in.NextAt != nil && in.Next != "":
		return time.Time{}, errs.InvalidField("next", "give next or next_at, not both")
	case in.NextAt != nil:
		t := in.NextAt.UTC()
		if !t.After(now) {
			return time.Time{}, errs.InvalidField("next_at", "%s is in the past", t.Format(time.RFC3339))
		}
		if t.Sub(now) > 7*24*time.Hour {
			return time.Time{}, errs.InvalidField("next_at", "more than a week away")
		}
		return t, nil
	case in.Next != "":
		d, err := time.ParseDuration(in.Next)
		if err != nil {
			return time.Time{}, errs.InvalidField("next", "want a duration like 30m or 1h, got %q", in.Next)
		}
		if d < time.Minute || d > 7*24*time.Hour {
			return time.Time{}, errs.InvalidField("next", "want between 1m and a week, got %s", d)
		}
		return promiseAt(now, d), nil
	default:
		return promiseAt(now, c.NextInterval(inc, now)), nil
	}
}

// CadenceOf is the interval to the next update that an update of an
// incident of severity sev promises at its start when the lead asks for
// none (NextInterval is the one for an incident at its phase).
func (c *Comms) CadenceOf(sev Severity) time.Duration {
	return c.PolicyOf(sev).Every
}

// promiseAt is the next update's time d from now, on a whole minute (it
// is shown as a clock time) and never earlier than asked: "in 2 minutes"
// at 04:04:59 is 04:07, not 04:06.
func promiseAt(now time.Time, d time.Duration) time.Time {
	t := now.Add(d)
	if m := t.Truncate(time.Minute); !m.Equal(t) {
		return m.Add(time.Minute)
	}
	return t
}

// updateCount is how many status updates the incident has had: each one
// queued is on the timeline.
func (c *Comms) updateCount(ctx context.Context, incidentID int64) (int, error) {
	var n int
	err := c.DB.QueryRowContext(ctx, queries.Get("count-events-of-kind"), incidentID, EventUpdateQueued).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("incident: update count: %w", err)
	}
	return n, nil
}

// threadTitle is the title the stakeholder thread started with, so a
// renamed incident keeps one thread.
func (c *Comms) threadTitle(ctx context.Context, inc *Incident) string {
	return c.ThreadTitle(ctx, c.DB, inc, compose.Stakeholders)
}

// ThreadTitle is the title the incident's thread with audience started
// with (the incident's title before its first message), so that a renamed
// incident keeps one thread. q may be the caller's transaction.
func (c *Comms) ThreadTitle(ctx context.Context, q store.Querier, inc *Incident, audience string) string {
	subject, err := c.Mail.ThreadSubject(ctx, q, inc.Thread(audience))
	if err != nil || subject == "" {
		return inc.Title
	}
	return strings.TrimSpace(strings.TrimPrefix(subject, "["+inc.Ref+"]"))
}

// Declared queues the heads-up of a new incident (a DeclareListener).
func (c *Comms) Declared(ctx context.Context, tx *sql.Tx, inc *Incident) error {
	return c.QueueHeadsUp(ctx, tx, inc)
}

// QueueHeadsUp sends the guide's heads-up to the responders of the
// suspected systems, in its own thread. It runs in the declaring
// transaction (see Declared). No suspected system: nothing to send.
func (c *Comms) QueueHeadsUp(ctx context.Context, tx *sql.Tx, inc *Incident) error {
	d := c.Directory.Current()
	responders := d.Responders(inc.Scope.Systems...)
	if len(responders) == 0 {
		return nil
	}
	people := make([]string, len(responders))
	names := make([]string, len(responders))
	for i, p := range responders {
		people[i], names[i] = p.Email, p.Name
	}
	now := c.now()
	data := compose.HeadsUpData{Incident: c.View(inc), Now: now}
	data.Incident.Reports, data.Incident.ReportFacts = c.reportsLine(ctx, tx, inc)
	msg, err := c.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Responders), Kind: compose.KindHeadsUp, People: people, Data: data, Actor: "sitrep"})
	if err != nil {
		return fmt.Errorf("incident: heads-up: %w", err)
	}
	_, err = AddEvent(ctx, tx, now, inc.ID, EventHeadsUpQueued, "sitrep",
		fmt.Sprintf("Heads-up to %d %s of %s: %s", len(people), plural(len(people), "responder", "responders"), strings.Join(inc.Scope.Systems, ", "), strings.Join(names, ", ")),
		map[string]any{"message": msg.ID, "to": people})
	return err
}

// SendHeadsUp sends a heads-up on demand (to the responders of the
// incident's suspected systems, or to the people named).
func (c *Comms) SendHeadsUp(ctx context.Context, actor, ref string, people []string) (*compose.Message, error) {
	inc, err := c.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(people) == 0 {
		for _, p := range c.Directory.Current().Responders(inc.Scope.Systems...) {
			people = append(people, p.Email)
		}
	}
	if len(people) == 0 {
		return nil, errs.InvalidField("to", "no responders for the suspected systems (%s); name people", strings.Join(inc.Scope.Systems, ", "))
	}
	var msg *compose.Message
	err = c.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := c.now()
		msg, err = c.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Responders), Kind: compose.KindHeadsUp, People: people,
			Data: compose.HeadsUpData{Incident: c.View(inc), Now: now}, Actor: actor})
		if err != nil {
			return err
		}
		_, err = AddEvent(ctx, tx, now, inc.ID, EventHeadsUpQueued, actor,
			fmt.Sprintf("Heads-up to %s", strings.Join(people, ", ")), map[string]any{"message": msg.ID, "to": people})
		return err
	})
	return msg, err
}

// reportsLine is the status email's and the heads-up's word on the
// reports: how many, from whom, where, how, and the guide's warning when
// they may be isolated. q is the declaring transaction for the heads-up,
// which must see the reports filed with the declaration.
func (c *Comms) reportsLine(ctx context.Context, q store.Querier, inc *Incident) (string, *compose.ReportFacts) {
	reps, err := ReportsOf(ctx, q, inc.ID)
	if err != nil || len(reps) == 0 {
		return "", nil
	}
	s := SummarizeIncidentReports(inc.Scope, reps)
	line := s.Line()
	if s.PossiblyIsolated {
		line += "; possibly isolated (" + s.Why + "): being verified"
	}
	return line, s.Facts()
}

// CheckPromises keeps the next-update promise: a reminder to the comms
// lead before the update is due, another when it is due, and an
// escalation to the incident lead and the backup when it is overdue. Each
// stage goes out once per promise, whatever the number of replicas: the
// stage advances in the same transaction that queues the email.
func (c *Comms) CheckPromises(ctx context.Context) (int, error) {
	now := c.now()
	due, err := c.Incidents.PromisesDue(ctx, now.Add(c.ReminderBefore))
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, inc := range due {
		at := *inc.Promise.NextUpdateAt
		stage := StageReminded
		switch {
		case !now.Before(at.Add(c.OverdueAfter)):
			stage = StageOverdue
		case !now.Before(at):
			stage = StageDue
		}
		if stage <= inc.Promise.Stage {
			continue
		}
		err := c.DB.InTx(ctx, func(tx *sql.Tx) error {
			won, err := AdvancePromiseStage(ctx, tx, inc.ID, at, stage)
			if err != nil || !won {
				return err
			}
			return c.queueReminder(ctx, tx, inc, at, stage, now)
		})
		if err != nil {
			c.logger().Error("promise reminder failed", "incident", inc.Ref, "err", err)
			continue
		}
		sent++
	}
	more, err := c.checkPolicy(ctx, now)
	if err != nil {
		return sent + more, err
	}
	// The public promise is kept beside it, by functions of its own
	// (public_promise.go).
	n, err := c.checkPublicPromises(ctx, now)
	return sent + more + n, err
}

func (c *Comms) queueReminder(ctx context.Context, tx *sql.Tx, inc *Incident, due time.Time, stage int, now time.Time) error {
	return c.queuePromiseReminder(ctx, tx, inc, due, stage, now, stakeholdersPromise)
}

// promiseWords tells one promise's reminders apart from the other's: the
// stakeholders' next update, or the customers' public one
// (public_promise.go). Each text takes who was told and the due time (the
// overdue one: the due time, then who).
type promiseWords struct {
	reminder, overdue           compose.Kind
	reminderEvent, overdueEvent string
	remindText, dueText         string
	overdueText                 string
	nobody                      string // logged when no one can be reminded
}

var stakeholdersPromise = promiseWords{
	reminder: compose.KindReminder, overdue: compose.KindOverdue,
	reminderEvent: EventReminder, overdueEvent: EventOverdue,
	remindText:  "Reminder to %s: next update due at %s UTC",
	dueText:     "Next update due now (%[2]s UTC); reminded %[1]s",
	overdueText: "Update OVERDUE (was due %[2]s UTC); escalated to %[1]s",
	nobody:      "no one to remind: the incident has no leads and the directory no comms lead",
}

// queuePromiseReminder tells the leads, in their thread and language, that
// an update is due (to the comms lead) or overdue (to the incident lead,
// the backup or the fallback group), and notes it on the timeline.
func (c *Comms) queuePromiseReminder(ctx context.Context, tx *sql.Tx, inc *Incident, due time.Time, stage int, now time.Time, w promiseWords) error {
	d := c.Directory.Current()
	kind, event := w.reminder, w.reminderEvent
	var to []string
	if stage == StageOverdue {
		kind, event = w.overdue, w.overdueEvent
		to = c.overdueTo(d, inc)
	} else {
		to = append(to, inc.Roles.CommsLead)
		if inc.Roles.CommsLead == "" {
			to = append(to, inc.Roles.IncidentLead)
		}
	}
	to = compact(to)
	if len(to) == 0 {
		for _, p := range d.PeopleWithRole(directory.RoleCommsLead) {
			to = append(to, p.Email)
		}
	}
	if len(to) == 0 {
		c.logger().Warn(w.nobody, "incident", inc.Ref)
		return nil
	}
	data := compose.ReminderData{Incident: c.View(inc), DueAt: due, Now: now, Overdue: stage == StageOverdue}
	if _, err := c.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(compose.Leads), Kind: kind, People: to, Data: data, Actor: "sitrep"}); err != nil {
		return err
	}
	format := w.overdueText
	switch stage {
	case StageReminded:
		format = w.remindText
	case StageDue:
		format = w.dueText
	}
	text := fmt.Sprintf(format, strings.Join(to, ", "), due.Format("15:04"))
	_, err := AddEvent(ctx, tx, now, inc.ID, event, "sitrep", text, map[string]any{"due": due, "stage": stage, "to": to})
	return err
}

func compact(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
