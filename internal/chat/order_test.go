package chat_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/chat/slackfake"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// webhookChannel is a Slack incoming webhook (api.slack.com/messaging/
// webhooks) whose channel the test reads: the status updates it took, in
// order. Per update it can misbehave: answer 500 internal_error to the
// first tries, take the post and answer late, or take it and never answer
// (the post is in the channel; the caller cannot know).
type webhookChannel struct {
	mu       sync.Mutex
	channel  []string // updates in the channel, in the order they arrived
	requests []string // every request: "U9 500", "U9 ok", ...
	fail     map[string]int
	slow     map[string]time.Duration
	hang     map[string]bool
}

func (c *webhookChannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&p) != nil || p.Text == "" || len(p.Blocks) != 3 || p.Blocks[1].Type != "section" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	_, update, _ := strings.Cut(p.Blocks[1].Text.Text, "\n") // "*Status update sent*\nU9"
	c.mu.Lock()
	if c.fail[update] > 0 {
		c.fail[update]--
		c.requests = append(c.requests, update+" 500")
		c.mu.Unlock()
		http.Error(w, "internal_error", http.StatusInternalServerError)
		return
	}
	c.channel = append(c.channel, update)
	slow, hang := c.slow[update], c.hang[update]
	c.requests = append(c.requests, update+" ok")
	c.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
	}
	w.Write([]byte("ok"))
}

func (c *webhookChannel) seen() (channel, requests []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.channel...), append([]string(nil), c.requests...)
}

