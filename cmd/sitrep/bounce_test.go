package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/smtp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// forgedDSN is a delivery status notification (RFC 3464) as anyone can
// write it: it names an update's Message-ID and one of its recipients.
func forgedDSN(to, rcpt, messageID string) []byte {
	return []byte(strings.ReplaceAll(`From: Mail Delivery System <MAILER-DAEMON@attacker.example>
To: `+to+`
Subject: Undelivered Mail Returned to Sender
Date: `+time.Now().UTC().Format(time.RFC1123Z)+`
Message-ID: <dsn.`+fmt.Sprint(time.Now().UnixNano())+`@attacker.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: text/plain

Your message could not be delivered.

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.attacker.example

Final-Recipient: rfc822; `+rcpt+`
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <`+rcpt+`>: Recipient address rejected: User unknown

--BB
Content-Type: text/rfc822-headers

Subject: [INC-1] Checkout down
Message-ID: `+messageID+`

--BB--
`, "\n", "\r\n"))
}

// The forged-DSN reproduction of issue 14, with a plain SMTP client (no
// AUTH) against the embedded default: a DSN naming the update's
// Message-ID and a recipient, sent to the hub's address, changes no
// delivery and the leads hear of an unverified bounce. The same DSN sent
// back to the bounce address of that recipient's transaction fails the
// delivery: the check, not a broken bounce path, is what stops the forgery.
func TestForgedBounceFromAPlainSMTPClientChangesNothing(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	ctx := context.Background()
	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout")
	cli(t, e, "update", "INC-1", "--status", "Card payments fail in the EU; failing over.", "--next", "30m", "--to", "exec")
	g, _ := h.directory.Current().Group("exec")
	victim := strings.ToLower(g.Members[0])
	copyOf := string(waitMail(t, h.sandbox, victim, "[INC-1] Checkout down").Raw)
	m, err := mail.ReadMessage(strings.NewReader(copyOf))
	if err != nil {
		t.Fatal(err)
	}
	messageID := m.Header.Get("Message-ID")

	db := h.db
	var msgRow, deliveryID int64
	var state string
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := db.QueryRowContext(ctx, `SELECT d.message_id, d.id, d.state FROM delivery_states d JOIN messages m ON m.id = d.message_id
WHERE m.message_id = $1 AND d.email = $2`, messageID, victim).Scan(&msgRow, &deliveryID, &state)
		if err == nil && state == outbox.StateSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's delivery of %s: %s %v", victim, messageID, state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	inc, err := h.incidents.Get(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	domain := h.cfg.Mail.Domain
	status := h.cfg.Mail.ReplyLocalPart + "@" + domain

	send := func(to string) {
		t.Helper()
		if err := smtp.SendMail(h.sandbox.SMTPAddr(), nil, "nobody@attacker.example", []string{to}, forgedDSN(to, victim, messageID)); err != nil {
			t.Fatal(err)
		}
	}
	acted := func(n int) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var total, waiting int
			db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN state = 'stored' THEN 1 END) FROM inbound_messages WHERE class = 'bounce' OR state = 'stored'`).Scan(&total, &waiting)
			if total >= n && waiting == 0 {
				var action string
				db.QueryRowContext(ctx, `SELECT action FROM inbound_messages ORDER BY id DESC LIMIT 1`).Scan(&action)
				return action
			}
			if time.Now().After(deadline) {
				t.Fatalf("the DSN was not acted on in 30s (%d stored, %d waiting)", total, waiting)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	deliveryState := func() string {
		db.QueryRowContext(ctx, `SELECT state FROM delivery_states WHERE message_id = $1 AND email = $2`, msgRow, victim).Scan(&state)
		return state
	}

	send(status)
	if action := acted(1); !strings.Contains(action, "unverified bounce") || !strings.Contains(action, "leads told") {
		t.Errorf("the forged DSN: %q", action)
	}
	if s := deliveryState(); s != outbox.StateSent {
		t.Fatalf("a forged DSN changed %s's delivery to %s", victim, s)
	}
	var bouncing int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM address_status WHERE email = $1`, victim).Scan(&bouncing)
	if bouncing != 0 {
		t.Fatalf("a forged DSN marked %s bouncing", victim)
	}
	for _, lead := range []string{inc.Roles.CommsLead, inc.Roles.IncidentLead} {
		if lead == "" {
			continue
		}
		if got := string(waitLeadsMail(t, h.sandbox, lead, "Unverified bounce for "+victim).Raw); !strings.Contains(got, "changed no delivery") {
			t.Errorf("%s's notice:\n%s", lead, got)
		}
	}

	// Control: the same report, returned to the bounce address of the
	// transaction that went to the victim, is believed.
	tag := ""
	rows, err := db.QueryContext(ctx, `SELECT token, deliveries FROM delivery_transactions WHERE message_id = $1`, msgRow)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var token, ids string
		rows.Scan(&token, &ids)
		var carried []int64
		json.Unmarshal([]byte(ids), &carried)
		if slices.Contains(carried, deliveryID) {
			tag = token
		}
	}
	rows.Close()
	if tag == "" {
		t.Fatalf("no transaction of message %d carried delivery %d", msgRow, deliveryID)
	}
	send(h.cfg.Mail.ReplyLocalPart + "+" + outbox.BounceTag + fmt.Sprint(msgRow) + "-" + tag + "@" + domain)
	if action := acted(2); !strings.Contains(action, "marked bouncing: "+victim) {
		t.Errorf("the DSN to the bounce address: %q", action)
	}
	if s := deliveryState(); s != outbox.StateFailed {
		t.Fatalf("a DSN to the bounce address left the delivery %s", s)
	}
}
