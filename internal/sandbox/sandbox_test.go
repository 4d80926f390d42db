package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

const (
	testDomain   = "sitrep.example"
	testPassword = "sandbox-pw"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startSandbox starts a sandbox on free loopback ports; it is closed when
// the test ends.
func startSandbox(t *testing.T, dataDir string, mutate ...func(*Config)) *Sandbox {
	t.Helper()
	cfg := Config{
		SMTPAddr: "127.0.0.1:0",
		IMAPAddr: "127.0.0.1:0",
		Domain:   testDomain,
		Password: testPassword,
		DataDir:  dataDir,
		Logger:   testLogger(t),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	sb, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := sb.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sb
}

func smtpPort(t *testing.T, sb *Sandbox) int {
	t.Helper()
	_, port, err := net.SplitHostPort(sb.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mailClient is a go-mail client as the hub configures one for the sandbox.
func mailClient(t *testing.T, sb *Sandbox, opts ...gomail.Option) *gomail.Client {
	t.Helper()
	opts = append([]gomail.Option{
		gomail.WithPort(smtpPort(t, sb)),
		gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithHELO("hub.test"),
		gomail.WithTimeout(10 * time.Second),
	}, opts...)
	c, err := gomail.NewClient("127.0.0.1", opts...)
	if err != nil {
		t.Fatalf("go-mail client: %v", err)
	}
	return c
}

// newMsg builds a message and returns it with the exact bytes go-mail will
// put on the wire.
func newMsg(t *testing.T, from string, to []string, subject, body string) (*gomail.Msg, []byte) {
	t.Helper()
	m := gomail.NewMsg()
	if err := m.From(from); err != nil {
		t.Fatal(err)
	}
	if err := m.To(to...); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, body)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return m, buf.Bytes()
}

func dialIMAP(t *testing.T, sb *Sandbox, user string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(sb.IMAPAddr(), opts)
	if err != nil {
		t.Fatalf("imap dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login(user, testPassword).Wait(); err != nil {
		t.Fatalf("imap login %s: %v", user, err)
	}
	return c
}

func allUIDs() imap.UIDSet {
	var s imap.UIDSet
	s.AddRange(1, 0) // 1:*
	return s
}

// headerOf returns the values of a header field in raw, unfolded.
func headerOf(raw []byte, name string) []string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	var vals []string
	lines := strings.Split(string(head), "\r\n")
	for i := 0; i < len(lines); i++ {
		k, v, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			v += " " + strings.TrimSpace(lines[i])
		}
		vals = append(vals, strings.TrimSpace(v))
	}
	return vals
}

func TestSMTPDeliveryReadableOverIMAP(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	for _, e := range []string{"status@" + testDomain, "alice@" + testDomain} {
		if err := sb.EnsureMailbox(e, ""); err != nil {
			t.Fatal(err)
		}
	}
	rcpts := []string{"alice@" + testDomain, "status+tok123@" + testDomain, "Stranger@Elsewhere.Example"}
	m, sent := newMsg(t, "hub@"+testDomain, rcpts, "Outage update 1", "The database is down.\r\nNext update at 10:00.\r\n")
	c := mailClient(t, sb)
	if err := c.DialAndSend(m); err != nil {
		t.Fatalf("send: %v", err)
	}

	for _, tc := range []struct{ login, deliveredTo string }{
		{"alice", "alice@" + testDomain}, // local part alone
		{"status@" + testDomain, "status+tok123@" + testDomain},
		{"stranger@elsewhere.example", "Stranger@Elsewhere.Example"}, // as given
	} {
		t.Run(tc.login, func(t *testing.T) {
			ic := dialIMAP(t, sb, tc.login, nil)
			sel, got := fetchAllUIDs(t, ic, "INBOX")
			if len(got) != 1 || sel.NumMessages != 1 {
				t.Fatalf("got %d messages (EXISTS %d), want exactly 1", len(got), sel.NumMessages)
			}
			raw := got[1]
			if !bytes.HasSuffix(raw, sent) {
				t.Fatalf("stored message does not end with the bytes sent:\n%q\nsent:\n%q", raw, sent)
			}
			added := raw[:len(raw)-len(sent)]
			if dt := headerOf(added, "Delivered-To"); len(dt) != 1 || dt[0] != tc.deliveredTo {
				t.Errorf("Delivered-To = %q, want %q", dt, tc.deliveredTo)
			}
			rcv := headerOf(added, "Received")
			if len(rcv) != 1 || !strings.Contains(rcv[0], "from hub.test ([127.0.0.1])") || !strings.Contains(rcv[0], "with ESMTP") {
				t.Errorf("Received = %q", rcv)
			}
			if ar := headerOf(raw, "Authentication-Results"); len(ar) != 1 || ar[0] != "sitrep-sandbox; auth=none smtp.mailfrom=hub@sitrep.example" {
				t.Errorf("unauthenticated SMTP mail: Authentication-Results %q, want auth=none", ar)
			}
		})
	}

	var emails []string
	for _, mb := range sb.Mailboxes() {
		emails = append(emails, mb.Email)
		if mb.Messages != 1 || mb.Unseen != 0 {
			// All three were read above with BODY[], which sets \Seen.
			t.Errorf("%s: Messages %d Unseen %d, want 1 and 0", mb.Email, mb.Messages, mb.Unseen)
		}
	}
	want := []string{"alice@" + testDomain, "status@" + testDomain, "stranger@elsewhere.example"}
	if strings.Join(emails, ",") != strings.Join(want, ",") {
		t.Errorf("Mailboxes = %v, want %v", emails, want)
	}
}

func fetchAllUIDs(t *testing.T, c *imapclient.Client, mailbox string) (*imap.SelectData, map[imap.UID][]byte) {
	t.Helper()
	sel, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", mailbox, err)
	}
	got := make(map[imap.UID][]byte)
	section := &imap.FetchItemBodySection{}
	msgs, err := c.Fetch(allUIDs(), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("uid fetch: %v", err)
	}
	for _, m := range msgs {
		if _, dup := got[m.UID]; dup {
			t.Fatalf("uid %d returned twice", m.UID)
		}
		got[m.UID] = m.FindBodySection(section)
	}
	return sel, got
}

func TestIMAPLoginRefused(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	if err := sb.EnsureMailbox("alice@"+testDomain, "Alice"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, pass string }{
		{"alice@" + testDomain, "wrong"},
		{"nobody@" + testDomain, testPassword},
		{"", testPassword},
	} {
		c, err := imapclient.DialInsecure(sb.IMAPAddr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(tc.user, tc.pass).Wait(); err == nil {
			t.Errorf("login %q/%q succeeded", tc.user, tc.pass)
		}
		_ = c.Close()
	}
}

func TestIdleNotifiesNewMessage(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	hub := "status@" + testDomain
	if err := sb.EnsureMailbox(hub, "sitrep"); err != nil {
		t.Fatal(err)
	}
	exists := make(chan uint32, 10)
	c := dialIMAP(t, sb, hub, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}

	raw := []byte("From: alice@sitrep.example\r\nTo: status@sitrep.example\r\nSubject: Re: outage\r\n\r\nOn it.\r\n")
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{"status+inc42@" + testDomain}, raw); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EXISTS while idling")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	section := &imap.FetchItemBodySection{}
	msgs, err := c.Fetch(allUIDs(), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !bytes.HasSuffix(msgs[0].FindBodySection(section), raw) {
		t.Fatalf("after IDLE fetched %d messages", len(msgs))
	}
}

func TestUIDFetchDoesNotMentionUnannouncedMessages(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	hub := "status@" + testDomain
	if err := sb.EnsureMailbox(hub, ""); err != nil {
		t.Fatal(err)
	}
	c := dialIMAP(t, sb, hub, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	raw := []byte("Subject: x\r\n\r\nbody\r\n")
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{hub}, raw); err != nil {
		t.Fatal(err)
	}
	// The message arrived after SELECT; until the server has said EXISTS
	// it must not send "* 0 FETCH". The EXISTS comes with this command's
	// completion, and the next fetch sees the message.
	msgs, err := c.Fetch(allUIDs(), &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.SeqNum == 0 {
			t.Fatalf("server sent a FETCH with sequence number 0")
		}
	}
	msgs, err = c.Fetch(allUIDs(), &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].SeqNum != 1 || msgs[0].UID != 1 {
		t.Fatalf("second fetch: %+v", msgs)
	}
}

func TestRestartKeepsMessagesUIDsAndUIDValidity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hub := "status@" + testDomain
	raws := [][]byte{
		[]byte("Subject: one\r\n\r\nfirst\r\n"),
		[]byte("Subject: two\r\n\r\nsecond\r\n"),
		[]byte("Subject: three\r\n\r\nthird\r\n"),
	}

	sb1 := startSandbox(t, dir)
	if err := sb1.EnsureMailbox(hub, "sitrep"); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		if err := sb1.Deliver(t.Context(), "alice@"+testDomain, []string{hub}, r); err != nil {
			t.Fatal(err)
		}
	}
	c := dialIMAP(t, sb1, hub, nil)
	sel1, before := fetchPeek(t, c)
	if len(before) != 3 {
		t.Fatalf("before restart: %d messages", len(before))
	}
	// Flag 2 as seen, expunge 3: after the restart UID 3 must not be
	// reused, and UID 2 must still be seen.
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := sb1.Close(); err != nil {
		t.Fatal(err)
	}

	sb2 := startSandbox(t, dir)
	c2 := dialIMAP(t, sb2, hub, nil)
	sel2, after := fetchPeek(t, c2)
	if sel2.UIDValidity != sel1.UIDValidity {
		t.Errorf("UIDVALIDITY changed across restart: %d then %d", sel1.UIDValidity, sel2.UIDValidity)
	}
	if sel2.UIDNext != 4 {
		t.Errorf("UIDNEXT after restart = %d, want 4 (UID 3 was expunged, never to be reused)", sel2.UIDNext)
	}
	if len(after) != 2 || !bytes.Equal(after[1].raw, before[1].raw) || !bytes.Equal(after[2].raw, before[2].raw) {
		t.Fatalf("messages changed across restart: %d left", len(after))
	}
	if after[1].seen || !after[2].seen {
		t.Errorf("flags after restart: uid1 seen=%v uid2 seen=%v, want false/true", after[1].seen, after[2].seen)
	}
	if mbs := sb2.Mailboxes(); len(mbs) != 1 || mbs[0].Name != "sitrep" || mbs[0].Messages != 2 || mbs[0].Unseen != 1 {
		t.Errorf("Mailboxes after restart = %+v", mbs)
	}
	if err := sb2.Deliver(t.Context(), "alice@"+testDomain, []string{hub}, raws[0]); err != nil {
		t.Fatal(err)
	}
	msgs, err := sb2.Messages(t.Context(), hub)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[0].UID != 4 {
		t.Errorf("new delivery after restart: %d messages, newest UID %d, want 3 and 4", len(msgs), msgs[0].UID)
	}
}

