package intake_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/intake"
)

// The vendors' own example payloads (testdata/README.md says where each
// comes from) must open a draft that a comms lead can act on: the
// monitor's time, a title, and the link back.

// Pingdom documents two kinds of check: uptime checks go UP → DOWN,
// transaction checks SUCCESS → FAILING (check_type TRANSACTION, no
// check_params). A failing transaction was refused with "want DOWN or UP".
func TestPingdomTransactionCheckOpensADraftAndItsSuccessResolvesIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	r, err := h.svc.Receive(ctx, intake.Pingdom, bearer(), nil, payload(t, "pingdom_transaction_failing.json"))
	if err != nil {
		t.Fatalf("a failing transaction check was refused: %v", err)
	}
	if len(r.Created) != 1 {
		t.Fatalf("%+v; want one new draft", r)
	}
	d, err := h.svc.Get(ctx, intake.FormatID(r.Created[0]))
	if err != nil {
		t.Fatal(err)
	}
	if first := time.Date(2026, 11, 24, 13, 45, 0, 0, time.UTC); !d.FirstFailureAt.Equal(first) {
		t.Errorf("first failure %s, want the check's state change %s", d.FirstFailureAt, first)
	}
	if d.Title != "Pingdom: Checkout journey is failing" || strings.Join(d.Systems, ",") != "checkout" ||
		!strings.Contains(d.Detail, "#order-confirmation") || d.AlertKey != "67890" {
		t.Errorf("draft %+v", d)
	}
	// SUCCESS again is the recovery of the same check.
	up, err := h.svc.Receive(ctx, intake.Pingdom, bearer(), nil, payload(t, "pingdom_transaction_success.json"))
	if err != nil || len(up.Resolved) != 1 || up.Resolved[0] != d.ID {
		t.Fatalf("recovery: %+v %v", up, err)
	}
	d, _ = h.svc.Get(ctx, intake.FormatID(d.ID))
	if d.ResolvedAt == nil || !d.ResolvedAt.Equal(time.Date(2026, 11, 24, 14, 35, 0, 0, time.UTC)) {
		t.Errorf("resolved at %v, want the check's 14:35:00", d.ResolvedAt)
	}
}

// Pingdom's own uptime example, as published.
func TestPingdomsPublishedUptimeExampleOpensADraftWithItsLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.post(t, intake.Pingdom, "pingdom_example_http_down.json")
	d, err := h.svc.Get(context.Background(), intake.FormatID(r.Created[0]))
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Pingdom: Name of HTTP check is down" || d.URL != "https://www.example.com/path" || d.Severity != "SEV2" ||
		d.Detail != "Long error message" || !d.FirstFailureAt.Equal(time.Date(2016, 1, 1, 1, 1, 1, 0, time.UTC)) {
		t.Errorf("draft %+v", d)
	}
}
