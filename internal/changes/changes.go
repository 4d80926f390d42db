// Package changes keeps the change log — deployments posted by CI/CD
// webhooks or the CLI, and maintenance windows read from calendars — and
// answers the outage guide's question for an incident: what changed in the
// 24 hours before the first failure? ("In over half the outages I have
// managed, the root cause could be traced to a code change or planned
// infrastructure maintenance that occurred within the last 24 hours.")
package changes

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Kinds of change.
const (
	Deployment  = "deployment"
	Maintenance = "maintenance"
)

// Suspicion states of a change on one incident.
const (
	Suspected = "suspected"
	Confirmed = "confirmed"
)

// DefaultWindow is the guide's 24 hours.
const DefaultWindow = 24 * time.Hour

// Change is one entry of the change log. On an incident it also says
// whether it touches the suspected systems and whether the lead suspects it.
type Change struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Source      string     `json:"source"`
	ExternalID  string     `json:"external_id"`
	Service     string     `json:"service,omitempty"`
	Systems     []string   `json:"systems"`
	Version     string     `json:"version,omitempty"`
	Environment string     `json:"environment,omitempty"`
	TriggeredBy string     `json:"triggered_by,omitempty"`
	Summary     string     `json:"summary,omitempty"`
	Details     string     `json:"details,omitempty"`
	URL         string     `json:"url,omitempty"`
	At          time.Time  `json:"at"`
	End         *time.Time `json:"end,omitempty"`
	// CancelledAt: a maintenance window its calendar cancelled (or no
	// longer has), when the change log saw it so.
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`

	// Set on an incident's view only.
	Before           string `json:"before_failure,omitempty"` // "3h0m0s": how long before the reference time
	TouchesSuspected bool   `json:"touches_suspected"`
	Suspicion        string `json:"suspicion,omitempty"` // "", suspected, confirmed
}

// Input is a change as it is recorded. ExternalID is the sender's identity
// of it; empty, a hash of what it says stands in.
type Input struct {
	Source      string
	ExternalID  string
	Kind        string
	Service     string
	Systems     []string
	Version     string
	Environment string
	TriggeredBy string
	Summary     string
	Details     string
	URL         string
	At          time.Time
	End         *time.Time
}

// Systems lists the systems a maintenance event may name; the directory
// store satisfies it.
type Systems interface {
	Systems() []string
}

// Service records changes and lists them for incidents.
type Service struct {
	DB        *store.DB
	Incidents *incident.Service
	// Calendars are the maintenance calendars, read on every incident view.
	Calendars []Calendar
	// KnownSystems lists the systems a maintenance event may name (the
	// directory's escalation lists); nil: none.
	KnownSystems Systems
	// WebhookSecret authenticates the deployment webhook; empty: it is off.
	WebhookSecret string
	// Window is the default look-back before the first failure.
	Window time.Duration
	// CalendarTimeout bounds one calendar read (default 10s): a slow
	// calendar must not hold up the incident view.
	CalendarTimeout time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Record stores a deployment (or any change) once: the same (source,
// external id) again returns the stored change and created=false.
func (s *Service) Record(ctx context.Context, in Input) (c *Change, created bool, err error) {
	if in.Kind == "" {
		in.Kind = Deployment
	}
	if err := s.clean(&in); err != nil {
		return nil, false, err
	}
	now := s.now()
	var id int64
	err = s.DB.QueryRowContext(ctx, queries.Get("record-change"),
		in.Source, in.ExternalID, in.Kind, in.Service, jsonList(in.Systems), in.Version, in.Environment,
		in.TriggeredBy, in.Summary, in.Details, in.URL, in.At, store.NullTime(in.End), now).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Already there: a redelivered webhook, a retried CI step.
		c, err := s.byKey(ctx, in.Source, in.ExternalID)
		return c, false, err
	case err != nil:
		return nil, false, fmt.Errorf("changes: record: %w", err)
	}
	c, err = s.Get(ctx, id)
	return c, true, err
}

// upsertMaintenance stores a calendar event, updating it when the event
// moved or was renamed since the last read.
func (s *Service) upsertMaintenance(ctx context.Context, in Input) error {
	in.Kind = Maintenance
	if err := s.clean(&in); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, queries.Get("upsert-maintenance"),
		in.Source, in.ExternalID, in.Kind, in.Service, jsonList(in.Systems), in.Version, in.Environment,
		in.TriggeredBy, in.Summary, in.Details, in.URL, in.At, store.NullTime(in.End), s.now())
	if err != nil {
		return fmt.Errorf("changes: store maintenance %s: %w", in.ExternalID, err)
	}
	return nil
}

// clean validates and normalises in; every error names its field.
func (s *Service) clean(in *Input) error {
	trim := func(p *string) { *p = strings.TrimSpace(*p) }
	for _, p := range []*string{&in.Source, &in.ExternalID, &in.Service, &in.Version, &in.Environment, &in.TriggeredBy, &in.Summary, &in.Details, &in.URL} {
		trim(p)
	}
	in.Source = strings.ToLower(in.Source)
	if in.Source == "" {
		in.Source = "api"
	}
	if in.Kind != Deployment && in.Kind != Maintenance {
		return errs.InvalidField("kind", "want deployment or maintenance, got %q", in.Kind)
	}
	if in.Kind == Deployment && in.Service == "" {
		return errs.InvalidField("service", "required: which service was deployed")
	}
	for field, v := range map[string]string{"service": in.Service, "version": in.Version, "environment": in.Environment,
		"triggered_by": in.TriggeredBy, "id": in.ExternalID} {
		if err := errs.CheckLine(field, v, 200, false); err != nil {
			return err
		}
	}
	if len(in.Summary) > 2000 {
		in.Summary = in.Summary[:2000]
	}
	if len(in.Details) > 10000 {
		in.Details = in.Details[:10000]
	}
	if in.URL != "" {
		u, err := url.Parse(in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errs.InvalidField("url", "want an http(s) link, got %q", in.URL)
		}
	}
	now := s.now()
	if in.At.IsZero() {
		in.At = now
	}
	if in.Kind == Deployment && in.At.After(now.Add(5*time.Minute)) {
		return errs.InvalidField("at", "is in the future (%s)", in.At.UTC().Format(time.RFC3339))
	}
	in.At = in.At.UTC()
	if in.End != nil {
		e := in.End.UTC()
		if e.Before(in.At) {
			return errs.InvalidField("end", "is before the start")
		}
		in.End = &e
	}
	var systems []string
	for _, sys := range in.Systems {
		if sys = strings.ToLower(strings.TrimSpace(sys)); sys != "" && !contains(systems, sys) {
			systems = append(systems, sys)
		}
	}
	in.Systems = systems
	if in.ExternalID == "" {
		// No id from the sender: what it says is the identity, so the same
		// post twice is still one change.
		h := sha256.New()
		for _, v := range []string{in.Kind, in.Service, in.Version, in.Environment, in.At.Format(time.RFC3339)} {
			h.Write([]byte(v))
			h.Write([]byte{0})
		}
		in.ExternalID = "sha256:" + hex.EncodeToString(h.Sum(nil))[:32]
	}
	return nil
}

// scanChange reads the columns every change query selects first (see
// queries.sql), then extra.
func scanChange(row interface{ Scan(...any) error }, extra ...any) (*Change, error) {
	var c Change
	var systems string
	var end, cancelled sql.NullTime
	dest := append([]any{&c.ID, &c.Source, &c.ExternalID, &c.Kind, &c.Service, &systems, &c.Version, &c.Environment,
		&c.TriggeredBy, &c.Summary, &c.Details, &c.URL, &c.At, &end, &cancelled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	c.At = c.At.UTC()
	if end.Valid {
		e := end.Time.UTC()
		c.End = &e
	}
	if cancelled.Valid {
		x := cancelled.Time.UTC()
		c.CancelledAt = &x
	}
	c.Systems = []string{}
	_ = json.Unmarshal([]byte(systems), &c.Systems)
	return &c, nil
}

// Get returns one change.
func (s *Service) Get(ctx context.Context, id int64) (*Change, error) {
	c, err := scanChange(s.DB.QueryRowContext(ctx, queries.Get("change"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no change %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("changes: get %d: %w", id, err)
	}
	return c, nil
}

func (s *Service) byKey(ctx context.Context, source, externalID string) (*Change, error) {
	c, err := scanChange(s.DB.QueryRowContext(ctx, queries.Get("change-by-key"), source, externalID))
	if err != nil {
		return nil, fmt.Errorf("changes: get %s/%s: %w", source, externalID, err)
	}
	return c, nil
}

// List returns the stored changes that started in [from, to], newest first.
func (s *Service) List(ctx context.Context, from, to time.Time) ([]Change, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("changes-between"), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("changes: list: %w", err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("changes: list: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// IncidentChanges is the changes view of one incident.
type IncidentChanges struct {
	Incident string `json:"incident"`
	// Reference is the first failure, or the declaration when the first
	// failure is not known; ReferenceIs says which.
	Reference   time.Time `json:"reference"`
	ReferenceIs string    `json:"reference_is"` // first_failure | declared
	Window      string    `json:"window"`
	Suspected   []string  `json:"suspected_systems"`
	Changes     []Change  `json:"changes"`
	// Warnings: a maintenance calendar that could not be read. The view
	// is still answered, with what the log holds.
	Warnings []string `json:"warnings"`
}

// ForIncident lists the changes in window (0: the configured default)
// before the incident's first failure, closest first. Maintenance
// calendars are read first; one that fails is reported in Warnings.
func (s *Service) ForIncident(ctx context.Context, ref string, window time.Duration) (*IncidentChanges, error) {
	if window < 0 {
		return nil, errs.InvalidField("window", "must not be negative")
	}
	if window == 0 {
		window = s.Window
	}
	if window == 0 {
		window = DefaultWindow
	}
	if window > 31*24*time.Hour {
		return nil, errs.InvalidField("window", "at most 744h (31 days)")
	}
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := &IncidentChanges{Incident: inc.Ref, Reference: inc.DeclaredAt.UTC(), ReferenceIs: "declared", Window: window.String(),
		Suspected: append([]string{}, inc.Scope.Systems...), Changes: []Change{}, Warnings: []string{}}
	if inc.FirstFailureAt != nil {
		out.Reference, out.ReferenceIs = inc.FirstFailureAt.UTC(), "first_failure"
	}
	from := out.Reference.Add(-window)
	out.Warnings = s.read(ctx, from, out.Reference).warnings

	rows, err := s.DB.QueryContext(ctx, queries.Get("changes-before-incident"), inc.ID, out.Reference, from)
	if err != nil {
		return nil, fmt.Errorf("changes: for %s: %w", inc.Ref, err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		c, err := scanChange(rows, &state)
		if err != nil {
			return nil, fmt.Errorf("changes: for %s: %w", inc.Ref, err)
		}
		c.Suspicion = state
		c.Before = out.Reference.Sub(c.At).Round(time.Minute).String()
		c.TouchesSuspected = Touches(*c, inc.Scope.Systems)
		out.Changes = append(out.Changes, *c)
	}
	return out, rows.Err()
}

// calendarRead is what one read of the calendars saw: a warning for each
// calendar that failed, the keys each source had in the span, and which
// sources were read whole (every calendar of theirs answered).
type calendarRead struct {
	warnings []string
	seen     map[string]map[string]bool // source → keys read
	whole    map[string]bool            // source → every calendar of it answered
}

// read stores the maintenance events of [from, to] from every calendar
// (storeWindow).
func (s *Service) read(ctx context.Context, from, to time.Time) calendarRead {
	r := calendarRead{warnings: []string{}, seen: map[string]map[string]bool{}, whole: map[string]bool{}}
	timeout := s.CalendarTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	known := s.known()
	for _, cal := range s.Calendars {
		src := cal.Source()
		if _, ok := r.whole[src]; !ok {
			r.whole[src], r.seen[src] = true, map[string]bool{}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		events, err := cal.Maintenance(cctx, from, to)
		cancel()
		if err != nil {
			s.logger().Warn("maintenance calendar unreachable", "calendar", cal.Name(), "err", err)
			r.warnings = append(r.warnings, fmt.Sprintf("maintenance calendar unreachable: %s: %v", cal.Name(), err))
			r.whole[src] = false
			continue
		}
		for _, ev := range events {
			r.seen[src][ev.Key()] = true
			if err := s.storeWindow(ctx, src, ev, known); err != nil {
				s.logger().Warn("maintenance event refused", "calendar", cal.Name(), "uid", ev.UID, "err", err)
				r.warnings = append(r.warnings, fmt.Sprintf("maintenance event %q from %s not stored: %v", ev.Summary, cal.Name(), err))
			}
		}
	}
	return r
}

func (s *Service) known() []string {
	if s.KnownSystems == nil {
		return nil
	}
	return s.KnownSystems.Systems()
}

// storeWindow stores a calendar's window under its key: an event stored
// under its older key takes its key first; a window the calendar
// cancelled is marked so (and never stored when the log does not have it:
// cancelled work is not maintenance); any other is inserted, or updated
// when it moved or was renamed.
func (s *Service) storeWindow(ctx context.Context, source string, w Window, known []string) error {
	key := w.Key()
	if w.Recurrence.IsZero() {
		if _, err := s.DB.ExecContext(ctx, queries.Get("rekey-maintenance"), source, w.legacyKey(), key); err != nil {
			return fmt.Errorf("changes: rekey maintenance %s: %w", key, err)
		}
	}
	if w.Cancelled {
		if _, err := s.DB.ExecContext(ctx, queries.Get("cancel-maintenance"), source, key, s.now()); err != nil {
			return fmt.Errorf("changes: cancel maintenance %s: %w", key, err)
		}
		return nil
	}
	return s.upsertMaintenance(ctx, w.input(source, known))
}

// GoneAfter is how long a window that its calendar no longer has (at its
// time, or anywhere: Finder) stays missing before the change log takes it
// as cancelled: a few reads, so that one calendar read that came back
// short (a file half written, a server's hiccup) cancels nothing.
const GoneAfter = 5 * time.Minute

// maxLookups bounds the windows one read looks up: the rest wait for the
// next read.
const maxLookups = 100

// reconcile looks up, in their calendars (Finder), the stored windows
// that are not over and start by to that the read r did not find at
// their time: a window found elsewhere moved (it is stored at its new
// time, and under its key now when it had its older one); one found
// nowhere is missing, and cancelled once it stayed missing GoneAfter. A
// source that was not read whole, or whose calendars cannot look windows
// up, is left as it is; so is a window that is over.
func (s *Service) reconcile(ctx context.Context, to time.Time, r calendarRead) []string {
	type missing struct {
		id      int64
		source  string
		key     string
		missing sql.NullTime
	}
	rows, err := s.DB.QueryContext(ctx, queries.Get("maintenance-to-check"), s.now(), to.UTC())
	if err != nil {
		return []string{fmt.Sprintf("maintenance windows not checked against their calendars: %v", err)}
	}
	bySource := map[string][]missing{}
	n := 0
	for rows.Next() {
		var m missing
		if err := rows.Scan(&m.id, &m.source, &m.key, &m.missing); err != nil {
			rows.Close()
			return []string{fmt.Sprintf("maintenance windows not checked against their calendars: %v", err)}
		}
		if !r.whole[m.source] || r.seen[m.source][m.key] || n >= maxLookups {
			continue
		}
		bySource[m.source] = append(bySource[m.source], m)
		n++
	}
	rows.Close()
	var warnings []string
	now, known := s.now(), s.known()
	for source, ms := range bySource {
		keys := make([]string, len(ms))
		for i, m := range ms {
			keys[i] = m.key
		}
		found, err := s.find(ctx, source, keys)
		if err != nil {
			warnings = append(warnings, err.Error())
			continue
		}
		if found == nil {
			continue // no calendar of source can look windows up
		}
		for _, m := range ms {
			if err := s.settle(ctx, source, m.id, m.key, m.missing, found, known, now); err != nil {
				warnings = append(warnings, err.Error())
			}
		}
	}
	return warnings
}

// find asks every calendar of source where the windows keyed keys are:
// nil when one of them cannot look windows up.
func (s *Service) find(ctx context.Context, source string, keys []string) (map[string]Window, error) {
	timeout := s.CalendarTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	found := map[string]Window{}
	for _, cal := range s.Calendars {
		if cal.Source() != source {
			continue
		}
		f, ok := cal.(Finder)
		if !ok {
			return nil, nil
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		m, err := f.Find(cctx, keys)
		cancel()
		if err != nil {
			s.logger().Warn("maintenance calendar unreachable", "calendar", cal.Name(), "err", err)
			return nil, fmt.Errorf("maintenance calendar unreachable: %s: %v", cal.Name(), err)
		}
		for k, w := range m {
			found[k] = w
		}
	}
	return found, nil
}

// settle stores what the calendars said of the window id, keyed key: where
// it is now, or that it is missing (cancelled once missing GoneAfter).
func (s *Service) settle(ctx context.Context, source string, id int64, key string, since sql.NullTime, found map[string]Window, known []string, now time.Time) error {
	w, ok := found[key]
	if ok && w.Key() != key {
		// Found under its key now (an event stored under its older key):
		// the row takes it, unless another row has it already, which makes
		// this one a duplicate, missing like any other.
		res, err := s.DB.ExecContext(ctx, queries.Get("rekey-maintenance"), source, key, w.Key())
		if err != nil {
			return fmt.Errorf("changes: rekey maintenance %s: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			ok = false
		}
	}
	if ok {
		return s.storeWindow(ctx, source, w, known)
	}
	if _, err := s.DB.ExecContext(ctx, queries.Get("maintenance-missing"), id, now); err != nil {
		return fmt.Errorf("changes: maintenance %s missing: %w", key, err)
	}
	if since.Valid && now.Sub(since.Time) >= GoneAfter {
		s.logger().Info("maintenance window gone from its calendar: cancelled", "source", source, "key", key, "missing_since", since.Time)
		if _, err := s.DB.ExecContext(ctx, queries.Get("cancel-maintenance"), source, key, now); err != nil {
			return fmt.Errorf("changes: cancel maintenance %s: %w", key, err)
		}
	}
	return nil
}

// Mark records that the lead suspects (state Suspected) or has confirmed
// (Confirmed) that a change caused the incident, on the timeline too.
func (s *Service) Mark(ctx context.Context, actor, ref string, changeID int64, state string) (*Change, error) {
	if state != Suspected && state != Confirmed {
		return nil, errs.InvalidField("state", "want suspected or confirmed")
	}
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	c, err := s.Get(ctx, changeID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var prev string
		err := tx.QueryRowContext(ctx, queries.Get("incident-change-state"), inc.ID, c.ID).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, queries.Get("insert-incident-change"),
				inc.ID, c.ID, state, actor, now)
		case err != nil:
		case prev == state:
			return errs.E(errs.Conflict, "change %d is already %s on %s", c.ID, state, inc.Ref)
		case prev == Confirmed:
			return errs.E(errs.Conflict, "change %d is already confirmed as a cause of %s", c.ID, inc.Ref)
		default:
			_, err = tx.ExecContext(ctx, queries.Get("update-incident-change"),
				state, actor, now, inc.ID, c.ID)
		}
		if err != nil {
			return fmt.Errorf("changes: mark %d on %s: %w", c.ID, inc.Ref, err)
		}
		verb := map[string]string{Suspected: "Suspected change", Confirmed: "Confirmed cause"}[state]
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, "change_"+state, actor, verb+": "+Describe(*c, referenceOf(inc)),
			map[string]any{"change_id": c.ID, "kind": c.Kind, "source": c.Source, "service": c.Service})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.Suspicion = state
	c.TouchesSuspected = Touches(*c, inc.Scope.Systems)
	return c, nil
}

// ConfirmedCauses are lines for the summary draft's root-cause section: one
// per change confirmed as a cause of the incident, oldest first. They name
// the change, not the person who made it (the summary is blameless).
func (s *Service) ConfirmedCauses(ctx context.Context, incidentID int64) ([]string, error) {
	inc, err := s.Incidents.GetByID(ctx, s.DB, incidentID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, queries.Get("confirmed-causes"), incidentID, Confirmed)
	if err != nil {
		return nil, fmt.Errorf("changes: confirmed causes: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("changes: confirmed causes: %w", err)
		}
		out = append(out, Describe(*c, referenceOf(inc)))
	}
	return out, rows.Err()
}

func referenceOf(inc *incident.Incident) time.Time {
	if inc.FirstFailureAt != nil {
		return *inc.FirstFailureAt
	}
	return inc.DeclaredAt
}

// Describe is one line about a change: what, where, when relative to the
// first failure, and the link. No person is named.
func Describe(c Change, reference time.Time) string {
	var b strings.Builder
	switch c.Kind {
	case Maintenance:
		b.WriteString("Planned maintenance")
		if c.Summary != "" {
			fmt.Fprintf(&b, " %q", c.Summary)
		}
	default:
		b.WriteString("Deployment of " + c.Service)
		if c.Version != "" {
			b.WriteString(" " + c.Version)
		}
		if c.Environment != "" {
			b.WriteString(" to " + c.Environment)
		}
	}
	fmt.Fprintf(&b, " at %s UTC", c.At.UTC().Format("2006-01-02 15:04"))
	if d := reference.Sub(c.At); d > 0 {
		fmt.Fprintf(&b, ", %s before the first failure", humanDuration(d))
	}
	if c.URL != "" {
		fmt.Fprintf(&b, " (%s)", c.URL)
	}
	return b.String()
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%02dm", h, m)
	}
}

// Touches reports whether a change touches any of the suspected systems.
// A system matches, ignoring case, a system the change names, or a run of
// whole words of the deployed service's name ("checkout" touches
// "acme/checkout-api", not "checkouts"); a maintenance event also touches
// the systems its summary or description names.
func Touches(c Change, suspected []string) bool {
	for _, sys := range suspected {
		sw := words(sys)
		if len(sw) == 0 {
			continue
		}
		for _, cs := range c.Systems {
			if strings.EqualFold(cs, sys) {
				return true
			}
		}
		if containsRun(words(c.Service), sw) {
			return true
		}
		if c.Kind == Maintenance && (containsRun(words(c.Summary), sw) || containsRun(words(c.Details), sw)) {
			return true
		}
	}
	return false
}

// mentions lists the systems of known that text names as whole words.
func mentions(text string, known []string) []string {
	tw := words(text)
	var out []string
	for _, k := range known {
		if kw := words(k); len(kw) > 0 && containsRun(tw, kw) {
			out = append(out, strings.ToLower(k))
		}
	}
	return out
}

// words splits s into lower-case runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
}

// containsRun reports whether run occurs in ws as consecutive words.
func containsRun(ws, run []string) bool {
	for i := 0; i+len(run) <= len(ws); i++ {
		match := true
		for j := range run {
			if ws[i+j] != run[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
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
	b, _ := json.Marshal(l)
	return string(b)
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
