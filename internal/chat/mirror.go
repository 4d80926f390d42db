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
// the other target needs, and one worker keeps a target's posts in order.
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

// Mirror reads new timeline events and queues one post per event and
// target. Every replica may sweep: the cursor moves by compare-and-set in
// the transaction that queues the posts, so each event is queued once.
type Mirror struct {
	DB        *store.DB
	Jobs      jobs.Inserter
	Incidents Timeline
	Targets   map[string]Poster // "slack", "irc"
	PublicURL string
	Logger    *slog.Logger
}

func (m *Mirror) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// PostArgs is one event posted to one target.
type PostArgs struct {
	Target  string `json:"target"`
	EventID int64  `json:"event_id"`
}

func (PostArgs) Kind() string { return "chat_post" }

// Register adds the post worker; the River client must work Queues.
func (m *Mirror) Register(workers *river.Workers) {
	river.AddWorker(workers, &PostWorker{Mirror: m})
}

// Queues are the River queues the mirror's posts run on, one per target.
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
// the newest event: turning the mirror on does not replay history.
func (m *Mirror) Sweep(ctx context.Context) (int, error) {
	queued := 0
	for target := range m.Targets {
		n, err := m.sweepTarget(ctx, target)
		if err != nil {
			return queued, err
		}
		queued += n
	}
	return queued, nil
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
		var post []int64
		last := cursor
		for _, ev := range events {
			last = ev.ID
			if Mirrored[ev.Kind] {
				post = append(post, ev.ID)
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
		for _, id := range post {
			// Retried for about a day of backoff, then given up.
			opts := &river.InsertOpts{Queue: QueuePrefix + target, MaxAttempts: 15}
			if _, err := m.Jobs.InsertTx(ctx, tx, PostArgs{Target: target, EventID: id}, opts); err != nil {
				return fmt.Errorf("chat: queue post: %w", err)
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

// PostWorker works PostArgs.
type PostWorker struct {
	river.WorkerDefaults[PostArgs]
	Mirror *Mirror
}

// Timeout bounds one post: a hanging chat server costs a chat worker for
// this long, never an email worker.
func (w *PostWorker) Timeout(*river.Job[PostArgs]) time.Duration { return 30 * time.Second }

func (w *PostWorker) Work(ctx context.Context, job *river.Job[PostArgs]) error {
	poster, ok := w.Mirror.Targets[job.Args.Target]
	if !ok {
		return river.JobCancel(fmt.Errorf("chat: no target %q configured any more", job.Args.Target))
	}
	msg, err := w.Mirror.Message(ctx, job.Args.EventID)
	if err != nil {
		return err
	}
	_, err = poster.Post(ctx, *msg)
	if d, ok := RetryAfter(err); ok {
		w.Mirror.logger().Warn("chat: rate limited", "target", job.Args.Target, "retry_after", d)
		return river.JobSnooze(d)
	}
	if Permanent(err) {
		w.Mirror.logger().Error("chat: post refused for good", "target", job.Args.Target, "event", job.Args.EventID, "err", err)
		return river.JobCancel(err)
	}
	return err
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
	switch ev.Kind {
	case incident.EventDeclared:
		msg.Event = "Declared"
		msg.Text = describe(inc)
	case incident.EventUpdateQueued:
		msg.Event = "Status update sent"
		if s, ok := ev.Data["status"].(string); ok && s != "" {
			msg.Text = s
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