func TestMemoryRestartChangesUIDValidity(t *testing.T) {
	t.Parallel()
	hub := "status@" + testDomain
	var vals []uint32
	for range 2 {
		sb := startSandbox(t, "")
		if err := sb.EnsureMailbox(hub, ""); err != nil {
			t.Fatal(err)
		}
		c := dialIMAP(t, sb, hub, nil)
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, sel.UIDValidity)
		_ = c.Close()
		_ = sb.Close()
	}
	if vals[0] == vals[1] {
		t.Fatalf("memory-only sandbox kept UIDVALIDITY %d across restart: clients would trust stale UIDs", vals[0])
	}
}

type peeked struct {
	raw  []byte
	seen bool
}

func fetchPeek(t *testing.T, c *imapclient.Client) (*imap.SelectData, map[imap.UID]peeked) {
	t.Helper()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(allUIDs(), &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[imap.UID]peeked)
	for _, m := range msgs {
		p := peeked{raw: m.FindBodySection(section)}
		for _, f := range m.Flags {
			p.seen = p.seen || strings.EqualFold(string(f), string(imap.FlagSeen))
		}
		got[m.UID] = p
	}
	return sel, got
}

func TestDeliverAndMessages(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	hub := "status@" + testDomain
	if err := sb.EnsureMailbox(hub, "sitrep"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		raw := fmt.Appendf(nil, "From: Alice <alice@sitrep.example>\nSubject: =?UTF-8?Q?R=C3=A9ponse_%d?=\nDate: Mon, 02 Jan 2006 15:04:0%d +0000\n\nbody %d\n", i, i, i)
		if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{"status+inc7@" + testDomain}, raw); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := sb.Messages(t.Context(), hub)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	newest := msgs[0]
	if newest.UID != 2 || newest.Subject != "Réponse 2" || newest.From != `"Alice" <alice@sitrep.example>` || newest.Seen {
		t.Errorf("newest = UID %d Subject %q From %q Seen %v", newest.UID, newest.Subject, newest.From, newest.Seen)
	}
	if want := time.Date(2006, 1, 2, 15, 4, 2, 0, time.UTC); !newest.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", newest.Date, want)
	}
	if ar := headerOf(newest.Raw, "Authentication-Results"); len(ar) != 1 || ar[0] != "sitrep-sandbox; auth=pass smtp.auth=alice@sitrep.example smtp.mailfrom=alice@sitrep.example" {
		t.Errorf("Authentication-Results = %q", ar)
	}
	if !bytes.Contains(newest.Raw, []byte("\r\n\r\nbody 2\r\n")) || bytes.Contains(bytes.ReplaceAll(newest.Raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("raw not stored with CRLF line endings:\n%q", newest.Raw)
	}

	forged := []byte("From: ceo@sitrep.example\r\nSubject: resolved\r\n\r\nx\r\n")
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{"bob@" + testDomain}, forged); err != nil {
		t.Fatal(err)
	}
	bobs, err := sb.Messages(t.Context(), "bob@"+testDomain)
	if err != nil || len(bobs) != 1 {
		t.Fatalf("bob: %d messages, %v", len(bobs), err)
	}
	// The sandbox states who wrote it; the hub compares that with From.
	if ar := headerOf(bobs[0].Raw, "Authentication-Results"); len(ar) != 1 || !strings.Contains(ar[0], "smtp.auth=alice@sitrep.example") {
		t.Errorf("Deliver as alice with From: ceo got Authentication-Results %q, want smtp.auth=alice", ar)
	}

	one, err := sb.Message(t.Context(), hub, msgs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if one.UID != 1 || one.Subject != "Réponse 1" || !bytes.Equal(one.Raw, msgs[1].Raw) {
		t.Errorf("Message(%s) = UID %d Subject %q", msgs[1].ID, one.UID, one.Subject)
	}
	if _, err := sb.Message(t.Context(), hub, "1-1"); !errs.Is(err, errs.NotFound) {
		t.Errorf("Message with a stale UIDVALIDITY: %v, want not_found", err)
	}
	if _, err := sb.Messages(t.Context(), "nobody@"+testDomain); !errs.Is(err, errs.NotFound) {
		t.Errorf("Messages of unknown mailbox: %v, want not_found", err)
	}
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, nil, []byte("x")); !errs.Is(err, errs.Invalid) {
		t.Errorf("Deliver without recipients: %v, want invalid", err)
	}
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{"not an address"}, []byte("x")); !errs.Is(err, errs.Invalid) {
		t.Errorf("Deliver to a bad address: %v, want invalid", err)
	}
}

