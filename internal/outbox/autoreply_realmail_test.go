package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// stripRelay is an SMTP hop between sitrep and Postfix that passes each
// transaction on unchanged except for the headers it strips: what the
// hub's email looked like before it said it was automatic.
type stripRelay struct {
	next  string
	strip []string
}

func (r *stripRelay) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &stripSession{r: r}, nil
}

type stripSession struct {
	r    *stripRelay
	from string
	to   []string
}

func (s *stripSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *stripSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *stripSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return err
	}
	for _, k := range s.r.strip {
		h.Del(k)
	}
	var buf bytes.Buffer
	if err := textproto.WriteHeader(&buf, h); err != nil {
		return err
	}
	if _, err := io.Copy(&buf, br); err != nil {
		return err
	}
	// smtp.SendMail insists on STARTTLS; the stack's Postfix has none.
	c, err := smtp.Dial(s.r.next)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(s.from, s.to, &buf); err != nil {
		return err
	}
	return c.Quit()
}

func (s *stripSession) Reset()        { s.from, s.to = "", nil }
func (s *stripSession) Logout() error { return nil }

// startStripRelay relays to next, removing the headers named in strip.
func startStripRelay(t *testing.T, next string, strip ...string) string {
	t.Helper()
	srv := smtp.NewServer(&stripRelay{next: next, strip: strip})
	srv.Domain = "relay.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestOutOfOfficeAnswersOverRealMail: every recipient has a real
// out-of-office on (Dovecot Pigeonhole's Sieve vacation, RFC 5230); the
// hub sends a heads-up to responders, a status update to two groups and
// an overdue notice to the leads, and the test counts the out-of-office
// answers that reach the hub's own mailbox, per kind of email: "before"
// with Auto-Submitted and X-Auto-Response-Suppress stripped by a relay on
// the way, "after" as sent. Pigeonhole also stays silent on mail with a
// List-Id (RFC 2919), which every hub email carries, so the same pair is
// measured again with List-Id stripped too: an auto-responder that does
// not read List-Id answers every email "before", and none "after".
func TestOutOfOfficeAnswersOverRealMail(t *testing.T) {
	t.Parallel()
	const as, xars, listID = "Auto-Submitted", "X-Auto-Response-Suppress", "List-Id"
	kinds := []string{"heads-up", "status", "overdue"}
	// One recipient, one answer: r1 and r2; ana, ben and cy (cy in both
	// groups gets one copy); lead, backup and vp.
	recipients := map[string]int{"heads-up": 2, "status": 3, "overdue": 3}
	for _, c := range []struct {
		name           string
		before, after  []string // headers the relay strips
		wantBeforeEach bool
	}{
		{name: "as sent", before: []string{as, xars}, after: nil},
		{name: "List-Id stripped", before: []string{listID, as, xars}, after: []string{listID}, wantBeforeEach: true},
	} {
		// Each run has its own mail stack: the two cases go side by side.
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := outOfOfficeAnswers(t, c.before...)
			after := outOfOfficeAnswers(t, c.after...)
			for _, k := range kinds {
				t.Logf("%s: out-of-office answers to the %s: before %d, after %d (of %d recipients)", c.name, k, before[k], after[k], recipients[k])
				if after[k] != 0 {
					t.Errorf("%s: %s: %d out-of-office answers to mail marked Auto-Submitted", c.name, k, after[k])
				}
				// Without this the test would pass on a stack whose
				// vacation never answers anything.
				if c.wantBeforeEach && before[k] != recipients[k] {
					t.Errorf("%s: %s: want an out-of-office answer from each of %d recipients without the headers, got %d", c.name, k, recipients[k], before[k])
				}
			}
		})
	}
}

// outOfOfficeAnswers runs the flow on a fresh stack and returns the
// out-of-office answers in the hub's mailbox by kind of the email answered,
// with the named headers stripped from the hub's emails on the way.
func outOfOfficeAnswers(t *testing.T, strip ...string) map[string]int {
	t.Helper()
	const hub = "status@sitrep.test" // the harness's From, Reply-To and envelope sender
	people := []string{"vp", "lead", "ana", "ben", "cy", "r1", "r2", "backup"}
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{Vacation: people}, append(people, hub)...)
	// Both runs go through the relay, so the headers are the only difference.
	addr := startStripRelay(t, ms.SMTPAddr, strip...)
	org := orgYAML("example.test", people, nil, map[string][]string{"exec": {"ana", "cy"}, "cs": {"ben", "cy"}}, []string{"r1", "r2"})
	h := newHarness(t, addr, org, true)
	ctx := context.Background()
	inc := h.declare(t, "checkout") // heads-up to r1 and r2
	if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Failover in progress.", Next: "30m", Groups: []string{"exec", "cs"}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(40 * time.Minute) // past due and the grace: escalate to lead, backup and vp
	if n, err := h.comms.CheckPromises(ctx); err != nil || n != 1 {
		t.Fatalf("overdue notice: sent %d, %v", n, err)
	}
	h.waitDelivered(t, inc)

	// Which email each Message-Id is, from what the recipients received.
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	kindOf := map[string]string{}
	for _, user := range people { // one email each
		raws, err := ms.WaitForMessages(wait, user, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			m := parseReceived(t, raw)
			subj, _ := m.header.Subject()
			id, _ := m.header.MessageID()
			kind := "status"
			switch {
			case strings.Contains(subj, "Heads-up"):
				kind = "heads-up"
			case strings.Contains(subj, "For the leads: ") && strings.Contains(m.text, "OVERDUE since"):
				kind = "overdue"
			}
			kindOf[id] = kind
		}
	}
	// Pigeonhole sends its answer during the LMTP delivery, so it is in
	// Postfix by now; wait until the hub's mailbox stops growing.
	var raws [][]byte
	for last, still := -1, 0; still < 3; {
		time.Sleep(time.Second)
		var err error
		if raws, err = ms.Messages(wait, hub); err != nil {
			t.Fatal(err)
		}
		if len(raws) == last {
			still++
		} else {
			last, still = len(raws), 0
		}
	}
	got := map[string]int{}
	var unmatched []string
	for _, raw := range raws {
		m := parseReceived(t, raw)
		subj, _ := m.header.Subject()
		if !strings.Contains(subj, testenv.VacationSubject) {
			unmatched = append(unmatched, subj)
			continue
		}
		ids := msgID(t, m.header, "In-Reply-To")
		if len(ids) != 1 || kindOf[ids[0]] == "" {
			t.Errorf("an out-of-office answer to an unknown email: In-Reply-To %v", ids)
			continue
		}
		got[kindOf[ids[0]]]++
	}
	sort.Strings(unmatched)
	if len(unmatched) > 0 {
		t.Errorf("the hub's mailbox holds mail that is not an out-of-office answer: %q", unmatched)
	}
	return got
}