// syncBuffer collects the mirror's log for assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rig is one database with an incident declared before the mirror
// started, so that only what follows is mirrored.
type rig struct {
	db        *store.DB
	inserter  jobs.Inserter
	incidents *incident.Service
	inc       *incident.Incident
	logs      *syncBuffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := storetest.Open(t)
	inserter, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db, inserter: inserter, incidents: &incident.Service{DB: db}, logs: &syncBuffer{}}
	r.inc, err = r.incidents.Declare(context.Background(), "lead@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV1"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mirror is a replica's Mirror over the rig's database; its first sweep
// starts the targets' cursors.
func (r *rig) mirror(t *testing.T, targets map[string]chat.Poster) *chat.Mirror {
	t.Helper()
	m := &chat.Mirror{DB: r.db, Jobs: r.inserter, Incidents: r.incidents, Targets: targets,
		PublicURL: "https://sitrep.example.com", Logger: slog.New(slog.NewTextHandler(r.logs, nil))}
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// update adds a status update whose words are text to the timeline.
func (r *rig) update(t *testing.T, text string) int64 {
	t.Helper()
	var id int64
	err := r.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = incident.AddEvent(context.Background(), tx, time.Now(), r.inc.ID, incident.EventUpdateQueued, "comms@x.test",
			"Status update", map[string]any{"status": text})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// startReplica works m's drain jobs on a River client of its own, as one
// replica does.
func startReplica(t *testing.T, db *store.DB, m *chat.Mirror, id string) {
	t.Helper()
	workers := river.NewWorkers()
	m.Register(workers)
	w, err := jobs.NewWorker(db, jobs.Config{Workers: workers, PollInterval: 50 * time.Millisecond, ID: id,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Queues: m.Queues()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// And sweeps, as main runs it: a drain that ended just as new rows
	// came is followed by the next sweep's.
	swept := make(chan struct{})
	go func() { defer close(swept); m.Run(ctx, 200*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		<-swept
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = w.StopAndCancel(stopCtx)
	})
}

var final = map[string]bool{chat.StatePosted: true, chat.StateUnknown: true, chat.StateRefused: true}

// settled waits until each event's post to target is done with, and
// returns their states. Once every row is done, nothing more is posted.
func settled(t *testing.T, m *chat.Mirror, target string, within time.Duration, events ...int64) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var states []string
		done := true
		for _, id := range events {
			state, _, _, err := m.PostState(context.Background(), target, id)
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, state)
			done = done && final[state]
		}
		if done {
			return states
		}
		if time.Now().After(deadline) {
			t.Fatalf("posts to %s not done within %s: %q", target, within, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

// A post that fails holds its target's later posts back: U10 waits for U9.
func TestAFailedPostIsRetriedBeforeTheNextOne(t *testing.T) {
	t.Parallel()
	hook := &webhookChannel{fail: map[string]int{"U9": 1}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	r := newRig(t)
	m := r.mirror(t, map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: srv.URL + "/services/T0/B0/x"}})
	startReplica(t, r.db, m, "a")
	u9, u10 := r.update(t, "U9"), r.update(t, "U10")
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	states := settled(t, m, "slack", 30*time.Second, u9, u10)
	channel, requests := hook.seen()
	if !equal(channel, []string{"U9", "U10"}) || !equal(states, []string{"posted", "posted"}) {
		t.Errorf("channel %q (states %q), want U9 then U10, each once", channel, states)
	}
	if !equal(requests, []string{"U9 500", "U9 ok", "U10 ok"}) {
		t.Errorf("requests %q: U10 must wait until U9 is in", requests)
	}
}

// A webhook that answers after 15 s is awaited: a success, posted once.
func TestASlowAnswerIsASuccessNotAFailure(t *testing.T) {
	t.Parallel()
	hook := &webhookChannel{slow: map[string]time.Duration{"U9": 15 * time.Second}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	r := newRig(t)
	m := r.mirror(t, map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: srv.URL + "/services/T0/B0/x"}})
	startReplica(t, r.db, m, "a")
	u9, u10 := r.update(t, "U9"), r.update(t, "U10")
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	states := settled(t, m, "slack", 60*time.Second, u9, u10)
	channel, requests := hook.seen()
	if !equal(channel, []string{"U9", "U10"}) || !equal(requests, []string{"U9 ok", "U10 ok"}) || !equal(states, []string{"posted", "posted"}) {
		t.Errorf("channel %q, requests %q, states %q; want U9 once, then U10", channel, requests, states)
	}
}

// A webhook that never answers: the post may be in the channel, and an
// incoming webhook cannot be read back, so it is not posted again; it is
// marked unknown, said in the log and on the timeline, and the next goes.
func TestAnUnansweredWebhookPostIsNotRepeated(t *testing.T) {
	t.Parallel()
	hook := &webhookChannel{hang: map[string]bool{"U9": true}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	r := newRig(t)
	m := r.mirror(t, map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: srv.URL + "/services/T0/B0/x",
		Client: &http.Client{Timeout: 2 * time.Second}}}) // 30 s by default; the same, sooner
	startReplica(t, r.db, m, "a")
	u9, u10 := r.update(t, "U9"), r.update(t, "U10")
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	states := settled(t, m, "slack", 30*time.Second, u9, u10)
	if !equal(states, []string{"unknown", "posted"}) {
		t.Errorf("states %q, want U9 unknown and U10 posted", states)
	}
	// More sweeps and time change nothing: U9 is not tried again.
	time.Sleep(3 * time.Second)
	if _, err := m.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	channel, requests := hook.seen()
	if !equal(channel, []string{"U9", "U10"}) || !equal(requests, []string{"U9 ok", "U10 ok"}) {
		t.Errorf("channel %q, requests %q; want U9 sent once, then U10", channel, requests)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "may be missing") {
		t.Errorf("no warning that the post may be missing in the log:\n%s", logs)
	}
	events, err := r.incidents.EventsAfter(context.Background(), r.db, u10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != chat.EventChatProblem || !strings.Contains(events[0].Text, "may be missing") {
		t.Errorf("timeline after U10: %+v; want the problem noted", events)
	}
}

// recallingChannel is a target that can read its channel back (as Slack's
// Web API can): a test double of the Recognizer contract. It threads an
// incident's posts under its first.
type recallingChannel struct {
	mu      sync.Mutex
	posts   []chat.Message
	threads map[string]string
}

func (c *recallingChannel) Post(ctx context.Context, m chat.Message) (chat.Posted, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, m)
	ts := fmt.Sprintf("1700000000.%06d", len(c.posts))
	thread := m.Thread
	if thread == "" {
		thread = ts
	}
	return chat.Posted{Ref: ts, Thread: thread}, nil
}

func (c *recallingChannel) Recognize(ctx context.Context, m chat.Message) (chat.Posted, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.posts {
		if p.Key == m.Key {
			return chat.Posted{Ref: fmt.Sprintf("1700000000.%06d", i+1)}, true, nil
		}
	}
	return chat.Posted{}, false, nil
}

func (c *recallingChannel) texts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.posts {
		out = append(out, p.Text)
	}
	return out
}

// crashWhileSending leaves event id's row as a process that died during
// the call leaves it: 'sending', its lease over.
func crashWhileSending(t *testing.T, db *store.DB, target string, id int64) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), `UPDATE chat_posts SET state = 'sending', claim = claim + 1, attempts = attempts + 1,
		lease_until = $1 WHERE target = $2 AND event_id = $3`, time.Now().Add(-time.Minute).UTC(), target, id)
	if err != nil {
		t.Fatal(err)
	}
}

