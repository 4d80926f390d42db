package doctor

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// stackDoctor is a doctor for the hub's route through a real Postfix and
// Dovecot: replies to status+<token>@example.test, read from status's INBOX.
func stackDoctor(t *testing.T, ms *testenv.MailStack, ns *testenv.DNSServer) *Doctor {
	t.Helper()
	server := func(addr string) Server {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		return Server{Host: host, Port: p, TLS: "none"}
	}
	imapSrv := server(ms.IMAPAddr)
	imapSrv.Username, imapSrv.Password = ms.Address("status"), ms.Password("status")
	d := &Doctor{
		Mail: Mail{Domain: "example.test", From: "status@example.test", EnvelopeFrom: "status+b-0-doctorcheck@example.test", ReplyLocalPart: "status", HELO: "sitrep.example.test",
			SMTP: server(ms.SMTPAddr), IMAP: imapSrv, Mailbox: "INBOX"},
		ProbeTimeout: 15 * time.Second, Timeout: 10 * time.Second,
		DB: storetest.Open(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if ns != nil {
		d.Resolver = ns.Resolver()
	}
	return d
}

func want(t *testing.T, r *Report, name string, status Status, detail ...string) Result {
	t.Helper()
	res, ok := r.Find(name)
	if !ok {
		t.Fatalf("no check %q in %+v", name, r.Results)
	}
	if res.Status != status {
		t.Errorf("%s: %s (%s; fix: %s), want %s", name, res.Status, res.Detail, res.Fix, status)
	}
	for _, d := range detail {
		if !strings.Contains(res.Detail+" fix: "+res.Fix, d) {
			t.Errorf("%s: want %q in %q (fix %q)", name, d, res.Detail, res.Fix)
		}
	}
	return res
}

// TestRealStackGoodRoute: with a correct route the probe travels Postfix →
// Dovecot into the ingest mailbox and is recognised; nothing fails, and
// the probe is gone from the mailbox afterwards.
func TestRealStackGoodRoute(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "status", "ana")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	ns := testenv.StartDNS(t,
		"example.test. 300 IN MX 10 mx.example.test.",
		"mx.example.test. 300 IN A 127.0.0.1",
		`example.test. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`,
		`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject; adkim=s"`,
		`s1._domainkey.example.test. 300 IN TXT "`+DKIMRecord(key)+`"`)
	d := stackDoctor(t, ms, ns)
	d.Mail.DKIM = DKIM{Domain: "example.test", Selector: "s1", Key: key}
	r := d.Run(context.Background())
	for _, res := range r.Results {
		t.Logf("%-4s %-14s %s", res.Status, res.Name, res.Detail)
	}
	if r.Failed() {
		t.Errorf("a correct route: %d checks failed", r.Count(Fail))
	}
	want(t, r, "SMTP envelope", OK, "MAIL FROM:<status+b-0-doctorcheck@example.test>", "status+probe-rcptcheck@example.test", "nothing sent")
	want(t, r, "IMAP mailbox", OK)
	want(t, r, "loop", OK, "arrived in INBOX", "recognised as a probe")
	want(t, r, "migrations", OK, "up to date")
	want(t, r, "DNS MX", OK, "mx.example.test")
	// The relay is on loopback: what receivers check cannot be seen from here.
	want(t, r, "DNS SPF", Warn, "private address")
	want(t, r, "DNS DKIM", OK, "s1._domainkey.example.test")
	want(t, r, "DNS DMARC", OK, "p=reject", "aligns")
	raws, err := ms.Messages(context.Background(), "status")
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 0 {
		t.Errorf("the probe must be removed from the mailbox, %d message(s) left", len(raws))
	}
}

// TestRealStackPlusAddressRefusedByRelay: Postfix without
// recipient_delimiter refuses status+<token>@ at RCPT; the envelope check
// names plus-addressing, and the loop fails on the same refusal.
func TestRealStackPlusAddressRefusedByRelay(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{PlusAddressingOff: "relay"}, "status")
	d := stackDoctor(t, ms, nil)
	r := d.Run(context.Background())
	if !r.Failed() {
		t.Fatal("a broken plus-address route must fail")
	}
	want(t, r, "SMTP envelope", Fail, "refuses the plus address", "recipient_delimiter")
	want(t, r, "loop", Skip)
}

// TestRealStackPlusAddressLostAtMailbox: Postfix accepts status+<token>@
// but Dovecot has no recipient_delimiter, so LMTP refuses it and the probe
// never reaches the mailbox: only the loop can see that, and it says the
// probe bounced and why.
func TestRealStackPlusAddressLostAtMailbox(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{PlusAddressingOff: "mailbox"}, "status")
	d := stackDoctor(t, ms, nil)
	d.ProbeTimeout = 8 * time.Second
	r := d.Run(context.Background())
	want(t, r, "SMTP envelope", OK)
	// Postfix returns the refused probe to the From address, status@,
	// whose mailbox is the one read: the doctor quotes Dovecot's refusal.
	want(t, r, "loop", Fail, "did not arrive in INBOX within 8s", "it bounced", "User doesn't exist", "plus-addressing", "recipient_delimiter")
	if !r.Failed() {
		t.Error("the report must fail")
	}
}

// TestWrongMailboxPasswordAndFolder: a refused login and a missing
// mailbox are each named with their key.
func TestWrongMailboxPasswordAndFolder(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "status")
	d := stackDoctor(t, ms, nil)
	d.NoProbe = true
	d.Mail.IMAP.Password = "wrong"
	r := d.Run(context.Background())
	want(t, r, "IMAP AUTH", Fail, "login as status@example.test refused", "mail.imap.password")
	want(t, r, "IMAP mailbox", Skip)

	d = stackDoctor(t, ms, nil)
	d.NoProbe = true
	d.Mail.Mailbox = "Replies"
	r = d.Run(context.Background())
	want(t, r, "IMAP mailbox", Fail, "cannot open Replies", "INBOX")

	d = stackDoctor(t, ms, nil)
	d.NoProbe = true
	d.Mail.SMTP.Username, d.Mail.SMTP.Password = "status@example.test", "secret"
	r = d.Run(context.Background())
	want(t, r, "SMTP AUTH", Fail, "offers no AUTH")
}
