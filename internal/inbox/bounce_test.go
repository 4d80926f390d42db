package inbox_test

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// returnPath is the envelope sender a copy came from, as final delivery
// records it (RFC 5321 4.4): the bounce address of its transaction.
func returnPath(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	rp := strings.Trim(strings.TrimSpace(m.Header.Get("Return-Path")), "<>")
	if !strings.HasPrefix(rp, "status+"+outbox.BounceTag) || !strings.HasSuffix(rp, "@example.test") {
		t.Fatalf("the copy came from %q, not from a bounce address of the hub", rp)
	}
	return rp
}

// deliveryState is a recipient's delivery of the first status update.
func (h *hub) deliveryState(email string) string {
	h.t.Helper()
	var state string
	if err := h.db.QueryRow(`SELECT d.state FROM delivery_states d JOIN messages m ON m.id = d.message_id
WHERE m.kind = 'status' AND d.email = $1 ORDER BY m.id LIMIT 1`, email).Scan(&state); err != nil {
		h.t.Fatal(err)
	}
	return state
}

// A DSN anyone can write (the update's Message-ID and a recipient are all
// it takes) changes no delivery: it did not come back to the bounce
// address of the transaction that went to that recipient. It is filed,
// and the leads hear of an "unverified bounce".
func TestForgedBounceChangesNoDeliveryAndTellsTheLeads(t *testing.T) {
	t.Parallel()
	h, inc, _ := setup(t)
	var messageID string
	h.db.QueryRow(`SELECT message_id FROM messages WHERE kind = 'status'`).Scan(&messageID)
	anaFrom := returnPath(t, h.mailOf("ana", 1)[0])
	benFrom := returnPath(t, h.mailOf("ben", 1)[0])
	if anaFrom == benFrom {
		t.Fatal("ana and ben are in different zones: their copies must be different transactions")
	}

	for i, forged := range []struct{ name, to string }{
		// mallory, who got no update, to the hub's address.
		{"to the status address", "status@example.test"},
		// to the incident's reply address, which every recipient knows.
		{"to the reply address", "status+" + inc.ReplyToken + "@example.test"},
		// ana, who saw her own transaction's bounce address, names ben.
		{"to another transaction's bounce address", anaFrom},
		// a made-up token.
		{"to a guessed bounce address", strings.Replace(benFrom, benFrom[len(benFrom)-len("aaaaaaaaaaaaaaaa@example.test"):], "aaaaaaaaaaaaaaaa@example.test", 1)},
	} {
		h.send("mallory", []string{forged.to}, dsn(forged.to, "ben@example.test", messageID))
		h.waitActed(i + 1)
		in := h.last()
		if in.Class != "bounce" || in.State != mailmsg.StateProcessed || in.Incident != inc.Ref ||
			!strings.Contains(in.Action, "unverified bounce") || !strings.Contains(in.Action, "leads told") {
			t.Errorf("%s: %+v", forged.name, in)
		}
		if s := h.deliveryState("ben@example.test"); s != "sent" {
			t.Fatalf("%s: ben's delivery is %s, must stay sent", forged.name, s)
		}
		if n := h.count(`SELECT COUNT(*) FROM address_status WHERE email = 'ben@example.test'`); n != 0 {
			t.Fatalf("%s: ben must not be marked bouncing", forged.name)
		}
	}
	if n := h.messagesOfKind(compose.KindBounceNotice); n != 0 {
		t.Errorf("%d bounce notices for forged bounces", n)
	}
	// Both leads hear of each, as of a refused command.
	for _, lead := range []string{"vp", "lead"} {
		got := h.mailOf(lead, 4)
		for _, raw := range got {
			if !strings.Contains(bodyOf(raw), "Unverified bounce for ben@example.test") || !strings.Contains(bodyOf(raw), "changed no delivery") {
				t.Errorf("%s: %q\n%s", lead, subjectOf(raw), bodyOf(raw))
			}
		}
	}
	// ben still gets the next update.
	res := h.update(inc, "Second update.")
	var state string
	h.db.QueryRow(`SELECT state FROM delivery_states WHERE message_id = $1 AND email = 'ben@example.test'`, res.ID).Scan(&state)
	if state != "sent" {
		t.Errorf("ben on the next update: %s", state)
	}
}

// A real bounce: Postfix takes the update for a mailbox Dovecot no
// longer has, Dovecot refuses it at delivery, and Postfix returns a DSN to
// the transaction's envelope sender (status+b-…@, plus-addressed into the
// hub's INBOX). It fails the delivery, marks the address bouncing, and
// tells the comms lead.
func TestRealPostfixBounceFailsTheDelivery(t *testing.T) {
	t.Parallel()
	h := newHubWithGhost(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Payments fail for EU customers.")
	h.run(h.ingester(""))
	h.eventually(60*time.Second, func() (bool, string) {
		s := h.deliveryState("ghost@example.test")
		return s == "failed", "ghost's delivery is " + s + "\n" + h.ms.LogTail()
	})
	in := h.last()
	if in.Class != "bounce" || in.Incident != inc.Ref || !strings.Contains(in.Action, "marked bouncing: ghost@example.test") {
		t.Fatalf("the bounce: %+v", in)
	}
	if n := h.count(`SELECT COUNT(*) FROM address_status WHERE email = 'ghost@example.test' AND bouncing`); n != 1 {
		t.Error("ghost must be marked bouncing")
	}
	if s := h.deliveryState("ben@example.test"); s != "sent" {
		t.Errorf("ben's delivery is %s", s)
	}
	got := h.mailOf("vp", 1)
	if subjectOf(got[0]) != "[INC-1] For the leads: Checkout unavailable" || !strings.Contains(bodyOf(got[0]), "Bounce: update 1 did not reach ghost@example.test (Executives)") {
		t.Errorf("the comms lead must hear which address bounced: %q\n%s", subjectOf(got[0]), bodyOf(got[0]))
	}
}

// Mail to a bounce address that is not a bounce (an answer to the
// envelope sender, as some clients and every vacation responder send) is
// still read from the same INBOX, but the bounce address is not an
// incident's reply address: a lead's command through it is refused, and
// the message is matched by its thread instead.
func TestBounceAddressIsNotAReplyAddress(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)
	h.answer(orig, reply{from: "lead", to: returnPath(t, orig), extra: trustedPass, body: "resolve"})
	h.waitActed(1)
	in := h.last()
	if in.Incident != inc.Ref || in.MatchedBy != mailmsg.MatchThread || !strings.Contains(in.Error, "not sent to INC-1's reply address") {
		t.Fatalf("a command to a bounce address: %+v", in)
	}
	if got, _ := h.incidents.Get(t.Context(), inc.Ref); got.State != inc.State {
		t.Errorf("the incident went from %s to %s", inc.State, got.State)
	}
}

// newHubWithGhost is newHub with ghost@example.test in the exec group and
// no mailbox: Dovecot refuses ghost's copy and Postfix bounces it.
func newHubWithGhost(t *testing.T) *hub {
	t.Helper()
	h := newHub(t, "ghost")
	org := strings.Replace(testOrg, "  - {email: mallory@example.test, name: Mallory}\n",
		"  - {email: mallory@example.test, name: Mallory}\n  - {email: ghost@example.test, name: Ghost}\n", 1)
	org = strings.Replace(org, "members: [ana@example.test, ben@example.test]", "members: [ana@example.test, ben@example.test, ghost@example.test]", 1)
	if _, err := h.dir.SyncFile(t.Context(), []byte(org), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := h.ms.DropMailbox("ghost"); err != nil {
		t.Fatal(err)
	}
	return h
}
