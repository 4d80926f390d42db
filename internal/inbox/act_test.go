package inbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// setup: a hub with its worker and ingester running, an incident, and
// the first update as ana received it.
func setup(t *testing.T) (*hub, *incident.Incident, []byte) {
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Payments fail for EU customers.")
	orig := h.mailOf("ana", 1)[0]
	h.run(h.ingester(""))
	return h, inc, orig
}

func (h *hub) inbound(id int64) *mailmsg.Inbound {
	h.t.Helper()
	in, err := h.store.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return in
}

// last returns the newest stored inbound message.
func (h *hub) last() *mailmsg.Inbound {
	h.t.Helper()
	var id int64
	if err := h.db.QueryRow(`SELECT MAX(id) FROM inbound_messages`).Scan(&id); err != nil {
		h.t.Fatal(err)
	}
	return h.inbound(id)
}

const trustedPass = "Authentication-Results: " + trustedMX + "; dmarc=pass (p=reject) header.from=example.test\r\n"

func TestLeadActsByReply(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)

	// An update by reply, with its next-update time.
	before := time.Now()
	h.answer(orig, reply{from: "lead", extra: trustedPass, body: "Failover complete; payments are recovering.\nnext: 45m"})
	h.waitActed(1)
	if in := h.last(); in.State != mailmsg.StateProcessed || in.Error != "" || !strings.Contains(in.Action, "status update sent") {
		t.Fatalf("update by reply: %+v", in)
	}
	var status string
	var next time.Time
	if err := h.db.QueryRow(`SELECT render_data, next_update_at FROM messages WHERE kind = 'status' ORDER BY id DESC LIMIT 1`).Scan(&status, &next); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "Failover complete; payments are recovering.") || strings.Contains(status, "next: 45m") {
		t.Errorf("the update must be the reply's text without the next line: %s", status)
	}
	// 45 minutes from when it was sent, rounded up to the minute.
	if d := next.Sub(before); d < 45*time.Minute-time.Second || d > 47*time.Minute {
		t.Errorf("next update in %s, want 45m rounded up to the minute", d)
	}
	// ana gets it as the second update of the thread.
	got := h.mailOf("ana", 2)
	if !strings.Contains(bodyOf(got[1]), "Failover complete") {
		t.Errorf("ana's second message: %s", bodyOf(got[1]))
	}

	// hold 30m from the comms lead: a holding update.
	h.answer(orig, reply{from: "vp", extra: trustedPass, body: "hold 30m"})
	h.waitActed(2)
	var holding string
	h.db.QueryRow(`SELECT render_data FROM messages WHERE kind = 'status' ORDER BY id DESC LIMIT 1`).Scan(&holding)
	if n := h.messagesOfKind(compose.KindStatus); n != 3 || !strings.Contains(holding, `"Holding":true`) {
		t.Errorf("want a third, holding update; %d status messages, last %s", n, holding)
	}

	// resolve: the incident is resolved.
	h.answer(orig, reply{from: "lead", extra: trustedPass, body: "resolve: the payment provider's certificate had expired"})
	h.waitActed(3)
	inc, _ = h.incidents.Get(context.Background(), inc.Ref)
	if inc.State != incident.Resolved {
		t.Errorf("resolve by reply: state %s, last %+v", inc.State, h.last())
	}
	if ev := h.replyEvents(inc); len(ev) != 3 {
		t.Errorf("each command is on the timeline once: %v", ev)
	}
	if n := h.messagesOfKind(compose.KindCommandRefused); n != 0 {
		t.Errorf("nothing was refused, but %d refusals were sent", n)
	}
}

