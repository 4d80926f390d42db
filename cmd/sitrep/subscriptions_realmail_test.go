package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestSubscriptionsOverPostfixAndDovecot: people follow incidents
// themselves, through real Postfix and Dovecot. Ann and Bob follow the
// checkout system and get checkout's status emails, in the stakeholders'
// thread, and nothing of search's. Dana, outside the directory but in an
// allowed domain, confirms by the link mailed to her (once; the link
// refuses a second use). Ann leaves with her copy's List-Unsubscribe
// POST (RFC 8058): the next update reaches the group, Bob and Dana, not
// her.
func TestSubscriptionsOverPostfixAndDovecot(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "vp", "exec1", "ann", "bob", "dana", "status")
	groups := filepath.Join(t.TempDir(), "groups.yaml")
	os.WriteFile(groups, []byte(`organization: Real Mail Org
people:
  - {email: vp@example.test, name: Vera Park, roles: [comms-lead]}
  - {email: exec1@example.test, name: Eve Exec}
  - {email: ann@example.test, name: Ann Arbor}
  - {email: bob@example.test, name: Bob Berg, language: de}
groups:
  - {name: exec, display_name: Executives, members: [exec1@example.test]}
escalations:
  - {system: checkout, responders: [vp@example.test]}
  - {system: search, responders: [vp@example.test]}
audiences:
  status: [exec]
`), 0o600)
	smtpHost, smtpPort := splitHostPort(t, ms.SMTPAddr)
	cfg := testConfig(t)
	cfg.Directory.File = groups
	cfg.Mail.Domain, cfg.Mail.From = "example.test", "sitrep <status@example.test>"
	cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS = smtpHost, smtpPort, "none"
	// The links name the public URL, a proxy in production; the test
	// follows them to the hub's own address.
	cfg.Server.PublicURL = "https://sitrep.example.test"
	cfg.Subscriptions.AllowedDomains = []string{"example.test"}
	e, h := startHub(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	hub := func(link string) string {
		return "http://" + h.Addr() + strings.TrimPrefix(link, "https://sitrep.example.test")
	}

	cli(t, e, "subscribe", "--system", "checkout", "ann@example.test")
	cli(t, e, "subscribe", "--system", "checkout", "bob@example.test")
	if out := cli(t, e, "subscribe", "--all", "dana@example.test"); !strings.Contains(out, "must confirm first") {
		t.Fatalf("dana, outside the directory, must confirm first:\n%s", out)
	}

	// Double opt-in: the link arrives; a GET only shows a button; the POST
	// confirms; a second POST is refused and changes nothing.
	raws, err := ms.WaitForMessages(ctx, "dana", 1)
	if err != nil {
		t.Fatal(err)
	}
	confirm := regexp.MustCompile(`https://sitrep\.example\.test/subscriptions/confirm/[A-Za-z0-9_-]+`).FindString(text(t, raws[0]))
	if confirm == "" {
		t.Fatalf("no confirmation link in:\n%s", raws[0])
	}
	if status, body := httpDo(t, "GET", hub(confirm)); status != 200 || !strings.Contains(body, "<button") {
		t.Fatalf("GET of the confirmation link: %d\n%s", status, body)
	}
	if out := cli(t, e, "subscriptions", "dana@example.test"); !strings.Contains(out, "waiting for the link") {
		t.Fatalf("a GET confirmed the subscription (mail scanners follow links):\n%s", out)
	}
	if status, body := httpDo(t, "POST", hub(confirm)); status != 200 || !strings.Contains(body, "Subscribed") {
		t.Fatalf("POST of the confirmation link: %d\n%s", status, body)
	}
	if status, body := httpDo(t, "POST", hub(confirm)); status != 400 || !strings.Contains(body, "already used") {
		t.Fatalf("the confirmation link a second time: %d\n%s", status, body)
	}

	cli(t, e, "declare", "--title", "Checkout fails", "--severity", "SEV2", "--systems", "checkout", "--comms", "vp@example.test")
	cli(t, e, "declare", "--title", "Search is slow", "--severity", "SEV3", "--systems", "search", "--comms", "vp@example.test")
	cli(t, e, "update", "INC-1", "--status", "Checkout update one.")
	cli(t, e, "update", "INC-2", "--status", "Search update one.")

	exec1 := waitFor(ctx, t, ms, "exec1", "Checkout update one.", "Search update one.")
	ann := waitFor(ctx, t, ms, "ann", "Checkout update one.")
	bob := waitFor(ctx, t, ms, "bob", "Checkout update one.")
	waitFor(ctx, t, ms, "dana", "Checkout update one.", "Search update one.")
	if header(ann[0], "Subject") != header(exec1[0], "Subject") || header(ann[0], "Message-ID") != header(exec1[0], "Message-ID") {
		t.Errorf("Ann's copy is not the stakeholders' message: %q %q, the group's %q %q",
			header(ann[0], "Subject"), header(ann[0], "Message-ID"), header(exec1[0], "Subject"), header(exec1[0], "Message-ID"))
	}
	if got := mustHeader(t, exec1[0], "List-Unsubscribe"); got != "" {
		t.Errorf("the group member's copy has List-Unsubscribe %q", got)
	}
	if mustHeader(t, bob[0], "Content-Language") != "de" {
		t.Errorf("Bob reads German; his copy is %q", mustHeader(t, bob[0], "Content-Language"))
	}
	// Each follower's copy names what they follow, in their language,
	// never the thread's own name ("INC-1 stakeholders").
	for _, c := range []struct {
		who      string
		raw      []byte
		to, line string
	}{{"Ann", ann[0], "Followers of checkout:;", "You receive this because you follow the checkout system"},
		{"Bob", bob[0], "Abonnenten von checkout:;", "weil Sie das System checkout"},
		{"Dana", waitFor(ctx, t, ms, "dana", "Checkout update one.")[0], "Followers of all incidents and maintenance:;", "you follow all incidents and planned maintenance"}} {
		body := strings.Join(strings.Fields(text(t, c.raw)), " ")
		if to := mustHeader(t, c.raw, "To"); to != c.to || !strings.Contains(body, c.line) || strings.Contains(body, "stakeholders") || strings.Contains(body, "Sent to") {
			t.Errorf("%s's copy is To: %q and reads:\n%s", c.who, to, body)
		}
	}
	if to := mustHeader(t, exec1[0], "To"); to != "Executives:;" || !strings.Contains(text(t, exec1[0]), "Sent to Executives") {
		t.Errorf("the group member's copy is To: %q", to)
	}

	// The dry run shows the followers' own copies beside the group's,
	// with a placeholder for each one's link, and sends nothing.
	dry := cli(t, e, "update", "INC-1", "--status", "Dry words.", "--dry-run")
	if !strings.Contains(dry, "=== followers, each their own copy") || !strings.Contains(dry, "To: Followers of") ||
		!strings.Contains(dry, "https://sitrep.example.test/unsubscribe/each-follower-gets-their-own-link") || !strings.Contains(dry, "=== exec") {
		t.Errorf("the dry run does not show the followers' copies:\n%s", dry)
	}

	// Ann's mail client unsubscribes with one POST (RFC 8058 3.2).
	lu := strings.Trim(mustHeader(t, ann[0], "List-Unsubscribe"), "<>")
	if !strings.HasPrefix(lu, "https://sitrep.example.test/unsubscribe/") || mustHeader(t, ann[0], "List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("Ann's copy lacks the one-click headers: %q", lu)
	}
	if strings.Contains(string(bob[0]), strings.TrimPrefix(lu, "https://sitrep.example.test")) {
		t.Fatal("Bob's copy carries Ann's unsubscribe link")
	}
	resp, err := http.Post(hub(lu), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}

	cli(t, e, "update", "INC-1", "--status", "Checkout update two.")
	waitFor(ctx, t, ms, "exec1", "Checkout update two.")
	bobTwo := waitFor(ctx, t, ms, "bob", "Checkout update two.")
	waitFor(ctx, t, ms, "dana", "Checkout update two.")
	if !strings.Contains(header(bobTwo[0], "References"), header(bob[0], "Message-ID")) || header(bobTwo[0], "Subject") != header(bob[0], "Subject") {
		t.Errorf("Bob's second update is not in his thread: References %q, first %q", header(bobTwo[0], "References"), header(bob[0], "Message-ID"))
	}
	// The update went to its recipients in one fan-out; the deliveries say
	// Ann was not one of them, and her mailbox agrees.
	var msgID int64
	msgs, err := h.outbox.Messages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == "status" {
			msgID = max(msgID, m.ID)
			for _, v := range m.Variants {
				msgID = max(msgID, v.ID)
			}
		}
	}
	for _, m := range msgs {
		if m.Kind != "status" || m.ID < msgID-1 {
			continue
		}
		ds, _, err := h.outbox.Deliveries(ctx, m.ID, outbox.DeliveryPage{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Email == "ann@example.test" {
				t.Errorf("the update after Ann unsubscribed has a delivery to her (message %d)", m.ID)
			}
		}
	}
	// The resolved email reaches the followers too, in the same thread.
	cli(t, e, "resolve", "INC-1", "--root-cause", "A full disk on the payments database.")
	resolved := waitFor(ctx, t, ms, "dana", "A full disk on the payments database.")
	if header(resolved[0], "Subject") != header(exec1[0], "Subject") || mustHeader(t, resolved[0], "List-Unsubscribe") == "" {
		t.Errorf("Dana's resolved email is not in the thread with her own unsubscribe link: %q", header(resolved[0], "Subject"))
	}
	raws, _ = ms.Messages(ctx, "ann")
	for _, raw := range raws {
		if body := text(t, raw); strings.Contains(body, "Checkout update two.") || strings.Contains(body, "Search update one.") || strings.Contains(body, "full disk") || strings.Contains(body, "Dry words") {
			t.Errorf("Ann received what she does not follow:\n%s", body)
		}
	}
}

