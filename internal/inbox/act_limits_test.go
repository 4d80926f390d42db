package inbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// byMessageID returns the stored message with that Message-ID.
func (h *hub) byMessageID(mid string) *mailmsg.Inbound {
	h.t.Helper()
	var id int64
	if err := h.db.QueryRow(`SELECT id FROM inbound_messages WHERE message_id = $1`, mid).Scan(&id); err != nil {
		h.t.Fatalf("%s: %v", mid, err)
	}
	return h.inbound(id)
}

// inTriage reports whether the triage list shows the message.
func (h *hub) inTriage(id int64) bool {
	h.t.Helper()
	list, err := h.store.Triage(context.Background(), 0)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, in := range list {
		if in.ID == id {
			return true
		}
	}
	return false
}

// metric returns the value of a gauge or counter, by name and labels.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s %v", name, labels)
	return 0
}

// Issue 14: 27 nested multipart/mixed levels in 1.6 KB kept enmime busy
// for hours, and the act job was rescued and run again beside itself.
// The message is now set aside in triage, unparsed, and the reply behind
// it is acted on.
func TestIssue14NestedMessageIsSetAsideAndTheNextIsActedOn(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)
	reg := prometheus.NewRegistry()
	h.actor.Metrics = inbox.NewMetrics(reg, h.db)

	start := time.Now()
	h.appendRaw("INBOX", inbox.NestedMultipart(27), h.compose(orig, reply{from: "ana", body: "Still failing for me in Berlin."}))
	h.waitActed(2)
	t.Logf("both acted on %v after they were delivered", time.Since(start).Round(time.Millisecond))

	bad := h.byMessageID("nested-27@attacker.example")
	if bad.State != mailmsg.StateTriage || bad.Class != string(mailmsg.ClassMalformed) || !strings.Contains(bad.Error, "multiparts nest") {
		t.Fatalf("the nested message: %+v", bad)
	}
	if bad.Sender != "mallory@attacker.example" || bad.Subject != "nested" || bad.Incident != "" {
		t.Errorf("triage must show who sent it and its subject, and file it nowhere: %+v", bad)
	}
	if !h.inTriage(bad.ID) {
		t.Error("the nested message is not in the triage list")
	}
	var rawLen int
	h.db.QueryRow(`SELECT LENGTH(raw) FROM inbound_messages WHERE id = $1`, bad.ID).Scan(&rawLen)
	if rawLen != len(inbox.NestedMultipart(27)) {
		t.Errorf("the raw message must be kept: %d bytes stored", rawLen)
	}

	var next *mailmsg.Inbound
	list, _ := h.store.Replies(context.Background(), inc.ID)
	for i := range list {
		if list[i].Sender == "ana@example.test" {
			next = &list[i]
		}
	}
	if next == nil || next.State != mailmsg.StateProcessed || !strings.Contains(next.Text, "Berlin") {
		t.Fatalf("the reply behind it was not acted on: %+v", list)
	}
	if n := metric(t, reg, "sitrep_inbox_set_aside", map[string]string{"class": "malformed"}); n != 1 {
		t.Errorf("sitrep_inbox_set_aside{class=malformed} = %v, want 1", n)
	}
	if n := metric(t, reg, "sitrep_inbox_malformed_total", nil); n != 1 {
		t.Errorf("sitrep_inbox_malformed_total = %v, want 1", n)
	}
}

// A message whose acting keeps failing (here: it runs out of time every
// time) is quarantined after MaxAttempts: in triage with its error, never
// retried again, and the message behind it in the same job is acted on
// at its first attempt.
func TestPoisonMessageIsQuarantined(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)
	reg := prometheus.NewRegistry()
	h.actor.Metrics = inbox.NewMetrics(reg, h.db)
	h.actor.MessageTimeout = 6 * time.Second // ample for a good message on a loaded machine under -race, beside parallel tests
	h.actor.MaxAttempts = 2
	h.replies.Resolution = answers(func(ctx context.Context, text string) (bool, string, error) {
		if strings.Contains(text, "poison") {
			<-ctx.Done() // stuck until the message's deadline
			return false, "", ctx.Err()
		}
		return false, "", nil
	})

	h.appendRaw("INBOX",
		h.compose(orig, reply{from: "ben", body: "A poison message."}),
		h.compose(orig, reply{from: "ana", body: "Works again for me."}))
	h.waitActed(2)

	var poisonID, goodID int64
	h.db.QueryRow(`SELECT id FROM inbound_messages WHERE sender = 'ben@example.test'`).Scan(&poisonID)
	h.db.QueryRow(`SELECT id FROM inbound_messages WHERE sender = 'ana@example.test'`).Scan(&goodID)
	if poisonID == 0 || goodID == 0 {
		t.Fatalf("messages not found: %d, %d", poisonID, goodID)
	}
	poison, good := h.inbound(poisonID), h.inbound(goodID)
	if good.State != mailmsg.StateProcessed || good.Incident != inc.Ref {
		t.Fatalf("the message behind the poison one was not acted on: %+v", good)
	}
	if poison.State != mailmsg.StateTriage || poison.Class != string(mailmsg.ClassQuarantined) ||
		!strings.Contains(poison.Error, "timed out after 6s") || !strings.Contains(poison.Action, "quarantined after 2 failed attempts") {
		t.Fatalf("the poison message: %+v", poison)
	}
	if !h.inTriage(poison.ID) {
		t.Error("the quarantined message is not in the triage list")
	}
	var attempts int
	h.db.QueryRow(`SELECT attempts FROM inbound_messages WHERE id = $1`, poison.ID).Scan(&attempts)
	if attempts != 2 {
		t.Errorf("attempts = %d, want 2", attempts)
	}
	// Never retried again: acting on it now does nothing.
	if err := h.actor.Act(context.Background(), poison.ID); err != nil {
		t.Fatal(err)
	}
	// On SQLite the stuck message holds the one connection until its
	// deadline, so on a loaded machine the good one may run out of time
	// once waiting for it; every failure is counted, and only those.
	var goodAttempts int
	h.db.QueryRow(`SELECT attempts FROM inbound_messages WHERE id = $1`, good.ID).Scan(&goodAttempts)
	if n := metric(t, reg, "sitrep_inbox_act_failures_total", nil); n != float64(2+goodAttempts) {
		t.Errorf("sitrep_inbox_act_failures_total = %v, want 2 (the poison message) + %d (the good one)", n, goodAttempts)
	}
	if n := metric(t, reg, "sitrep_inbox_set_aside", map[string]string{"class": "quarantined"}); n != 1 {
		t.Errorf("sitrep_inbox_set_aside{class=quarantined} = %v, want 1", n)
	}
	// Nothing of the poison message reached the timeline.
	if ev := h.count(`SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND text LIKE '%poison%'`, inc.ID); ev != 0 {
		t.Errorf("%d timeline events of the poison message", ev)
	}
}
