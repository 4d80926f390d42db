package chat

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// QueuePrefix names each target's River queue ("chat_slack"): its own
// worker, so that a chat service that hangs never takes a worker email or
// the other target needs. The order of a target's posts comes from its
// queue table (chat_posts), not from the River queue.
const QueuePrefix = "chat_"

// Mirrored lists the timeline event kinds that go to chat.
var Mirrored = map[string]bool{
	incident.EventDeclared:     true,
	incident.EventUpdateQueued: true, // a status update was sent to the stakeholders
	incident.EventStateChanged: true,
	"resolved_email":           true, // resolution: the "it is fixed" email
	"summary_sent":             true, // resolution: the blameless summary
	"monitor_recovered":        true, // intake: the monitor says it recovered
}

// Timeline is what the mirror needs of the incidents: their timeline read
// in id order, inside the sweep's transaction, and the incident an event
// belongs to. The incident package owns the timeline's table.
type Timeline interface {
	// SettleTimeline returns incident.ErrTimelineBusy while an event with
	// a smaller id than one already visible may still commit.
	SettleTimeline(ctx context.Context, tx *sql.Tx) error
	NewestEventID(ctx context.Context, q store.Querier) (int64, error)
	EventsAfter(ctx context.Context, q store.Querier, after int64, limit int) ([]incident.Event, error)
	EventByID(ctx context.Context, q store.Querier, id int64) (*incident.Event, error)
	GetByID(ctx context.Context, q store.Querier, id int64) (*incident.Incident, error)
}

var _ Timeline = (*incident.Service)(nil)

// Mirror reads new timeline events into each target's queue (chat_posts)
// and drains every queue, oldest first, with one job per target. Every
// replica may sweep and drain: the cursor moves by compare-and-set in the
// transaction that queues the rows, so each event is queued once, and a
// row is posted only by the drainer whose claim on it is current.
type Mirror struct {
	DB        *store.DB
	Jobs      jobs.Inserter
	Incidents Timeline
	Targets   map[string]Poster // "slack", "irc"
	PublicURL string
	Logger    *slog.Logger

	maxBackoff time.Duration // longest wait between tries of a failing target; 0 maxBackoff (tests shorten it)
}

func (m *Mirror) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// Register adds the drain worker (and the worker that moves posts queued
// by an earlier version into the table); the River client must work Queues.
func (m *Mirror) Register(workers *river.Workers) {
	river.AddWorker(workers, &DrainWorker{Mirror: m})
	river.AddWorker(workers, &PostWorker{Mirror: m})
}

// Queues are the River queues the mirror's drains run on, one per target.
func (m *Mirror) Queues() map[string]river.QueueConfig {
	out := map[string]river.QueueConfig{}
	for target := range m.Targets {
		out[QueuePrefix+target] = river.QueueConfig{MaxWorkers: 1}
	}
	return out
}

