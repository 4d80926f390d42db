package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestHubOnGoogleWorkspaceOAuth2: the hub configured as for Google
// Workspace (a service account key with domain-wide delegation, nothing
// else) sends through the submission port and reads status@ over IMAP,
// both signing in with tokens Dovecot checks. When the delegation is
// removed, /readyz turns red naming the fix, while the API goes on.
func TestHubOnGoogleWorkspaceOAuth2(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, 3*time.Second)
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{OAuth2: &testenv.DovecotOAuth2{
		PublicKeyPEM: f.PublicKeyPEM(), KeyID: f.KeyID(), Issuer: f.Issuer, Audience: mailauth.GoogleMailScope,
	}}, "vp", "lead", "exec1", "status")
	const sa = "sitrep-mail@sitrep-test.iam.gserviceaccount.com"
	_, keyFile := f.AddServiceAccount(sa, "status@example.test")
	f.Delegate(sa, mailauth.GoogleMailScope)

	dir := t.TempDir()
	groups := filepath.Join(dir, "groups.yaml")
	os.WriteFile(groups, []byte(`organization: OAuth Org
people:
  - {email: vp@example.test, name: Vera Park, roles: [comms-lead]}
  - {email: lead@example.test, name: Leo Ortiz, roles: [incident-lead]}
  - {email: exec1@example.test, name: Eve Exec}
groups:
  - {name: exec, display_name: Executives, members: [exec1@example.test]}
audiences:
  status: [exec]
`), 0o600)
	smtpHost, smtpPort := splitHostPort(t, ms.SubmissionAddr)
	imapHost, imapPort := splitHostPort(t, ms.IMAPAddr)
	cfg := testConfig(t)
	cfg.Directory.File = groups
	cfg.Mail.Domain, cfg.Mail.From = "example.test", "sitrep <status@example.test>"
	cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS, cfg.Mail.SMTP.Username = smtpHost, smtpPort, "none", "status@example.test"
	cfg.Mail.IMAP.Host, cfg.Mail.IMAP.Port, cfg.Mail.IMAP.TLS, cfg.Mail.IMAP.Username = imapHost, imapPort, "none", "status@example.test"
	cfg.Mail.OAuth.Provider, cfg.Mail.OAuth.ServiceAccountKey = "google", config.Secret(keyFile)
	e, h := startHub(t, cfg)
	server := e.getenv("SITREP_SERVER")
	readyz := func() (int, string) {
		resp, err := http.Get(server + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	cli(t, e, "declare", "--title", "Login fails", "--severity", "SEV2", "--lead", "lead@example.test", "--comms", "vp@example.test")
	cli(t, e, "update", "INC-1", "--status", "Sessions store is failing over.")
	raws, err := ms.WaitForMessages(ctx, "exec1", 1)
	if err != nil {
		t.Fatal(err)
	}
	update := raws[0]
	to := strings.Trim(header(update, "Reply-To"), "<>")
	msg := fmt.Sprintf("From: exec1@example.test\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <q.%d@example.test>\r\nIn-Reply-To: %s\r\nDate: %s\r\n\r\nWhen will it be back?\r\n",
		to, header(update, "Subject"), time.Now().UnixNano(), header(update, "Message-ID"), time.Now().Format(time.RFC1123Z))
	if err := smtp.SendMail(ms.SMTPAddr, nil, "exec1@example.test", []string{to}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		h.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbound_messages`).Scan(&n)
		if n == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the reply was never ingested\n%s\n%s", h.logs.String(), ms.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("readyz with working mail: %d %s", code, body)
	}

	// The Workspace admin removes the delegation; once the token in hand
	// has expired, the next sign-in cannot get one.
	f.RevokeDelegation(sa)
	time.Sleep(3500 * time.Millisecond)
	if err := ms.Kick("status"); err != nil {
		t.Fatal(err)
	}
	for {
		code, body := readyz()
		if code == http.StatusServiceUnavailable && strings.Contains(body, "mail:") && strings.Contains(body, "Domain-wide delegation") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("readyz never named the missing delegation: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The rest of the hub works on.
	cli(t, e, "declare", "--title", "Second", "--severity", "SEV3", "--lead", "lead@example.test", "--comms", "vp@example.test")
	// Every access token the fake issues is a JWT, whose text starts so.
	if strings.Contains(h.logs.String(), "eyJhbGciOiJSUzI1NiIs") {
		t.Fatal("an access token was logged")
	}
	if !strings.Contains(h.logs.String(), "Domain-wide delegation") {
		t.Errorf("the log must say what to fix:\n%s", h.logs.String())
	}
}