func TestForgedAuthenticationResultsStripped(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	hub := "status@" + testDomain
	raw := "Authentication-Results: sitrep-sandbox; auth=pass\r\n smtp.mailfrom=ceo@sitrep.example\r\n" +
		"Authentication-Results: mx.other.example; dkim=pass\r\n" +
		"From: ceo@sitrep.example\r\nSubject: resolved\r\n\r\n" +
		"Authentication-Results: sitrep-sandbox; auth=pass (in the body, left alone)\r\n"
	c, err := gosmtp.Dial(sb.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("ceo@"+testDomain, []string{hub}, strings.NewReader(raw)); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs, err := sb.Messages(t.Context(), hub)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %d, %v", len(msgs), err)
	}
	ar := headerOf(msgs[0].Raw, "Authentication-Results")
	if len(ar) != 2 || ar[0] != "sitrep-sandbox; auth=none smtp.mailfrom=ceo@sitrep.example" || ar[1] != "mx.other.example; dkim=pass" {
		t.Errorf("Authentication-Results after delivery = %q, want the sandbox's auth=none above the other server's", ar)
	}
	if !bytes.HasSuffix(msgs[0].Raw, []byte("\r\n\r\nAuthentication-Results: sitrep-sandbox; auth=pass (in the body, left alone)\r\n")) {
		t.Errorf("body changed:\n%s", msgs[0].Raw)
	}
}

