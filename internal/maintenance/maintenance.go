// Package maintenance tells people about planned maintenance: a window
// read from the change log's calendars, or declared in sitrep, is
// announced ahead of time to the groups of the systems it touches, with a
// note when it starts and one when it ends (or one that it was
// cancelled), all in the window's own thread. The outage guide's
// proactive communication "will prevent your team from being distracted
// by folks looking for an update"; planned work is the easiest case of
// it, and the one most often forgotten.
//
// Each step goes out once, whatever the number of replicas and restarts:
// its row in maintenance_notices is inserted in the transaction that
// queues its email, and a second insert takes nothing.
//
// During a window, intake asks During whether an alert's systems are
// under planned work (intake declares the interface; it does not import
// this package).
package maintenance

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Steps of a window, as recorded.
const (
	Announced = compose.MaintenanceAnnounced
	Started   = compose.MaintenanceStarted
	Ended     = compose.MaintenanceEnded
	Cancelled = compose.MaintenanceCancelled
	// Rescheduled is the note that a window told about moved; each move
	// is its own step, "rescheduled-1", "rescheduled-2" (RescheduledStep).
	Rescheduled = compose.MaintenanceRescheduled
)

// RescheduledStep is the step of the n-th move of a window (from 1).
func RescheduledStep(n int) string { return Rescheduled + "-" + strconv.Itoa(n) }

