package subscription_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// links counts the stored links of purpose (confirm, unsubscribe).
func (h *harness) links(t *testing.T, purpose string) int {
	t.Helper()
	var n int
	if err := h.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM subscription_confirmations WHERE purpose = $1`, purpose).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (h *harness) sweep(t *testing.T) subscription.SweepResult {
	t.Helper()
	res, err := h.subs.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func emails(t *testing.T, h *harness) map[string]bool {
	t.Helper()
	list, err := h.subs.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, s := range list {
		out[fmt.Sprintf("%s %s %v", s.Email, s.Kind, s.Confirmed)] = true
	}
	return out
}

// TestSweepDeletesLapsedOptInsOnly: on the clock of the test, a double
// opt-in never confirmed (an internal one and a customer's) is deleted
// with its link once the link expired (subscriptions.confirm_for, 48 h),
// not a second before; one asked again meanwhile lives as long as its new
// link; a confirmed one, and a directory person's, are never touched,
// however old. The unsubscribe links of an update are kept while they
// work; a spent one goes a week after it was used.
func TestSweepDeletesLapsedOptInsOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "partner.test")
	h.subs.PublicOpen, h.subs.PublicSiteURL = true, "https://status.test"
	ctx := context.Background()
	ask := func(email string) {
		t.Helper()
		if _, pending, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: email, Kind: "all", Source: "page"}); err != nil || !pending {
			t.Fatalf("subscribe %s: pending=%v %v", email, pending, err)
		}
	}
	ask("lapsed@partner.test")
	ask("again@partner.test")
	ask("confirmed@partner.test")
	if err := h.subs.SubscribePublic(ctx, "customer@anywhere.example", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.subs.Subscribe(ctx, "ann@x.test", subscription.Request{Email: "ann@x.test", Kind: "system", Target: "checkout"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(t)
	tok := token(t, h.to(t, "confirmed@partner.test", "Confirm")[0].env.Text, "subscriptions/confirm")
	if _, err := h.subs.Confirm(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := h.links(t, "confirm"); n != 4 {
		t.Fatalf("%d confirmation links, want 4", n)
	}

	h.clock.add(40 * time.Hour)
	ask("again@partner.test") // a new link, good for 48 hours more
	if res := h.sweep(t); res.Total() != 0 {
		t.Fatalf("40 hours on, with every link still working: swept %+v", res)
	}
	h.clock.add(8*time.Hour - time.Second) // 48 h less a second after the first links
	if res := h.sweep(t); res.Total() != 0 {
		t.Fatalf("a second before the links expire: swept %+v", res)
	}
	h.clock.add(time.Second)
	res := h.sweep(t)
	if res.Unconfirmed != 2 || res.ConfirmLinks != 4 {
		t.Fatalf("as the links expire: swept %+v, want the 2 lapsed subscriptions and the 4 expired links", res)
	}
	want := map[string]bool{"again@partner.test all false": true, "confirmed@partner.test all true": true, "ann@x.test system true": true}
	if got := emails(t, h); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("left after the sweep: %v, want %v", got, want)
	}
	if n := h.links(t, "confirm"); n != 1 {
		t.Fatalf("%d confirmation links left, want again@'s new one", n)
	}
	if _, err := h.subs.Confirm(ctx, tok); !errs.Is(err, errs.Invalid) {
		t.Fatalf("the swept link: %v, want invalid", err)
	}
	if res := h.sweep(t); res.Total() != 0 {
		t.Fatalf("swept twice: %+v", res)
	}

	// The second link lapses too; the confirmed subscription stays, a year on.
	h.clock.add(41 * time.Hour)
	if res := h.sweep(t); res.Unconfirmed != 1 || res.ConfirmLinks != 1 {
		t.Fatalf("again@'s link expired: swept %+v", res)
	}
	inc := h.declare(t, "Checkout fails", "checkout")
	h.update(t, inc, "Rolling back.")
	if n := h.links(t, "unsubscribe"); n != 2 {
		t.Fatalf("%d unsubscribe links after an update to 2 followers, want 2", n)
	}
	unsub := token(t, h.to(t, "ann@x.test", "Rolling back")[0].env.Text, "unsubscribe")
	if _, err := h.subs.UnsubscribeToken(ctx, unsub); err != nil {
		t.Fatal(err)
	}
	h.clock.add(subscription.SpentLinkGrace - time.Minute)
	if res := h.sweep(t); res.Total() != 0 {
		t.Fatalf("a spent link within its grace: swept %+v", res)
	}
	h.clock.add(2 * time.Minute)
	if res := h.sweep(t); res.UnsubscribeLinks != 1 || res.Total() != 1 {
		t.Fatalf("a spent link past its grace: swept %+v, want it alone", res)
	}
	h.clock.add(365 * 24 * time.Hour)
	res = h.sweep(t)
	if res.UnsubscribeLinks != 1 || res.Unconfirmed != 0 {
		t.Fatalf("a year on: swept %+v, want the expired unsubscribe link only", res)
	}
	if got := emails(t, h); len(got) != 1 || !got["confirmed@partner.test all true"] {
		t.Fatalf("a year on: %v, want the confirmed subscription alone", got)
	}
}

// TestSweepWorksInBatches: more lapsed opt-ins than a batch holds are
// all deleted by one Sweep, a batch at a time.
func TestSweepWorksInBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "partner.test")
	h.subs.SweepBatch = 2
	ctx := context.Background()
	for i := range 7 {
		if _, _, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: fmt.Sprintf("p%d@partner.test", i), Kind: "all"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "all"}); err != nil {
		t.Fatal(err)
	}
	h.clock.add(49 * time.Hour)
	res := h.sweep(t)
	if res.Unconfirmed != 7 || res.ConfirmLinks != 7 {
		t.Fatalf("swept %+v, want 7 and 7 in batches of 2", res)
	}
	if got := emails(t, h); len(got) != 1 || !got["ann@x.test all true"] {
		t.Fatalf("left %v", got)
	}
}
