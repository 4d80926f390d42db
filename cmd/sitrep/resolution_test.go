package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

// waitMail waits for a message whose subject contains want in a sandbox mailbox.
func waitMail(t *testing.T, sb *sandbox.Sandbox, email, want string) sandbox.Message {
	t.Helper()
	return waitMessage(t, sb, email, "a subject with "+strconv.Quote(want), func(m sandbox.Message) bool { return strings.Contains(m.Subject, want) })
}

// waitLeadsMail waits for a message to email in the leads' thread, whose
// subject is the thread's; what it is shows in its first line.
func waitLeadsMail(t *testing.T, sb *sandbox.Sandbox, email, firstLine string) sandbox.Message {
	t.Helper()
	return waitMessage(t, sb, email, "a first line with "+strconv.Quote(firstLine), func(m sandbox.Message) bool {
		return strings.Contains(m.Subject, "For the leads: ") && strings.Contains(string(m.Raw), firstLine)
	})
}

// waitMessage waits up to 20 s for a message to email that matches, and
// fails naming what it waited for and the subjects there are.
func waitMessage(t *testing.T, sb *sandbox.Sandbox, email, what string, match func(sandbox.Message) bool) sandbox.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := sb.Messages(context.Background(), email)
		if err == nil {
			for _, m := range msgs {
				if match(m) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			var subjects []string
			for _, m := range msgs {
				subjects = append(subjects, m.Subject)
			}
			t.Fatalf("%s has no message with %s after 20s; has %q", email, what, subjects)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func header(raw []byte, name string) string {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestResolveConfirmAndSummary walks the resolution flow on the embedded
// default: the resolved email in the existing thread, reporters asked to
// confirm, a "still broken" answer alerting the leads, and the blameless
// summary refused for a finding, then sent with an override on the timeline.
func TestResolveConfirmAndSummary(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	sb := h.sandbox
	const exec = "mark.delaney@sitrep.example"
	cli(t, e, "declare", "--title", "Search results empty", "--severity", "SEV2", "--systems", "search",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example", "--since", "30m")
	cli(t, e, "report", "INC-1", "--from", "dana@customer.example", "--where", "EU", "--how", "web", "--saw", "No results for any query")
	out := cli(t, e, "report", "INC-1", "--from", "june.park@sitrep.example", "--where", "US office", "--how", "mobile app", "--saw", "Empty search page")
	if strings.Contains(out, "Possibly isolated") {
		t.Fatalf("two reporters in two places are not isolated:\n%s", out)
	}
	cli(t, e, "update", "INC-1", "--status", "The search index is being rebuilt.", "--to", "exec")
	update := waitMail(t, sb, exec, "[INC-1] Search results empty")

	// The "resolved" email goes in the same thread.
	if bad := run(context.Background(), []string{"resolve", "INC-1"}, strings.NewReader(""), &syncWriter{w: &strings.Builder{}}, &syncWriter{w: &strings.Builder{}}, e.environ); bad == 0 {
		t.Fatal("resolving without a root cause must be refused")
	}
	out = cli(t, e, "resolve", "INC-1", "--root-cause", "An index alias pointed at an empty index after the nightly rebuild.",
		"--fix", "Pointed the alias back and added a check.", "--impact", "Search returned no results for 40 minutes.")
	if !strings.Contains(out, "is resolved") || !strings.Contains(out, "asked to confirm") {
		t.Fatalf("resolve:\n%s", out)
	}
	if code := run(context.Background(), []string{"resolve", "INC-1", "--root-cause", "x"}, strings.NewReader(""), &syncWriter{w: &strings.Builder{}}, &syncWriter{w: &strings.Builder{}}, e.environ); code == 0 {
		t.Fatal("resolving twice must be refused (409)")
	}
	deadline := time.Now().Add(20 * time.Second)
	var resolved sandbox.Message
	for {
		msgs, _ := sb.Messages(context.Background(), exec)
		for _, m := range msgs {
			if strings.Contains(string(m.Raw), "Resolved: service restored at ") {
				resolved = m
			}
		}
		if resolved.ID != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resolved.ID == "" {
		t.Fatal("no resolved email for the exec")
	}
	if resolved.Subject != update.Subject || header(resolved.Raw, "In-Reply-To") != header(update.Raw, "Message-ID") {
		t.Fatalf("the resolved email must continue the thread: subject %q vs %q, In-Reply-To %q vs %q",
			resolved.Subject, update.Subject, header(resolved.Raw, "In-Reply-To"), header(update.Raw, "Message-ID"))
	}
	if !strings.Contains(string(resolved.Raw), "write-up will follow") {
		t.Error("the resolved email must promise the write-up")
	}
	// One reporter confirms by reply, the other says it is still broken:
	// real replies, read back by the hub from its own inbox.
	ctx := context.Background()
	db := h.db
	inc, _ := h.incidents.Get(ctx, "INC-1")
	reply := func(from, text string) {
		t.Helper()
		ask := waitMail(t, sb, from, "Is it fixed for you?")
		to := header(ask.Raw, "Reply-To")
		raw := "From: " + from + "\r\nTo: " + to + "\r\nSubject: Re: " + ask.Subject + "\r\nMessage-ID: <" + strings.ReplaceAll(from, "@", ".") + "@reply.test>\r\n" +
			"In-Reply-To: " + header(ask.Raw, "Message-ID") + "\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			text + "\r\n\r\nOn Tue, sitrep wrote:\r\n> Could you check and reply?\r\n"
		if err := sb.Deliver(ctx, from, []string{strings.Trim(to, "<>")}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	reply("dana@customer.example", "Yes, works now.")
	reply("june.park@sitrep.example", "No, still empty on the app.")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		list, _ := h.resolution.Confirmations(ctx, "INC-1")
		answered := 0
		for _, c := range list {
			if c.State != "asked" {
				answered++
			}
		}
		if answered == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the answers by reply were not filed: %+v", list)
		}
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		ok, err := h.resolution.RecordAnswer(ctx, tx, inc.ID, "stranger@x.example", "confirmed", "yes", time.Now())
		if ok {
			t.Error("an answer from someone not asked must be filed as an ordinary reply")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out = cli(t, e, "confirmations", "INC-1")
	if !strings.Contains(out, "CONFIRMED") || !strings.Contains(out, "STILL BROKEN") {
		t.Fatalf("confirmations:\n%s", out)
	}
	waitLeadsMail(t, sb, "will.hartmann@sitrep.example", "STILL BROKEN for ")
	waitLeadsMail(t, sb, "grace.okafor@sitrep.example", "STILL BROKEN for ")

	// The summary draft has every section, filled from the incident.
	draft := cli(t, e, "summary", "INC-1")
	for _, want := range []string{"## Summary", "## Time frame", "## Impact", "## Root cause", "An index alias pointed", "## How it was fixed",
		"Pointed the alias back", "## Timeline", "## Teams involved", "## Thanks"} {
		if !strings.Contains(draft, want) {
			t.Errorf("the draft lacks %q", want)
		}
	}
	dir := t.TempDir()
	// The draft as it comes is unfinished: its TODO placeholders stop it,
	// override or not.
	unfinished := filepath.Join(dir, "draft.md")
	os.WriteFile(unfinished, []byte(draft), 0o600)
	var todoErr strings.Builder
	code := run(ctx, []string{"summary", "INC-1", "--file", unfinished, "--send", "--override"}, strings.NewReader(""), &syncWriter{w: &strings.Builder{}}, &syncWriter{w: &todoErr}, e.environ)
	if code == 0 || !strings.Contains(todoErr.String(), "TODO placeholder") {
		t.Fatalf("a summary with TODOs must be refused even with --override; exit %d: %s", code, todoErr.String())
	}
	var finished []string
	for _, line := range strings.Split(draft, "\n") {
		if !strings.Contains(line, "TODO:") {
			finished = append(finished, line)
		}
	}
	blaming := filepath.Join(dir, "summary.md")
	os.WriteFile(blaming, []byte(strings.Join(finished, "\n")+"\nWill forgot to check the alias.\n"), 0o600)
	var errOut strings.Builder
	code = run(ctx, []string{"summary", "INC-1", "--file", blaming, "--send"}, strings.NewReader(""), &syncWriter{w: &strings.Builder{}}, &syncWriter{w: &errOut}, e.environ)
	if code == 0 || !strings.Contains(errOut.String(), "blameless lint") {
		t.Fatalf("a summary with a finding must be refused; exit %d: %s", code, errOut.String())
	}
	out = cli(t, e, "summary", "INC-1", "--file", blaming, "--send", "--override")
	if !strings.Contains(out, "Lint overridden") {
		t.Fatalf("override:\n%s", out)
	}
	var shown struct {
		Timeline []struct {
			Kind, Text string
		} `json:"timeline"`
	}
	json.Unmarshal([]byte(cli(t, e, "show", "INC-1", "--json")), &shown)
	var overrideOnTimeline bool
	for _, ev := range shown.Timeline {
		if ev.Kind == "summary_sent" && strings.Contains(ev.Text, "OVERRIDDEN") && strings.Contains(ev.Text, "Will") {
			overrideOnTimeline = true
		}
	}
	if !overrideOnTimeline {
		t.Fatalf("the override must be on the timeline: %+v", shown.Timeline)
	}
	waitMail(t, sb, exec, "[INC-1] Search results empty") // the summary continues the thread
}

// TestEmailedReportIsFiled: an email to the report address is filed as a
// report on the incident its subject names; one naming no incident waits
// in triage, and becomes a report of the incident a lead files it on.
func TestEmailedReportIsFiled(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	sb := h.sandbox
	ctx := context.Background()
	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1")
	send := func(from, subject, body string) {
		raw := "From: Casey <" + from + ">\r\nTo: status+report@sitrep.example\r\nSubject: " + subject +
			"\r\nMessage-ID: <" + subject[:3] + strings.ReplaceAll(from, "@", ".") + "@mail.test>\r\nDate: " + time.Now().Format(time.RFC1123Z) +
			"\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n"
		if err := sb.Deliver(ctx, from, []string{"status+report@sitrep.example"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	send("casey@shop.example", "[INC-1] cannot pay", "The payment page spins forever on my phone.")
	send("drew@shop.example", "site broken?", "Nothing loads.")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reps, _ := h.incidents.Reports(ctx, "INC-1")
		triage, _ := h.inbox.Triage(ctx, 10)
		if len(reps) == 1 && len(triage) == 1 {
			if reps[0].Email != "casey@shop.example" || reps[0].Channel != "email" || !strings.Contains(reps[0].Observed, "spins forever") {
				t.Fatalf("report %+v", reps[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reports %+v, triage %+v", reps, triage)
		}
	}
	// The lead files the waiting report on INC-1: a report, not a reply,
	// so its sender is a reporter too (and will be asked to confirm).
	triage, _ := h.inbox.Triage(ctx, 10)
	if triage[0].Class != "report" {
		t.Fatalf("a report waiting in triage says so: %+v", triage[0])
	}
	// Filed through the API, as the triage page does.
	var server, token string
	for _, kv := range e.environ {
		if v, ok := strings.CutPrefix(kv, "SITREP_SERVER="); ok {
			server = v
		}
		if v, ok := strings.CutPrefix(kv, "SITREP_TOKEN="); ok {
			token = v
		}
	}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/triage/%d/assign", server, triage[0].ID), strings.NewReader(`{"incident": "INC-1"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var filedMsg struct {
		Incident  string `json:"incident"`
		State     string `json:"state"`
		MatchedBy string `json:"matched_by"`
	}
	json.NewDecoder(resp.Body).Decode(&filedMsg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || filedMsg.Incident != "INC-1" || filedMsg.State != "processed" || filedMsg.MatchedBy != "manual" {
		t.Fatalf("filing from triage: %d %+v", resp.StatusCode, filedMsg)
	}
	reps, _ := h.incidents.Reports(ctx, "INC-1")
	filed := map[string]string{}
	for _, r := range reps {
		filed[r.Email] = r.Channel + ": " + r.Observed
	}
	if len(reps) != 2 || filed["drew@shop.example"] != "email: Nothing loads." {
		t.Fatalf("reports after filing from triage: %+v", reps)
	}
}
