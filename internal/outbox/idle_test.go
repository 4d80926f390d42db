package outbox_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// trackedListener lets a test see the server's connections and end the
// idle ones as the server's idle timer would.
type trackedListener struct {
	net.Listener
	f *faultyServer
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, closed: make(chan struct{})}
	l.f.mu.Lock()
	l.f.conns = append(l.f.conns, tc)
	l.f.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// connections is how many connections the server has accepted.
func (f *faultyServer) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// timeOutIdle makes the server's idle timer fire now on every open
// connection, instead of after a wait: the read the server is blocked in
// times out, and go-smtp answers it as Postfix does when smtpd_timeout
// runs out, "421 4.4.2 Idle timeout" and a close. It returns once every
// connection is closed.
func (f *faultyServer) timeOutIdle(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	conns := append([]*trackedConn(nil), f.conns...)
	f.mu.Unlock()
	for _, c := range conns {
		for done := false; !done; {
			// The server sets its own read deadline before each command it
			// reads; set ours again until it has taken effect.
			_ = c.SetReadDeadline(time.Unix(1, 0))
			select {
			case <-c.closed:
				done = true
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// deliverAll works every message of the incident until nothing is left
// to claim, without moving the clock: a retry would need a later claim
// (and count a second attempt).
func deliverAll(t *testing.T, h *harness, inc *incident.Incident) []*outbox.Message {
	t.Helper()
	ctx := context.Background()
	msgs, err := h.outbox.Messages(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for {
			n, err := h.outbox.DeliverBatch(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	return msgs
}

// Issue 17: the pooled connection had sat idle past the server's
// timeout; the server answered the next MAIL FROM with "421 4.4.2 Idle
// timeout" and the overdue alert went out two minutes late, on its third
// attempt. A connection the server dropped while idle is replaced at once:
// the alert goes out on its first attempt, to each lead once.
func TestConnectionDroppedWhileIdleIsReplacedWithinTheFirstAttempt(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	org, _ := smallOrg(2)
	// Concurrency 1: the one connection is the one the server drops.
	h := newHarness(t, f.addr, org, false, func(c *outbox.SMTPConfig) { c.Concurrency = 1 })
	ctx := context.Background()
	inc := h.declare(t)
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Looking.", Next: "30m", Groups: []string{"everyone"}}); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, h, inc) // the heads-up and the update leave the connection in the pool
	if n := f.connections(); n != 1 {
		t.Fatalf("the first messages took %d connections, want 1", n)
	}

	f.timeOutIdle(t)
	h.clock.Add(40 * time.Minute) // the update promised in 30 minutes is overdue
	if n, err := h.comms.CheckPromises(ctx); err != nil || n != 1 {
		t.Fatalf("want the overdue alert queued, got %d, %v", n, err)
	}
	msgs := deliverAll(t, h, inc)
	msg := msgs[len(msgs)-1]
	if msg.Kind != "overdue" {
		t.Fatalf("the last message is a %s, want the overdue alert", msg.Kind)
	}
	ds, _, err := h.outbox.Deliveries(ctx, msg.ID, outbox.DeliveryPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("want the alert to the incident lead, the comms lead and the backup, got %+v", ds)
	}
	for _, d := range ds {
		if d.State != outbox.StateSent || d.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts (%s); want sent on the first attempt", d.Email, d.State, d.Attempts, d.LastError)
		}
		if got := f.copies(d.Email); len(got) == 0 || got[len(got)-1] != msg.MessageID || slices.Index(got, msg.MessageID) != len(got)-1 {
			t.Errorf("%s received %v, want one copy of %s", d.Email, got, msg.MessageID)
		}
	}
	if n := f.connections(); n != 2 {
		t.Errorf("want one fresh connection for the alert, the server saw %d in all", n)
	}
}
