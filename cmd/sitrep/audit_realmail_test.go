package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestAuditOverPostfixAndDovecot (a short name: Postfix's sockets live
// under the test's directory, and a socket path is at most 108 bytes): an incident's
// heads-up, two status updates (one group member reads German, so each
// update is two messages with their own Message-IDs) and its resolved
// email go through real Postfix to real Dovecot. One member of the exec
// group has no mailbox: Postfix refuses him at RCPT. The audit CSV (from
// the CLI and from the API alike) lists every recipient of every message,
// and it is exactly what the mailboxes hold, read over IMAP by
// Message-ID: every row the audit calls sent is in its recipient's
// mailbox once, every other row in none, and no mailbox holds a message
// the audit does not list.
func TestAuditOverPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	users := []string{"vp", "lead", "ann", "bob", "exec1", "exec2", "cs1"}
	ms := testenv.StartMailStack(t, users...)
	groups := filepath.Join(t.TempDir(), "groups.yaml")
	os.WriteFile(groups, []byte(`organization: Audit Org
people:
  - {email: vp@example.test, name: Vera Park, roles: [comms-lead]}
  - {email: lead@example.test, name: Lee Ng, roles: [incident-lead]}
  - {email: ann@example.test, name: Ann Arbor}
  - {email: bob@example.test, name: Bob Berg}
  - {email: exec1@example.test, name: Eve Exec}
  - {email: exec2@example.test, name: Ed Exec}
  - {email: ghost@example.test, name: Gus Gone}
  - {email: cs1@example.test, name: Clara Schmidt, language: de}
groups:
  - {name: exec, display_name: Executives, members: [exec1@example.test, exec2@example.test, ghost@example.test]}
  - {name: customer-service, display_name: Customer service, members: [cs1@example.test]}
escalations:
  - {system: checkout, responders: [ann@example.test, bob@example.test]}
audiences:
  status: [exec, customer-service]
`), 0o600)
	smtpHost, smtpPort := splitHostPort(t, ms.SMTPAddr)
	cfg := testConfig(t)
	cfg.Directory.File = groups
	cfg.Mail.Domain, cfg.Mail.From = "example.test", "sitrep <status@example.test>"
	cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS = smtpHost, smtpPort, "none"
	e, h := startHub(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	cli(t, e, "declare", "--title", "Checkout fails", "--severity", "SEV1", "--systems", "checkout",
		"--comms", "vp@example.test", "--lead", "lead@example.test")
	cli(t, e, "update", "INC-1", "--status", "Card payments fail for EU customers.", "--wait=false")
	out := cli(t, e, "update", "INC-1", "--status", "Failing over to the backup provider.", "--next", "1h", "--wait=false")
	if !strings.Contains(out, "Note: The next update in 1 h is later than the SEV1 policy asks") {
		t.Errorf("a next update longer than the policy is sent with a note:\n%s", out)
	}
	if show := cli(t, e, "show", "INC-1"); !strings.Contains(show, "policy       SEV1: first 2 h: every 20 min (an update without --next promises 20 min); questions answered within 15m") {
		t.Errorf("sitrep show does not say the policy:\n%s", show)
	}
	if q := cli(t, e, "questions", "INC-1"); !strings.Contains(q, "No questions to INC-1.") {
		t.Errorf("sitrep questions:\n%s", q)
	}
	cli(t, e, "resolve", "INC-1", "--root-cause", "An expired certificate at the payment provider.")

	// Wait until every copy has an outcome the audit can be held to.
	type row map[string]string
	var rows []row
	for {
		raw := cli(t, e, "audit", "INC-1", "--csv")
		rs, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
		if err != nil {
			t.Fatalf("the audit CSV does not parse: %v\n%s", err, raw)
		}
		if strings.Join(rs[0], ",") != strings.Join(outbox.AuditColumns, ",") {
			t.Fatalf("the CSV's columns: %q", rs[0])
		}
		rows = rows[:0]
		settled := true
		for _, r := range rs[1:] {
			m := row{}
			for i, c := range rs[0] {
				m[c] = r[i]
			}
			rows = append(rows, m)
			if st := m["state"]; st != "sent" && st != "failed" {
				settled = false
			}
		}
		if settled && len(rows) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("deliveries never settled:\n%s\n%s", raw, ms.LogTail())
		}
		time.Sleep(300 * time.Millisecond)
	}

	// The API's CSV is the CLI's.
	apiCSV := apiGet(t, e, "/api/v1/incidents/INC-1/audit.csv")
	if cliCSV := cli(t, e, "audit", "INC-1", "--csv"); apiCSV != cliCSV {
		t.Errorf("the API's CSV differs from the CLI's:\n%s\n----\n%s", apiCSV, cliCSV)
	}

	// What the audit says, by message kind and language, and who.
	kinds := map[string]int{}
	messageIDs := map[string]bool{}
	for _, r := range rows {
		if r["incident"] != "INC-1" || r["message_id"] == "" || r["queued_at"] == "" {
			t.Errorf("a row without its incident, Message-ID or time: %v", r)
		}
		if !messageIDs[r["message_id"]] {
			messageIDs[r["message_id"]] = true
			kinds[r["kind"]+"/"+r["language"]]++
		}
		switch r["state"] {
		case "sent":
			if r["sent_at"] == "" || r["failed_at"] != "" {
				t.Errorf("a sent row's times: %v", r)
			}
		case "failed":
			if r["recipient"] != "ghost@example.test" || r["failed_at"] == "" || !strings.Contains(r["last_error"], "550") {
				t.Errorf("a failed row: %v", r)
			}
		}
	}
	for _, want := range []string{"headsup/en", "status/en", "status/de", "resolved/en"} {
		if kinds[want] == 0 {
			t.Errorf("the audit lists no %s message: %v", want, kinds)
		}
	}
	if kinds["status/en"] != 2 || kinds["status/de"] != 2 {
		t.Errorf("two updates, each in English and German: %v", kinds)
	}
	var ghostRows int
	for _, r := range rows {
		if r["recipient"] == "ghost@example.test" {
			ghostRows++
		}
	}
	if ghostRows < 2 {
		t.Errorf("ghost, in the exec group, must be listed for each update, refused: %d rows", ghostRows)
	}

	// The mailboxes, read over IMAP by Message-ID. "sent" is Postfix's
	// 250; its delivery into Dovecot follows a moment later, so each
	// mailbox is first given the time to hold what the audit says.
	sentTo := map[string]int{} // user → rows the audit calls sent
	for _, r := range rows {
		user, _, _ := strings.Cut(r["recipient"], "@")
		if r["state"] == "sent" {
			sentTo[user]++
		}
	}
	for user, n := range sentTo {
		if !slices.Contains(users, user) {
			t.Errorf("the audit says %s@example.test was sent %d copies, and it has no mailbox", user, n)
			continue
		}
		if _, err := ms.WaitForMessages(ctx, user, n); err != nil {
			t.Fatalf("%s's mailbox never held the %d messages the audit says were sent: %v\n%s", user, n, err, ms.LogTail())
		}
	}
	for _, r := range rows {
		user, _, _ := strings.Cut(r["recipient"], "@")
		if !slices.Contains(users, user) {
			continue
		}
		want := uint32(0)
		if r["state"] == "sent" {
			want = 1
		}
		if got := imapCountByMessageID(t, ms, user, r["message_id"]); got != want {
			t.Errorf("%s's mailbox holds %d messages with Message-ID %s (%s, %s); the audit says %s",
				user, got, r["message_id"], r["kind"], r["language"], r["state"])
		}
	}
	for _, user := range users {
		raws, err := ms.Messages(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(raws) != sentTo[user] {
			t.Errorf("%s's mailbox holds %d messages; the audit lists %d sent to them", user, len(raws), sentTo[user])
		}
		for _, raw := range raws {
			if id := header(raw, "Message-ID"); !messageIDs[id] {
				t.Errorf("%s received %s, which the audit does not list", user, id)
			}
		}
	}

	// The JSON record and the CLI's table say the same.
	var rec struct {
		Recipients int `json:"recipients"`
		Messages   []struct {
			MessageID string `json:"message_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(cli(t, e, "audit", "INC-1", "--json")), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Recipients != len(rows) || len(rec.Messages) != len(messageIDs) {
		t.Errorf("the JSON record: %d recipients in %d messages; the CSV %d in %d", rec.Recipients, len(rec.Messages), len(rows), len(messageIDs))
	}
	table := cli(t, e, "audit", "INC-1")
	if !strings.Contains(table, "ghost@example.test") || !strings.Contains(table, "failed") || !strings.Contains(table, rec.Messages[0].MessageID) {
		t.Errorf("the CLI's table:\n%s", table)
	}
	t.Logf("audit: %d rows in %d messages %v; sent per mailbox %v", len(rows), len(messageIDs), kinds, sentTo)
	_ = h
}

// imapCountByMessageID counts the messages in user's INBOX whose
// Message-ID header is id, with IMAP SEARCH HEADER (RFC 9051 6.4.4).
func imapCountByMessageID(t *testing.T, ms *testenv.MailStack, user, id string) uint32 {
	t.Helper()
	c, err := ms.DialIMAP(user)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return uint32(len(data.AllUIDs()))
}

// apiGet reads an API path with the CLI's token.
func apiGet(t *testing.T, e env, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", e.getenv("SITREP_SERVER")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.getenv("SITREP_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	io.Copy(&buf, resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), buf.String())
	}
	return buf.String()
}