func TestSMTPAuth(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	alice, hub := "alice@"+testDomain, "status@"+testDomain
	for _, e := range []string{alice, hub, "bob@" + testDomain} {
		if err := sb.EnsureMailbox(e, ""); err != nil {
			t.Fatal(err)
		}
	}
	auth := func(user, pass string) []gomail.Option {
		return []gomail.Option{gomail.WithSMTPAuth(gomail.SMTPAuthPlainNoEnc), gomail.WithUsername(user), gomail.WithPassword(pass)}
	}

	m, _ := newMsg(t, alice, []string{hub}, "as alice", "hello")
	if err := mailClient(t, sb, auth("alice", testPassword)...).DialAndSend(m); err != nil {
		t.Fatalf("authenticated send: %v", err)
	}
	m, _ = newMsg(t, "bob@"+testDomain, []string{hub}, "alice as bob", "hello")
	if err := mailClient(t, sb, auth(alice, testPassword)...).DialAndSend(m); err != nil {
		t.Fatalf("authenticated send as another: %v", err)
	}
	m, _ = newMsg(t, alice, []string{hub}, "wrong password", "hello")
	err := mailClient(t, sb, auth(alice, "nope")...).DialAndSend(m)
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("bad password: %v, want 535", err)
	}

	msgs, err := sb.Messages(t.Context(), hub)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("messages: %d, %v", len(msgs), err)
	}
	bySubject := map[string]Message{}
	for _, m := range msgs {
		bySubject[m.Subject] = m
	}
	ar := headerOf(bySubject["as alice"].Raw, "Authentication-Results")
	if len(ar) != 1 || ar[0] != "sitrep-sandbox; auth=pass smtp.auth=alice@sitrep.example smtp.mailfrom=alice@sitrep.example" {
		t.Errorf("authenticated as sender: Authentication-Results = %q", ar)
	}
	if rcv := headerOf(bySubject["as alice"].Raw, "Received"); len(rcv) != 1 || !strings.Contains(rcv[0], "with ESMTPA") {
		t.Errorf("Received = %q, want ESMTPA", rcv)
	}
	if ar := headerOf(bySubject["alice as bob"].Raw, "Authentication-Results"); len(ar) != 1 ||
		ar[0] != "sitrep-sandbox; auth=pass smtp.auth=alice@sitrep.example smtp.mailfrom=bob@sitrep.example" {
		t.Errorf("authenticated as another account: Authentication-Results = %q, want smtp.auth=alice", ar)
	}
}

