package intake_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// fakeSender stands in for the SMTP server: it refuses the connection
// while err is set.
type fakeSender struct {
	err  error
	sent [][]byte
	to   []string
}

func (f *fakeSender) Concurrency() int { return 1 }

func (f *fakeSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.sent, f.to = append(f.sent, msg), append(f.to, to...)
	return make([]error, len(to)), nil
}

const noteOrg = `organization: Note Test
people:
  - email: comms@example.com
    name: Casey Comms
    time_zone: Europe/Berlin
    roles: [comms-lead]
groups:
  - name: leads
    members: [comms@example.com]
`

// The note on a new draft goes through the outbox like every message: it
// is queued once however often its job runs, retried by the outbox while
// the server refuses it, asks the comms lead to declare or dismiss in
// their own zone, and is not queued at all once the draft is decided.
func TestTheNoteAsksTheCommsLeadToDeclareOrDismissAndRetriesOnFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	r := h.post(t, intake.Pingdom, "pingdom_down.json")
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	dir := &directory.Store{DB: h.svc.DB}
	if _, err := dir.SyncFile(ctx, []byte(noteOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(h.svc.DB)
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSender{err: errors.New("dial tcp: connection refused")}
	business := clock()
	ob := &outbox.Outbox{DB: h.svc.DB, Jobs: ins, Renderer: renderer, Directory: dir, Sender: sender, BatchSize: 10, MaxAttempts: 5,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status", Now: func() time.Time { return business }}
	w := &intake.NoteWorker{Service: h.svc, Mail: ob}
	job := &river.Job[intake.NoteArgs]{JobRow: &rivertype.JobRow{}, Args: h.notes.jobs[0]}
	for range 2 { // a job run again after a crash queues nothing more
		if err := w.Work(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	rows, err := h.svc.DB.QueryContext(ctx, `SELECT id FROM messages WHERE kind = 'draft_alert'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 1 {
		t.Fatalf("%d notes queued, want 1", len(ids))
	}

	// The server refuses: the delivery waits for a retry; then it goes.
	if _, err := ob.DeliverBatch(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if len(sender.sent) != 0 {
		t.Fatal("nothing can be sent while the server refuses")
	}
	sender.err, business = nil, business.Add(time.Hour)
	if _, err := ob.DeliverBatch(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if len(sender.sent) != 1 || sender.to[0] != "comms@example.com" {
		t.Fatalf("sent %d to %v, want the note to comms@example.com", len(sender.sent), sender.to)
	}
	msg := string(sender.sent[0])
	d, _ := h.svc.Get(ctx, intake.FormatID(r.Created[0]))
	for _, want := range []string{"Subject: [DRAFT-1] Alert: Pingdom: checkout-eu is down", "Reply-To: <status+draft-" + d.ReplyToken + "@sitrep.test>",
		"Auto-Submitted: auto-generated", "Nothing has been sent", "checkout", "declare", "dismiss",
		"14:43 CET"} { // 13:43 UTC, in the comms lead's zone
		if !strings.Contains(msg, want) {
			t.Errorf("note lacks %q:\n%s", want, msg)
		}
	}

	// Decided before the note went out: nothing to ask, nothing queued.
	if _, err := h.svc.Dismiss(ctx, "comms@example.com", intake.FormatID(d.ID), ""); err != nil {
		t.Fatal(err)
	}
	job2 := &river.Job[intake.NoteArgs]{JobRow: &rivertype.JobRow{}, Args: intake.NoteArgs{DraftID: d.ID, To: "other@example.com"}}
	if err := w.Work(ctx, job2); err != nil {
		t.Fatal(err)
	}
	var n int
	h.svc.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE kind = 'draft_alert'`).Scan(&n)
	if n != 1 {
		t.Errorf("a note was queued after the decision: %d notes", n)
	}
}
