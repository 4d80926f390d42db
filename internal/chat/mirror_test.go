package chat_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// mailArgs stands in for the outbox's delivery job: a job on the default
// queue, where every email job runs.
type mailArgs struct{ N int }

func (mailArgs) Kind() string { return "test_mail" }

type mailWorker struct {
	river.WorkerDefaults[mailArgs]
	done chan int
}

func (w *mailWorker) Work(ctx context.Context, job *river.Job[mailArgs]) error {
	w.done <- job.Args.N
	return nil
}

func startWorker(t *testing.T, db *store.DB, m *chat.Mirror, mail *mailWorker) {
	t.Helper()
	workers := river.NewWorkers()
	m.Register(workers)
	river.AddWorker(workers, mail)
	w, err := jobs.NewWorker(db, jobs.Config{Workers: workers, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Queues: m.Queues()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = w.StopAndCancel(stopCtx)
	})
}

func TestMirrorPostsKeyEventsAndAChatOutageNeverHoldsUpEmail(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	inserter, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	incidents := &incident.Service{DB: db}
	// An incident before the mirror starts is history: not replayed.
	if _, err := incidents.Declare(ctx, "lead@x.test", incident.DeclareInput{Title: "Old outage", Severity: "SEV3"}); err != nil {
		t.Fatal(err)
	}

	contract := &slackContract{}
	slack := httptest.NewServer(contract)
	defer slack.Close()
	// A Slack that hangs on every request: the worst kind of down.
	release := make(chan struct{})
	var hungMu sync.Mutex
	hung := 0
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hungMu.Lock()
		hung++
		hungMu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)

	m := &chat.Mirror{DB: db, Jobs: inserter, Incidents: incidents, PublicURL: "https://sitrep.example.com",
		Targets: map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: slack.URL + "/ok"}, "hung": &chat.Slack{WebhookURL: hanging.URL}}}
	if n, err := m.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("first sweep queued %d (%v); history must not be replayed", n, err)
	}
	mail := &mailWorker{done: make(chan int, 10)}
	startWorker(t, db, m, mail)

	inc, err := incidents.Declare(ctx, "lead@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV1",
		Scope: incident.Scope{Systems: []string{"checkout"}, DetectedVia: "monitoring"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incidents.AddNote(ctx, "lead@x.test", inc.Ref, "a note stays off chat"); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := incident.AddEvent(ctx, tx, time.Now(), inc.ID, incident.EventUpdateQueued, "comms@x.test", "Status update 1",
			map[string]any{"status": "We rolled back; error rate falling."})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incidents.Transition(ctx, "lead@x.test", inc.Ref, incident.Resolved, ""); err != nil {
		t.Fatal(err)
	}
	n, err := m.Sweep(ctx)
	if err != nil || n != 6 { // declared, update, resolved: to each of two targets
		t.Fatalf("sweep queued %d (%v); want 6", n, err)
	}
	if n, _ := m.Sweep(ctx); n != 0 {
		t.Errorf("a second sweep queued %d again", n)
	}

	// The hanging target now holds its worker. Email jobs go on.
	deadline := time.Now().Add(10 * time.Second)
	for {
		hungMu.Lock()
		h := hung
		hungMu.Unlock()
		if h >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hanging Slack got %d requests", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		for i := 0; i < 3; i++ {
			if _, err := inserter.InsertTx(ctx, tx, mailArgs{N: i}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		select {
		case <-mail.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("email job %d waited over 5 s behind a hanging chat", i)
		}
	}
	t.Logf("3 email jobs done in %s while chat hung", time.Since(start).Round(time.Millisecond))

	// Meanwhile the working Slack got its three posts, in order.
	deadline = time.Now().Add(10 * time.Second)
	for {
		contract.mu.Lock()
		got := len(contract.posts)
		contract.mu.Unlock()
		if got >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slack got %d posts", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var texts []string
	for _, p := range contract.posts {
		texts = append(texts, p["text"].(string))
	}
	want := inc.Ref + " Declared: Checkout down|" + inc.Ref + " Status update sent: Checkout down|" + inc.Ref + " Resolved: Checkout down"
	if strings.Join(texts, "|") != want {
		t.Errorf("slack got %q\nwant %q", texts, want)
	}
}

// An event whose transaction commits after a later event's (PostgreSQL
// hands out ids before commit) is still mirrored: the sweep waits until no
// event-writing transaction is open instead of moving past it. On SQLite
// transactions write one at a time, so the two events commit in order.
func TestMirrorNeverSkipsAnEventCommittedOutOfOrder(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	inserter, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	incidents := &incident.Service{DB: db}
	inc, err := incidents.Declare(ctx, "lead@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2"})
	if err != nil {
		t.Fatal(err)
	}
	m := &chat.Mirror{DB: db, Jobs: inserter, Incidents: incidents, Targets: map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: "http://127.0.0.1:1/"}}}
	if n, err := m.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("first sweep: %d %v", n, err)
	}
	event := func(q store.Querier, text string) {
		t.Helper()
		if _, err := incident.AddEvent(ctx, q, time.Now(), inc.ID, incident.EventStateChanged, "lead@x.test", text, nil); err != nil {
			t.Fatal(err)
		}
	}
	queued := 0
	if db.Dialect == store.Postgres {
		slow, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		event(slow, "identified (the smaller id, committed last)")
		event(db, "monitoring (the larger id, committed first)")
		n, err := m.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		queued += n
		if err := slow.Commit(); err != nil {
			t.Fatal(err)
		}
	} else {
		event(db, "identified")
		event(db, "monitoring")
	}
	n, err := m.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if queued += n; queued != 2 {
		t.Fatalf("queued %d posts for the two events, want 2", queued)
	}
	var rows, drains int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_posts WHERE state = 'pending'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'chat_drain'`).Scan(&drains); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || drains != 1 {
		t.Errorf("%d posts queued and %d drain jobs, want 2 and 1 (one per target)", rows, drains)
	}
}