func TestOversizeRefused(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "", func(c *Config) { c.MaxMessageBytes = 2048 })
	hub := "status@" + testDomain
	if err := sb.EnsureMailbox(hub, ""); err != nil {
		t.Fatal(err)
	}
	m, _ := newMsg(t, "hub@"+testDomain, []string{hub}, "big", strings.Repeat("0123456789abcdef\r\n", 300))
	err := mailClient(t, sb).DialAndSend(m)
	if err == nil || !strings.Contains(err.Error(), "552") {
		t.Errorf("oversize SMTP send: %v, want 552", err)
	}
	err = sb.Deliver(t.Context(), "alice@"+testDomain, []string{hub}, bytes.Repeat([]byte("x"), 4096))
	if !errs.Is(err, errs.TooLarge) {
		t.Errorf("oversize Deliver: %v, want too_large", err)
	}
	msgs, err := sb.Messages(t.Context(), hub)
	if err != nil || len(msgs) != 0 {
		t.Errorf("after refusals: %d messages, %v", len(msgs), err)
	}
	// A message under the limit still goes through the same connection
	// path.
	m, _ = newMsg(t, "hub@"+testDomain, []string{hub}, "small", "ok")
	if err := mailClient(t, sb).DialAndSend(m); err != nil {
		t.Errorf("small send: %v", err)
	}
}