// rescheduledN is the n of a RescheduledStep, 0 for another step.
func rescheduledN(step string) int {
	rest, ok := strings.CutPrefix(step, Rescheduled+"-")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// SourceDeclared is the change log's source of windows declared in sitrep.
const SourceDeclared = "sitrep"

// errCancelled rolls back a step's claim on a window cancelled meanwhile.
var errCancelled = errors.New("maintenance: window cancelled")

// lookBack is how long after its end a window that was announced or
// started still gets its "ended" note (sitrep was down when it ended).
const lookBack = 24 * time.Hour

// Span is a maintenance window as the change log holds it.
type Span struct {
	ID      int64 // the change's id
	Source  string
	Title   string
	Details string
	URL     string
	Systems []string
	Start   time.Time
	End     time.Time
	// Cancelled: its calendar cancelled it, or no longer has it.
	Cancelled bool
}

// Windows is the change log's maintenance windows: internal/changes in
// production.
type Windows interface {
	// Windows reads the maintenance calendars for [from, to] and lists
	// the windows overlapping it, then those of watch (change ids) that
	// are elsewhere now: a watched window that moved in its calendar,
	// however far, is listed at its new time, and one the calendar no
	// longer has is Cancelled. Warnings name calendars that failed.
	Windows(ctx context.Context, from, to time.Time, watch []int64) ([]Span, []string, error)
	// StoredWindows is Windows without reading the calendars.
	StoredWindows(ctx context.Context, from, to time.Time) ([]Span, error)
	// MaintenanceWindow is one window; not found when id is no
	// maintenance window.
	MaintenanceWindow(ctx context.Context, id int64) (*Span, error)
	// DeclareWindow records a window declared in sitrep.
	DeclareWindow(ctx context.Context, actor, externalID string, w Span) (*Span, error)
}

// Mailer queues a message in tx: the outbox.
type Mailer interface {
	Queue(ctx context.Context, tx *sql.Tx, m compose.Outgoing) (*compose.Message, error)
}

// Directory is who hears about which system (groups.yaml).
type Directory interface {
	Current() *directory.Directory
}

// Followers is who follows the systems of a window beside its groups
// (subscriptions to everything or to one of its systems), each with what
// they follow and the link that stops it for them alone. It runs in q,
// the transaction that queues the note.
type Followers interface {
	Followers(ctx context.Context, q store.Querier, ref string, systems []string) (compose.FollowerSet, error)
}

// Service announces maintenance windows and answers whether one is on.
type Service struct {
	DB        *store.DB
	Changes   Windows
	Directory Directory
	Mail      Mailer
	// Followers, when set, adds those who follow the window's systems to
	// its notes; unset, its groups alone hear.
	Followers Followers
	// AnnounceBefore: how long before its start a window is announced.
	AnnounceBefore time.Duration
	// Manual: only windows someone announces are told (maintenance.announce: manual).
	Manual bool
	Now    func() time.Time
	Logger *slog.Logger
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

// Notice is one step told (or, for a cancellation before any, recorded).
type Notice struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor,omitempty"`
	Groups []string  `json:"groups"`
	// Sent: an email went out (false: nobody was told, e.g. a window
	// cancelled before its announcement).
	Sent bool `json:"sent"`
	// Start and End are the window's times the step told (nil for a
	// notice whose window the change log no longer had when they were
	// first kept).
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
}

// rank orders notices recorded at the same time: the steps in the order
// one Check takes them.
func rank(step string) int {
	switch step {
	case Announced:
		return 0
	case Started:
		return 1
	}
	if n := rescheduledN(step); n > 0 {
		return 1 + n
	}
	return -1
}

// lastTold is the latest notice that told the window's times (its
// announcement, its start note, a move's note), nil when none did.
func lastTold(notices map[string]*Notice) *Notice {
	var last *Notice
	lastRank := 0
	for step, n := range notices {
		r := rank(step)
		if r < 0 {
			continue
		}
		if last == nil || n.At.After(last.At) || (n.At.Equal(last.At) && r > lastRank) {
			last, lastRank = n, r
		}
	}
	return last
}

// moves counts the rescheduled notes of a window.
func moves(notices map[string]*Notice) int {
	n := 0
	for step := range notices {
		n = max(n, rescheduledN(step))
	}
	return n
}

// Window is a maintenance window of the change log with what was told.
type Window struct {
	ID      int64     `json:"id"`  // the change's id
	Ref     string    `json:"ref"` // MAINT-<id>
	Title   string    `json:"title"`
	Systems []string  `json:"systems"`
	Details string    `json:"details,omitempty"`
	URL     string    `json:"url,omitempty"`
	Source  string    `json:"source"` // sitrep (declared), ics, caldav, google
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// State: planned, announced, in_progress, ended or cancelled.
	State string `json:"state"`
	// CancelledInCalendar: its calendar cancelled it (or no longer has it).
	CancelledInCalendar bool               `json:"cancelled_in_calendar,omitempty"`
	Notices             map[string]*Notice `json:"notices"` // by step
}

// Ref is the name of window id in subjects and the CLI: MAINT-7.
func Ref(id int64) string { return "MAINT-" + strconv.FormatInt(id, 10) }

// ParseRef accepts 7, MAINT-7 or maint-7.
func ParseRef(ref string) (int64, error) {
	s := strings.TrimSpace(ref)
	if len(s) > 6 && strings.EqualFold(s[:6], "MAINT-") {
		s = s[6:]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "no maintenance window %q (want an id like 7 or MAINT-7)", ref)
	}
	return id, nil
}

// Thread is the window's own conversation. Its key is the negative of the
// change id: incidents' threads are keyed by their positive ids, so a
// window's thread can never be an incident's, whatever the audience.
func Thread(id int64, title string) compose.Thread {
	ref := Ref(id)
	// The reply token names the window, so a reply's address says what it
	// answers; no incident has it, so the reply goes to triage.
	return compose.Thread{Key: -id, Audience: compose.Maintenance, Ref: ref, ToName: ref + " maintenance", ReplyToken: "maint-" + strconv.FormatInt(id, 10),
		Subject: compose.ThreadSubject(ref, "Planned maintenance: "+title), SubjectKey: "thread.maintenance", Title: title}
}

