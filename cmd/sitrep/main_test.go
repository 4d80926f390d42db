package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// testConfig is the embedded default (the example organisation and the
// mail sandbox) on free ports, with a throwaway data directory and
// database: what startHub runs, once a test has changed what it needs.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Mail.Sandbox.SMTPListen = "127.0.0.1:0"
	cfg.Mail.Sandbox.IMAPListen = "127.0.0.1:0"
	cfg.Jobs.PollInterval = 20 * time.Millisecond
	if testenv.DatabaseKind() == "postgres" {
		cfg.Database.URL = testenv.DatabaseURL(t)
	}
	return cfg
}

// testHub is a hub a test started, with what it printed.
type testHub struct {
	*Main
	banner string      // the start's banner on stdout
	logs   *syncWriter // the logs, as they are written
}

// startHub runs the hub in-process, as `sitrep serve` does, on cfg (see
// testConfig) until the test ends, and returns it with the environment a
// CLI user would have.
func startHub(t *testing.T, cfg config.Config) (env, *testHub) {
	t.Helper()
	return startHubAs(t, cfg, env{})
}

// startHubAs is startHub for a sitrep started as as.program (programOf:
// what its messages suggest to run), on a terminal when as.terminal.
func startHubAs(t *testing.T, cfg config.Config, as env) (env, *testHub) {
	t.Helper()
	var out bytes.Buffer
	h := &testHub{logs: &syncWriter{w: &bytes.Buffer{}}}
	h.Main = NewMain(cfg, env{stdin: strings.NewReader(""), stdout: &syncWriter{w: &out}, stderr: h.logs, program: as.program, terminal: as.terminal})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against a hang; a loaded machine took over 30 s
	defer cancel()
	err := h.Run(ctx)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("serve did not start: %v\n%s", err, h.logs.String())
	}
	h.banner = out.String()
	token := []byte(cfg.Server.AdminToken.Value())
	if len(token) == 0 {
		if token, err = os.ReadFile(filepath.Join(cfg.DataDir, "admin-token")); err != nil {
			t.Fatalf("the first start must leave the admin token for the CLI: %v", err)
		}
	}
	client := env{stdin: strings.NewReader(""), environ: []string{"SITREP_SERVER=http://" + h.Addr(), "SITREP_TOKEN=" + strings.TrimSpace(string(token))}}
	return client, h
}

// cli runs one client command and returns its stdout.
func cli(t *testing.T, e env, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	e.stdout, e.stderr = &out, &errOut
	if code := run(context.Background(), args, e.stdin, e.stdout, e.stderr, e.environ); code != 0 {
		t.Fatalf("sitrep %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

func TestEmbeddedDefaultDeclareUpdateAndReadTheSandbox(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	if !strings.Contains(h.banner, "admin API token") || !strings.Contains(h.banner, "EXAMPLE organisation") || !strings.Contains(h.banner, "mail sandbox") {
		t.Fatalf("the banner must say how to log in, that the org is an example, and where the sandbox is:\n%s", h.banner)
	}
	var inc struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Timeline []struct {
			Kind string `json:"kind"`
		} `json:"timeline"`
	}
	out := cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout", "--json")
	if err := json.Unmarshal([]byte(out), &inc); err != nil {
		t.Fatalf("declare --json must print JSON: %v\n%s", err, out)
	}
	if inc.ID != "INC-1" || inc.Severity != "SEV1" || len(inc.Timeline) != 2 || inc.Timeline[1].Kind != "headsup_queued" {
		t.Fatalf("declared %+v", inc)
	}
	show := cli(t, e, "show", "INC-1")
	if !strings.Contains(show, "Checkout down") || !strings.Contains(show, "Timeline (2 events)") {
		t.Fatalf("show:\n%s", show)
	}
	cli(t, e, "update", "INC-1", "--status", "Card payments fail in the EU; failing over.", "--next", "30m", "--to", "exec")
	if got := cli(t, e, "deliveries", "INC-1"); !strings.Contains(got, "stakeholders status") {
		t.Fatalf("deliveries:\n%s", got)
	}

	// Read it as an executive of the example organisation would, over IMAP.
	d := h.directory.Current()
	g, _ := d.Group("exec")
	member := g.Members[0]
	c, err := imapclient.DialInsecure(h.sandbox.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(member, h.cfg.Mail.Sandbox.Password.Value()).Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sel.NumMessages >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no mail after 20s", member)
		}
		time.Sleep(100 * time.Millisecond)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v %d", err, len(msgs))
	}
	if msgs[0].Envelope.Subject != "[INC-1] Checkout down" {
		t.Fatalf("subject %q", msgs[0].Envelope.Subject)
	}
	body := string(msgs[0].FindBodySection(&imap.FetchItemBodySection{}))
	if !strings.Contains(body, "Card payments fail in the EU") || !strings.Contains(body, "Next update by") {
		t.Fatalf("body:\n%s", body)
	}
}

func TestBadConfigListsEveryProblem(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("server:\n  listen: nowhere\nlog:\n  level: loud\n"), 0o600)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", path}, strings.NewReader(""), &out, &errOut, nil)
	if code == 0 || !strings.Contains(errOut.String(), "server.listen") || !strings.Contains(errOut.String(), "log.level") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
}

func TestClientErrorsAreClear(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"list"}, strings.NewReader(""), &out, &errOut, []string{"SITREP_SERVER=http://127.0.0.1:1"})
	if code == 0 || !strings.Contains(errOut.String(), "cannot reach the sitrep server") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	code = run(context.Background(), []string{"frobnicate"}, strings.NewReader(""), &out, &errOut, nil)
	if code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}

// A Run that fails half-way (here: the HTTP port is taken, after the
// database, the sandbox and the workers were built) is undone by Close:
// the sandbox's ports are free again, and a second Close does nothing.
func TestCloseUndoesAFailedRun(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t)
	cfg.Server.Listen = taken.Addr().String()
	smtpPort := freePort(t)
	cfg.Mail.Sandbox.SMTPListen = fmt.Sprintf("127.0.0.1:%d", smtpPort)
	m := NewMain(cfg, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen on") {
		m.Close()
		t.Fatalf("Run on a taken port: %v, want the listen error", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Mail.Sandbox.SMTPListen)
	if err != nil {
		t.Fatalf("the sandbox's SMTP port is still held after Close: %v", err)
	}
	ln.Close()
}
