package outbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// received is one message as a recipient's mail client reads it.
type received struct {
	header mail.Header
	text   string
}

func parseReceived(t *testing.T, raw []byte) received {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !gomessage.IsUnknownCharset(err) {
		t.Fatalf("parse: %v", err)
	}
	out := received{header: r.Header}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			ct, _, _ := h.ContentType()
			if ct == "text/plain" {
				b, _ := io.ReadAll(p.Body)
				out.text = string(b)
			}
		}
	}
	return out
}

func msgID(t *testing.T, h mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return ids
}

// TestUpdatesOverRealPostfixAndDovecot: declare, heads-up to responders,
// three status updates to stakeholders; every recipient has exactly one
// copy of each, in one thread per audience, with the next update in
// their own time zone.
func TestUpdatesOverRealPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	people := []string{"vp", "lead", "ana", "ben", "cy", "r1", "r2", "backup"}
	ms := testenv.StartMailStack(t, people...)
	org := orgYAML("example.test", people,
		map[string]string{"ana": "America/New_York", "ben": "Europe/Berlin", "r1": "Asia/Kolkata"},
		map[string][]string{"exec": {"ana", "cy"}, "cs": {"ben", "cy"}}, []string{"r1", "r2"})
	h := newHarness(t, ms.SMTPAddr, org, true)
	ctx := context.Background()
	inc := h.declare(t, "checkout")

	var statuses []string
	for i := 1; i <= 3; i++ {
		status := fmt.Sprintf("Update %d: failover of the payment provider in progress.", i)
		statuses = append(statuses, status)
		res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: status, Next: "30m", Groups: []string{"exec", "cs"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Recipients != 3 {
			t.Fatalf("exec and cs share cy: want 3 recipients, got %d", res.Recipients)
		}
		h.clock.Add(7 * time.Minute)
	}
	msgs := h.waitDelivered(t, inc)
	if len(msgs) != 4 {
		t.Fatalf("want a heads-up and 3 updates, got %d messages", len(msgs))
	}

	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// Responders: the heads-up only, in its own thread.
	for _, r := range []string{"r1", "r2"} {
		raws, err := ms.WaitForMessages(wait, r, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(raws) != 1 {
			t.Fatalf("%s: want exactly the heads-up, got %d messages", r, len(raws))
		}
		m := parseReceived(t, raws[0])
		subj, _ := m.header.Subject()
		if m.header.Get("Auto-Submitted") != "auto-generated" {
			t.Errorf("%s heads-up: Auto-Submitted %q", r, m.header.Get("Auto-Submitted"))
		}
		if subj != "[INC-1] Heads-up: Checkout unavailable" || !strings.Contains(m.text, "near a computer") {
			t.Errorf("%s heads-up: subject %q text %q", r, subj, m.text)
		}
	}
	// Stakeholders: three updates each, one thread, their own zone.
	zones := map[string]string{"ana": "America/New_York", "ben": "Europe/Berlin", "cy": "UTC"}
	var idsByUser = map[string][]string{}
	for _, user := range []string{"ana", "ben", "cy"} {
		raws, err := ms.WaitForMessages(wait, user, 3)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if raws, _ = ms.Messages(wait, user); len(raws) != 3 {
			t.Fatalf("%s: want exactly 3 copies, got %d", user, len(raws))
		}
		// Mail clients order a thread by Date; the updates went out minutes apart.
		var parsed []received
		for _, raw := range raws {
			parsed = append(parsed, parseReceived(t, raw))
		}
		sort.Slice(parsed, func(i, j int) bool {
			a, _ := parsed[i].header.Date()
			b, _ := parsed[j].header.Date()
			return a.Before(b)
		})
		var prev []string
		for i, m := range parsed {
			subj, _ := m.header.Subject()
			if subj != "[INC-1] Checkout unavailable" {
				t.Errorf("%s #%d subject %q: must be the same on every update", user, i, subj)
			}
			ids := msgID(t, m.header, "Message-Id")
			if len(ids) != 1 || !strings.HasSuffix(ids[0], "@sitrep.test") {
				t.Fatalf("%s #%d Message-ID %v", user, i, ids)
			}
			idsByUser[user] = append(idsByUser[user], ids[0])
			inReplyTo := msgID(t, m.header, "In-Reply-To")
			refs := msgID(t, m.header, "References")
			if i == 0 && (len(inReplyTo) != 0 || len(refs) != 0) {
				t.Errorf("%s: the first update starts the thread, got In-Reply-To %v References %v", user, inReplyTo, refs)
			}
			if i > 0 && (len(inReplyTo) != 1 || inReplyTo[0] != prev[len(prev)-1] || strings.Join(refs, " ") != strings.Join(prev, " ")) {
				t.Errorf("%s #%d: In-Reply-To %v References %v, want the chain %v", user, i, inReplyTo, refs, prev)
			}
			prev = append(prev, ids[0])
			if lid := m.header.Get("List-Id"); !strings.Contains(lid, "<inc-1.stakeholders.sitrep.test>") {
				t.Errorf("List-Id %q", lid)
			}
			if rt, err := m.header.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "status+"+inc.ReplyToken+"@sitrep.test" {
				t.Errorf("Reply-To %v %v", rt, err)
			}
			if to := m.header.Get("To"); strings.Contains(to, "@") || !strings.HasSuffix(to, ":;") {
				t.Errorf("To %q must name the group, not its members", to)
			}
			// RFC 3834 5: out-of-office responders stay quiet on status emails.
			if m.header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(m.header.Get("X-Auto-Response-Suppress"), "OOF") {
				t.Errorf("%s #%d: Auto-Submitted %q, X-Auto-Response-Suppress %q", user, i, m.header.Get("Auto-Submitted"), m.header.Get("X-Auto-Response-Suppress"))
			}
			if m.header.Get("Thread-Topic") == "" || m.header.Get("Thread-Index") == "" {
				t.Errorf("Outlook threading headers missing")
			}
			if !strings.Contains(m.text, statuses[i]) {
				t.Errorf("%s #%d text lacks the status", user, i)
			}
			// The promise, in the recipient's zone and in UTC.
			sentAt := msgs[i+1].CreatedAt
			next := *msgs[i+1].NextUpdateAt // on a whole minute, never less than the 30 asked
			if ahead := next.Sub(sentAt); ahead < 30*time.Minute-time.Second || ahead > 31*time.Minute || next.Second() != 0 {
				t.Errorf("update %d promised %s for %s: want 30 minutes ahead, rounded up to the minute", i+1, next, sentAt)
			}
			loc, _ := time.LoadLocation(zones[user])
			clock := next.In(loc).Format("15:04")
			if next.In(loc).YearDay() != sentAt.In(loc).YearDay() {
				clock = next.In(loc).Format("Mon 2 Jan 15:04") // another day where they are
			}
			want := "Next update by " + clock
			if zones[user] != "UTC" {
				want += " " + next.In(loc).Format("MST") + " (" + next.UTC().Format("15:04") + " UTC)"
			}
			if !strings.Contains(m.text, want) {
				t.Errorf("%s #%d: want %q in\n%s", user, i, want, m.text)
			}
		}
	}
	// One update is one Message-ID for all its recipients.
	for i := 0; i < 3; i++ {
		if idsByUser["ana"][i] != idsByUser["ben"][i] || idsByUser["ben"][i] != idsByUser["cy"][i] {
			t.Errorf("update %d has different Message-IDs per recipient: %v", i, idsByUser)
		}
	}
	inc, _ = h.incidents.Get(ctx, inc.Ref)
	if inc.Promise.Promised != 2 || inc.Promise.Kept != 2 {
		t.Errorf("two promises made and kept, got %+v", inc.Promise)
	}
}