func (s *Service) window(c Span, notices map[string]*Notice, now time.Time) *Window {
	w := &Window{ID: c.ID, Ref: Ref(c.ID), Title: c.Title, Systems: c.Systems, Details: c.Details, URL: c.URL, Source: c.Source,
		Start: c.Start, End: c.End, CancelledInCalendar: c.Cancelled, Notices: notices}
	if w.Systems == nil {
		w.Systems = []string{}
	}
	if w.Title == "" {
		w.Title = "Planned maintenance"
	}
	if w.Notices == nil {
		w.Notices = map[string]*Notice{}
	}
	switch {
	case w.Notices[Cancelled] != nil || c.Cancelled:
		w.State = Cancelled
	case !now.Before(w.End):
		w.State = Ended
	case !now.Before(w.Start):
		w.State = "in_progress"
	case w.Notices[Announced] != nil:
		w.State = Announced
	default:
		w.State = "planned"
	}
	return w
}

// DeclareInput is a window declared in sitrep.
type DeclareInput struct {
	Title   string    `json:"title"`
	Systems []string  `json:"systems"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Details string    `json:"details,omitempty"`
	URL     string    `json:"url,omitempty"`
}

// Declare records a window in the change log, beside those read from
// calendars. It is checked whole before anything is stored: a title, the
// directory's systems, an end after the start and not in the past.
func (s *Service) Declare(ctx context.Context, actor string, in DeclareInput) (*Window, error) {
	now := s.now()
	in.Title = strings.TrimSpace(in.Title)
	if err := errs.CheckLine("title", in.Title, 200, true); err != nil {
		return nil, err
	}
	if len(in.Details) > 10000 {
		return nil, errs.InvalidField("details", "at most 10000 bytes")
	}
	known := s.Directory.Current().Systems()
	var systems []string
	for _, sys := range in.Systems {
		sys = strings.ToLower(strings.TrimSpace(sys))
		if sys == "" || slices.Contains(systems, sys) {
			continue
		}
		if !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, sys) }) {
			return nil, errs.InvalidField("systems", "unknown system %q; the directory's systems are %s", sys, strings.Join(known, ", "))
		}
		systems = append(systems, sys)
	}
	if len(systems) == 0 {
		return nil, errs.InvalidField("systems", "name at least one system the work touches")
	}
	switch {
	case in.Start.IsZero():
		return nil, errs.InvalidField("start", "required (RFC 3339, e.g. 2026-03-04T22:00:00Z)")
	case in.End.IsZero():
		return nil, errs.InvalidField("end", "required (RFC 3339, e.g. 2026-03-05T02:00:00Z)")
	case !in.End.After(in.Start):
		return nil, errs.InvalidField("end", "must be after the start (%s)", in.Start.UTC().Format(time.RFC3339))
	case !in.End.After(now):
		return nil, errs.InvalidField("end", "is in the past (%s): a window that is over cannot be announced", in.End.UTC().Format(time.RFC3339))
	case in.End.Sub(in.Start) > 31*24*time.Hour:
		return nil, errs.InvalidField("end", "a window lasts at most 31 days")
	}
	c, err := s.Changes.DeclareWindow(ctx, actor, "declared-"+randomID(), Span{Title: in.Title, Systems: systems, Details: in.Details,
		URL: in.URL, Start: in.Start.UTC(), End: in.End.UTC()})
	if err != nil {
		return nil, err
	}
	s.logger().Info("maintenance window declared", "window", Ref(c.ID), "actor", actor, "systems", systems)
	return s.window(*c, nil, now), nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Get returns one window with what was told.
func (s *Service) Get(ctx context.Context, ref string) (*Window, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	c, err := s.Changes.MaintenanceWindow(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.NotFound, "no maintenance window %s", Ref(id))
	}
	if err != nil {
		return nil, err
	}
	notices, err := s.noticesOf(ctx, s.DB, id)
	if err != nil {
		return nil, err
	}
	return s.window(*c, notices, s.now()), nil
}

// List returns the windows overlapping [from, to] as the change log
// holds them, oldest first.
func (s *Service) List(ctx context.Context, from, to time.Time) ([]*Window, error) {
	cs, err := s.Changes.StoredWindows(ctx, from, to)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	notices, err := s.Notices(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*Window, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.window(c, notices[c.ID], now))
	}
	return out, nil
}

// Notices returns what was told about each of the changes ids, by id and
// step; the change log's views show it beside each window.
func (s *Service) Notices(ctx context.Context, ids []int64) (map[int64]map[string]*Notice, error) {
	out := map[int64]map[string]*Notice{}
	if len(ids) == 0 {
		return out, nil
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	rows, err := s.DB.QueryContext(ctx, queries.Get("notices-between"), lo, hi)
	if err != nil {
		return nil, fmt.Errorf("maintenance: notices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		id, step, n, err := scanNotice(rows)
		if err != nil {
			return nil, fmt.Errorf("maintenance: notices: %w", err)
		}
		if !slices.Contains(ids, id) {
			continue
		}
		if out[id] == nil {
			out[id] = map[string]*Notice{}
		}
		out[id][step] = n
	}
	return out, rows.Err()
}

func (s *Service) noticesOf(ctx context.Context, q store.Querier, id int64) (map[string]*Notice, error) {
	rows, err := q.QueryContext(ctx, queries.Get("notices-of"), id)
	if err != nil {
		return nil, fmt.Errorf("maintenance: notices of %s: %w", Ref(id), err)
	}
	defer rows.Close()
	out := map[string]*Notice{}
	for rows.Next() {
		_, step, n, err := scanNotice(rows)
		if err != nil {
			return nil, fmt.Errorf("maintenance: notices of %s: %w", Ref(id), err)
		}
		out[step] = n
	}
	return out, rows.Err()
}

func scanNotice(row interface{ Scan(...any) error }) (int64, string, *Notice, error) {
	var id int64
	var step, groups string
	var msg sql.NullInt64
	var start, end sql.NullTime
	n := &Notice{}
	if err := row.Scan(&id, &step, &n.At, &n.Actor, &groups, &msg, &start, &end); err != nil {
		return 0, "", nil, err
	}
	n.At, n.Sent = n.At.UTC(), msg.Valid
	if start.Valid && end.Valid {
		s, e := start.Time.UTC(), end.Time.UTC()
		n.Start, n.End = &s, &e
	}
	_ = json.Unmarshal([]byte(groups), &n.Groups)
	if n.Groups == nil {
		n.Groups = []string{}
	}
	return id, step, n, nil
}

// Check tells every window whose time has come: the announcement
// AnnounceBefore ahead of its start (maintenance.announce: auto only), the
// note at its start and the one at its end (for a window that was told
// about, or any in auto mode). A window told about whose time changed in
// its calendar gets a "rescheduled" note, with its new and its old time,
// once per change; one its calendar cancelled gets the cancelled note
// once. Every replica runs it; each step goes out once. It returns how
// many notes it queued.
func (s *Service) Check(ctx context.Context) (int, error) {
	now := s.now()
	watch, err := s.toldOpen(ctx, now)
	if err != nil {
		return 0, err
	}
	windows, warnings, err := s.Changes.Windows(ctx, now.Add(-lookBack), now.Add(s.AnnounceBefore), watch)
	for _, w := range warnings {
		s.logger().Warn("maintenance: " + w)
	}
	if err != nil {
		return 0, err
	}
	ids := make([]int64, len(windows))
	for i, c := range windows {
		ids[i] = c.ID
	}
	notices, err := s.Notices(ctx, ids)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, c := range windows {
		n, err := s.check(ctx, s.window(c, notices[c.ID], now), now)
		if err != nil {
			s.logger().Error("maintenance notice failed", "window", Ref(c.ID), "err", err)
		}
		sent += n
	}
	return sent, nil
}

// check takes the steps of one window that are due now, and says how
// many notes it queued.
func (s *Service) check(ctx context.Context, w *Window, now time.Time) (int, error) {
	if w.Notices[Cancelled] != nil {
		return 0, nil
	}
	told := w.Notices[Announced] != nil || w.Notices[Started] != nil
	if w.CancelledInCalendar {
		if w.Notices[Ended] != nil {
			return 0, nil // it took place and was told so
		}
		// Its calendar called it off: the thread hears it once when it
		// was told about; otherwise it is recorded, and never announced.
		ok, err := s.record(ctx, w, Cancelled, "calendar", now, told, nil)
		if ok && told {
			s.logger().Info("maintenance window cancelled in its calendar", "window", w.Ref)
			return 1, err
		}
		return 0, err
	}
	sent := 0
	if told && w.Notices[Ended] == nil && now.Before(w.End) {
		if last := lastTold(w.Notices); last != nil && last.Start != nil && (!last.Start.Equal(w.Start) || !last.End.Equal(w.End)) {
			ok, err := s.record(ctx, w, RescheduledStep(moves(w.Notices)+1), "calendar", now, true, last)
			if err != nil {
				return 0, err
			}
			if ok {
				sent++
			}
		}
	}
	var step string
	switch {
	case !now.Before(w.End):
		if told && w.Notices[Ended] == nil {
			step = Ended
		}
	case !now.Before(w.Start):
		if (told || !s.Manual) && w.Notices[Started] == nil {
			step = Started
		}
	case !s.Manual && w.Notices[Announced] == nil && !now.Before(w.Start.Add(-s.AnnounceBefore)):
		step = Announced
	}
	if step == "" {
		return sent, nil
	}
	ok, err := s.tell(ctx, w, step, "sitrep", now)
	if ok {
		sent++
	}
	return sent, err
}

// watchFor is how long after it was told about a window is followed in
// its calendar: a window announced by hand far ahead still hears of a
// move.
const watchFor = 400 * 24 * time.Hour

// toldOpen lists the windows told about (announced, or noted at their
// start) that have not ended or been cancelled: Check follows them in
// their calendars wherever they move.
func (s *Service) toldOpen(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("told-open"), now.Add(-watchFor))
	if err != nil {
		return nil, fmt.Errorf("maintenance: windows told about: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("maintenance: windows told about: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Announce tells a window now, ahead of its time (maintenance.announce:
// manual, or to tell earlier than announce_before). A window already
// announced, over or cancelled is a conflict.
func (s *Service) Announce(ctx context.Context, actor, ref string) (*Window, error) {
	w, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case w.State == Cancelled:
		return nil, errs.E(errs.Conflict, "%s was cancelled", w.Ref)
	case w.State == Ended:
		return nil, errs.E(errs.Conflict, "%s is over (it ended %s)", w.Ref, w.End.Format(time.RFC3339))
	case w.Notices[Announced] != nil:
		return nil, errs.E(errs.Conflict, "%s was already announced at %s", w.Ref, w.Notices[Announced].At.Format(time.RFC3339))
	}
	ok, err := s.tell(ctx, w, Announced, actor, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.E(errs.Conflict, "%s was announced meanwhile", w.Ref)
	}
	return s.Get(ctx, ref)
}

// Cancel records that a window will not take place. When it was told
// about, its thread hears that it is cancelled; otherwise nobody is
// told, and it is never announced. A window that is over, or already
// cancelled, is a conflict.
func (s *Service) Cancel(ctx context.Context, actor, ref string) (*Window, error) {
	w, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	switch w.State {
	case Cancelled:
		return nil, errs.E(errs.Conflict, "%s was already cancelled at %s", w.Ref, w.Notices[Cancelled].At.Format(time.RFC3339))
	case Ended:
		return nil, errs.E(errs.Conflict, "%s is over (it ended %s): nothing to cancel", w.Ref, w.End.Format(time.RFC3339))
	}
	told := w.Notices[Announced] != nil || w.Notices[Started] != nil
	if _, err := s.record(ctx, w, Cancelled, actor, s.now(), told, nil); err != nil {
		return nil, err
	}
	s.logger().Info("maintenance window cancelled", "window", w.Ref, "actor", actor, "told", told)
	return s.Get(ctx, ref)
}

// tell queues step's note to the window's groups, once: false when the
// step was taken already (by another replica, or before a restart).
func (s *Service) tell(ctx context.Context, w *Window, step, actor string, now time.Time) (bool, error) {
	return s.record(ctx, w, step, actor, now, true, nil)
}

// record claims step for w, with the window's times it tells, and, when
// send, queues its email in the same transaction. moved is the notice
// that told the times before, for a rescheduled note. An audience that
// expands to nobody is recorded and logged, not retried every minute.
func (s *Service) record(ctx context.Context, w *Window, step, actor string, now time.Time, send bool, moved *Notice) (bool, error) {
	groups := s.Directory.Current().MaintenanceGroups(w.Systems...)
	if groups == nil {
		groups = []string{}
	}
	won := false
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queries.Get("insert-notice"), w.ID, step, now, actor, store.JSON(groups), w.Start, w.End)
		if err != nil {
			return fmt.Errorf("maintenance: claim %s of %s: %w", step, w.Ref, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another replica, or an earlier run, took it
		}
		if step != Cancelled {
			// Cancelled since the caller looked: the claim is undone and
			// nothing goes out.
			var cancelled int
			if err := tx.QueryRowContext(ctx, queries.Get("is-cancelled"), w.ID).Scan(&cancelled); err != nil {
				return fmt.Errorf("maintenance: %s: %w", w.Ref, err)
			}
			if cancelled > 0 {
				return errCancelled
			}
		}
		won = true
		if !send {
			return nil
		}
		out := compose.Outgoing{Thread: Thread(w.ID, w.Title), Kind: compose.KindMaintenance, Groups: groups,
			Actor: actor, IdempotencyKey: fmt.Sprintf("maintenance-%d-%s", w.ID, step)}
		if s.Followers != nil {
			f, err := s.Followers.Followers(ctx, tx, w.Ref, w.Systems)
			if err != nil {
				return fmt.Errorf("maintenance: followers of %s: %w", w.Ref, err)
			}
			out.SetFollowers(f)
		}
		if len(groups) == 0 && len(out.Followers) == 0 {
			s.logger().Warn("maintenance: nobody to tell (no notify: for its systems, no status audience, no followers)", "window", w.Ref, "step", step)
			return nil
		}
		data := &compose.MaintenanceData{Ref: w.Ref, Title: w.Title, Step: step, Systems: w.Systems, Details: w.Details, URL: w.URL,
			Start: w.Start, End: w.End, Now: now}
		if moved != nil {
			data.Step, data.OldStart, data.OldEnd = Rescheduled, *moved.Start, *moved.End
		}
		out.Data = data
		msg, err := s.Mail.Queue(ctx, tx, out)
		if errs.Is(err, errs.Invalid) {
			// An audience of empty groups, a template that refuses the
			// title: it would fail the same way every minute.
			s.logger().Error("maintenance: note not sent", "window", w.Ref, "step", step, "err", err)
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, queries.Get("set-notice-message"), msg.ID, w.ID, step)
		if err != nil {
			return fmt.Errorf("maintenance: record %s of %s: %w", step, w.Ref, err)
		}
		return nil
	})
	if errors.Is(err, errCancelled) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if won && send {
		s.logger().Info("maintenance notice queued", "window", w.Ref, "step", step, "groups", groups, "start", w.Start, "end", w.End)
	}
	return won, nil
}

// During returns the title of a window, not cancelled, that is going on at
// at and touches one of systems; ok false when none does. intake asks it
// for each new alert.
func (s *Service) During(ctx context.Context, systems []string, at time.Time) (title string, ok bool, err error) {
	if len(systems) == 0 {
		return "", false, nil
	}
	cs, err := s.Changes.StoredWindows(ctx, at, at)
	if err != nil {
		return "", false, err
	}
	for _, c := range cs {
		if !at.Before(c.End) || at.Before(c.Start) || !touches(c.Systems, systems) {
			continue
		}
		notices, err := s.noticesOf(ctx, s.DB, c.ID)
		if err != nil {
			return "", false, err
		}
		if notices[Cancelled] != nil || c.Cancelled {
			continue
		}
		return cmp.Or(c.Title, "Planned maintenance"), true, nil
	}
	return "", false, nil
}

// touches: the window names one of systems (the change log puts in a
// calendar window's systems those its summary and description name).
func touches(window, systems []string) bool {
	for _, w := range window {
		if slices.ContainsFunc(systems, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), w) }) {
			return true
		}
	}
	return false
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
