package maintenance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// TestFollowersHearOfTheirSystemsMaintenance: beside the notified group,
// the people who follow the window's system (or everything) get its
// notes, each with a one-click link that stops only their own
// subscription; a follower of another system hears nothing.
func TestFollowersHearOfTheirSystemsMaintenance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	subs := &subscription.Service{DB: h.db, Directory: h.dir, Mail: h.outbox, Now: h.clock.now, PublicURL: "https://sitrep.test"}
	for _, r := range []subscription.Request{
		{Email: "eve@x.test", Kind: subscription.System, Target: "checkout"},
		{Email: "exec@x.test", Kind: subscription.All},
		{Email: "ann@x.test", Kind: subscription.System, Target: "payments"},
	} {
		r.Source, r.Verified = "api", true
		if _, pending, err := subs.Subscribe(ctx, "ops@x.test", r); err != nil || pending {
			t.Fatalf("subscribe %+v: pending %v, %v", r, pending, err)
		}
	}
	s := h.service(false)
	s.Followers = subs
	w := declare(t, s, []string{"checkout"}, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	h.clock.set(t0.Add(time.Hour))
	if n := check(t, s); n != 1 {
		t.Fatalf("%d notes, want the announcement", n)
	}
	h.deliver(t, w.ID)
	for _, who := range []string{"cs@x.test", "eve@x.test", "exec@x.test"} {
		mail := h.received(who)
		if len(mail) != 1 || !strings.Contains(mail[0].GetHeader("Subject"), "] ") || !strings.Contains(mail[0].GetHeader("Subject"), "Database upgrade") {
			t.Fatalf("%s got %d notes, want the announcement", who, len(mail))
		}
		link := mail[0].GetHeader("List-Unsubscribe")
		if follower := who != "cs@x.test"; follower != strings.Contains(link, "https://sitrep.test/unsubscribe/") {
			t.Errorf("%s (follower %v): List-Unsubscribe %q", who, follower, link)
		}
	}
	if n := len(h.received("ann@x.test")); n != 0 {
		t.Errorf("a follower of payments got %d notes about checkout", n)
	}
}
