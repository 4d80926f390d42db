package incident

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// People is what the service needs of the directory: to check that a lead
// is a person it knows.
type People interface {
	KnowsPerson(email string) bool
}

// CommsLeads is what the service needs of the directory to give an
// incident declared without a comms lead one.
type CommsLeads interface {
	// DefaultCommsLead is the declarer when they are a comms lead, else
	// the first comms lead; "" when there is none.
	DefaultCommsLead(declarer string) string
}

// KnownSystems is what the service needs of the directory to refuse a
// suspected system nobody is on call for: the systems that have an
// escalation list. A typo there ("logins") would otherwise declare an
// incident whose heads-up reaches nobody, without a word.
type KnownSystems interface {
	Systems() []string
}

// DeclareListener is told of a declaration inside its transaction, so
// that work it queues (the heads-up) commits or rolls back with the
// incident.
type DeclareListener interface {
	Declared(ctx context.Context, tx *sql.Tx, inc *Incident) error
}

// DeclareHook is a function as a DeclareListener.
type DeclareHook func(ctx context.Context, tx *sql.Tx, inc *Incident) error

// Declared calls f.
func (f DeclareHook) Declared(ctx context.Context, tx *sql.Tx, inc *Incident) error {
	return f(ctx, tx, inc)
}

// Service runs the incident lifecycle on the database.
type Service struct {
	DB  *store.DB
	Now func() time.Time
	// People, when set, must know every lead named.
	People People
	// DueSoon is how long before the due time the promise counts as due soon.
	DueSoon time.Duration
	// OnDeclare are told of each declaration in its transaction.
	OnDeclare []DeclareListener
	// CommsLeads, when set, names the comms lead of an incident declared
	// without one.
	CommsLeads CommsLeads
	// KnownSystems, when set, must know every suspected system named.
	KnownSystems KnownSystems
	// Metrics, when set, observes the scorecard's figures as they happen
	// (scorecard_metrics.go); Comms reads it here too.
	Metrics *CommsMetrics
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// DeclareInput is what a declaration says: the guide's scope questions.
type DeclareInput struct {
	Title          string     `json:"title"`
	Severity       string     `json:"severity"`
	Scope          Scope      `json:"scope"`
	Roles          Roles      `json:"roles"`
	FirstFailureAt *time.Time `json:"first_failure_at"`
	DetectedAt     *time.Time `json:"detected_at"`
	// Reports are the reports that led to the declaration, filed with it
	// so that the heads-up and the declare output can say how many people
	// saw the problem, where, and whether it may be isolated.
	Reports []ReportInput `json:"reports"`
}

// maxDeclareReports bounds the reports one declaration carries; more can
// be filed afterwards, one by one.
const maxDeclareReports = 200

// Declare validates in, stores the incident and its first timeline event,
// and runs the declare hooks, all in one transaction.
func (s *Service) Declare(ctx context.Context, actor string, in DeclareInput) (*Incident, error) {
	now := s.now()
	inc := &Incident{Title: strings.TrimSpace(in.Title), State: Investigating, DeclaredAt: now, UpdatedAt: now, Version: 1}
	if err := validText("title", inc.Title, 200, true); err != nil {
		return nil, err
	}
	sev, err := ParseSeverity(in.Severity)
	if err != nil {
		return nil, err
	}
	inc.Severity = sev
	if inc.Scope, err = s.cleanScope(in.Scope, nil); err != nil {
		return nil, err
	}
	if in.Roles.CommsLead == "" && s.CommsLeads != nil {
		// Every incident has a comms lead: the reminders of the next
		// update go to them.
		in.Roles.CommsLead = s.CommsLeads.DefaultCommsLead(actor)
	}
	if inc.Roles, err = s.cleanRoles(in.Roles); err != nil {
		return nil, err
	}
	if inc.FirstFailureAt, inc.DetectedAt, err = cleanTimes(now, in.FirstFailureAt, in.DetectedAt); err != nil {
		return nil, err
	}
	if inc.DetectedAt == nil {
		inc.DetectedAt = &now
	}
	if len(in.Reports) > maxDeclareReports {
		return nil, errs.InvalidField("reports", "at most %d with the declaration; file more with POST /api/v1/incidents/{ref}/reports", maxDeclareReports)
	}
	reports := make([]*Report, len(in.Reports))
	for i, ri := range in.Reports {
		r, err := CleanReport(now, ri)
		if err != nil {
			var e *errs.Error
			if errors.As(err, &e) && e.Field != "" {
				e.Field = fmt.Sprintf("reports[%d].%s", i, e.Field)
			}
			return nil, err
		}
		reports[i] = r
	}
	inc.ReplyToken = newToken()

	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, queries.Get("insert-incident"),
			inc.Title, inc.Severity, inc.State, inc.Scope.DetectedVia, inc.Scope.DetectionDetail, inc.Scope.Verified,
			inc.Scope.VerificationDetail, inc.Scope.Extent, jsonList(inc.Scope.Segments), jsonList(inc.Scope.Systems),
			jsonList(inc.Scope.Teams), store.NullTime(inc.FirstFailureAt), store.NullTime(inc.DetectedAt), inc.DeclaredAt,
			inc.Roles.IncidentLead, inc.Roles.CommsLead, inc.Roles.Facilitator, inc.ReplyToken, inc.UpdatedAt,
		).Scan(&inc.ID)
		if err != nil {
			return fmt.Errorf("incident: insert: %w", err)
		}
		inc.Ref = FormatRef(inc.ID)
		text := fmt.Sprintf("Declared %s %s: %s", inc.Ref, inc.Severity, inc.Title)
		if _, err := AddEvent(ctx, tx, now, inc.ID, EventDeclared, actor, text, map[string]any{"scope": inc.Scope, "roles": inc.Roles}); err != nil {
			return err
		}
		for _, r := range reports {
			if err := FileReport(ctx, tx, now, inc.ID, actor, r); err != nil {
				return err
			}
		}
		for _, l := range s.OnDeclare {
			if err := l.Declared(ctx, tx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	inc.Promise.derive(now, s.DueSoon)
	return inc, nil
}

// cleanScope validates and normalises a scope. Systems in had (those the
// incident already names) pass even when the directory no longer lists
// them, so that editing another field of an old incident still works.
func (s *Service) cleanScope(in Scope, had []string) (Scope, error) {
	out := in
	out.DetectedVia = strings.ToLower(strings.TrimSpace(in.DetectedVia))
	if out.DetectedVia != "" && !contains(DetectionSources, out.DetectedVia) {
		return out, errs.InvalidField("scope.detected_via", "unknown source %q (want monitoring, customer or employee)", in.DetectedVia)
	}
	out.Extent = strings.ToLower(strings.TrimSpace(in.Extent))
	if out.Extent != "" && out.Extent != "all" && out.Extent != "subset" {
		return out, errs.InvalidField("scope.extent", "want all or subset, got %q", in.Extent)
	}
	for field, v := range map[string]string{"scope.detection_detail": in.DetectionDetail, "scope.verification_detail": in.VerificationDetail} {
		if len(v) > 2000 {
			return out, errs.InvalidField(field, "at most 2000 bytes")
		}
	}
	var err error
	if out.Segments, err = cleanList("scope.segments", in.Segments, 200); err != nil {
		return out, err
	}
	if out.Systems, err = cleanList("scope.systems", in.Systems, 100); err != nil {
		return out, err
	}
	for i := range out.Systems {
		out.Systems[i] = strings.ToLower(out.Systems[i])
	}
	if err := s.checkSystems(out.Systems, had); err != nil {
		return out, err
	}
	if out.Teams, err = cleanList("scope.teams", in.Teams, 100); err != nil {
		return out, err
	}
	return out, nil
}

// checkSystems refuses a suspected system without an escalation list,
// naming the ones there are: the heads-up goes to a system's responders,
// and an unknown one has none. No systems at all is fine (not known yet).
func (s *Service) checkSystems(systems, had []string) error {
	if s.KnownSystems == nil || len(systems) == 0 {
		return nil
	}
	known := s.KnownSystems.Systems()
	for _, sys := range systems {
		if containsFold(known, sys) || containsFold(had, sys) {
			continue
		}
		if len(known) == 0 {
			return errs.InvalidField("scope.systems", "unknown system %q: the directory has no escalation lists, so no system is known; leave systems empty or add one to groups.yaml", sys)
		}
		return errs.InvalidField("scope.systems", "unknown system %q%s; the known systems are %s (the directory's escalation lists)",
			sys, didYouMean(sys, known), strings.Join(known, ", "))
	}
	return nil
}

// didYouMean is ` (did you mean "x"?)` when one known name is within two
// edits of s: the typos people make when declaring in a hurry.
func didYouMean(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, on bytes; system names are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (s *Service) cleanRoles(in Roles) (Roles, error) {
	out := Roles{}
	for _, r := range []struct {
		field string
		in    string
		out   *string
	}{{"roles.incident_lead", in.IncidentLead, &out.IncidentLead}, {"roles.comms_lead", in.CommsLead, &out.CommsLead}, {"roles.facilitator", in.Facilitator, &out.Facilitator}} {
		email := strings.ToLower(strings.TrimSpace(r.in))
		if email == "" {
			continue
		}
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			return out, errs.InvalidField(r.field, "want an email address, got %q", r.in)
		}
		if s.People != nil && !s.People.KnowsPerson(email) {
			return out, errs.InvalidField(r.field, "%s is not in the directory", email)
		}
		*r.out = email
	}
	return out, nil
}

func cleanTimes(now time.Time, first, detected *time.Time) (*time.Time, *time.Time, error) {
	const skew = 5 * time.Minute
	var f, d *time.Time
	if first != nil && !first.IsZero() {
		t := first.UTC()
		if t.After(now.Add(skew)) {
			return nil, nil, errs.InvalidField("first_failure_at", "is in the future (%s)", t.Format(time.RFC3339))
		}
		f = &t
	}
	if detected != nil && !detected.IsZero() {
		t := detected.UTC()
		if t.After(now.Add(skew)) {
			return nil, nil, errs.InvalidField("detected_at", "is in the future (%s)", t.Format(time.RFC3339))
		}
		if f != nil && t.Before(*f) {
			return nil, nil, errs.InvalidField("detected_at", "is before first_failure_at")
		}
		d = &t
	}
	return f, d, nil
}

// newToken is 128 random bits in lower-case base32: unguessable, and safe
// in the local part of an email address.
func newToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("incident: crypto/rand failed: %v", err))
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// scanIncident reads the columns every incident query of queries.sql
// selects, in that order.
func scanIncident(row interface{ Scan(...any) error }) (*Incident, error) {
	var inc Incident
	var segments, systems, teams string
	var first, detected, resolved, next sql.NullTime
	err := row.Scan(&inc.ID, &inc.Title, &inc.Severity, &inc.State, &inc.Scope.DetectedVia, &inc.Scope.DetectionDetail,
		&inc.Scope.Verified, &inc.Scope.VerificationDetail, &inc.Scope.Extent, &segments, &systems, &teams,
		&first, &detected, &inc.DeclaredAt, &resolved, &inc.Roles.IncidentLead, &inc.Roles.CommsLead,
		&inc.Roles.Facilitator, &next, &inc.Promise.Promised, &inc.Promise.Kept, &inc.Promise.Stage, &inc.RootCause,
		&inc.Fix, &inc.ReplyToken, &inc.Version, &inc.UpdatedAt)
	if err != nil {
		return nil, err
	}
	inc.Ref = FormatRef(inc.ID)
	inc.Scope.Segments = parseList(segments)
	inc.Scope.Systems = parseList(systems)
	inc.Scope.Teams = parseList(teams)
	inc.FirstFailureAt, inc.DetectedAt, inc.ResolvedAt, inc.Promise.NextUpdateAt = store.TimePtr(first), store.TimePtr(detected), store.TimePtr(resolved), store.TimePtr(next)
	inc.DeclaredAt, inc.UpdatedAt = inc.DeclaredAt.UTC(), inc.UpdatedAt.UTC()
	return &inc, nil
}

// Get returns one incident by reference (INC-42).
func (s *Service) Get(ctx context.Context, ref string) (*Incident, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return s.GetByID(ctx, s.DB, id)
}

// GetByID reads an incident through q (the database or a transaction).
func (s *Service) GetByID(ctx context.Context, q store.Querier, id int64) (*Incident, error) {
	inc, err := scanIncident(q.QueryRowContext(ctx, queries.Get("get-incident"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no incident %s", FormatRef(id))
	}
	if err != nil {
		return nil, fmt.Errorf("incident: get %d: %w", id, err)
	}
	inc.Promise.derive(s.now(), s.DueSoon)
	return inc, nil
}

// ByReplyToken finds the incident whose reply addresses carry token.
func (s *Service) ByReplyToken(ctx context.Context, token string) (*Incident, error) {
	inc, err := scanIncident(s.DB.QueryRowContext(ctx, queries.Get("incident-by-reply-token"), strings.ToLower(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no incident for that reply token")
	}
	if err != nil {
		return nil, fmt.Errorf("incident: by token: %w", err)
	}
	inc.Promise.derive(s.now(), s.DueSoon)
	return inc, nil
}

// ListFilter selects incidents; the zero value lists every incident.
type ListFilter struct {
	ActiveOnly bool
	Limit      int
}

// List returns incidents, active ones first, newest first within each.
func (s *Service) List(ctx context.Context, f ListFilter) ([]*Incident, error) {
	q := queries.Get("list-incidents")
	if f.ActiveOnly {
		q = queries.Get("list-active-incidents")
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.DB.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("incident: list: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []*Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("incident: list: %w", err)
		}
		inc.Promise.derive(now, s.DueSoon)
		out = append(out, inc)
	}
	return out, rows.Err()
}

// Transition moves an incident to another state, if the lifecycle allows
// it, with a timeline event. Resolving goes through the resolution flow,
// which records the resolution time; this sets it when missing.
func (s *Service) Transition(ctx context.Context, actor, ref string, to State, note string) (*Incident, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if len(note) > 2000 {
		return nil, errs.InvalidField("note", "at most 2000 bytes")
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.TransitionTx(ctx, tx, actor, id, to, note) })
	if err != nil {
		return nil, err
	}
	return s.GetByID(ctx, s.DB, id)
}

// TransitionTx is Transition inside the caller's transaction.
func (s *Service) TransitionTx(ctx context.Context, tx *sql.Tx, actor string, id int64, to State, note string) error {
	inc, err := s.GetByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if !inc.State.CanMoveTo(to) {
		return &errs.Error{Code: errs.Conflict, Field: "state",
			Message: fmt.Sprintf("%s is %s; it cannot move to %s", inc.Ref, inc.State, to)}
	}
	now := s.now()
	resolvedAt := store.NullTime(inc.ResolvedAt)
	nextUpdate := store.NullTime(inc.Promise.NextUpdateAt)
	switch {
	case to == Resolved:
		resolvedAt = sql.NullTime{Time: now, Valid: true}
		nextUpdate = sql.NullTime{} // no more status updates are promised
		if due := inc.Promise.NextUpdateAt; due != nil && now.After(*due) {
			// The promise came due with no update: the resolution is the
			// next word the stakeholders get, this late (the scorecard
			// reads it so). Observed in the transaction.
			s.Metrics.promiseSettled(inc.Severity, now.Sub(*due))
		}
	case to == Investigating && inc.State == Resolved:
		resolvedAt = sql.NullTime{} // reopened
	}
	res, err := tx.ExecContext(ctx, queries.Get("transition"), to, resolvedAt, nextUpdate, now, id, inc.Version)
	if err != nil {
		return fmt.Errorf("incident: transition: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, "%s changed meanwhile; reload and try again", inc.Ref)
	}
	if to == Resolved {
		// Nor is a public update promised any more.
		if err := EndPublicPromise(ctx, tx, id); err != nil {
			return err
		}
	}
	text := fmt.Sprintf("State %s → %s", inc.State, to)
	if note != "" {
		text += ": " + note
	}
	_, err = AddEvent(ctx, tx, now, id, EventStateChanged, actor, text, map[string]any{"from": inc.State, "to": to})
	return err
}

// PatchInput changes some fields; nil means unchanged. Version, when set,
// must match the stored version (a stale form gets a conflict).
type PatchInput struct {
	Title          *string    `json:"title"`
	Severity       *string    `json:"severity"`
	Scope          *Scope     `json:"scope"`
	Roles          *Roles     `json:"roles"`
	FirstFailureAt *time.Time `json:"first_failure_at"`
	Version        *int       `json:"version"`
}

// Patch changes fields of an incident, one timeline event per field changed.
func (s *Service) Patch(ctx context.Context, actor, ref string, in PatchInput) (*Incident, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		inc, err := s.GetByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if in.Version != nil && *in.Version != inc.Version {
			return errs.E(errs.Conflict, "%s changed meanwhile (version %d, you had %d); reload and try again", inc.Ref, inc.Version, *in.Version)
		}
		if inc.State == Closed {
			return errs.E(errs.Conflict, "%s is closed", inc.Ref)
		}
		now := s.now()
		var changes []string
		if in.Title != nil {
			t := strings.TrimSpace(*in.Title)
			if err := validText("title", t, 200, true); err != nil {
				return err
			}
			if t != inc.Title {
				changes = append(changes, fmt.Sprintf("title: %q → %q", inc.Title, t))
				inc.Title = t
			}
		}
		if in.Severity != nil {
			sev, err := ParseSeverity(*in.Severity)
			if err != nil {
				return err
			}
			if sev != inc.Severity {
				changes = append(changes, fmt.Sprintf("severity: %s → %s", inc.Severity, sev))
				inc.Severity = sev
			}
		}
		if in.Scope != nil {
			sc, err := s.cleanScope(*in.Scope, inc.Scope.Systems)
			if err != nil {
				return err
			}
			if b1, b2 := store.JSON(sc), store.JSON(inc.Scope); b1 != b2 {
				changes = append(changes, "scope: "+describeScope(sc))
				inc.Scope = sc
			}
		}
		if in.Roles != nil {
			r, err := s.cleanRoles(*in.Roles)
			if err != nil {
				return err
			}
			if r != inc.Roles {
				changes = append(changes, fmt.Sprintf("roles: incident lead %s, comms lead %s, facilitator %s", dash(r.IncidentLead), dash(r.CommsLead), dash(r.Facilitator)))
				inc.Roles = r
			}
		}
		if in.FirstFailureAt != nil {
			f, _, err := cleanTimes(now, in.FirstFailureAt, nil)
			if err != nil {
				return err
			}
			if f != nil && (inc.FirstFailureAt == nil || !f.Equal(*inc.FirstFailureAt)) {
				changes = append(changes, "first failure: "+f.Format(time.RFC3339))
				inc.FirstFailureAt = f
			}
		}
		if len(changes) == 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, queries.Get("patch"),
			inc.Title, inc.Severity, inc.Scope.DetectedVia, inc.Scope.DetectionDetail, inc.Scope.Verified, inc.Scope.VerificationDetail,
			inc.Scope.Extent, jsonList(inc.Scope.Segments), jsonList(inc.Scope.Systems), jsonList(inc.Scope.Teams),
			inc.Roles.IncidentLead, inc.Roles.CommsLead, inc.Roles.Facilitator, store.NullTime(inc.FirstFailureAt), now, id, inc.Version)
		if err != nil {
			return fmt.Errorf("incident: patch: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.Conflict, "%s changed meanwhile; reload and try again", inc.Ref)
		}
		for _, c := range changes {
			if _, err := AddEvent(ctx, tx, now, id, EventFieldChanged, actor, c, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetByID(ctx, s.DB, id)
}

// RecordUpdateSent books a status update against the promise: the update
// kept the previous promise if it went out by then; nextUpdateAt is the new
// promise (nil: none, e.g. resolved).
func (s *Service) RecordUpdateSent(ctx context.Context, tx *sql.Tx, id int64, sentAt time.Time, nextUpdateAt *time.Time) error {
	_, err := tx.ExecContext(ctx, queries.Get("record-update-sent"), sentAt.UTC(), store.NullTime(nextUpdateAt), id)
	if err != nil {
		return fmt.Errorf("incident: record update: %w", err)
	}
	return nil
}

// AdvancePromiseStage moves the promise of incident id to stage, if it is
// still at an earlier stage for the same due time. It reports whether this
// call moved it: exactly one caller wins, on any number of replicas.
func AdvancePromiseStage(ctx context.Context, tx *sql.Tx, id int64, due time.Time, stage int) (bool, error) {
	res, err := tx.ExecContext(ctx, queries.Get("advance-promise-stage"),
		stage, id, due.UTC())
	if err != nil {
		return false, fmt.Errorf("incident: promise stage: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PromisesDue lists active incidents whose next update is due before
// horizon and whose promise stage is below maxStage.
func (s *Service) PromisesDue(ctx context.Context, horizon time.Time) ([]*Incident, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("promises-due"), horizon.UTC())
	if err != nil {
		return nil, fmt.Errorf("incident: promises due: %w", err)
	}
	defer rows.Close()
	var out []*Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("incident: promises due: %w", err)
		}
		inc.Promise.derive(s.now(), s.DueSoon)
		out = append(out, inc)
	}
	return out, rows.Err()
}

// AddEvent appends to an incident's timeline.
func AddEvent(ctx context.Context, q store.Querier, at time.Time, incidentID int64, kind, actor, text string, data map[string]any) (int64, error) {
	raw := "{}"
	if len(data) > 0 {
		b, err := json.Marshal(data)
		if err != nil {
			return 0, fmt.Errorf("incident: event data: %w", err)
		}
		raw = string(b)
	}
	var id int64
	err := q.QueryRowContext(ctx, queries.Get("add-event"), incidentID, at.UTC(), kind, actor, text, raw).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("incident: add event: %w", err)
	}
	return id, nil
}

// AddNote appends a free-text note to the timeline.
func (s *Service) AddNote(ctx context.Context, actor, ref, text string) (*Event, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, errs.InvalidField("text", "must not be empty")
	}
	if len(text) > 10000 {
		return nil, errs.InvalidField("text", "at most 10000 bytes")
	}
	if _, err := s.GetByID(ctx, s.DB, id); err != nil {
		return nil, err
	}
	now := s.now()
	evID, err := AddEvent(ctx, s.DB, now, id, EventNote, actor, text, nil)
	if err != nil {
		return nil, err
	}
	return &Event{ID: evID, IncidentID: id, At: now, Kind: EventNote, Actor: actor, Text: text}, nil
}

// Timeline returns the events of an incident, oldest first.
func (s *Service) Timeline(ctx context.Context, ref string) ([]Event, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if _, err := s.GetByID(ctx, s.DB, id); err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, queries.Get("timeline"), id)
	if err != nil {
		return nil, fmt.Errorf("incident: timeline: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		ev := Event{IncidentID: id}
		var data string
		if err := rows.Scan(&ev.ID, &ev.At, &ev.Kind, &ev.Actor, &ev.Text, &data); err != nil {
			return nil, fmt.Errorf("incident: timeline: %w", err)
		}
		ev.At = ev.At.UTC()
		if data != "" && data != "{}" {
			_ = json.Unmarshal([]byte(data), &ev.Data)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func describeScope(sc Scope) string {
	var parts []string
	if sc.DetectedVia != "" {
		parts = append(parts, "detected via "+sc.DetectedVia)
	}
	if sc.Verified {
		parts = append(parts, "verified")
	} else {
		parts = append(parts, "not verified")
	}
	if sc.Extent != "" {
		parts = append(parts, "extent "+sc.Extent)
	}
	if len(sc.Segments) > 0 {
		parts = append(parts, "segments "+strings.Join(sc.Segments, ", "))
	}
	if len(sc.Systems) > 0 {
		parts = append(parts, "systems "+strings.Join(sc.Systems, ", "))
	}
	if len(sc.Teams) > 0 {
		parts = append(parts, "teams "+strings.Join(sc.Teams, ", "))
	}
	return strings.Join(parts, "; ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	return store.JSON(l)
}

func parseList(s string) []string {
	out := []string{}
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

//go:embed *.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