// Run sweeps every interval until ctx ends.
func (m *Mirror) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
			m.logger().Error("chat: sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep queues posts for the events since each target's cursor and
// returns how many it queued. A target seen for the first time starts at
// the newest event: turning the mirror on does not replay history. It
// also makes sure that every target with posts still to do has its drain
// job: one that finished just as new rows came leaves them to this.
func (m *Mirror) Sweep(ctx context.Context) (int, error) {
	queued := 0
	for target := range m.Targets {
		n, err := m.sweepTarget(ctx, target)
		if err != nil {
			return queued, err
		}
		queued += n
	}
	return queued, m.ensureDrains(ctx)
}

var errMoved = errors.New("chat: cursor moved by another replica")

func (m *Mirror) sweepTarget(ctx context.Context, target string) (int, error) {
	queued := 0
	err := m.DB.InTx(ctx, func(tx *sql.Tx) error {
		// Sweep only when no event with a smaller id than one visible now
		// may still commit: it would be skipped for good. The next tick
		// tries again.
		if err := m.Incidents.SettleTimeline(ctx, tx); err != nil {
			return fmt.Errorf("chat: %w", err)
		}
		newest, err := m.Incidents.NewestEventID(ctx, tx)
		if err != nil {
			return fmt.Errorf("chat: cursor: %w", err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("start-cursor"), target, newest); err != nil {
			return fmt.Errorf("chat: cursor: %w", err)
		}
		var cursor int64
		if err := tx.QueryRowContext(ctx, queries.Get("cursor"), target).Scan(&cursor); err != nil {
			return fmt.Errorf("chat: cursor: %w", err)
		}
		events, err := m.Incidents.EventsAfter(ctx, tx, cursor, 500)
		if err != nil {
			return fmt.Errorf("chat: events: %w", err)
		}
		var post []incident.Event
		last := cursor
		for _, ev := range events {
			last = ev.ID
			if Mirrored[ev.Kind] {
				post = append(post, ev)
			}
		}
		if last == cursor {
			return nil
		}
		res, err := tx.ExecContext(ctx, queries.Get("advance-cursor"), last, target, cursor)
		if err != nil {
			return fmt.Errorf("chat: cursor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errMoved
		}
		for _, ev := range post {
			if _, err := tx.ExecContext(ctx, queries.Get("queue-post"), target, ev.ID, ev.IncidentID); err != nil {
				return fmt.Errorf("chat: queue post: %w", err)
			}
		}
		if len(post) > 0 {
			if err := m.insertDrain(ctx, tx, target); err != nil {
				return err
			}
		}
		queued = len(post)
		return nil
	})
	if errors.Is(err, errMoved) || errors.Is(err, incident.ErrTimelineBusy) {
		return 0, nil
	}
	return queued, err
}

// ensureDrains inserts a drain job for each configured target with rows
// not yet done; River's uniqueness makes it a no-op while one is waiting
// or running.
func (m *Mirror) ensureDrains(ctx context.Context) error {
	rows, err := m.DB.QueryContext(ctx, queries.Get("open-targets"))
	if err != nil {
		return fmt.Errorf("chat: open targets: %w", err)
	}
	var open []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("chat: open targets: %w", err)
		}
		if _, ok := m.Targets[t]; ok {
			open = append(open, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("chat: open targets: %w", err)
	}
	for _, t := range open {
		err := m.DB.InTx(ctx, func(tx *sql.Tx) error { return m.insertDrain(ctx, tx, t) })
		if err != nil {
			return err
		}
	}
	return nil
}

// Message builds the post for one timeline event.
func (m *Mirror) Message(ctx context.Context, eventID int64) (*Message, error) {
	ev, err := m.Incidents.EventByID(ctx, m.DB, eventID)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	inc, err := m.Incidents.GetByID(ctx, m.DB, ev.IncidentID)
	if err != nil {
		return nil, err
	}
	msg := &Message{Incident: inc.Ref, Title: inc.Title, Severity: string(inc.Severity), State: string(inc.State), At: ev.At, Text: ev.Text}
	if m.PublicURL != "" {
		msg.URL = strings.TrimSuffix(m.PublicURL, "/") + "/incidents/" + inc.Ref
	}
	if inc.State.Active() && inc.Promise.NextUpdateAt != nil {
		msg.NextUpdate = *inc.Promise.NextUpdateAt // the promise standing now
	}
	switch ev.Kind {
	case incident.EventDeclared:
		msg.Event = "Declared"
		msg.Text = describe(inc)
	case incident.EventUpdateQueued:
		msg.Event = "Status update sent"
		if s, ok := ev.Data["status"].(string); ok && s != "" {
			msg.Text = s
		}
		if s, ok := ev.Data["next_update_at"].(string); ok {
			// The promise this update made, also when it is posted late.
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				msg.NextUpdate = t
			}
		}
	case incident.EventStateChanged:
		msg.Event = "State changed"
		if to, _ := ev.Data["to"].(string); to == string(incident.Resolved) {
			msg.Event = "Resolved"
		}
	case "resolved_email":
		msg.Event = "Resolved: email sent"
	case "summary_sent":
		msg.Event = "Blameless summary sent"
	case "monitor_recovered":
		msg.Event = "Monitor reports recovery"
	default:
		msg.Event = ev.Kind
	}
	return msg, nil
}

func describe(inc *incident.Incident) string {
	var parts []string
	if len(inc.Scope.Systems) > 0 {
		parts = append(parts, "Suspected systems: "+strings.Join(inc.Scope.Systems, ", "))
	}
	if inc.Scope.DetectedVia != "" {
		parts = append(parts, "Detected via "+inc.Scope.DetectedVia)
	}
	if inc.FirstFailureAt != nil {
		parts = append(parts, "First failure "+inc.FirstFailureAt.UTC().Format("15:04 UTC"))
	}
	if inc.Roles.IncidentLead != "" {
		parts = append(parts, "Incident lead "+inc.Roles.IncidentLead)
	}
	return strings.Join(parts, ". ")
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