func TestNonLoopbackNeedsAuth(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	sess := &smtpSession{sb: sb, helo: func() string { return "x" }, remoteIP: "192.0.2.1", loopback: false}
	var smtpErr *gosmtp.SMTPError
	if err := sess.Mail("a@"+testDomain, nil); !errors.As(err, &smtpErr) || smtpErr.Code != 530 {
		t.Errorf("MAIL FROM from a remote address without AUTH: %v, want 530", err)
	}
	sess.authUser = "a@" + testDomain
	if err := sess.Mail("a@"+testDomain, nil); err != nil {
		t.Errorf("MAIL FROM after AUTH: %v", err)
	}
}

func TestParallelDeliveryArrivesExactlyOnce(t *testing.T) {
	t.Parallel()
	const (
		conns   = 4
		perConn = 125
	)
	sb := startSandbox(t, t.TempDir())
	hub := "status@" + testDomain
	if err := sb.EnsureMailbox(hub, ""); err != nil {
		t.Fatal(err)
	}
	// A reader keeps fetching (and so flagging \Seen) while the
	// deliveries land, as the hub's ingest and a person's client would.
	reader := dialIMAP(t, sb, hub, nil)
	if _, err := reader.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		section := &imap.FetchItemBodySection{}
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			if err := reader.Noop().Wait(); err != nil {
				readerDone <- err
				return
			}
			if _, err := reader.Fetch(allUIDs(), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect(); err != nil {
				readerDone <- err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	errc := make(chan error, conns)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := mailClient(t, sb)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := c.DialWithContext(ctx); err != nil {
				errc <- err
				return
			}
			defer func() { _ = c.Close() }()
			for i := range perConn {
				m := gomail.NewMsg()
				_ = m.From("hub@" + testDomain)
				_ = m.To(fmt.Sprintf("status+w%d@%s", w, testDomain))
				m.Subject(fmt.Sprintf("msg %d-%d", w, i))
				m.SetBodyString(gomail.TypeTextPlain, "parallel")
				if err := c.Send(m); err != nil {
					errc <- fmt.Errorf("worker %d message %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readerDone; err != nil {
		t.Errorf("concurrent reader: %v", err)
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}

	c := dialIMAP(t, sb, hub, nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != conns*perConn {
		t.Errorf("EXISTS %d, want %d", sel.NumMessages, conns*perConn)
	}
	msgs, err := c.Fetch(allUIDs(), &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var lastUID imap.UID
	for _, m := range msgs {
		if m.UID <= lastUID {
			t.Fatalf("UIDs not ascending: %d after %d", m.UID, lastUID)
		}
		lastUID = m.UID
		seen[m.Envelope.Subject]++
	}
	for w := range conns {
		for i := range perConn {
			if n := seen[fmt.Sprintf("msg %d-%d", w, i)]; n != 1 {
				t.Errorf("msg %d-%d arrived %d times", w, i, n)
			}
		}
	}
}