// text is the plain-text part of a message, decoded.
func text(t *testing.T, raw []byte) string {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return env.Text
}

// mustHeader is a header field unfolded (RFC 5322 2.2.3).
func mustHeader(t *testing.T, raw []byte, name string) string {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return env.GetHeader(name)
}

// waitFor waits until user's mailbox holds a message with each of texts,
// and returns those messages in the order of texts.
func waitFor(ctx context.Context, t *testing.T, ms *testenv.MailStack, user string, texts ...string) [][]byte {
	t.Helper()
	for {
		raws, err := ms.Messages(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var found [][]byte
		for _, want := range texts {
			for _, raw := range raws {
				if strings.Contains(text(t, raw), want) {
					found = append(found, raw)
					break
				}
			}
		}
		if len(found) == len(texts) {
			return found
		}
		if ctx.Err() != nil {
			t.Fatalf("%s never received %q (has %d messages)\n%s", user, texts, len(raws), ms.LogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Without server.public_url (the embedded default), a follower's
// unsubscribe link names the address the hub listens on: a relative
// "/unsubscribe/..." cannot be followed from a mail client.
func TestFollowersLinkIsAbsoluteWithoutPublicURL(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	cli(t, e, "subscribe", "--system", "checkout", "mark.delaney@sitrep.example")
	ref := strings.TrimSpace(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV2", "--systems", "checkout", "--quiet"))
	cli(t, e, "update", ref, "--status", "Card payments fail.", "--to", "product", "--wait=false")
	var link string
	if err := h.db.QueryRowContext(t.Context(), `SELECT unsubscribe FROM deliveries WHERE email = 'mark.delaney@sitrep.example' AND unsubscribe <> ''`).Scan(&link); err != nil {
		t.Fatal(err)
	}
	if want := "http://" + h.Addr() + "/unsubscribe/"; !strings.HasPrefix(link, want) {
		t.Errorf("the follower's link is %q, want it to start %q", link, want)
	}
}
