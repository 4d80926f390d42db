package inbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLeadsThreadHoldsInEveryClient: over real Postfix and Dovecot, the
// comms lead receives a reminder, a stakeholder's question, a refused
// command, a bounce notice, the "due now" reminder and the overdue
// escalation. They stay one conversation however a client threads (by
// References as Thunderbird, by subject and References as Gmail, by
// Thread-Index as Outlook) under one neutral subject that no single
// message names, and each says what it is in its first line, which is
// what an inbox shows beside the subject.
func TestLeadsThreadHoldsInEveryClient(t *testing.T) {
	t.Parallel()
	h := newHubWithGhost(t)
	var mu sync.Mutex
	now := time.Now().UTC()
	h.comms.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	setClock := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	promises := func() {
		t.Helper()
		if _, err := h.comms.CheckPromises(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	h.startWorker()
	h.run(h.ingester(""))
	inc := h.declare()
	update := h.update(inc, "Payments fail for EU customers.")
	due := *update.NextUpdateAt

	setClock(due.Add(-9 * time.Minute))
	promises() // the first message to the leads: "Update due in 9 minutes"
	orig := h.mailOf("ana", 1)[0]
	h.answer(orig, reply{from: "ana", body: "Should we tell the board?"})
	// A lead's command that no trusted server vouched for is refused.
	h.answer(orig, reply{from: "vp", body: "hold 30m"})
	h.eventually(60*time.Second, func() (bool, string) {
		n := h.count(`SELECT COUNT(*) FROM messages WHERE audience = 'leads' AND kind IN ('stakeholder_reply', 'command_refused', 'bounce_notice')`)
		return n == 3, "waiting for the question, the refusal and the bounce notice"
	})
	setClock(due.Add(time.Second))
	promises()
	setClock(due.Add(6 * time.Minute))
	promises()

	wantFirst := []string{
		"Update due in 9 minutes, at ",
		"Question from Ana Silva (Executives)",
		`Refused: "hold 30m" from Vera Pike`,
		"Bounce: update 1 did not reach ghost@example.test (Executives)",
		"Update due now: ",
		"OVERDUE since ",
	}
	raws := h.mailOf("vp", len(wantFirst))
	thread := "[" + inc.Ref + "] For the leads: " + inc.Title
	var msgs []*mail.Message
	var firsts []string
	for _, raw := range raws {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if s := subjectOf(raw); s != thread {
			t.Errorf("subject %q: every message to the leads carries %q", s, thread)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(bodyOf(raw)), "\n")
		firsts = append(firsts, strings.Trim(strings.TrimSpace(first), "*"))
		msgs = append(msgs, m)
	}
	for _, want := range wantFirst {
		n := 0
		for _, f := range firsts {
			if strings.HasPrefix(f, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d messages start %q; first lines:\n%s", n, want, strings.Join(firsts, "\n"))
		}
	}

	// Thunderbird: one tree, every message reaching the root through its
	// References. Gmail: the same, with the same subject (checked above).
	root := ""
	for _, m := range msgs {
		if m.Header.Get("In-Reply-To") == "" {
			if root != "" {
				t.Fatalf("two messages start a thread: %s and %s", root, m.Header.Get("Message-Id"))
			}
			root = m.Header.Get("Message-Id")
		}
	}
	if root == "" {
		t.Fatal("no message starts the leads' thread")
	}
	// Outlook: one Thread-Topic, and Thread-Index values that share the
	// root's 22-byte header.
	var topic string
	var index []byte
	for _, m := range msgs {
		id := m.Header.Get("Message-Id")
		if id != root && !strings.HasPrefix(m.Header.Get("References"), root) {
			t.Errorf("%s: References %q do not start at the thread's root %s", id, m.Header.Get("References"), root)
		}
		if topic == "" {
			topic = m.Header.Get("Thread-Topic")
		}
		if got := m.Header.Get("Thread-Topic"); got != topic || got == "" {
			t.Errorf("%s: Thread-Topic %q, want %q", id, got, topic)
		}
		ti, err := base64.StdEncoding.DecodeString(m.Header.Get("Thread-Index"))
		if err != nil || len(ti) < 22 {
			t.Fatalf("%s: Thread-Index %q: %v", id, m.Header.Get("Thread-Index"), err)
		}
		if index == nil {
			index = ti[:22]
		}
		if !bytes.Equal(ti[:22], index) {
			t.Errorf("%s: Thread-Index does not continue the thread's", id)
		}
	}
	// The incident lead hears of the refused command and the overdue
	// update, in the same thread.
	for _, raw := range h.mailOf("lead", 2) {
		if first := strings.TrimLeft(bodyOf(raw), "*"); subjectOf(raw) != thread ||
			!strings.HasPrefix(first, "OVERDUE since ") && !strings.HasPrefix(first, "Refused: ") {
			t.Errorf("the incident lead's mail: %q: %.80q", subjectOf(raw), first)
		}
	}
}
