package postmortem

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// The board is the outage guide's two columns: Issues ("what went wrong",
// systems and processes, never people) and Improvements (what changes,
// each with an owner).

// Issue is a system or process failure found at the post-mortem.
type Issue struct {
	ID         int64               `json:"id"`
	Ref        string              `json:"ref"` // "I1", numbered per incident
	Text       string              `json:"text"`
	Overridden []blameless.Finding `json:"overridden_findings,omitempty"`
	Actor      string              `json:"actor,omitempty"`
	CreatedAt  time.Time           `json:"created_at"`
}

// Improvement is a change to make, with its owner.
type Improvement struct {
	ID         int64      `json:"id"`
	Ref        string     `json:"ref"` // "M1"
	Incident   string     `json:"incident"`
	Text       string     `json:"text"`
	Owner      string     `json:"owner,omitempty"` // email; "" = flagged
	OwnerName  string     `json:"owner_name,omitempty"`
	Unowned    bool       `json:"unowned,omitempty"`
	DueOn      string     `json:"due_on,omitempty"` // YYYY-MM-DD
	Overdue    bool       `json:"overdue,omitempty"`
	IssueID    int64      `json:"issue_id,omitempty"`
	Issue      string     `json:"issue,omitempty"` // the issue's text
	State      string     `json:"state"`           // open | done
	CreatedAt  time.Time  `json:"created_at"`
	RemindedAt *time.Time `json:"reminded_at,omitempty"`
	// TrackerURL and TrackerRef: its issue in the team's backlog (GitHub
	// Issues), once filed; TrackerProblem: why it could not be filed.
	TrackerURL     string `json:"tracker_url,omitempty"`
	TrackerRef     string `json:"tracker_ref,omitempty"`
	TrackerProblem string `json:"tracker_problem,omitempty"`
}

// Board is the post-mortem's two columns.
type Board struct {
	Incident     string        `json:"incident"`
	Issues       []Issue       `json:"issues"`
	Improvements []Improvement `json:"improvements"`
	Unowned      int           `json:"unowned"` // improvements without an owner: flagged
}

const maxItemBytes = 2000

func cleanItem(field, text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", errs.InvalidField(field, "must not be empty")
	case !utf8.ValidString(text):
		return "", errs.InvalidField(field, "is not UTF-8 text")
	case len(text) > maxItemBytes:
		return "", errs.InvalidField(field, "at most %d bytes", maxItemBytes)
	}
	return text, nil
}

// names is everyone in the directory, for the blameless lint.
func (s *Service) names() blameless.NameSet {
	d := s.Directory.Current()
	people := make([]blameless.Person, len(d.People))
	for i, p := range d.People {
		handles := p.Handles
		if p.GitHub != "" {
			// A GitHub login in the text names the person as a handle would.
			handles = append(slices.Clip(handles), "@"+p.GitHub)
		}
		people[i] = blameless.Person{Name: p.Name, Email: p.Email, Handles: handles}
	}
	return blameless.NewNameSet(people)
}

// IssueInput is an Issue to record.
type IssueInput struct {
	Text string `json:"text"`
	// Override records it despite lint findings; the override is kept with
	// the issue and on the timeline.
	Override bool `json:"override"`
}

// AddIssue records an Issue after the blameless lint: names and blame
// language are refused (blameless.Blocked, a 409) unless overridden.
func (s *Service) AddIssue(ctx context.Context, actor, ref string, in IssueInput) (*Issue, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	text, err := cleanItem("text", in.Text)
	if err != nil {
		return nil, err
	}
	findings := blameless.Lint(text, s.names(), s.Rules)
	if len(findings) > 0 && !in.Override {
		return nil, &blameless.Blocked{Findings: findings}
	}
	now := s.now()
	is := &Issue{Text: text, Overridden: findings, Actor: actor, CreatedAt: now}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, queries.Get("insert-issue"), inc.ID, text, findingsJSON(findings), actor, now).Scan(&is.ID); err != nil {
			return fmt.Errorf("postmortem: add issue: %w", err)
		}
		n, err := countBefore(ctx, tx, "number-issue", inc.ID, is.ID)
		if err != nil {
			return err
		}
		is.Ref = "I" + strconv.Itoa(n)
		msg := "Post-mortem issue " + is.Ref + ": " + oneLine(text)
		if len(findings) > 0 {
			msg += fmt.Sprintf(" (blameless lint overridden: %d findings)", len(findings))
		}
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_issue", actor, msg, map[string]any{"issue": is.ID, "override": len(findings) > 0})
		return err
	})
	if err != nil {
		return nil, err
	}
	return is, nil
}

