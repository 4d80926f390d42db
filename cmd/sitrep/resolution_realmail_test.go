package main

import (
	"bytes"
	"context"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestResolutionOverPostfixAndDovecot: the hub sends through real Postfix
// and reads its replies from real Dovecot. Resolve with a root cause: the
// resolved email continues the stakeholder thread; one reporter confirms
// by reply, the other says it is still broken; the incident shows both and
// the leads are alerted.
func TestResolutionOverPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "vp", "lead", "exec1", "rep1", "rep2", "status")
	dir := t.TempDir()
	groups := filepath.Join(dir, "groups.yaml")
	os.WriteFile(groups, []byte(`organization: Real Mail Org
people:
  - {email: vp@example.test, name: Vera Park, roles: [comms-lead]}
  - {email: lead@example.test, name: Leo Ortiz, roles: [incident-lead]}
  - {email: exec1@example.test, name: Eve Exec, time_zone: Europe/Berlin}
  - {email: rep1@example.test, name: Rae One}
  - {email: rep2@example.test, name: Rex Two}
groups:
  - {name: exec, display_name: Executives, members: [exec1@example.test]}
audiences:
  status: [exec]
  resolved: [exec]
  summary: [exec]
`), 0o600)
	smtpHost, smtpPort := splitHostPort(t, ms.SMTPAddr)
	imapHost, imapPort := splitHostPort(t, ms.IMAPAddr)
	cfg := testConfig(t)
	cfg.Directory.File = groups
	cfg.Mail.Domain, cfg.Mail.From = "example.test", "sitrep <status@example.test>"
	cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS = smtpHost, smtpPort, "none"
	cfg.Mail.IMAP.Host, cfg.Mail.IMAP.Port, cfg.Mail.IMAP.TLS = imapHost, imapPort, "none"
	cfg.Mail.IMAP.Username, cfg.Mail.IMAP.Password = "status@example.test", config.Secret(ms.Password("status"))
	e, h := startHub(t, cfg)
	if h.sandbox != nil {
		t.Fatal("with SMTP configured the sandbox must be off")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	cli(t, e, "declare", "--title", "Login fails", "--severity", "SEV2", "--lead", "lead@example.test", "--comms", "vp@example.test")
	cli(t, e, "report", "INC-1", "--from", "rep1@example.test", "--where", "EU", "--saw", "Login spins")
	cli(t, e, "report", "INC-1", "--from", "rep2@example.test", "--where", "US", "--saw", "Error 500")
	cli(t, e, "update", "INC-1", "--status", "Sessions store is failing over.")
	raws, err := ms.WaitForMessages(ctx, "exec1", 1)
	if err != nil {
		t.Fatal(err)
	}
	update := raws[0]
	cli(t, e, "resolve", "INC-1", "--root-cause", "The session store ran out of disk.", "--fix", "Freed space and added an alert.")
	raws, err = ms.WaitForMessages(ctx, "exec1", 2)
	if err != nil {
		t.Fatal(err)
	}
	resolved := raws[1]
	if !bytes.Contains(resolved, []byte("Resolved: service restored at ")) || header(resolved, "Subject") != header(update, "Subject") ||
		header(resolved, "In-Reply-To") != header(update, "Message-ID") {
		t.Fatalf("the resolved email must continue the stakeholder thread:\n%s", resolved)
	}

	// The reporters answer from their mail clients, through Postfix.
	reply := func(user, text string) {
		t.Helper()
		raws, err := ms.WaitForMessages(ctx, user, 1)
		if err != nil {
			t.Fatal(err)
		}
		ask := raws[len(raws)-1]
		to := strings.Trim(header(ask, "Reply-To"), "<>")
		msg := fmt.Sprintf("From: %s@example.test\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <%s.%d@example.test>\r\nIn-Reply-To: %s\r\nDate: %s\r\nContent-Type: text/plain\r\n\r\n%s\r\n\r\nOn Tue, sitrep wrote:\r\n> Could you check and reply?\r\n",
			user, to, header(ask, "Subject"), user, time.Now().UnixNano(), header(ask, "Message-ID"), time.Now().Format(time.RFC1123Z), text)
		if err := smtp.SendMail(ms.SMTPAddr, nil, user+"@example.test", []string{to}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	reply("rep1", "Yes, works now. Thanks!")
	reply("rep2", "No, still broken for me.")
	for {
		out := cli(t, e, "confirmations", "INC-1")
		if strings.Contains(out, "CONFIRMED") && strings.Contains(out, "STILL BROKEN") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("confirmations never arrived:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, lead := range []string{"lead", "vp"} {
		for {
			raws, _ := ms.Messages(ctx, lead)
			found := false
			for _, raw := range raws {
				if strings.Contains(header(raw, "Subject"), "For the leads: ") && bytes.Contains(raw, []byte("STILL BROKEN for ")) {
					found = true
				}
			}
			if found {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s was not alerted that it is still broken", lead)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		t.Fatalf("address %q", addr)
	}
	var p int
	fmt.Sscanf(port, "%d", &p)
	return host, p
}