func TestSpoofedCommandsAreRefusedAndReported(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)
	cases := []struct {
		name  string
		r     reply
		cause string
	}{
		{"right token, wrong sender", reply{from: "mallory", extra: strings.ReplaceAll(trustedPass, "example.test;", "example.test;"), body: "hold 2h"}, "not a lead"},
		{"right sender, failed DMARC", reply{from: "lead", extra: "Authentication-Results: " + trustedMX + "; dmarc=fail header.from=example.test; dkim=fail header.d=example.test\r\n", body: "resolve"}, "could not be authenticated"},
		{"right sender, untrusted authserv-id", reply{from: "lead", extra: "Authentication-Results: evil.example; dmarc=pass header.from=example.test\r\n", body: "All fixed, nothing to see."}, "could not be authenticated"},
		{"right sender, no reply token", reply{from: "lead", extra: trustedPass, to: "status@example.test", body: "hold 1h"}, "reply address"},
	}
	for i, c := range cases {
		h.answer(orig, c.r)
		h.waitActed(i + 1)
		in := h.last()
		if in.State != mailmsg.StateProcessed || !strings.Contains(in.Error, "command refused") || !strings.Contains(in.Error, c.cause) {
			t.Errorf("%s: want refused because %q, got %+v", c.name, c.cause, in)
		}
	}
	if n := h.messagesOfKind(compose.KindStatus); n != 1 {
		t.Errorf("no spoofed command may send an update: %d status messages", n)
	}
	inc, _ = h.incidents.Get(context.Background(), inc.Ref)
	if inc.State != incident.Investigating {
		t.Errorf("state %s", inc.State)
	}
	if ev := h.replyEvents(inc); len(ev) != len(cases) {
		t.Errorf("each refused command is filed as a reply: %v", ev)
	}
	// The leads are told why, by mail.
	if n := h.messagesOfKind(compose.KindCommandRefused); n != len(cases) {
		t.Fatalf("want %d refusals, got %d", len(cases), n)
	}
	got := h.mailOf("lead", len(cases))
	body := bodyOf(got[0])
	if !strings.Contains(body, "mallory@example.test") || !strings.Contains(body, "not a lead") {
		t.Errorf("the refusal must say who and why:\n%s", body)
	}
	h.mailOf("vp", len(cases))
	if n := len(h.mailOf("mallory", 0)); n != 0 {
		t.Errorf("the spoofer must get nothing, got %d", n)
	}
}

func TestAutoReplyFloodSendsNothing(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)
	h.eventually(10*time.Second, func() (bool, string) {
		n := h.count(`SELECT COUNT(*) FROM messages`)
		return n == 2, fmt.Sprint(n) // heads-up and update
	})
	const n = 40
	var raws [][]byte
	for i := range n {
		extra := "Auto-Submitted: auto-replied\r\n"
		subject := ""
		if i%2 == 1 {
			extra, subject = "X-Autoreply: yes\r\nPrecedence: auto_reply\r\n", "Out of Office: Re: [INC-1] Checkout unavailable"
		}
		raws = append(raws, h.compose(orig, reply{from: "ana", extra: extra, subject: subject, body: fmt.Sprintf("I am away until Monday (%d).", i)}))
	}
	h.appendRaw("INBOX", raws...)
	h.waitActed(n)
	time.Sleep(300 * time.Millisecond)
	if got := h.count(`SELECT COUNT(*) FROM messages`); got != 2 {
		t.Errorf("a flood of auto-replies must send nothing: %d messages", got)
	}
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages WHERE class = 'auto_reply' AND incident_id = $1`, inc.ID); got != n {
		t.Errorf("want %d auto-replies recorded on the incident, got %d", n, got)
	}
	if ev := h.replyEvents(inc); len(ev) != 0 {
		t.Errorf("auto-replies are not answers: %v", ev)
	}
}

// dsn is a Postfix-style delivery status notification (RFC 3464) with
// the returned headers only (text/rfc822-headers), addressed to to.
func dsn(to, rcpt, messageID string) []byte {
	return []byte(strings.ReplaceAll(`From: MAILER-DAEMON@mx.remote.example (Mail Delivery System)
To: `+to+`
Subject: Undelivered Mail Returned to Sender
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <bounce.`+fmt.Sprint(time.Now().UnixNano())+`@mx.remote.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example

Final-Recipient: rfc822; `+rcpt+`
Original-Recipient: rfc822;`+rcpt+`
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <`+rcpt+`>: Recipient address rejected: User unknown

--BB
Content-Type: text/rfc822-headers

From: sitrep <status@example.test>
Subject: [INC-1] Checkout unavailable
Message-ID: `+messageID+`