func findingsJSON(f []blameless.Finding) string {
	if f == nil {
		f = []blameless.Finding{}
	}
	return store.JSON(f)
}

// countBefore numbers a row among its incident's rows: I1, I2, ...; query
// is number-issue or number-improvement.
func countBefore(ctx context.Context, q store.Querier, query string, incidentID, id int64) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, queries.Get(query), incidentID, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("postmortem: number: %w", err)
	}
	return n, nil
}

// ImprovementInput is an Improvement to record.
type ImprovementInput struct {
	Text  string `json:"text"`
	Owner string `json:"owner"` // email of a person in the directory; "" = flagged as unowned
	Due   string `json:"due"`   // YYYY-MM-DD, optional
	// Issue is the Issue it addresses: its id, or its ref ("I2").
	Issue string `json:"issue"`
}

// AddImprovement records an Improvement. The owner must be a person of
// the directory; one without an owner is accepted and flagged.
func (s *Service) AddImprovement(ctx context.Context, actor, ref string, in ImprovementInput) (*Improvement, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	text, err := cleanItem("text", in.Text)
	if err != nil {
		return nil, err
	}
	owner, err := s.owner(in.Owner)
	if err != nil {
		return nil, err
	}
	due, err := cleanDue(in.Due, s.now())
	if err != nil {
		return nil, err
	}
	issues, err := s.issues(ctx, s.DB, inc)
	if err != nil {
		return nil, err
	}
	var issueID sql.NullInt64
	if v := strings.TrimSpace(in.Issue); v != "" {
		for _, is := range issues {
			if strings.EqualFold(v, is.Ref) || v == strconv.FormatInt(is.ID, 10) {
				issueID = sql.NullInt64{Int64: is.ID, Valid: true}
			}
		}
		if !issueID.Valid {
			return nil, errs.InvalidField("issue", "%s has no issue %q (it has %d)", inc.Ref, v, len(issues))
		}
	}
	now := s.now()
	var id int64
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, queries.Get("insert-improvement"), inc.ID, issueID, text, owner, due, actor, now).Scan(&id); err != nil {
			return fmt.Errorf("postmortem: add improvement: %w", err)
		}
		msg := "Post-mortem improvement: " + oneLine(text)
		if owner != "" {
			msg += "; owner " + owner
		} else {
			msg += "; NO OWNER yet"
		}
		if due != "" {
			msg += ", due " + due
		}
		if _, err := incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_improvement", actor, msg, map[string]any{"improvement": id}); err != nil {
			return err
		}
		// One added after the results went out goes to the backlog at once;
		// the others go with the results (Publish).
		pm, err := load(ctx, tx, inc.ID)
		if err != nil || pm == nil || pm.PublishedAt == nil {
			return err
		}
		return s.fileImprovement(ctx, tx, inc, id, text, owner, due, issueText(issues, issueID))
	})
	if err != nil {
		return nil, err
	}
	list, err := s.Improvements(ctx, ImprovementFilter{Incident: inc.Ref})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, errs.E(errs.Internal, "postmortem: improvement %d vanished", id)
}

// ImprovementPatch changes an improvement; nil fields stay.
type ImprovementPatch struct {
	Owner *string `json:"owner"`
	Due   *string `json:"due"`
	State *string `json:"state"` // open | done
}

