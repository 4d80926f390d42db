package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Issue 18: --translation LANG=TEXT and --translation-file LANG=FILE
// (FILE - is standard input) give the lead's own translations of the
// status; they reach the server with the update, by canonical tag.
func TestUpdateTranslationFlags(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	ref := strings.TrimSpace(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV2", "--quiet"))
	fr := filepath.Join(t.TempDir(), "update.fr.md")
	if err := os.WriteFile(fr, []byte("Le paiement échoue pour certains clients.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"update", ref, "--status", "Checkout fails for some customers.", "--to", "exec", "--wait=false",
		"--translation", "de-ch=Der Checkout schlägt für einige Kunden fehl.", "--translation-file", "ja=-", "--translation-file", "fr=" + fr},
		strings.NewReader("一部のお客様で決済ができません。\n"), &out, &errOut, e.environ)
	if code != 0 {
		t.Fatalf("update with translations: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	events, err := h.incidents.Timeline(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued {
			got, _ = ev.Data["translations"].(map[string]any)
		}
	}
	want := map[string]string{"de-CH": "Der Checkout schlägt für einige Kunden fehl.", "ja": "一部のお客様で決済ができません。", "fr": "Le paiement échoue pour certains clients."}
	if len(got) != len(want) {
		t.Errorf("the update's translations: %v, want %v", got, want)
	}
	for tag, text := range want {
		if got[tag] != text {
			t.Errorf("%s: %q, want %q", tag, got[tag], text)
		}
	}

	// A language sitrep does not write in fails before anything is sent,
	// naming the ones it does; so does a second reader of stdin.
	for _, tc := range []struct {
		args     []string
		code     int
		want     string
		stdinArg bool
	}{
		{[]string{"--translation", "pt-BR=O checkout está fora do ar."}, 2, `"pt-BR" is not a language sitrep writes in; the languages are en, de, es, fr, ja`, false},
		{[]string{"--translation", "Der Checkout"}, 2, "want LANG=TEXT", false},
		{[]string{"--translation", "de=a", "--translation-file", "de=b.md"}, 2, "de is given twice", false},
		{[]string{"--status-file", "-", "--translation-file", "de=-"}, 1, "--translation-file de=-: standard input can be read once, and --status-file - reads it", true},
		{[]string{"--translation-file", "de=-", "--translation-file", "ja=-"}, 1, "standard input can be read once, and --translation-file de=- reads it", true},
		{[]string{"--translation-file", "de=" + filepath.Join(t.TempDir(), "missing.md")}, 1, "--translation-file de=", false},
	} {
		args := append([]string{"update", ref, "--to", "exec", "--wait=false"}, tc.args...)
		if !tc.stdinArg {
			args = append(args, "--status", "x")
		}
		c, _, stderr := runCLI(e, args...)
		if c != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("sitrep %s: exit %d, want %d and …%s…:\n%s", strings.Join(args, " "), c, tc.code, tc.want, stderr)
		}
	}
	// The server's refusal names the flag (--json).
	c, _, stderr := runCLI(e, "update", ref, "--to", "exec", "--status", "x", "--translation", "de= ", "--json")
	if je := jsonErrorOf(t, stderr); c != 1 || je.Field != "translations.de" || je.Flag != "--translation" {
		t.Errorf("an empty translation: exit %d, %+v", c, je)
	}

	help := cli(t, e, "update", "--help")
	for _, want := range []string{"--translation de=", "--translation-file de=update.de.md", "en, de, es, fr, ja"} {
		if !strings.Contains(help, want) {
			t.Errorf("update --help does not show %q:\n%s", want, help)
		}
	}
}

// An update to readers of five languages is five messages: `update`
// follows the delivery of all of them, not only the English one, and
// `deliveries` names each message's language.
func TestUpdateProgressCountsEveryLanguage(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	ref := strings.TrimSpace(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV2", "--quiet"))
	d := h.directory.Current()
	want, err := d.Expand("exec", "support-international")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"update", ref, "--status", "Checkout fails for some customers.", "--to", "exec,support-international"},
		nil, &out, &errOut, e.environ); code != 0 {
		t.Fatalf("update: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if last := lines[len(lines)-1]; last != fmt.Sprintf("delivered %d / %d", len(want), len(want)) {
		t.Fatalf("the progress ends %q, want every one of the %d recipients in every language delivered", last, len(want))
	}
	list := cli(t, e, "deliveries", ref)
	for _, lang := range []string{" en ", " de ", " fr ", " es ", " ja "} {
		if !strings.Contains(list, "status    "+strings.TrimLeft(lang, " ")) {
			t.Errorf("deliveries does not name the%smessage:\n%s", lang, list)
		}
	}
}

// Issue 20: --for GROUP=TEXT and --for-file GROUP=FILE give one of the
// update's groups its own wording, and --public the public page's; the
// dry run shows each group its own email, the send keeps them on the
// timeline, and wording for a group the update does not go to is refused
// with the field named and nothing sent.
func TestUpdateAudienceFlags(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	ref := strings.TrimSpace(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV2", "--quiet"))
	execFile := filepath.Join(t.TempDir(), "exec.md")
	if err := os.WriteFile(execFile, []byte("About 4% of hourly card sales are affected.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const cs = "Tell customers: card payments may fail; retrying in a few minutes works."
	dry := cli(t, e, "update", ref, "--status", "Card payments fail for 30% of customers.", "--to", "exec,customer-service,product",
		"--for", "customer-service="+cs, "--for-file", "exec="+execFile, "--dry-run")
	sections := strings.Split(dry, "=== ")
	want := map[string]string{"exec": "About 4% of hourly card sales", "customer-service": cs, "product": "Card payments fail for 30%"}
	for group, text := range want {
		found := false
		for _, s := range sections {
			if strings.HasPrefix(s, group+":") || strings.HasPrefix(s, group+" (") {
				found = true
				if !strings.Contains(strings.Join(strings.Fields(s), " "), text) {
					t.Errorf("the dry run's %s email lacks %q:\n%s", group, text, s)
				}
			}
		}
		if !found {
			t.Errorf("the dry run shows no email for %s:\n%s", group, dry)
		}
	}

	cli(t, e, "update", ref, "--status", "Card payments fail for 30% of customers.", "--to", "exec,customer-service",
		"--for", "customer-service="+cs, "--public", "Some card payments fail; we are on it.", "--wait=false")
	events, err := h.incidents.Timeline(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	var public any
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued {
			got, _ = ev.Data["audiences"].(map[string]any)
			public = ev.Data["public"]
		}
	}
	if got["customer-service"] != cs || len(got) != 1 || public != "Some card payments fail; we are on it." {
		t.Errorf("the update kept audiences %v and public %v", got, public)
	}

	code, out, errOut := runCLI(e, "update", ref, "--status", "x", "--to", "exec", "--for", "legal=Nothing to add.", "--wait=false")
	if code == 0 || !strings.Contains(errOut, "audiences.legal") || !strings.Contains(errOut, "exec") {
		t.Errorf("wording for a group the update does not go to: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(e, "update", ref, "--status", "x", "--for", "customer-service")
	if code == 0 || !strings.Contains(errOut, "GROUP=TEXT") {
		t.Errorf("--for without a text: exit %d\n%s%s", code, out, errOut)
	}
	n := 0
	events, _ = h.incidents.Timeline(context.Background(), ref)
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d updates queued, want 1 (the refused ones queue nothing)", n)
	}
}
