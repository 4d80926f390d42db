package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestPublicSubscriptionsOverPostfixAndDovecot: customers subscribe on the
// public status page's own listener, confirm by the link mailed to them
// (pointing at the public page), and receive the update's public wording
// as a message of its own with its own promise, through real Postfix and
// Dovecot; the executives receive the internal update and not the public
// one. One customer leaves with the one-click POST: the next public
// update reaches the other only.
func TestPublicSubscriptionsOverPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "vp", "exec1", "cust1", "cust2", "status")
	groups := filepath.Join(t.TempDir(), "groups.yaml")
	os.WriteFile(groups, []byte(`organization: Real Mail Org
people:
  - {email: vp@example.test, name: Vera Park, roles: [comms-lead]}
  - {email: exec1@example.test, name: Eve Exec}
groups:
  - {name: exec, display_name: Executives, members: [exec1@example.test]}
escalations:
  - {system: checkout, responders: [vp@example.test]}
audiences:
  status: [exec]
`), 0o600)
	smtpHost, smtpPort := splitHostPort(t, ms.SMTPAddr)
	cfg := testConfig(t)
	cfg.Directory.File = groups
	cfg.Mail.Domain, cfg.Mail.From = "example.test", "sitrep <status@example.test>"
	cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS = smtpHost, smtpPort, "none"
	cfg.Server.PublicURL = "https://sitrep.example.test"
	cfg.StatusPage.Public = config.PublicStatusPage{Enabled: true, Listen: "127.0.0.1:0", URL: "https://status.example.test", Title: "Example Corp status",
		Components: []config.StatusComponent{{Name: "Online shop", Systems: []string{"checkout"}}}, Subscriptions: true}
	e, h := startHub(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The links name the public URL, a proxy in production; the test
	// follows them to the public listener's own address.
	public := func(link string) string {
		return "http://" + h.publicListener.Addr().String() + strings.TrimPrefix(link, "https://status.example.test")
	}

	confirmRE := regexp.MustCompile(`https://status\.example\.test/subscriptions/confirm/[A-Za-z0-9_-]+`)
	for _, user := range []string{"cust1", "cust2"} {
		resp, err := http.PostForm(public("/subscribe"), url.Values{"email": {user + "@example.test"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("the form for %s: %d", user, resp.StatusCode)
		}
		raws := waitFor(ctx, t, ms, user, "public status page")
		link := confirmRE.FindString(text(t, raws[0]))
		if link == "" {
			t.Fatalf("no confirmation link to the public page in:\n%s", text(t, raws[0]))
		}
		if status, body := httpDo(t, "POST", public(link)); status != 200 || !strings.Contains(body, "Subscribed") {
			t.Fatalf("confirm %s: %d\n%s", user, status, body)
		}
	}

	cli(t, e, "declare", "--title", "INTERNAL-TITLE pg-eu-3 down", "--severity", "SEV2", "--systems", "checkout", "--comms", "vp@example.test")
	cli(t, e, "update", "INC-1", "--status", "INTERNAL-STATUS pg-eu-3 failed over.", "--public", "Some orders fail; we are on it.", "--public-next", "2h")
	waitFor(ctx, t, ms, "exec1", "INTERNAL-STATUS pg-eu-3")
	c1 := waitFor(ctx, t, ms, "cust1", "Some orders fail")
	waitFor(ctx, t, ms, "cust2", "Some orders fail")
	raw := string(c1[0])
	for _, never := range []string{"INTERNAL", "pg-eu-3", "SEV2", "vp@example.test", "exec1@example.test", "Vera", "checkout"} {
		if strings.Contains(raw, never) {
			t.Errorf("the customer's email shows %q:\n%s", never, raw)
		}
	}
	if s := mustHeader(t, c1[0], "Subject"); !strings.Contains(s, "Example Corp status: Online shop") {
		t.Errorf("subject %q", s)
	}
	lu := strings.Trim(mustHeader(t, c1[0], "List-Unsubscribe"), "<>")
	if !strings.HasPrefix(lu, "https://status.example.test/unsubscribe/") || mustHeader(t, c1[0], "List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("the customer's copy lacks the one-click headers to the public page: %q", lu)
	}
	raws, _ := ms.Messages(ctx, "exec1")
	for _, r := range raws {
		if strings.Contains(text(t, r), "Some orders fail") {
			t.Error("the executives received the public email")
		}
	}

	resp, err := http.Post(public(lu), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}
	cli(t, e, "update", "INC-1", "--status", "INTERNAL-STATUS-2 lag down.", "--public", "Orders work again for most customers.")
	waitFor(ctx, t, ms, "exec1", "INTERNAL-STATUS-2")
	two := waitFor(ctx, t, ms, "cust2", "Orders work again")
	if !strings.Contains(mustHeader(t, two[0], "References"), mustHeader(t, waitFor(ctx, t, ms, "cust2", "Some orders fail")[0], "Message-ID")) {
		t.Error("the second public update is not in the customer's thread")
	}
	raws, _ = ms.Messages(ctx, "cust1")
	for _, r := range raws {
		if strings.Contains(text(t, r), "Orders work again") {
			t.Error("the customer who unsubscribed received the next public update")
		}
	}

	// The dry run shows the public email beside the executives', as sent.
	dry := cli(t, e, "update", "INC-1", "--status", "INTERNAL-STATUS-3 dry.", "--public", "Dry public words.", "--dry-run")
	if !strings.Contains(dry, "=== public status page subscribers (the public email): 1 recipients") || !strings.Contains(dry, "To: Example Corp status:;") ||
		!strings.Contains(dry, "Dry public words.") || !strings.Contains(dry, "Public promise: next public update by") {
		t.Errorf("the dry run does not show the public email:\n%s", dry)
	}

	// Resolving tells the remaining customer, in the public thread, in the
	// words given for customers; the internal root cause and impact are
	// not in the email, nor on the public page, which shows it resolved.
	out := cli(t, e, "resolve", "INC-1", "--root-cause", "INTERNAL-ROOT pgbouncer pool of 20 on pg-eu-3.", "--impact", "INTERNAL-IMPACT 4% of orders.",
		"--public", "Orders work again for everyone. Failed orders were not charged.")
	if !strings.Contains(out, "resolved email to the public thread: 1 recipients") || !strings.Contains(out, "the public status page shows it resolved") {
		t.Errorf("resolve:\n%s", out)
	}
	waitFor(ctx, t, ms, "exec1", "INTERNAL-ROOT")
	end := waitFor(ctx, t, ms, "cust2", "Failed orders were not charged")
	first := waitFor(ctx, t, ms, "cust2", "Some orders fail")
	if mustHeader(t, end[0], "Subject") != mustHeader(t, first[0], "Subject") || !strings.Contains(mustHeader(t, end[0], "References"), mustHeader(t, first[0], "Message-ID")) {
		t.Errorf("the resolved email is not in the customer's thread: %q, References %q", mustHeader(t, end[0], "Subject"), mustHeader(t, end[0], "References"))
	}
	for _, never := range []string{"INTERNAL", "pgbouncer", "pg-eu-3", "4%", "SEV2", "vp@example.test", "Vera", "checkout"} {
		if strings.Contains(string(end[0]), never) {
			t.Errorf("the customer's resolved email shows %q:\n%s", never, end[0])
		}
	}
	if !strings.Contains(text(t, end[0]), "Resolved: the service is working normally again") || mustHeader(t, end[0], "To") != "Example Corp status:;" {
		t.Errorf("the resolved email does not read as the end:\n%s", text(t, end[0]))
	}
	raws, _ = ms.Messages(ctx, "exec1")
	for _, r := range raws {
		if strings.Contains(text(t, r), "Failed orders were not charged") {
			t.Error("the executives received the public resolved email")
		}
	}
	status, page := httpDo(t, "GET", public("/incidents/INC-1.html"))
	if status != 200 || !strings.Contains(page, "Failed orders were not charged") || !strings.Contains(page, "Resolved") || strings.Contains(page, "INTERNAL") {
		t.Errorf("the public page does not show the end as customers were told: %d\n%s", status, page)
	}
}