// UpdateImprovement assigns an owner, moves the due date (which re-arms
// the reminders) or marks it done.
func (s *Service) UpdateImprovement(ctx context.Context, actor string, id int64, in ImprovementPatch) (*Improvement, error) {
	var incidentID int64
	if err := s.DB.QueryRowContext(ctx, queries.Get("incident-of-improvement"), id).Scan(&incidentID); err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "no improvement %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postmortem: improvement: %w", err)
	}
	// One statement per field given, in one transaction.
	type set struct {
		query string
		value any
	}
	var sets []set
	var changes []string
	// What the backlog carries to the improvement's issue, if it has one.
	var toOwner, toDue *string
	var toClosed *bool
	if in.Owner != nil {
		owner, err := s.owner(*in.Owner)
		if err != nil {
			return nil, err
		}
		sets = append(sets, set{"set-improvement-owner", owner})
		changes = append(changes, "owner "+cmp.Or(owner, "none"))
		toOwner = &owner
	}
	if in.Due != nil {
		due, err := cleanDue(*in.Due, s.now())
		if err != nil {
			return nil, err
		}
		sets = append(sets, set{"set-improvement-due", due})
		changes = append(changes, "due "+cmp.Or(due, "none"))
		toDue = &due
	}
	if in.State != nil {
		if *in.State != "open" && *in.State != "done" {
			return nil, errs.InvalidField("state", "want open or done, got %q", *in.State)
		}
		sets = append(sets, set{"set-improvement-state", *in.State})
		changes = append(changes, *in.State)
		closed := *in.State == "done"
		toClosed = &closed
	}
	if len(sets) == 0 {
		return nil, errs.E(errs.Invalid, "nothing to change: give owner, due or state")
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		for _, st := range sets {
			if _, err := tx.ExecContext(ctx, queries.Get(st.query), st.value, id); err != nil {
				return fmt.Errorf("postmortem: update improvement: %w", err)
			}
		}
		if tc, ok := s.Tracker.(TrackerChanges); ok {
			if err := tc.Changed(ctx, tx, id, toClosed, toOwner, toDue); err != nil {
				return fmt.Errorf("postmortem: carry the change to the backlog: %w", err)
			}
		}
		_, err := incident.AddEvent(ctx, tx, s.now(), incidentID, "postmortem_improvement", actor,
			fmt.Sprintf("Improvement %d: %s", id, strings.Join(changes, ", ")), map[string]any{"improvement": id})
		return err
	})
	if err != nil {
		return nil, err
	}
	list, err := s.Improvements(ctx, ImprovementFilter{Incident: incident.FormatRef(incidentID)})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, errs.E(errs.NotFound, "no improvement %d", id)
}

func (s *Service) owner(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", nil
	}
	if _, ok := s.Directory.Current().Person(email); !ok {
		return "", errs.InvalidField("owner", "%s is not in the directory; an owner must be someone the reminders can reach", email)
	}
	return email, nil
}

func cleanDue(v string, now time.Time) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return "", errs.InvalidField("due", "want a date like 2026-03-31, got %q", v)
	}
	if d.Before(now.AddDate(0, 0, -1).Truncate(24 * time.Hour)) {
		return "", errs.InvalidField("due", "%s is in the past", v)
	}
	return v, nil
}

func (s *Service) issues(ctx context.Context, q store.Querier, inc *incident.Incident) ([]Issue, error) {
	rows, err := q.QueryContext(ctx, queries.Get("issues"), inc.ID)
	if err != nil {
		return nil, fmt.Errorf("postmortem: issues: %w", err)
	}
	defer rows.Close()
	out := []Issue{}
	for rows.Next() {
		var is Issue
		var findings string
		if err := rows.Scan(&is.ID, &is.Text, &findings, &is.Actor, &is.CreatedAt); err != nil {
			return nil, fmt.Errorf("postmortem: issues: %w", err)
		}
		_ = json.Unmarshal([]byte(findings), &is.Overridden)
		is.Ref = "I" + strconv.Itoa(len(out)+1)
		is.CreatedAt = is.CreatedAt.UTC()
		out = append(out, is)
	}
	return out, rows.Err()
}

// Board returns the Issues and Improvements of an incident.
func (s *Service) Board(ctx context.Context, ref string) (*Board, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.board(ctx, s.DB, inc)
}

func (s *Service) board(ctx context.Context, q store.Querier, inc *incident.Incident) (*Board, error) {
	issues, err := s.issues(ctx, q, inc)
	if err != nil {
		return nil, err
	}
	imps, err := s.improvements(ctx, q, ImprovementFilter{Incident: inc.Ref})
	if err != nil {
		return nil, err
	}
	b := &Board{Incident: inc.Ref, Issues: issues, Improvements: imps}
	for _, m := range imps {
		if m.Unowned {
			b.Unowned++
		}
	}
	return b, nil
}

