package main

import (
	"context"
	"fmt"
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
	e, h := startHub(t)
	sb := h.hub.sandbox
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
		c, err := gosmtp.Dial(sb.SMTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("nobody@attacker.example", []string{replyTo}, strings.NewReader(raw)); err != nil {
			t.Fatalf("send forgery %d: %v", i, err)
		}
		c.Close()
	}

	// Each forgery reaches the leads as a refused command, with the reason.
	for i := range forgeries {
		m := waitBody(t, sb, comms, fmt.Sprintf("resolve: forged %d", i))
		if !strings.Contains(string(m.Raw), "could not be authenticated") {
			t.Errorf("the leads' notice for forgery %d does not say the sender could not be authenticated:\n%s", i, m.Raw)
		}
	}
	inc, err := h.hub.incidents.Get(context.Background(), "INC-1")
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := sb.Messages(context.Background(), email)
		if err == nil {
			for _, m := range msgs {
				if strings.Contains(string(m.Raw), want) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no message containing %q after 20s (%d messages)", email, want, len(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