// After a crash between 'sending' and the answer: a target that can read
// its channel back is asked, and the post is not repeated when it is
// there, repeated when it is not; one that cannot is marked unknown.
func TestACrashWhileSendingNeverPostsTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t)
	arrived := &recallingChannel{} // U9 reached it before the crash
	lost := &recallingChannel{}    // U9 never reached it
	hook := &webhookChannel{}      // an incoming webhook: cannot tell
	srv := httptest.NewServer(hook)
	defer srv.Close()
	m := r.mirror(t, map[string]chat.Poster{"arrived": arrived, "lost": lost,
		"webhook": &chat.Slack{WebhookURL: srv.URL + "/services/T0/B0/x"}})
	r.update(t, "U8")
	if _, err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"arrived", "lost", "webhook"} {
		if err := m.Drain(ctx, target); err != nil {
			t.Fatal(err)
		}
	}
	u9, u10 := r.update(t, "U9"), r.update(t, "U10")
	if _, err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	// The crash: U9 was being sent; for "arrived" it got there.
	msg, err := m.Message(ctx, u9)
	if err != nil {
		t.Fatal(err)
	}
	msg.Key = fmt.Sprintf("sitrep-%s-%d", r.inc.Ref, u9)
	if _, err := arrived.Post(ctx, *msg); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"arrived", "lost", "webhook"} {
		crashWhileSending(t, r.db, target, u9)
		if err := m.Drain(ctx, target); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
	}
	for target, want := range map[string][]string{"arrived": {"posted", "posted"}, "lost": {"posted", "posted"}, "webhook": {"unknown", "posted"}} {
		if got := settled(t, m, target, time.Second, u9, u10); !equal(got, want) {
			t.Errorf("%s: states %q, want %q", target, got, want)
		}
	}
	if got := arrived.texts(); !equal(got, []string{"U8", "U9", "U10"}) {
		t.Errorf("recognised: channel %q, want U9 once", got)
	}
	if got := lost.texts(); !equal(got, []string{"U8", "U9", "U10"}) {
		t.Errorf("not recognised: channel %q, want U9 posted again, once", got)
	}
	if channel, _ := hook.seen(); !equal(channel, []string{"U8", "U10"}) {
		t.Errorf("webhook: channel %q, want U9 not sent again", channel)
	}
	if !strings.Contains(r.logs.String(), "may be missing") {
		t.Errorf("no warning logged:\n%s", r.logs.String())
	}
	// Every post has its key, and the incident's thread from the first.
	for i, p := range lost.posts {
		if !strings.HasPrefix(p.Key, "sitrep-"+r.inc.Ref+"-") {
			t.Errorf("post %d key %q", i, p.Key)
		}
		if i > 0 && p.Thread != "1700000000.000001" {
			t.Errorf("post %d thread %q, want the first post's", i, p.Thread)
		}
	}
	if want := fmt.Sprintf("sitrep-%s-%d", r.inc.Ref, u10); lost.posts[2].Key != want {
		t.Errorf("U10's key %q, want %q", lost.posts[2].Key, want)
	}
}

// Two replicas sweep and drain the same database at once: each update
// reaches the channel once, in timeline order.
func TestTwoReplicasPostEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hook := &webhookChannel{fail: map[string]int{"U3": 1}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	r := newRig(t)
	a := r.mirror(t, map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: srv.URL + "/services/T0/B0/x"}})
	b := r.mirror(t, map[string]chat.Poster{"slack": &chat.Slack{WebhookURL: srv.URL + "/services/T0/B0/x"}})
	startReplica(t, r.db, a, "replica-a")
	startReplica(t, r.db, b, "replica-b")
	var want []string
	var ids []int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, m := range []*chat.Mirror{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(30 * time.Millisecond):
				}
				if _, err := m.Sweep(ctx); err != nil {
					t.Errorf("sweep: %v", err)
				}
				// Both drain too, outside River, as a rescued job would.
				_ = m.Drain(ctx, "slack")
			}
		}()
	}
	for i := 1; i <= 8; i++ {
		text := fmt.Sprintf("U%d", i)
		want = append(want, text)
		ids = append(ids, r.update(t, text))
		time.Sleep(40 * time.Millisecond)
	}
	states := settled(t, a, "slack", 60*time.Second, ids...)
	close(stop)
	wg.Wait()
	channel, requests := hook.seen()
	if !equal(channel, want) {
		t.Errorf("channel %q, want %q (requests %q, states %q)", channel, want, requests, states)
	}
}