// ImprovementFilter selects improvements; the zero value lists all.
type ImprovementFilter struct {
	Incident string // INC-42
	Owner    string
	Overdue  bool // open and past their due date
	Open     bool
}

// Improvements lists improvements across incidents, for the export and
// the owners' view.
func (s *Service) Improvements(ctx context.Context, f ImprovementFilter) ([]Improvement, error) {
	return s.improvements(ctx, s.DB, f)
}

func (s *Service) improvements(ctx context.Context, q store.Querier, f ImprovementFilter) ([]Improvement, error) {
	query := queries.Get("improvements")
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Incident != "" {
		id, err := incident.ParseRef(f.Incident)
		if err != nil {
			return nil, err
		}
		query += ` AND m.incident_id = ` + arg(id)
	}
	if f.Owner != "" {
		query += ` AND m.owner = ` + arg(strings.ToLower(strings.TrimSpace(f.Owner)))
	}
	today := s.now().Format(time.DateOnly)
	if f.Overdue {
		// ISO dates compare as text on both databases.
		query += ` AND m.state = 'open' AND m.due_on <> '' AND m.due_on < ` + arg(today)
	}
	if f.Open {
		query += ` AND m.state = 'open'`
	}
	query += ` ORDER BY m.incident_id, m.id`
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postmortem: improvements: %w", err)
	}
	defer rows.Close()
	d := s.Directory.Current()
	out := []Improvement{}
	for rows.Next() {
		var m Improvement
		var incID int64
		var issue sql.NullInt64
		var before, overdue sql.NullTime
		if err := rows.Scan(&m.ID, &incID, &m.Text, &m.Owner, &m.DueOn, &issue, &m.Issue, &m.State, &m.CreatedAt, &before, &overdue,
			&m.TrackerURL, &m.TrackerRef, &m.TrackerProblem); err != nil {
			return nil, fmt.Errorf("postmortem: improvements: %w", err)
		}
		m.Incident = incident.FormatRef(incID)
		m.IssueID = issue.Int64
		m.Unowned = m.Owner == ""
		m.Overdue = m.State == "open" && m.DueOn != "" && m.DueOn < today
		m.CreatedAt = m.CreatedAt.UTC()
		m.RemindedAt = cmp.Or(store.TimePtr(overdue), store.TimePtr(before))
		if p, ok := d.Person(m.Owner); ok {
			m.OwnerName = p.Name
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Refs count within the incident over all its improvements, so that a
	// filtered list keeps the numbers people saw on the board.
	refs := map[int64]string{}
	for _, m := range out {
		if _, ok := refs[m.ID]; ok {
			continue
		}
		incID, _ := incident.ParseRef(m.Incident)
		n, err := countBefore(ctx, q, "number-improvement", incID, m.ID)
		if err != nil {
			return nil, err
		}
		refs[m.ID] = "M" + strconv.Itoa(n)
	}
	for i := range out {
		out[i].Ref = refs[out[i].ID]
	}
	return out, nil
}

// WriteCSV exports improvements for a backlog tool or a spreadsheet.
func WriteCSV(w io.Writer, list []Improvement) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "incident", "ref", "text", "owner", "owner_name", "due_on", "overdue", "state", "issue", "created_at"})
	for _, m := range list {
		_ = cw.Write([]string{strconv.FormatInt(m.ID, 10), m.Incident, m.Ref, csvSafe(m.Text), m.Owner, csvSafe(m.OwnerName), m.DueOn,
			strconv.FormatBool(m.Overdue), m.State, csvSafe(m.Issue), m.CreatedAt.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from running text typed by people as a
// formula (OWASP "CSV injection"): a leading = + - @ gets a quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// PublishResult says what went out.
type PublishResult struct {
	Board    *Board           `json:"board"`
	Message  *compose.Message `json:"message"`
	Webhook  bool             `json:"webhook_queued"`
	Unowned  int              `json:"unowned"`
	Notified []string         `json:"notified"`
}

// Publish sends the meeting's results (Issues, Improvements with owners,
// unowned ones flagged) to every participant, and queues the webhook.
func (s *Service) Publish(ctx context.Context, actor, ref string) (*PublishResult, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	pm, err := s.ensure(ctx, inc)
	if err != nil {
		return nil, err
	}
	res := &PublishResult{}
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		b, err := s.board(ctx, tx, inc)
		if err != nil {
			return err
		}
		if len(b.Issues) == 0 && len(b.Improvements) == 0 {
			return errs.E(errs.Conflict, "the board of %s is empty: record the Issues and Improvements first", inc.Ref)
		}
		res.Board, res.Unowned = b, b.Unowned
		data := compose.PostmortemReportData{Incident: s.Comms.View(inc), Facilitator: s.displayName(pm.Facilitator), Unowned: b.Unowned, Now: now}
		if pm.Start != nil && pm.State == StateBooked {
			data.HeldAt = *pm.Start
		}
		refs := map[int64]string{}
		for _, is := range b.Issues {
			refs[is.ID] = is.Ref
			data.Issues = append(data.Issues, compose.PostmortemIssue{Ref: is.Ref, Text: is.Text})
		}
		for _, m := range b.Improvements {
			item := compose.PostmortemImprovement{Ref: m.Ref, Text: m.Text, Owner: cmp.Or(m.OwnerName, m.Owner), Issue: refs[m.IssueID]}
			if m.DueOn != "" {
				item.DueOn, _ = time.Parse(time.DateOnly, m.DueOn)
			}
			data.Improvements = append(data.Improvements, item)
		}
		res.Notified = participants(pm)
		// Owners who were not at the meeting hear about their items too.
		for _, m := range b.Improvements {
			if m.Owner != "" && !containsFold(res.Notified, m.Owner) {
				res.Notified = append(res.Notified, m.Owner)
			}
		}
		if res.Message, err = s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(ThreadResults), Kind: compose.KindPostmortemReport,
			People: res.Notified, Data: data, Actor: actor}); err != nil {
			return fmt.Errorf("postmortem: publish: %w", err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("mark-published"), now, pm.ID); err != nil {
			return fmt.Errorf("postmortem: publish: %w", err)
		}
		for _, m := range b.Improvements {
			if err := s.fileImprovement(ctx, tx, inc, m.ID, m.Text, m.Owner, m.DueOn, m.Issue); err != nil {
				return err
			}
		}
		if s.Settings.WebhookURL != "" {
			if _, err := s.Jobs.InsertTx(ctx, tx, WebhookArgs{IncidentID: inc.ID, Event: "postmortem.published", At: now}, nil); err != nil {
				return fmt.Errorf("postmortem: queue webhook: %w", err)
			}
			res.Webhook = true
		}
		text := fmt.Sprintf("Post-mortem results published to %d people: %d issues, %d improvements", len(res.Notified), len(b.Issues), len(b.Improvements))
		if b.Unowned > 0 {
			text += fmt.Sprintf(" (%d WITHOUT AN OWNER)", b.Unowned)
		}
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_published", actor, text, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) displayName(email string) string {
	if p, ok := s.Directory.Current().Person(email); ok && p.Name != "" {
		return p.Name
	}
	return email
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (s *Service) remindBefore() time.Duration { return cmp.Or(s.Settings.RemindBefore, 48*time.Hour) }

// CheckImprovements reminds owners, once each: RemindBefore ahead of the
// due date, and once the due date has passed. The reminder stage is
// claimed with a conditional UPDATE in the transaction that queues the
// email, so that replicas side by side send it once.
func (s *Service) CheckImprovements(ctx context.Context) error {
	now := s.now()
	rows, err := s.DB.QueryContext(ctx, queries.Get("improvements-to-remind"),
		now.Add(s.remindBefore()).Format(time.DateOnly))
	if err != nil {
		return fmt.Errorf("postmortem: improvements due: %w", err)
	}
	type due struct {
		id, incidentID          int64
		text, owner, dueOn      string
		issue                   sql.NullInt64
		beforeSent, overdueSent bool
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.incidentID, &d.text, &d.owner, &d.dueOn, &d.issue, &d.beforeSent, &d.overdueSent); err != nil {
			rows.Close()
			return fmt.Errorf("postmortem: improvements due: %w", err)
		}
		list = append(list, d)
	}
	rows.Close()
	today := now.Format(time.DateOnly)
	for _, d := range list {
		overdue := d.dueOn < today
		claim := "claim-reminder-before"
		switch {
		case overdue:
			claim = "claim-reminder-overdue"
		case d.beforeSent:
			continue
		}
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, queries.Get(claim), now, d.id)
			if err != nil {
				return fmt.Errorf("postmortem: remind: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // another replica did
			}
			inc, err := s.Incidents.GetByID(ctx, tx, d.incidentID)
			if err != nil {
				return err
			}
			dueOn, _ := time.Parse(time.DateOnly, d.dueOn)
			data := compose.ImprovementDueData{Incident: s.Comms.View(inc), Recipient: s.displayName(d.owner), Improvement: d.text,
				DueOn: dueOn, Overdue: overdue, Now: now}
			if d.issue.Valid {
				_ = tx.QueryRowContext(ctx, queries.Get("issue-text"), d.issue.Int64).Scan(&data.Issue)
			}
			// One thread per improvement: the outbox gives a thread's later
			// messages its first subject, which names the improvement.
			if _, err := s.Mail.Queue(ctx, tx, compose.Outgoing{Thread: inc.Thread(fmt.Sprintf("%s-%d", ThreadOwners, d.id)), Kind: compose.KindImprovementDue,
				People: []string{d.owner}, Data: data, Actor: "sitrep"}); err != nil {
				return fmt.Errorf("postmortem: reminder: %w", err)
			}
			word := "due " + d.dueOn
			if overdue {
				word = "OVERDUE since " + d.dueOn
			}
			_, err = incident.AddEvent(ctx, tx, now, inc.ID, "postmortem_reminder", "sitrep",
				fmt.Sprintf("Reminded %s: improvement %q is %s", d.owner, oneLine(d.text), word), map[string]any{"improvement": d.id})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// WebhookArgs posts the published results to the configured URL.
type WebhookArgs struct {
	IncidentID int64     `json:"incident_id"`
	Event      string    `json:"event"`
	At         time.Time `json:"at"`
}

func (WebhookArgs) Kind() string { return "postmortem_webhook" }

func (WebhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// WebhookWorker works WebhookArgs.
type WebhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	Service *Service
}

// WebhookPayload is the JSON a backlog tool receives.
type WebhookPayload struct {
	Event        string        `json:"event"` // postmortem.published
	Incident     string        `json:"incident"`
	Title        string        `json:"title"`
	URL          string        `json:"url,omitempty"`
	PublishedAt  time.Time     `json:"published_at"`
	Issues       []Issue       `json:"issues"`
	Improvements []Improvement `json:"improvements"`
}

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body with the
// webhook secret>", as GitHub's webhooks do, so the receiver can check
// the POST came from us.
const SignatureHeader = "X-Sitrep-Signature-256"

// Sign is the value of SignatureHeader for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *WebhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration { return 45 * time.Second }

func (w *WebhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	s := w.Service
	if s.Settings.WebhookURL == "" {
		return nil
	}
	inc, err := s.Incidents.GetByID(ctx, s.DB, job.Args.IncidentID)
	if err != nil {
		return err
	}
	b, err := s.board(ctx, s.DB, inc)
	if err != nil {
		return err
	}
	p := WebhookPayload{Event: job.Args.Event, Incident: inc.Ref, Title: inc.Title, URL: s.Comms.View(inc).URL,
		PublishedAt: job.Args.At, Issues: b.Issues, Improvements: b.Improvements}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("postmortem: webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Settings.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(fmt.Errorf("postmortem: webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sitrep-webhook")
	req.Header.Set("X-Sitrep-Event", p.Event)
	// The same delivery id on every retry lets the receiver drop repeats.
	req.Header.Set("X-Sitrep-Delivery", strconv.FormatInt(job.ID, 10))
	if s.Settings.WebhookSecret != "" {
		req.Header.Set(SignatureHeader, Sign(s.Settings.WebhookSecret, body))
	}
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("postmortem: webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("postmortem: webhook: %s answered %s", s.Settings.WebhookURL, resp.Status)
	}
	_, err = incident.AddEvent(ctx, s.DB, s.now(), inc.ID, "postmortem_webhook", "sitrep",
		fmt.Sprintf("Post-mortem results posted to the webhook (%d improvements)", len(b.Improvements)), nil)
	return err
}
