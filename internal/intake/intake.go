// Package intake turns monitoring alerts into draft incidents. The outage
// guide: monitoring ("Pingdom, Dynatrace, etc.") records the time of the
// first failure, and "ensure your outage reports aren't false before
// mobilizing the team". So an alert never declares anything: it opens a
// draft that carries the monitor's first-failure time, title, suspected
// system and link back, sends nothing but a note to the comms lead, and
// waits to be declared (the incident keeps the monitor's time) or
// dismissed. The same alert firing again attaches to its draft.
//
// Replies: the note's Reply-To is <reply part>+draft-<token>@<domain>. An
// inbox that sees a "draft-" token hands the reply to HandleReply, whose
// first line is "declare [SEV1..SEV4]" or "dismiss [reason]".
package intake

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Draft states.
const (
	StateDraft     = "draft"
	StateDeclared  = "declared"
	StateDismissed = "dismissed"
)

// EventMonitorRecovered is the timeline event of a declared incident's
// alert reported recovered by its monitor.
const EventMonitorRecovered = "monitor_recovered"

// Draft is a monitoring alert waiting for the comms lead's decision.
type Draft struct {
	ID             int64      `json:"id"`
	Source         string     `json:"source"`
	AlertKey       string     `json:"alert_key"`
	Title          string     `json:"title"`
	Systems        []string   `json:"systems"`
	Detail         string     `json:"detail,omitempty"`
	URL            string     `json:"url,omitempty"`
	Severity       string     `json:"severity,omitempty"` // suggested
	FirstFailureAt time.Time  `json:"first_failure_at"`
	ReceivedAt     time.Time  `json:"received_at"`
	LastSeenAt     time.Time  `json:"last_seen_at"`
	Fired          int        `json:"fired"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	State          string     `json:"state"`
	Incident       string     `json:"incident,omitempty"` // INC-42 once declared
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	// Maintenance is the title of the planned maintenance window the
	// alert came during; Suppressed: nobody was told of the draft
	// (maintenance.alerts: suppress). Both stay on the draft, to be seen.
	Maintenance string `json:"maintenance,omitempty"`
	Suppressed  bool   `json:"suppressed,omitempty"`
	ReplyToken  string `json:"-"`
	incidentID  sql.NullInt64
}

// Service receives alerts and keeps the drafts.
type Service struct {
	DB        *store.DB
	Incidents *incident.Service
	Jobs      jobs.Inserter
	// Secrets by source; a source without one refuses every delivery.
	Secrets map[string]string
	// KnownSystems lists the escalation list's systems, to map the
	// monitor's names onto; nil: none.
	KnownSystems Systems
	// Notify is who is told of a new draft (intake.notify); empty: the
	// comms leads of CommsLeads.
	Notify []string
	// CommsLeads names the comms leads, told of a new draft when Notify
	// names nobody; nil: none.
	CommsLeads CommsLeads
	// DefaultSeverity declares a draft whose monitor suggested none, and
	// is what a draft says it assumed when its monitor should have sent a
	// severity and did not (Alert.SeverityMissing); "": SEV2.
	DefaultSeverity string
	// Maintenance says whether planned work is going on on a draft's
	// systems; nil: no window is ever on.
	Maintenance Maintenance
	// SuppressDuringMaintenance: a new draft during a window is recorded
	// and shown, but nobody is told (maintenance.alerts: suppress); unset,
	// it is only marked.
	SuppressDuringMaintenance bool
	Now                       func() time.Time
	Logger                    *slog.Logger
}

// Maintenance is planned maintenance as intake needs it:
// internal/maintenance in production.
type Maintenance interface {
	// During returns the title of a window going on at at on one of
	// systems; ok false when none is.
	During(ctx context.Context, systems []string, at time.Time) (title string, ok bool, err error)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// defaultSeverity is what a draft is declared as when neither the lead
// nor the monitor said.
func (s *Service) defaultSeverity() string { return firstNonEmpty(s.DefaultSeverity, "SEV2") }

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Receipt says what one delivery did, alert by alert.
type Receipt struct {
	Alerts   int     `json:"alerts"`
	Created  []int64 `json:"created"`  // new drafts
	Attached []int64 `json:"attached"` // drafts the alert fired again on
	Resolved []int64 `json:"resolved"` // drafts whose alert recovered
	// Suppressed are the new drafts nobody was told of: their alert came
	// during planned maintenance (maintenance.alerts: suppress).
	Suppressed []int64 `json:"suppressed,omitempty"`
	Ignored    int     `json:"ignored"` // recoveries of alerts sitrep never saw firing
}

// Receive authenticates and reads one webhook delivery of source and files
// its alerts. Nothing is stored unless the secret matches and the whole
// payload reads.
func (s *Service) Receive(ctx context.Context, source string, h http.Header, query url.Values, body []byte) (*Receipt, error) {
	if !slices.Contains(Sources, source) {
		return nil, errs.E(errs.NotFound, "no intake source %q (want one of %s)", source, strings.Join(Sources, ", "))
	}
	if err := Authenticate(source, s.Secrets[source], h, query, body); err != nil {
		return nil, err
	}
	alerts, err := Parse(source, body)
	if err != nil {
		return nil, err
	}
	r := &Receipt{Alerts: len(alerts), Created: []int64{}, Attached: []int64{}, Resolved: []int64{}}
	for _, a := range alerts {
		if err := s.File(ctx, a, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// File records one alert: a new draft, or the same alert again on its
// draft, or its recovery.
func (s *Service) File(ctx context.Context, a Alert, r *Receipt) error {
	if a.Firing {
		// Two deliveries of a new alert at once (an alert storm on
		// PostgreSQL): one inserts, the other hits the unique open_key and
		// attaches on its second try.
		for attempt := 0; ; attempt++ {
			id, created, suppressed, err := s.fire(ctx, a)
			if store.IsUniqueViolation(err) && attempt < 3 {
				continue
			}
			if err != nil {
				return err
			}
			if suppressed {
				r.Suppressed = append(r.Suppressed, id)
			}
			if created {
				r.Created = append(r.Created, id)
			} else {
				r.Attached = append(r.Attached, id)
			}
			return nil
		}
	}
	id, err := s.recover(ctx, a)
	if err != nil {
		return err
	}
	if id == 0 {
		r.Ignored++
	} else {
		r.Resolved = append(r.Resolved, id)
	}
	return nil
}

func openKey(source, key string) string { return source + ":" + key }

// during is the title of the planned maintenance going on on systems
// now (onNow) or, failing that, when the alert's failure began (window);
// "" when none. It is asked before the draft's transaction: on SQLite
// that holds the one connection.
func (s *Service) during(ctx context.Context, systems []string, first, now time.Time) (window, onNow string, err error) {
	if s.Maintenance == nil {
		return "", "", nil
	}
	for i, at := range []time.Time{now, first} {
		title, ok, err := s.Maintenance.During(ctx, systems, at)
		if err != nil {
			return "", "", fmt.Errorf("intake: planned maintenance: %w", err)
		}
		if ok {
			if i == 0 {
				onNow = title
			}
			return title, onNow, nil
		}
	}
	return "", "", nil
}

func (s *Service) fire(ctx context.Context, a Alert) (id int64, created, suppressed bool, err error) {
	now := s.now()
	// What the draft takes for granted is said first in its detail, so
	// that truncating a long detail never drops it.
	var assumed []string
	first := a.StartedAt
	switch {
	case first.IsZero():
		first = now
		assumed = append(assumed, "The monitor gave no first failure time: the time the alert arrived stands in for the first failure.")
	case first.After(now):
		assumed = append(assumed, fmt.Sprintf("The monitor's first failure time %s is ahead of sitrep's clock: the time the alert arrived stands in for the first failure.",
			first.Format(time.RFC3339)))
		first = now
	}
	severity := a.Severity
	if severity == "" && a.SeverityMissing != "" {
		severity = s.defaultSeverity()
		assumed = append(assumed, fmt.Sprintf("Severity %s assumed (intake.default_severity): %s.", severity, a.SeverityMissing))
	}
	systems := s.mapSystems(a.Names)
	window, onNow, err := s.during(ctx, systems, first, now)
	if err != nil {
		return 0, false, false, err
	}
	if window != "" {
		assumed = append([]string{"During planned maintenance: " + window + "."}, assumed...)
	}
	detail := strings.TrimSpace(strings.Join(append(assumed, a.Detail), "\n\n"))
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// The write comes first: on SQLite it takes the write lock before
		// anything is read, so concurrent deliveries queue instead of
		// failing a lock upgrade.
		var wasSuppressed bool
		err := tx.QueryRowContext(ctx, queries.Get("attach-alert"), now, first, openKey(a.Source, a.Key)).Scan(&id, &wasSuppressed)
		if err == nil {
			if !wasSuppressed || onNow != "" {
				suppressed = wasSuppressed
				return nil
			}
			// Suppressed during a window that is over, and still firing:
			// now it is the comms lead's to decide.
			if _, err := tx.ExecContext(ctx, queries.Get("unsuppress-draft"), id); err != nil {
				return fmt.Errorf("intake: unsuppress: %w", err)
			}
			return s.queueNotes(ctx, tx, id)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("intake: attach: %w", err)
		}
		title := oneLine(a.Title, 200)
		suppressed = window != "" && s.SuppressDuringMaintenance
		err = tx.QueryRowContext(ctx, queries.Get("insert-draft"),
			a.Source, a.Key, openKey(a.Source, a.Key), title, store.JSON(systems), truncate(detail, 2000), truncate(a.URL, 2000),
			severity, first, now, newToken(), truncate(window, 200), suppressed).Scan(&id)
		if err != nil {
			return fmt.Errorf("intake: new draft: %w", err)
		}
		created = true
		if suppressed {
			return nil // recorded and shown; nobody is told during the work
		}
		return s.queueNotes(ctx, tx, id)
	})
	switch {
	case err == nil && created && suppressed:
		s.logger().Info("draft incident recorded, suppressed during planned maintenance", "draft", id, "source", a.Source, "alert", a.Key, "maintenance", window)
	case err == nil && created:
		s.logger().Info("draft incident opened by an alert", "draft", id, "source", a.Source, "alert", a.Key, "maintenance", window)
	}
	return id, created, suppressed, err
}

// queueNotes queues one email job per person to tell, so that each
// retries on its own.
func (s *Service) queueNotes(ctx context.Context, tx *sql.Tx, draftID int64) error {
	if s.Jobs == nil {
		return nil
	}
	people := s.Notify
	if len(people) == 0 && s.CommsLeads != nil {
		people = s.CommsLeads.CommsLeads()
	}
	if len(people) == 0 {
		s.logger().Warn("a draft incident was opened but nobody is told: no comms lead in the directory and no intake.notify", "draft", draftID)
	}
	for _, p := range people {
		if _, err := s.Jobs.InsertTx(ctx, tx, NoteArgs{DraftID: draftID, To: p}, nil); err != nil {
			return fmt.Errorf("intake: queue note: %w", err)
		}
	}
	return nil
}

// recover records the monitor's recovery. On a declared incident it goes
// on the timeline; the draft then stops absorbing the alert, so that the
// next time it fires it opens a new draft. An undecided draft keeps
// absorbing it: a flapping check makes one draft, not one per flap.
func (s *Service) recover(ctx context.Context, a Alert) (int64, error) {
	now := s.now()
	at := a.EndedAt
	if at.IsZero() || at.After(now) {
		at = now
	}
	var id int64
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var state string
		var incID sql.NullInt64
		err := tx.QueryRowContext(ctx, queries.Get("recover-draft"), at, now, openKey(a.Source, a.Key)).Scan(&id, &state, &incID)
		if errors.Is(err, sql.ErrNoRows) {
			id = 0
			return nil
		}
		if err != nil {
			return fmt.Errorf("intake: recover: %w", err)
		}
		if state == StateDeclared && incID.Valid {
			_, err = incident.AddEvent(ctx, tx, now, incID.Int64, EventMonitorRecovered, sourceName(a.Source),
				fmt.Sprintf("%s reports %q recovered at %s UTC", sourceName(a.Source), oneLine(a.Title, 200), at.Format("15:04:05")),
				map[string]any{"source": a.Source, "alert": a.Key, "recovered_at": at, "draft": id})
		}
		return err
	})
	return id, err
}

// mapSystems picks the escalation systems the monitor's names point at: a
// name that is a system, or that contains one ("checkout-eu" → checkout).
// None known: the first name as it is, for people to read.
func (s *Service) mapSystems(names []string) []string {
	var known []string
	if s.KnownSystems != nil {
		known = s.KnownSystems.Systems()
	}
	out := []string{}
	add := func(sys string) {
		if !slices.Contains(out, sys) {
			out = append(out, sys)
		}
	}
	for _, n := range names {
		n = strings.ToLower(n)
		for _, k := range known {
			if strings.EqualFold(n, k) {
				add(strings.ToLower(k))
			}
		}
	}
	if len(out) == 0 {
		for _, n := range names {
			n = strings.ToLower(n)
			for _, k := range known {
				if k != "" && containsWord(n, strings.ToLower(k)) {
					add(strings.ToLower(k))
				}
			}
		}
	}
	if len(out) == 0 && len(names) > 0 {
		out = append(out, strings.ToLower(oneLine(names[0], 100)))
	}
	return out
}

// containsWord: k occurs in n between non-letters ("checkout" in
// "checkout-eu" and "eu checkout api", not in "checkouts").
func containsWord(n, k string) bool {
	for i := 0; ; {
		j := strings.Index(n[i:], k)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(k)
		if (start == 0 || !isAlnum(n[start-1])) && (end == len(n) || !isAlnum(n[end])) {
			return true
		}
		i = start + 1
	}
}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// scanDraft reads a row of draft, draft-by-reply-token, drafts or
// drafts-in-state, which select the same columns.
func scanDraft(row interface{ Scan(...any) error }) (*Draft, error) {
	var d Draft
	var systems string
	var resolved, decided sql.NullTime
	if err := row.Scan(&d.ID, &d.Source, &d.AlertKey, &d.Title, &systems, &d.Detail, &d.URL, &d.Severity, &d.FirstFailureAt,
		&d.ReceivedAt, &d.LastSeenAt, &d.Fired, &resolved, &d.State, &d.incidentID, &d.DecidedBy, &decided, &d.ReplyToken,
		&d.Maintenance, &d.Suppressed); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(systems), &d.Systems)
	if d.Systems == nil {
		d.Systems = []string{}
	}
	d.FirstFailureAt, d.ReceivedAt, d.LastSeenAt = d.FirstFailureAt.UTC(), d.ReceivedAt.UTC(), d.LastSeenAt.UTC()
	d.ResolvedAt, d.DecidedAt = store.TimePtr(resolved), store.TimePtr(decided)
	if d.incidentID.Valid {
		d.Incident = incident.FormatRef(d.incidentID.Int64)
	}
	return &d, nil
}

// ParseID accepts 12, DRAFT-12 or draft-12.
func ParseID(ref string) (int64, error) {
	s := strings.TrimSpace(ref)
	if len(s) > 6 && strings.EqualFold(s[:6], "DRAFT-") {
		s = s[6:]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "no draft %q (want an id like 12 or DRAFT-12)", ref)
	}
	return id, nil
}

// FormatID is DRAFT-<id>.
func FormatID(id int64) string { return "DRAFT-" + strconv.FormatInt(id, 10) }

// Get returns one draft.
func (s *Service) Get(ctx context.Context, ref string) (*Draft, error) {
	id, err := ParseID(ref)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, s.DB, id)
}

func (s *Service) get(ctx context.Context, q store.Querier, id int64) (*Draft, error) {
	d, err := scanDraft(q.QueryRowContext(ctx, queries.Get("draft"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no draft %s", FormatID(id))
	}
	if err != nil {
		return nil, fmt.Errorf("intake: get draft %d: %w", id, err)
	}
	return d, nil
}

// List returns drafts in state (empty: every state), newest first.
func (s *Service) List(ctx context.Context, state string, limit int) ([]*Draft, error) {
	if state != "" && state != StateDraft && state != StateDeclared && state != StateDismissed {
		return nil, errs.InvalidField("state", "want draft, declared or dismissed, got %q", state)
	}
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q, args := queries.Get("drafts"), []any{limit}
	if state != "" {
		q, args = queries.Get("drafts-in-state"), append(args, state)
	}
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("intake: list drafts: %w", err)
	}
	defer rows.Close()
	out := []*Draft{}
	for rows.Next() {
		d, err := scanDraft(rows)
		if err != nil {
			return nil, fmt.Errorf("intake: list drafts: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeclareInput overrides what the draft suggests; all optional.
type DeclareInput struct {
	Title        string `json:"title"`
	Severity     string `json:"severity"`
	IncidentLead string `json:"incident_lead"`
	CommsLead    string `json:"comms_lead"`
}

// Declare makes the draft an incident: the monitor's first-failure time,
// detection source monitoring, not verified yet. The draft's decision is
// recorded inside the declaring transaction, so a draft is declared once
// even when two leads press the button together, and the heads-up goes
// out only with it.
func (s *Service) Declare(ctx context.Context, actor, ref string, in DeclareInput) (*incident.Incident, *Draft, error) {
	d, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if d.State != StateDraft {
		return nil, nil, s.decided(d)
	}
	sev := firstNonEmpty(in.Severity, d.Severity, s.defaultSeverity())
	first := d.FirstFailureAt
	detected := d.ReceivedAt
	if detected.Before(first) {
		detected = first
	}
	detail := fmt.Sprintf("%s alert %s", sourceName(d.Source), d.AlertKey)
	if d.URL != "" {
		detail += ": " + d.URL
	}
	svc := *s.Incidents
	svc.OnDeclare = append([]incident.DeclareListener{incident.DeclareHook(func(ctx context.Context, tx *sql.Tx, inc *incident.Incident) error {
		return s.recordDeclared(ctx, tx, actor, d, inc)
	})}, s.Incidents.OnDeclare...)
	inc, err := svc.Declare(ctx, actor, incident.DeclareInput{
		Title: firstNonEmpty(in.Title, d.Title), Severity: sev, FirstFailureAt: &first, DetectedAt: &detected,
		Scope: incident.Scope{DetectedVia: "monitoring", DetectionDetail: detail, Verified: false, Systems: d.Systems},
		Roles: incident.Roles{IncidentLead: in.IncidentLead, CommsLead: in.CommsLead},
	})
	if err != nil {
		return nil, nil, err
	}
	d, err = s.get(ctx, s.DB, d.ID)
	return inc, d, err
}

func (s *Service) recordDeclared(ctx context.Context, tx *sql.Tx, actor string, d *Draft, inc *incident.Incident) error {
	now := s.now()
	res, err := tx.ExecContext(ctx, queries.Get("declare-draft"), inc.ID, actor, now, d.ID)
	if err != nil {
		return fmt.Errorf("intake: declare draft: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, "%s was decided meanwhile", FormatID(d.ID))
	}
	if err := fileDraftReports(ctx, tx, now, actor, d.ID, inc.ID); err != nil {
		return err
	}
	text := fmt.Sprintf("Opened from %s alert %q (%s), first failure %s UTC as the monitor saw it, fired %d %s",
		sourceName(d.Source), d.Title, FormatID(d.ID), d.FirstFailureAt.Format("2006-01-02 15:04:05"), d.Fired, plural(d.Fired, "time", "times"))
	if _, err := incident.AddEvent(ctx, tx, now, inc.ID, incident.EventNote, actor, text,
		map[string]any{"draft": d.ID, "source": d.Source, "alert": d.AlertKey, "url": d.URL}); err != nil {
		return err
	}
	if d.ResolvedAt != nil {
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, EventMonitorRecovered, sourceName(d.Source),
			fmt.Sprintf("%s had reported %q recovered at %s UTC, before the declaration", sourceName(d.Source), d.Title, d.ResolvedAt.Format("15:04:05")),
			map[string]any{"source": d.Source, "alert": d.AlertKey, "recovered_at": *d.ResolvedAt, "draft": d.ID})
	}
	return err
}

// Dismiss closes a draft as a false alarm. The alert firing again attaches
// to it silently until the monitor reports it recovered.
func (s *Service) Dismiss(ctx context.Context, actor, ref, reason string) (*Draft, error) {
	id, err := ParseID(ref)
	if err != nil {
		return nil, err
	}
	if len(reason) > 2000 {
		return nil, errs.InvalidField("reason", "at most 2000 bytes")
	}
	var d *Draft
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queries.Get("dismiss-draft"),
			actor, s.now(), reason, "\n\nDismissed: "+reason, id)
		if err != nil {
			return fmt.Errorf("intake: dismiss: %w", err)
		}
		if d, err = s.get(ctx, tx, id); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return s.decided(d)
		}
		return nil
	})
	return d, err
}

func (s *Service) decided(d *Draft) error {
	msg := fmt.Sprintf("%s is already %s", FormatID(d.ID), d.State)
	if d.Incident != "" {
		msg += " as " + d.Incident
	}
	if d.DecidedBy != "" {
		msg += " by " + d.DecidedBy
	}
	return &errs.Error{Code: errs.Conflict, Field: "state", Message: msg}
}

// ByReplyToken finds the draft a reply is about; token is what follows
// "draft-" in the plus-address.
func (s *Service) ByReplyToken(ctx context.Context, token string) (*Draft, error) {
	d, err := scanDraft(s.DB.QueryRowContext(ctx, queries.Get("draft-by-reply-token"), strings.ToLower(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no draft for that reply token")
	}
	if err != nil {
		return nil, fmt.Errorf("intake: by token: %w", err)
	}
	return d, nil
}

// ReplyPrefix marks a draft's token in a reply address's plus part.
const ReplyPrefix = "draft-"

// HandleReply acts on a reply to a draft's note: its first line is
// "declare [SEV1..SEV4]" or "dismiss [reason]". The inbox calls it for a
// reply whose plus part starts with ReplyPrefix, with the sender, whom it
// has checked may lead (a comms or incident lead of the directory).
func (s *Service) HandleReply(ctx context.Context, token, from, firstLine string) (string, error) {
	d, err := s.ByReplyToken(ctx, token)
	if err != nil {
		return "", err
	}
	word, rest, _ := strings.Cut(strings.TrimSpace(firstLine), " ")
	switch strings.ToLower(strings.Trim(word, ".!:")) {
	case "declare", "yes", "confirm":
		inc, _, err := s.Declare(ctx, from, strconv.FormatInt(d.ID, 10), DeclareInput{Severity: strings.TrimSpace(rest), CommsLead: from})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s declared as %s", FormatID(d.ID), inc.Ref), nil
	case "dismiss", "no", "false":
		if _, err := s.Dismiss(ctx, from, strconv.FormatInt(d.ID, 10), strings.TrimSpace(rest)); err != nil {
			return "", err
		}
		return FormatID(d.ID) + " dismissed", nil
	}
	return "", errs.E(errs.Invalid, "reply to a draft with \"declare [SEV1..SEV4]\" or \"dismiss [reason]\" on the first line")
}

func sourceName(source string) string {
	switch source {
	case Alertmanager:
		return "Alertmanager"
	case Pingdom:
		return "Pingdom"
	case Dynatrace:
		return "Dynatrace"
	}
	return "Monitoring"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func oneLine(s string, max int) string {
	// What errs.CheckLine would refuse becomes a space, so that a draft's
	// title can be declared as it is.
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if !errs.InLine(r) {
			return ' '
		}
		return r
	}, s)), " ")
	return truncate(s, max)
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && s[max]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		max--
	}
	return s[:max]
}

func newToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("intake: crypto/rand failed: %v", err))
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
