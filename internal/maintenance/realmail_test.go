package maintenance_test

import (
	"bytes"
	"context"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestMaintenanceOverPostfixAndDovecot: a window on checkout is announced
// a day ahead, noted at its start and at its end; customer service's
// member finds the three in one thread in her Dovecot inbox, and the
// engineer and the executive (not notified of checkout) find nothing.
func TestMaintenanceOverPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "cs1", "eng1", "exec1")
	host, port, err := net.SplitHostPort(ms.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	pool, err := outbox.NewPool(outbox.SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 2, Timeout: 10 * time.Second, HELO: "sitrep.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	h := newHarnessWith(t, `organization: Real Mail Org
people:
  - {email: cs1@example.test, name: Cara Service, time_zone: America/New_York}
  - {email: eng1@example.test, name: Eli Engineer}
  - {email: exec1@example.test, name: Eve Exec}
  - {email: resp@example.test, name: Rae Responder}
groups:
  - {name: customer-service, display_name: Customer service, members: [cs1@example.test]}
  - {name: engineering, display_name: Engineering, members: [eng1@example.test]}
  - {name: exec, display_name: Executives, members: [exec1@example.test]}
escalations:
  - {system: checkout, responders: [resp@example.test], notify: [customer-service]}
audiences:
  status: [exec]
`, pool)
	s := h.service(false)
	start := t0.Add(30 * time.Hour)
	w := declare(t, s, []string{"checkout"}, start, start.Add(2*time.Hour))
	for _, at := range []time.Time{start.Add(-23 * time.Hour), start, start.Add(2 * time.Hour)} {
		h.clock.set(at)
		if n := check(t, s); n != 1 {
			t.Fatalf("at %s: %d notes, want 1", at, n)
		}
		h.deliver(t, w.ID)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raws, err := ms.WaitForMessages(ctx, "cs1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 3 {
		t.Fatalf("customer service got %d messages, want 3", len(raws))
	}
	msgs := make([]*mail.Message, 3)
	for i, raw := range raws {
		if msgs[i], err = mail.ReadMessage(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
	}
	// Postfix may hand them to Dovecot out of order: put them in thread order.
	byParent := map[string]*mail.Message{}
	var root *mail.Message
	for _, m := range msgs {
		if irt := m.Header.Get("In-Reply-To"); irt == "" {
			root = m
		} else {
			byParent[irt] = m
		}
	}
	if root == nil {
		t.Fatal("no message starts the thread")
	}
	thread := []*mail.Message{root}
	for len(thread) < 3 {
		next := byParent[thread[len(thread)-1].Header.Get("Message-Id")]
		if next == nil {
			t.Fatalf("the thread breaks after %d messages", len(thread))
		}
		thread = append(thread, next)
	}
	subject := "[" + w.Ref + "] Planned maintenance: Database upgrade"
	for i, want := range []string{"Planned maintenance from", "Maintenance has started, until", "Maintenance ended at"} {
		m := thread[i]
		if got := m.Header.Get("Subject"); got != subject {
			t.Errorf("message %d: subject %q, want %q", i, got, subject)
		}
		if i > 0 && !strings.Contains(m.Header.Get("References"), root.Header.Get("Message-Id")) {
			t.Errorf("message %d: References %q lacks the first message", i, m.Header.Get("References"))
		}
		var body bytes.Buffer
		body.ReadFrom(m.Body)
		if !strings.Contains(strings.ReplaceAll(body.String(), "=\r\n", ""), want) {
			t.Errorf("message %d does not say %q", i, want)
		}
	}
	for _, other := range []string{"eng1", "exec1"} {
		got, err := ms.Messages(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("%s got %d messages about checkout's maintenance", other, len(got))
		}
	}
}
