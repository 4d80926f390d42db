package intake_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

type fakeSender struct {
	err  error
	sent [][]byte
	to   []string
}

func (f *fakeSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.sent, f.to = append(f.sent, msg), append(f.to, to...)
	return []error{nil}, nil
}

func TestTheNoteAsksTheCommsLeadToDeclareOrDismissAndRetriesOnFailure(t *testing.T) {
	h := newHarness(t)
	r := h.post(t, intake.Pingdom, "pingdom_down.json")
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSender{err: errors.New("dial tcp: connection refused")}
	w := &intake.NoteWorker{Service: h.svc, Mail: &intake.Mail{Renderer: renderer, Sender: sender, From: "sitrep <status@sitrep.test>",
		Domain: "sitrep.test", ReplyPart: "status"}}
	job := &river.Job[intake.NoteArgs]{JobRow: &rivertype.JobRow{}, Args: h.notes.jobs[0]}
	if err := w.Work(context.Background(), job); err == nil {
		t.Fatal("a refused connection must fail the job so that River retries it")
	}
	sender.err = nil
	if err := w.Work(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	msg := string(sender.sent[0])
	d, _ := h.svc.Get(context.Background(), intake.FormatID(r.Created[0]))
	for _, want := range []string{"Subject: [DRAFT-1] Alert: Pingdom: checkout-eu is down", "Reply-To: <status+draft-" + d.ReplyToken + "@sitrep.test>",
		"Auto-Submitted: auto-generated", "Nothing has been sent", "13:43", "checkout", "declare", "dismiss"} {
		if !strings.Contains(msg, want) {
			t.Errorf("note lacks %q:\n%s", want, msg)
		}
	}
	if sender.to[0] != "comms@example.com" {
		t.Errorf("sent to %v", sender.to)
	}
	// Decided before the note went out: nothing to ask, nothing sent.
	if _, err := h.svc.Dismiss(context.Background(), "comms@example.com", intake.FormatID(d.ID), ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Work(context.Background(), job); err != nil || len(sender.sent) != 1 {
		t.Errorf("note after the decision: %v, %d sent", err, len(sender.sent))
	}
}
