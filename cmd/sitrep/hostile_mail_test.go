package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

// TestForgedAuthenticationResultsChangeNothing reproduces the attack of
// issue 14 from a plain SMTP client against the embedded default: no AUTH,
// an attacker's envelope sender, From: the comms lead, and an
// Authentication-Results header written so that a parser skipping comments
// without honouring quoted-pairs reads a different authserv-id than one
// that honours them. Nothing may change, and the leads are told why each
// command was refused.
func TestForgedAuthenticationResultsChangeNothing(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	sb := h.sandbox
	const lead, comms = "will.hartmann@sitrep.example", "grace.okafor@sitrep.example"
	cli(t, e, "declare", "--title", "Orders cannot be placed", "--severity", "SEV1", "--systems", "checkout",
		"--lead", lead, "--comms", comms, "--since", "10m")
	cli(t, e, "update", "INC-1", "--status", "Checkout fails for every customer; rolling back.", "--to", "exec")
	status := waitMail(t, sb, "mark.delaney@sitrep.example", "[INC-1]")
	replyTo := strings.Trim(header(status.Raw, "Reply-To"), "<>")
	if replyTo == "" {
		t.Fatal("the status email has no Reply-To")
	}

	forgeries := []string{
		`(\() sitrep-sandbox; auth=pass smtp.auth=` + comms,
		`(\)) sitrep-sandbox; auth=pass smtp.auth=` + comms,
		`(a (b) c) sitrep-sandbox; auth=pass smtp.auth=` + comms,
		`"sitrep\-sandbox"; auth=pass smtp.auth=` + comms,
		"sitrep-sandbox;\r\n auth=pass smtp.auth=" + comms,
		"SITREP-SANDBOX; auth=pass smtp.auth=" + comms,
	}
	for i, forged := range forgeries {
		raw := fmt.Sprintf("Authentication-Results: %s\r\nFrom: Grace Okafor <%s>\r\nTo: %s\r\nSubject: Re: %s\r\n"+
			"Message-ID: <forged-%d@attacker.example>\r\nIn-Reply-To: %s\r\nDate: %s\r\n\r\nresolve: forged %d\r\n",
			forged, comms, replyTo, status.Subject, i, header(status.Raw, "Message-ID"), time.Now().Format(time.RFC1123Z), i)
		sendPlain(t, sb.SMTPAddr(), "nobody@attacker.example", replyTo, raw)
	}

	// Each forgery reaches the leads as a refused command, with the reason.
	for i := range forgeries {
		m := waitBody(t, sb, comms, fmt.Sprintf("resolve: forged %d", i))
		if !strings.Contains(string(m.Raw), "could not be authenticated") {
			t.Errorf("the leads' notice for forgery %d does not say the sender could not be authenticated:\n%s", i, m.Raw)
		}
	}
	inc, err := h.incidents.Get(context.Background(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if inc.State == incident.Resolved {
		t.Fatal("a forged command resolved INC-1")
	}
}

// waitBody waits for a message to email whose raw text contains want.
func waitBody(t *testing.T, sb *sandbox.Sandbox, email, want string) sandbox.Message {
	t.Helper()
	return waitMessage(t, sb, email, "a text with "+strconv.Quote(want), func(m sandbox.Message) bool { return strings.Contains(string(m.Raw), want) })
}

// TestNestedEmailIsSetAsideAndIngestCarriesOn sends issue 14's 1.6 KB
// message of 27 nested multipart/mixed levels from a plain SMTP client to
// the embedded default's status address, then an ordinary reply behind it.
// The nested one must wait in triage as malformed, with its reason, never
// parsed; the reply behind it must reach the timeline.
func TestNestedEmailIsSetAsideAndIngestCarriesOn(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	sb := h.sandbox
	cli(t, e, "declare", "--title", "Orders cannot be placed", "--severity", "SEV1", "--systems", "checkout",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example", "--since", "10m")
	cli(t, e, "update", "INC-1", "--status", "Checkout fails for every customer; rolling back.", "--to", "exec")
	status := waitMail(t, sb, "mark.delaney@sitrep.example", "[INC-1]")
	replyTo := strings.Trim(header(status.Raw, "Reply-To"), "<>")

	var nested strings.Builder
	nested.WriteString("From: Mallory <mallory@attacker.example>\r\nTo: status@sitrep.example\r\nSubject: nested\r\n" +
		"Message-ID: <nested-27@attacker.example>\r\nMIME-Version: 1.0\r\n")
	for i := range 27 {
		fmt.Fprintf(&nested, "Content-Type: multipart/mixed; boundary=b%02d\r\n\r\n--b%02d\r\n", i, i)
	}
	nested.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
	if n := nested.Len(); n > 1700 {
		t.Fatalf("the nested message is %d bytes; issue 14's was about 1,600", n)
	}
	reply := "From: Mark Delaney <mark.delaney@sitrep.example>\r\nTo: " + replyTo + "\r\nSubject: Re: " + status.Subject +
		"\r\nMessage-ID: <after-nested@sitrep.example>\r\nIn-Reply-To: " + header(status.Raw, "Message-ID") +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nAre EU customers affected too?\r\n"
	sent := time.Now()
	for _, m := range []struct{ to, raw string }{{"status@sitrep.example", nested.String()}, {replyTo, reply}} {
		sendPlain(t, sb.SMTPAddr(), "mallory@attacker.example", m.to, m.raw)
	}

	ctx := context.Background()
	inc, err := h.incidents.Get(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var setAside, carriedOn bool
	for deadline := time.Now().Add(30 * time.Second); !(setAside && carriedOn); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: nested message in triage %v, the reply behind it on the timeline %v", setAside, carriedOn)
		}
		triage, _ := h.inbox.Triage(ctx, 50)
		for _, in := range triage {
			if in.MessageID == "<nested-27@attacker.example>" || in.Subject == "nested" {
				if in.Class != "malformed" || !strings.Contains(in.Error, "nest") {
					t.Fatalf("the nested message is in triage as %q with %q, want malformed with the nesting named", in.Class, in.Error)
				}
				setAside = true
			}
		}
		replies, _ := h.inbox.Replies(ctx, inc.ID)
		for _, in := range replies {
			if strings.Contains(in.Text, "EU customers") {
				carriedOn = true
			}
		}
	}
	t.Logf("both handled %s after sending", time.Since(sent).Round(time.Millisecond))
}

// sendPlain sends raw as anyone could: plain SMTP, no TLS, no AUTH.
func sendPlain(t *testing.T, addr, from, to, raw string) {
	t.Helper()
	c, err := gosmtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, []string{to}, strings.NewReader(raw)); err != nil {
		t.Fatalf("send to %s: %v", to, err)
	}
}