// scriptedTarget answers each update as its script says (nil: taken) and
// records what it took.
type scriptedTarget struct {
	mu     sync.Mutex
	script map[string][]error
	took   []string
}

func (s *scriptedTarget) Post(ctx context.Context, m chat.Message) (chat.Posted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errs := s.script[m.Text]; len(errs) > 0 {
		s.script[m.Text] = errs[1:]
		if errs[0] != nil {
			return chat.Posted{}, errs[0]
		}
	}
	s.took = append(s.took, m.Text)
	return chat.Posted{}, nil
}

// A post refused for good is recorded, noted on the timeline and skipped;
// a rate limit makes the drain come back after the wait asked for, the
// later posts still behind.
func TestARefusedPostIsSkippedAndARateLimitIsWaitedFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t)
	target := &scriptedTarget{script: map[string][]error{
		"U1": {&chat.PermanentError{Err: errors.New("channel_is_archived")}},
		"U2": {&chat.RetryAfterError{After: 7 * time.Second, Err: errors.New("rate_limited")}},
	}}
	m := r.mirror(t, map[string]chat.Poster{"slack": target})
	u1, u2, u3 := r.update(t, "U1"), r.update(t, "U2"), r.update(t, "U3")
	if _, err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	var snooze *rivertype.JobSnoozeError
	if err := m.Drain(ctx, "slack"); !errors.As(err, &snooze) || snooze.Duration != 7*time.Second {
		t.Fatalf("drain: %v; want a snooze of the 7 s asked for", err)
	}
	if state, _, _, _ := m.PostState(ctx, "slack", u3); state != chat.StatePending {
		t.Errorf("U3 %s while U2 waits", state)
	}
	if err := m.Drain(ctx, "slack"); err != nil {
		t.Fatal(err)
	}
	if states := settled(t, m, "slack", time.Second, u1, u2, u3); !equal(states, []string{"refused", "posted", "posted"}) {
		t.Errorf("states %q", states)
	}
	if !equal(target.took, []string{"U2", "U3"}) {
		t.Errorf("took %q", target.took)
	}
	events, err := r.incidents.EventsAfter(ctx, r.db, u3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != chat.EventChatProblem || !strings.Contains(events[0].Text, "channel_is_archived") {
		t.Errorf("timeline after U3: %+v; want the refusal noted", events)
	}
}

// Against the Slack Web API fake, held to Slack's published description:
// U9's reply is made but its answer comes too late, U10's request is lost
// on the way. The mirror looks for each in the thread before trying
// again: U9 is found and not posted again, U10 is not found and posted.
// The thread gets U8 to U11, each once, in order, all in one thread.
func TestSlackAPILooksBeforePostingAgain(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(t)
	r := newRig(t)
	api := &chat.SlackAPI{BaseURL: fake.URL, Token: slackfake.Token, Channel: slackfake.Channel,
		Client: &http.Client{Timeout: 2 * time.Second}}
	m := r.mirror(t, map[string]chat.Poster{"slack": api})
	startReplica(t, r.db, m, "a")
	ctx := context.Background()
	u8 := r.update(t, "U8")
	if _, err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	settled(t, m, "slack", 30*time.Second, u8)
	fake.DelayNext("chat.postMessage", 4*time.Second) // U9's reply: done, answered after the client gave up
	fake.LoseNext("chat.postMessage")                 // U10's reply: never reaches Slack
	ids := []int64{u8, r.update(t, "U9"), r.update(t, "U10"), r.update(t, "U11")}
	if _, err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if states := settled(t, m, "slack", 60*time.Second, ids...); !equal(states, []string{"posted", "posted", "posted", "posted"}) {
		t.Errorf("states %q", states)
	}
	parents := fake.Messages(slackfake.Channel)
	if len(parents) != 1 {
		t.Fatalf("%d top-level messages, want the incident's one thread: %+v", len(parents), parents)
	}
	var got []string
	for _, reply := range fake.Replies(slackfake.Channel, parents[0].TS) {
		text := sectionText(reply)
		got = append(got, text[strings.LastIndex(text, "\n")+1:])
	}
	if !equal(got, []string{"U8", "U9", "U10", "U11"}) {
		t.Errorf("thread replies %q, want U8, U9, U10, U11 each once", got)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "an earlier post had arrived") || !strings.Contains(logs, "an earlier post did not arrive") {
		t.Errorf("the mirror did not look for U9 and U10 before going on:\n%s", logs)
	}
}