--BB--
`, "\n", "\r\n"))
}

func TestBounceFailsTheDeliveryAndTellsTheCommsLead(t *testing.T) {
	t.Parallel()
	h, inc, _ := setup(t)
	var msgRow int64
	var messageID string
	h.db.QueryRow(`SELECT id, message_id FROM messages WHERE kind = 'status'`).Scan(&msgRow, &messageID)
	// ben's server bounces to the envelope sender of ben's transaction.
	h.send("mallory", []string{returnPath(t, h.mailOf("ben", 1)[0])}, dsn(returnPath(t, h.mailOf("ben", 1)[0]), "ben@example.test", messageID))
	h.waitActed(1)
	in := h.last()
	if in.Class != "bounce" || in.Incident != inc.Ref || !strings.Contains(in.Action, "ben@example.test") {
		t.Fatalf("bounce: %+v", in)
	}
	var state, lastErr string
	h.db.QueryRow(`SELECT state, last_error FROM delivery_states WHERE message_id = $1 AND email = 'ben@example.test'`, msgRow).Scan(&state, &lastErr)
	if state != "failed" || !strings.Contains(lastErr, "5.1.1") {
		t.Errorf("ben's delivery: %s %q", state, lastErr)
	}
	var bouncing bool
	h.db.QueryRow(`SELECT bouncing FROM address_status WHERE email = 'ben@example.test'`).Scan(&bouncing)
	if !bouncing {
		t.Error("ben must be marked bouncing")
	}
	h.db.QueryRow(`SELECT state FROM delivery_states WHERE message_id = $1 AND email = 'ana@example.test'`, msgRow).Scan(&state)
	if state != "sent" {
		t.Errorf("ana's delivery must stay sent, is %s", state)
	}
	got := h.mailOf("vp", 1)
	if !strings.Contains(bodyOf(got[0]), "ben@example.test") {
		t.Errorf("the comms lead must hear of the bounce:\n%s", bodyOf(got[0]))
	}
	// The next update skips ben.
	res := h.update(inc, "Second update.")
	var skipped string
	h.db.QueryRow(`SELECT state FROM delivery_states WHERE message_id = $1 AND email = 'ben@example.test'`, res.ID).Scan(&skipped)
	if skipped != "skipped" {
		t.Errorf("ben on the next update: %s", skipped)
	}
	// A forged report for an address the message never went to changes nothing.
	h.appendRaw("INBOX", dsn(returnPath(t, h.mailOf("ben", 1)[0]), "vp@example.test", messageID))
	h.waitActed(2)
	if n := h.count(`SELECT COUNT(*) FROM address_status WHERE email = 'vp@example.test'`); n != 0 {
		t.Error("a bounce for a non-recipient must not mark the address bouncing")
	}
}

func TestTriageAndCalendarReplies(t *testing.T) {
	t.Parallel()
	h, inc, orig := setup(t)
	var hooked [][]byte
	h.replies.Invitations = invitations(func(ics []byte) error {
		hooked = append(hooked, ics)
		return nil
	})
	// Matched by nothing: to the bare address, no thread, no reference.
	h.answer(orig, reply{from: "ben", to: "status@example.test", subject: "Is the shop down?", noThreadID: true, body: "Customers say they cannot pay."})
	h.waitActed(1)
	in := h.last()
	if in.State != mailmsg.StateTriage || in.Incident != "" {
		t.Fatalf("unmatched mail goes to triage: %+v", in)
	}
	list, _ := h.store.Triage(context.Background(), 0)
	if len(list) != 1 || list[0].ID != in.ID {
		t.Fatalf("triage list %+v", list)
	}
	if _, err := h.replies.File(context.Background(), in.ID, inc.Ref, "vp@example.test"); err != nil {
		t.Fatal(err)
	}
	if ev := h.replyEvents(inc); ev[float64(in.ID)] != 1 {
		t.Errorf("assigned message on the timeline: %v", ev)
	}
	if _, err := h.replies.File(context.Background(), in.ID, inc.Ref, "vp@example.test"); err == nil {
		t.Error("assigning twice must fail")
	}

	// Matched by the subject alone.
	h.answer(orig, reply{from: "ben", to: "status@example.test", subject: "Re: [INC-1] Checkout unavailable", noThreadID: true, body: "Thanks."})
	h.waitActed(2)
	if in := h.last(); in.Incident != inc.Ref || in.MatchedBy != mailmsg.MatchSubject {
		t.Errorf("subject match: %+v", in)
	}

	// A calendar reply is stored and handed to the hook.
	cal := strings.ReplaceAll(`From: Ana <ana@example.test>
To: status+`+inc.ReplyToken+`@example.test
Subject: Accepted: Post-mortem INC-1
Message-ID: <cal1@client.example.test>
MIME-Version: 1.0
Content-Type: text/calendar; method=REPLY; charset=utf-8

BEGIN:VCALENDAR
METHOD:REPLY
PRODID:-//test//EN
VERSION:2.0
BEGIN:VEVENT
UID:pm-1@example.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ana@example.test
DTSTAMP:20240101T100000Z
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	h.appendRaw("INBOX", []byte(cal))
	h.waitActed(3)
	if in := h.last(); in.Class != "calendar_reply" || in.Incident != inc.Ref || len(hooked) != 1 || !strings.Contains(string(hooked[0]), "PARTSTAT=ACCEPTED:mailto:ana@example.test") {
		t.Errorf("calendar reply %+v, the invitations saw %q", in, hooked)
	}
}

