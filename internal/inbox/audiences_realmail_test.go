package inbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

const audienceOrg = `organization: Test Org
language: en
people:
  - {email: vp@example.test, name: Vera Pike, roles: [comms-lead]}
  - {email: lead@example.test, name: Lee Adams, roles: [incident-lead]}
  - {email: ana@example.test, name: Ana Silva}
  - {email: de1@example.test, name: Dieter Eins, language: de}
  - {email: ben@example.test, name: Ben Okafor}
  - {email: fr1@example.test, name: Françoise Un, language: fr}
  - {email: r1@example.test, name: Raj One}
  - {email: mallory@example.test, name: Mallory}
groups:
  - {name: exec, display_name: Executives, members: [ana@example.test, de1@example.test]}
  - {name: customer-service, display_name: Customer Service, members: [ben@example.test, fr1@example.test]}
  - {name: staff, display_name: All staff, members: [ana@example.test, ben@example.test, r1@example.test]}
escalations:
  - {system: checkout, responders: [lead@example.test]}
audiences:
  status: [exec, customer-service, staff]
`

// TestStatusUpdateWordedPerAudience: over real Postfix and Dovecot, one
// update carries the executives' summary and customer service's "what to
// tell customers" beside the status. Each group's members get their own
// wording (in whatever language they read sitrep's words), everyone else
// the status, each person once, in one thread; the next update without
// such wording reaches everyone with the status again. Wording for a group
// the update does not go to is refused before anything is queued.
func TestStatusUpdateWordedPerAudience(t *testing.T) {
	t.Parallel()
	h := newHub(t, "de1", "fr1")
	if _, err := h.dir.SyncFile(t.Context(), []byte(audienceOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	h.startWorker()
	inc := h.declare()
	ctx := context.Background()
	const (
		status    = "Checkout fails for 30% of card payments; the payment provider is degraded."
		forExec   = "Revenue impact about 4% of hourly card sales; no data lost."
		forCS     = "Tell customers: card payments may fail; retrying in a few minutes works; nobody was charged twice."
		secondOne = "The provider has recovered; we are watching error rates."
	)
	groups := []string{"exec", "customer-service", "staff"}

	// Wording for a group outside the update's audience would reach
	// nobody: refused, nothing queued.
	before := h.count(`SELECT COUNT(*) FROM messages`)
	_, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: status, Groups: []string{"staff"},
		Audiences: map[string]string{"customer-service": forCS}})
	if e, ok := errors.AsType[*errs.Error](err); !ok || e.Field != "audiences.customer-service" {
		t.Fatalf("wording for a group not in the update: %v", err)
	}
	if got := h.count(`SELECT COUNT(*) FROM messages`); got != before {
		t.Fatalf("a refused update queued %d messages", got-before)
	}

	// The preview shows each audience its own email.
	dry, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: status, Groups: groups, DryRun: true,
		Audiences: map[string]string{"exec": forExec, "Customer-Service": forCS}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range dry.Previews {
		want := map[string]string{"exec": forExec, "customer-service": forCS, "staff": status}[p.Group]
		if !strings.Contains(p.Text, want) {
			t.Errorf("preview for %s (%s) lacks %q:\n%s", p.Group, p.Language, want, p.Text)
		}
		seen[p.Group] = true
	}
	if len(seen) != 3 {
		t.Errorf("previews for %v, want one per group", seen)
	}

	for _, in := range []incident.UpdateInput{
		{Status: status, Groups: groups, Next: "30m", Audiences: map[string]string{"exec": forExec, "customer-service": forCS}},
		{Status: secondOne, Groups: groups, Next: "30m"},
	} {
		res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, in)
		if err != nil {
			t.Fatal(err)
		}
		h.waitSent(res.Message.ID)
		for _, v := range res.Message.Variants {
			h.waitSent(v.ID)
		}
	}

	// Each person is reached through the first of the update's groups
	// that holds them: Ana is an executive before she is staff.
	first := map[string]string{"ana": forExec, "de1": forExec, "ben": forCS, "fr1": forCS, "r1": status}
	others := []string{forExec, forCS, status}
	for user, want := range first {
		raws := inThreadOrder(t, h.mailOf(user, 2))
		if len(raws) != 2 {
			t.Fatalf("%s got %d emails, want 2 (one per update, never one per group)", user, len(raws))
		}
		body := bodyOf(raws[0])
		if !strings.Contains(body, want) {
			t.Errorf("%s: the first update lacks their wording %q:\n%s", user, want, body)
		}
		for _, other := range others {
			if other != want && strings.Contains(body, other) {
				t.Errorf("%s: the first update carries another audience's wording %q", user, other)
			}
		}
		second := bodyOf(raws[1])
		if !strings.Contains(second, secondOne) || strings.Contains(second, forCS) || strings.Contains(second, forExec) {
			t.Errorf("%s: the second update, which has no audience wording, reads:\n%s", user, second)
		}
	}
	if n := len(h.mailOf("mallory", 0)); n != 0 {
		t.Errorf("someone in no group got %d emails", n)
	}

	// A lead's reply words the next update for customer service in a
	// section of its own; "For now:" is not a group and stays in the text.
	h.run(h.ingester(""))
	h.answer(h.mailOf("ana", 2)[0], reply{from: "lead", extra: trustedPass,
		body: "For now: the provider is stable.\nnext: 45m\n\nfor customer-service: Tell customers: it works again; no need to retry."})
	h.waitActed(1)
	for user, want := range map[string]string{"ben": "Tell customers: it works again", "ana": "For now: the provider is stable."} {
		raws := inThreadOrder(t, h.mailOf(user, 3))
		if body := bodyOf(raws[len(raws)-1]); len(raws) != 3 || !strings.Contains(body, want) || strings.Contains(body, "for customer-service") {
			t.Errorf("%s: the update by reply (email %d of %d) lacks %q or shows the section line:\n%s", user, len(raws), 3, want, body)
		}
	}

	// The timeline keeps what each audience was told.
	var data string
	if err := h.db.QueryRowContext(ctx, `SELECT data FROM timeline_events WHERE incident_id = $1 AND kind = $2 ORDER BY id LIMIT 1`,
		inc.ID, incident.EventUpdateQueued).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(data, "customer-service") || !strings.Contains(data, "Tell customers") {
		t.Errorf("the timeline event does not keep the audience wording: %s", data)
	}
}