func TestBadInputIsRecordedNotFatal(t *testing.T) {
	t.Parallel()
	h, inc, _ := setup(t)
	to := "status+" + inc.ReplyToken + "@example.test"
	head := "From: Ana <ana@example.test>\r\nTo: " + to + "\r\nSubject: Re: [INC-1] Checkout unavailable\r\n"
	big := make([]byte, 25<<20)
	for i := range big {
		big[i] = 'A' + byte(i%26)
		if i%77 == 76 {
			big[i] = '\n'
		}
	}
	msgs := map[string][]byte{
		"malformed": []byte(head + "Message-ID: <bad1@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"nope\r\n\r\n--nope\r\nContent-Type: text/plain; charset=klingon\r\n\r\nbroken but readable\r\n"),
		"huge":      append([]byte(head+"Message-ID: <big1@x>\r\nContent-Type: text/plain\r\n\r\n"), big...),
		"html":      []byte(head + "Message-ID: <html1@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>Is it <b>fixed</b>?</p><script>alert(1)</script><img src=x onerror=alert(2)>\r\n"),
		"nobody":    []byte(head + "Message-ID: <empty1@x>\r\n\r\n"),
		"noheader":  []byte("\r\n\r\njust a body\r\n"),
	}
	for _, name := range []string{"malformed", "huge", "html", "nobody", "noheader"} {
		h.appendRaw("INBOX", msgs[name])
	}
	h.waitActed(len(msgs))
	byMID := map[string]*mailmsg.Inbound{}
	ids := map[string]int64{}
	rows, _ := h.db.Query(`SELECT id, message_id FROM inbound_messages`)
	for rows.Next() {
		var id int64
		var mid string
		rows.Scan(&id, &mid)
		ids[mid] = id
	}
	rows.Close() // SQLite has one connection: read the rows before the next query
	for mid, id := range ids {
		byMID[mid] = h.inbound(id)
	}
	if in := byMID["bad1@x"]; in == nil || in.State != mailmsg.StateProcessed || !strings.Contains(in.Text, "broken but readable") {
		t.Errorf("malformed: %+v", in)
	}
	if in := byMID["big1@x"]; in == nil || in.State != mailmsg.StateRejected || !in.Truncated || in.Size < 25<<20 || !strings.Contains(in.Error, "over the limit") {
		t.Errorf("huge: %+v", in)
	} else {
		var stored int
		h.db.QueryRow(`SELECT LENGTH(raw) FROM inbound_messages WHERE id = $1`, in.ID).Scan(&stored)
		if stored != 1<<20 {
			t.Errorf("huge: stored %d bytes, want the 1 MiB cap", stored)
		}
	}
	if in := byMID["html1@x"]; in == nil || !strings.Contains(in.Text, "fixed") || strings.Contains(in.Text, "<script") || strings.Contains(in.Text, "alert") || strings.Contains(in.Text, "<") {
		t.Errorf("html: the text must be plain, without the script: %+v", in)
	}
	if in := byMID["empty1@x"]; in == nil || in.State != mailmsg.StateProcessed || in.Text != "" {
		t.Errorf("no body: %+v", in)
	}
	if in := byMID[""]; in == nil || in.State != mailmsg.StateRejected || in.Error == "" {
		t.Errorf("no header: %+v", in)
	}
	// An empty reply is not forwarded: only the malformed and the HTML one are.
	h.eventually(10*time.Second, func() (bool, string) {
		n := h.messagesOfKind(compose.KindStakeholderReply)
		return n == 2, fmt.Sprint(n)
	})
}

// TestProbeIsFiledNotActedOn: sitrep doctor's probe lands in the ingest
// mailbox and is recorded as a probe: not triage, not a reply, nothing sent.
func TestProbeIsFiledNotActedOn(t *testing.T) {
	t.Parallel()
	h, _, _ := setup(t)
	h.eventually(10*time.Second, func() (bool, string) {
		n := h.count(`SELECT COUNT(*) FROM messages`)
		return n == 2, fmt.Sprint(n)
	})
	probe := "From: sitrep <status@example.test>\r\nTo: <status+probe-q7c2m@example.test>\r\nSubject: sitrep doctor probe q7c2m\r\n" +
		"Message-ID: <probe-q7c2m@example.test>\r\nAuto-Submitted: auto-generated\r\nX-Sitrep-Probe: q7c2m\r\n\r\nA route probe.\r\n"
	h.appendRaw("INBOX", []byte(probe))
	h.waitActed(1)
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages WHERE class = 'probe' AND state = 'processed' AND incident_id IS NULL`); got != 1 {
		t.Errorf("want the probe processed as a probe, got %d such rows", got)
	}
	if got := h.count(`SELECT COUNT(*) FROM messages`); got != 2 {
		t.Errorf("a probe must send nothing: %d messages", got)
	}
}
