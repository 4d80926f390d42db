package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/config"
)

// runCLI runs one command and returns its exit status and what it wrote.
func runCLI(e env, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut, e.environ)
	return code, out.String(), errOut.String()
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Every command, and every subcommand with flags of its own, answers
// --help (and -h, and `sitrep help COMMAND`) with its usage on stdout and
// exit 0, whatever else is on the line, and contacts nothing: no server
// runs here.
func TestEveryCommandHelpExitsZero(t *testing.T) {
	t.Parallel()
	lines := [][]string{{"change", "add"}, {"change", "suspect"}, {"change", "confirm"}, {"triage", "file"}, {"draft", "declare"}, {"show", "INC-1"}, {"maintenance", "declare"}, {"maintenance", "cancel"}}
	for _, name := range commandNames() {
		lines = append(lines, []string{name})
	}
	e := env{environ: []string{"SITREP_SERVER=http://127.0.0.1:1"}}
	for _, line := range lines {
		for _, help := range []string{"--help", "-h", "-help"} {
			args := append(append([]string{}, line...), help)
			code, out, errOut := runCLI(e, args...)
			if code != 0 || !strings.Contains(out, "usage: sitrep "+line[0]) || errOut != "" {
				t.Errorf("sitrep %s: exit %d, want 0 and the usage on stdout\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
			}
			if strings.Contains(out, "Usage of") {
				t.Errorf("sitrep %s prints Go's raw usage:\n%s", strings.Join(args, " "), out)
			}
		}
		if len(line) > 1 {
			continue
		}
		code, out, _ := runCLI(e, "help", line[0])
		if code != 0 || !strings.Contains(out, "usage: sitrep "+line[0]) {
			t.Errorf("sitrep help %s: exit %d\n%s", line[0], code, out)
		}
	}
	// A wrong command line still exits 2, with the usage on stderr.
	code, out, errOut := runCLI(e, "show", "--no-such-flag")
	if code != 2 || out != "" || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "usage: sitrep show") {
		t.Errorf("a bad flag: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// `sitrep help` lists every command of the table, postmortem and
// improvements included.
func TestHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(env{}, "help")
	if code != 0 {
		t.Fatalf("sitrep help: exit %d", code)
	}
	for _, name := range commandNames() {
		if !regexp.MustCompile(`(?m)^  sitrep ` + name + `\b`).MatchString(out) {
			t.Errorf("sitrep help does not list %q:\n%s", name, out)
		}
	}
}

func TestProgramOf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for arg0, want := range map[string]string{
		"/tmp/go-build2741/b001/exe/sitrep": goRun,
		"sitrep":                            "sitrep",
		filepath.Join(dir, "sitrep"):        filepath.Join(dir, "sitrep"),
	} {
		if got := programOf(arg0); got != want {
			t.Errorf("programOf(%q) = %q, want %q", arg0, got, want)
		}
	}
}

// jsonErrorOf reads the one JSON error object --json prints on stderr.
func jsonErrorOf(t *testing.T, stderr string) jsonError {
	t.Helper()
	var v struct {
		Error *jsonError `json:"error"`
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || json.Unmarshal([]byte(stderr), &v) != nil || v.Error == nil {
		t.Fatalf("with --json, stderr must be one JSON error object, got:\n%s", stderr)
	}
	return *v.Error
}

// The CLI's errors speak its own language: flags, not API fields; the
// formats --next takes; the groups there are. With --json, every failure
// is one JSON object on stderr.
func TestCLIErrorsNameFlagsFormatsAndChoices(t *testing.T) {
	t.Parallel()
	e, _ := startHub(t, testConfig(t))
	ref := strings.TrimSpace(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--quiet"))
	if !regexp.MustCompile(`^INC-\d+$`).MatchString(ref) {
		t.Fatalf("declare --quiet prints the id alone, for INC=$(sitrep declare ... --quiet); got %q", ref)
	}

	// --next 3 mins, as people type it: the promise is 3 minutes ahead.
	before := time.Now()
	var upd struct {
		NextUpdateAt time.Time `json:"next_update_at"`
	}
	out := cli(t, e, "update", ref, "--status", "Card payments fail.", "--next", "3", "mins", "--to", "exec", "--wait=false", "--json")
	if err := json.Unmarshal([]byte(out), &upd); err != nil {
		t.Fatalf("update --json: %v\n%s", err, out)
	}
	if d := upd.NextUpdateAt.Sub(before); d < 3*time.Minute || d > 4*time.Minute+30*time.Second {
		t.Errorf("--next 3 mins promised %s, %s after the command", upd.NextUpdateAt, d)
	}
	for _, next := range [][]string{{"--next", "3", "fortnights"}, {"--next", "3"}, {"--next", "soon"}} {
		args := append([]string{"update", ref, "--status", "x"}, next...)
		code, _, errOut := runCLI(e, args...)
		if code == 0 || !strings.Contains(errOut, "--next takes a duration like 30m") || strings.Contains(errOut, "want one incident id\n") {
			t.Errorf("sitrep %s: exit %d, want the --next formats named:\n%s", strings.Join(args, " "), code, errOut)
		}
	}

	// The API's root_cause_unknown is the CLI's --root-cause-unknown.
	code, _, errOut := runCLI(e, "resolve", ref)
	if code != 1 || !strings.Contains(errOut, "--root-cause-unknown") || !strings.Contains(errOut, "--root-cause)") || strings.Contains(errOut, "root_cause") {
		t.Errorf("resolve without a root cause: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI(e, "resolve", ref, "--root-cause", "a bad deploy", "--root-cause-unknown")
	if code != 1 || !strings.Contains(errOut, "--root-cause-unknown") || strings.Contains(errOut, "root_cause") {
		t.Errorf("resolve with both: exit %d\n%s", code, errOut)
	}

	// An unknown group lists the groups there are, for --to and for groups.
	code, _, errOut = runCLI(e, "update", ref, "--status", "x", "--to", "execs")
	if code != 1 || !strings.Contains(errOut, `"execs"`) || !strings.Contains(errOut, "exec, ") || !strings.Contains(errOut, "--to") {
		t.Errorf("update --to an unknown group: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI(e, "groups", "execs")
	if code != 1 || !strings.Contains(errOut, "exec, ") {
		t.Errorf("groups of an unknown group: exit %d\n%s", code, errOut)
	}

	// --json: the server's error, a local one and a bad command line, each
	// one JSON object on stderr and nothing on stdout.
	code, out, errOut = runCLI(e, "resolve", ref, "--json")
	if je := jsonErrorOf(t, errOut); code != 1 || out != "" || je.Code != "invalid" || je.Field != "root_cause" || je.Flag != "--root-cause" {
		t.Errorf("resolve --json: exit %d, %+v, stdout %q", code, je, out)
	}
	code, out, errOut = runCLI(e, "show", "INC-999", "--json")
	if je := jsonErrorOf(t, errOut); code != 1 || out != "" || je.Code != "not_found" {
		t.Errorf("show INC-999 --json: exit %d, %+v", code, je)
	}
	code, out, errOut = runCLI(e, "update", ref, "--status", "x", "--next", "3", "--json")
	if je := jsonErrorOf(t, errOut); code != 1 || out != "" || je.Code != "invalid" || !strings.Contains(je.Message, "--next") {
		t.Errorf("update --next 3 --json: exit %d, %+v", code, je)
	}
	code, out, errOut = runCLI(e, "list", "--bogus", "--json")
	if je := jsonErrorOf(t, errOut); code != 2 || out != "" || je.Code != "usage" || !strings.Contains(je.Message, "bogus") {
		t.Errorf("list --bogus --json: exit %d, %+v", code, je)
	}
	code, out, errOut = runCLI(env{environ: []string{"SITREP_SERVER=http://127.0.0.1:1"}}, "list", "--json")
	if je := jsonErrorOf(t, errOut); code != 1 || out != "" || je.Code != "unavailable" {
		t.Errorf("list --json, no server: exit %d, %+v", code, je)
	}
}

// `sitrep deliveries INC-1 --state S` without a message number lists the
// deliveries in that state of every message, and the list counts skipped.
func TestDeliveriesStateAcrossMessages(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	ref := strings.Fields(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1"))[1]
	cli(t, e, "update", ref, "--status", "Card payments fail.", "--to", "exec") // waits until every delivery is done
	g, _ := h.directory.Current().Group("exec")

	list := cli(t, e, "deliveries", ref)
	if !strings.Contains(list, "skipped 0") {
		t.Errorf("the list of messages must count skipped deliveries:\n%s", list)
	}
	sent := cli(t, e, "deliveries", ref, "--state", "sent")
	for _, member := range g.Members {
		if !strings.Contains(sent, member) {
			t.Errorf("deliveries %s --state sent does not list %s:\n%s", ref, member, sent)
		}
	}
	if failed := cli(t, e, "deliveries", ref, "--state", "failed"); !strings.Contains(failed, "No failed deliveries") || strings.Contains(failed, "@") {
		t.Errorf("deliveries %s --state failed must say there are none, not list the messages:\n%s", ref, failed)
	}
	var all struct {
		State    string `json:"state"`
		Messages []struct {
			Deliveries []struct{ Email, State string } `json:"deliveries"`
		} `json:"messages"`
	}
	out := cli(t, e, "deliveries", ref, "--state", "sent", "--json")
	if err := json.Unmarshal([]byte(out), &all); err != nil || all.State != "sent" || len(all.Messages) == 0 {
		t.Fatalf("deliveries --state sent --json: %v\n%s", err, out)
	}
	for _, m := range all.Messages {
		for _, d := range m.Deliveries {
			if d.State != "sent" {
				t.Errorf("--state sent --json lists a %s delivery to %s", d.State, d.Email)
			}
		}
	}
}

// Replies by mail and the triage list, through the CLI: a reply to the
// status email is listed with its class and sender; a mail naming no
// incident waits in triage until filed with `sitrep triage file`.
func TestRepliesAndTriageThroughTheCLI(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	sb := h.sandbox
	ctx := context.Background()
	ref := strings.Fields(cli(t, e, "declare", "--title", "Orders cannot be placed", "--severity", "SEV1",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example"))[1]
	cli(t, e, "update", ref, "--status", "Checkout fails for every customer; rolling back.", "--to", "exec")
	status := waitMail(t, sb, "mark.delaney@sitrep.example", "["+ref+"]")
	replyTo := strings.Trim(header(status.Raw, "Reply-To"), "<>")
	reply := "From: Mark Delaney <mark.delaney@sitrep.example>\r\nTo: " + replyTo + "\r\nSubject: Re: " + status.Subject +
		"\r\nMessage-ID: <cli-reply@sitrep.example>\r\nIn-Reply-To: " + header(status.Raw, "Message-ID") +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nAre EU customers affected too?\r\n"
	stray := "From: Drew <drew@shop.example>\r\nTo: status+report@sitrep.example\r\nSubject: site broken?\r\n" +
		"Message-ID: <cli-stray@shop.example>\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nNothing loads.\r\n"
	if err := sb.Deliver(ctx, "mark.delaney@sitrep.example", []string{replyTo}, []byte(reply)); err != nil {
		t.Fatal(err)
	}
	if err := sb.Deliver(ctx, "drew@shop.example", []string{"status+report@sitrep.example"}, []byte(stray)); err != nil {
		t.Fatal(err)
	}

	var replies, triage string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		replies, triage = cli(t, e, "replies", ref), cli(t, e, "triage")
		if strings.Contains(replies, "EU customers") && strings.Contains(triage, "site broken?") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s:\nsitrep replies %s:\n%s\nsitrep triage:\n%s", ref, replies, triage)
		}
	}
	if !strings.Contains(replies, "Mark Delaney <mark.delaney@sitrep.example>") || !regexp.MustCompile(`#\d+ .* [A-Z_-]+ +Mark Delaney`).MatchString(replies) {
		t.Errorf("a reply is listed with its class and sender:\n%s", replies)
	}
	var listed struct {
		Replies []inboundOut `json:"replies"`
	}
	if out := cli(t, e, "replies", ref, "--json"); json.Unmarshal([]byte(out), &listed) != nil || len(listed.Replies) != 1 || listed.Replies[0].Class == "" {
		t.Errorf("replies --json:\n%s", out)
	} else if !strings.Contains(replies, strings.ToUpper(listed.Replies[0].Class)) {
		t.Errorf("the reply's class %q is not shown:\n%s", listed.Replies[0].Class, replies)
	}
	if !strings.Contains(triage, "drew@shop.example") {
		t.Errorf("triage lists the sender:\n%s", triage)
	}

	var waiting struct {
		Messages []inboundOut `json:"messages"`
	}
	if err := json.Unmarshal([]byte(cli(t, e, "triage", "--json")), &waiting); err != nil || len(waiting.Messages) != 1 {
		t.Fatalf("triage --json: %v %+v", err, waiting)
	}
	filed := cli(t, e, "triage", "file", fmt.Sprint(waiting.Messages[0].ID), ref)
	if !strings.Contains(filed, "filed on "+ref) {
		t.Errorf("triage file:\n%s", filed)
	}
	if after := cli(t, e, "triage"); !strings.Contains(after, "Triage is empty") {
		t.Errorf("after filing, triage:\n%s", after)
	}
	reps, _ := h.incidents.Reports(ctx, ref)
	if len(reps) != 1 || reps[0].Email != "drew@shop.example" {
		t.Errorf("the filed report is the incident's: %+v", reps)
	}
}

// On the embedded default, "drafts from monitoring" can be tried at once:
// the generic webhook is on with a secret kept in the data directory, the
// banner shows it (on a terminal, once) with the command that works (here
// as under `go run`),
// and `sitrep alert` opens a draft that `sitrep drafts` lists. A wrong
// secret is refused, and said so.
func TestAlertOpensADraftOnTheEmbeddedDefault(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	e, h := startHubAs(t, cfg, env{program: goRun, terminal: true})
	for _, want := range []string{"go run ./cmd/sitrep declare", "/api/v1/intake/generic is on", "go run ./cmd/sitrep alert --title", "go install ./cmd/sitrep"} {
		if !strings.Contains(h.banner, want) {
			t.Errorf("the banner does not say %q:\n%s", want, h.banner)
		}
	}
	secret, err := os.ReadFile(filepath.Join(cfg.DataDir, intakeSecretFile))
	if err != nil || len(strings.TrimSpace(string(secret))) < 32 {
		t.Fatalf("the generated secret must be kept in the data directory: %v %q", err, secret)
	}
	if !strings.Contains(h.banner, strings.TrimSpace(string(secret))) {
		t.Errorf("on a terminal, the first start shows the webhook's secret, as it shows the API token:\n%s", h.banner)
	}
	if info, _ := os.Stat(filepath.Join(cfg.DataDir, intakeSecretFile)); info.Mode().Perm() != 0o600 {
		t.Errorf("the secret file is mode %v, want 0600", info.Mode().Perm())
	}
	e.environ = append(e.environ, "SITREP_DATA_DIR="+cfg.DataDir)

	code, _, errOut := runCLI(e, "alert", "--title", "Checkout failing", "--secret", "wrong-secret")
	if code != 1 || !strings.Contains(errOut, "refused the secret") {
		t.Errorf("a wrong secret: exit %d\n%s", code, errOut)
	}
	out := cli(t, e, "alert", "--title", "Checkout failing from us-east", "--system", "checkout-us", "--severity", "high", "--started", "5m")
	if !strings.Contains(out, "opened DRAFT-") {
		t.Fatalf("sitrep alert:\n%s", out)
	}
	if again := cli(t, e, "alert", "--title", "Checkout failing from us-east", "--system", "checkout-us"); !strings.Contains(again, "attached to DRAFT-") {
		t.Errorf("the same alert again attaches to its draft:\n%s", again)
	}
	drafts := cli(t, e, "drafts")
	// checkout-us is mapped onto the escalation list's checkout.
	if !strings.Contains(drafts, "Checkout failing from us-east") || !strings.Contains(drafts, "generic") || !regexp.MustCompile(`\scheckout\s`).MatchString(drafts) {
		t.Errorf("sitrep drafts:\n%s", drafts)
	}
	draft := regexp.MustCompile(`DRAFT-(\d+)`).FindStringSubmatch(out)[1]
	if ref := strings.TrimSpace(cli(t, e, "draft", "declare", draft, "--severity", "SEV2", "--quiet")); !regexp.MustCompile(`^INC-\d+$`).MatchString(ref) {
		t.Errorf("draft declare --quiet prints the id alone; got %q", ref)
	}
}

// The README moves the ports with these variables: they must be the ones
// the configuration reads, on the embedded default too.
func TestREADMEPortVariables(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	environ := []string{"SITREP_SERVER_LISTEN=127.0.0.1:9080", "SITREP_MAIL_SANDBOX_SMTP_LISTEN=127.0.0.1:2526", "SITREP_MAIL_SANDBOX_IMAP_LISTEN=127.0.0.1:1144"}
	for _, kv := range append(environ, "server.listen", "mail.sandbox.smtp_listen", "mail.sandbox.imap_listen", "SITREP_SERVER=http://127.0.0.1:9080") {
		if !strings.Contains(string(readme), kv) {
			t.Errorf("the README does not say %s", kv)
		}
	}
	cfg, err := config.Load("", environ)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:9080" || cfg.Mail.Sandbox.SMTPListen != "127.0.0.1:2526" || cfg.Mail.Sandbox.IMAPListen != "127.0.0.1:1144" {
		t.Errorf("the variables did not move the ports: %s, %s, %s", cfg.Server.Listen, cfg.Mail.Sandbox.SMTPListen, cfg.Mail.Sandbox.IMAPListen)
	}
}

// Every sitrep command line in the README and the user guide names a
// command that exists, and only flags that command has: the docs are run
// by newcomers word for word.
func TestDocumentedCommandsExist(t *testing.T) {
	t.Parallel()
	invocation := regexp.MustCompile(`(?:^|[\s($/])(?:\./)?sitrep ([a-z][a-z-]*)((?: +[^ ]+)*)`)
	flagRE := regexp.MustCompile(`(?:^|[\s\[|(])--([a-z][a-z-]*)`)
	subcommands := map[string][]string{"change": {"add", "suspect", "confirm"}, "triage": {"file"}}
	helps := map[string]string{}
	help := func(args ...string) string {
		key := strings.Join(args, " ")
		if h, ok := helps[key]; ok {
			return h
		}
		_, out, _ := runCLI(env{}, append(args, "--help")...)
		helps[key] = out
		return out
	}
	checked := 0
	defer func() {
		if checked < 100 {
			t.Errorf("only %d documented flags found: is the scan still reading the docs?", checked)
		}
	}()
	for _, doc := range []string{"../../README.md", "../../docs/user-guide.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for i, block := range strings.Split(string(b), "```") {
			if i%2 == 1 { // a code block: lines, continuations joined, comments cut
				for _, l := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
					if c := strings.Index(l, " #"); c >= 0 {
						l = l[:c]
					}
					lines = append(lines, l)
				}
				continue
			}
			for _, span := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(block, -1) {
				lines = append(lines, span[1])
			}
		}
		for _, line := range lines {
			if strings.HasPrefix(strings.TrimSpace(line), "docker ") {
				continue // the image is called sitrep too
			}
			for _, m := range invocation.FindAllStringSubmatch(line, -1) {
				name, rest := m[1], m[2]
				if name == "help" || name == "version" {
					continue
				}
				if _, ok := commands[name]; !ok {
					t.Errorf("%s: `sitrep %s`: no such command (in %q)", doc, name, line)
					continue
				}
				args := []string{name}
				if subs, ok := subcommands[name]; ok {
					first := strings.Split(strings.Fields(rest + " x")[0], "|")[0]
					first = strings.Split(first, `\`)[0]
					for _, s := range subs {
						if first == s {
							args = append(args, s)
						}
					}
					if len(args) == 1 {
						continue // `sitrep change` alone: its usage, no flags
					}
				}
				usage := help(args...)
				for _, f := range flagRE.FindAllStringSubmatch(rest, -1) {
					checked++
					if !strings.Contains(usage, "  -"+f[1]+" ") && !strings.Contains(usage, "  -"+f[1]+"\n") {
						t.Errorf("%s: `sitrep %s` has no flag --%s (in %q)", doc, strings.Join(args, " "), f[1], line)
					}
				}
			}
		}
	}
}

// "fired 1 times" and "1 finding(s)" are gone: counts agree with their noun.
func TestCountsAgreeWithTheirNoun(t *testing.T) {
	for n, want := range map[int]string{0: "0 findings", 1: "1 finding", 2: "2 findings"} {
		if got := count(n, "finding", "findings"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// `sitrep deliveries INC-1 MESSAGE` lists every recipient, whatever the
// number of pages the API answers in (the API's first 1,000 only, before);
// the API refuses a page it cannot read. Not parallel: it sets the page
// size the client asks for.
func TestDeliveriesListEveryPage(t *testing.T) {
	old := deliveriesPage
	deliveriesPage = 2
	t.Cleanup(func() { deliveriesPage = old })
	e, h := startHub(t, testConfig(t))
	ref := strings.Fields(cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1"))[1]
	cli(t, e, "update", ref, "--status", "Card payments fail.", "--to", "exec") // waits until every delivery is done
	g, _ := h.directory.Current().Group("exec")
	if len(g.Members) <= deliveriesPage {
		t.Fatalf("exec has %d members: too few for two pages of %d", len(g.Members), deliveriesPage)
	}
	var id string
	for _, line := range strings.Split(cli(t, e, "deliveries", ref), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[2] == "stakeholders" && f[3] == "status" {
			id = f[0]
		}
	}
	if id == "" {
		t.Fatal("no status message listed")
	}

	list := cli(t, e, "deliveries", ref, id)
	for _, member := range g.Members {
		if strings.Count(list, member+" ") != 1 {
			t.Errorf("deliveries %s %s must list %s once:\n%s", ref, id, member, list)
		}
	}
	var all struct {
		Deliveries []struct{ Email string } `json:"deliveries"`
		More       bool                     `json:"more"`
	}
	out := cli(t, e, "deliveries", ref, id, "--json")
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all.Deliveries) != len(g.Members) || all.More {
		t.Errorf("deliveries --json: %v, want all %d members in one answer\n%s", err, len(g.Members), out)
	}

	var server, token string
	for _, kv := range e.environ {
		if v, ok := strings.CutPrefix(kv, "SITREP_SERVER="); ok {
			server = v
		} else if v, ok := strings.CutPrefix(kv, "SITREP_TOKEN="); ok {
			token = v
		}
	}
	for query, field := range map[string]string{"limit=0": "limit", "limit=10001": "limit", "after=-1": "after", "after=x": "after"} {
		req, _ := http.NewRequest("GET", server+"/api/v1/incidents/"+ref+"/messages/"+id+"/deliveries?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Field string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Error.Field != field {
			t.Errorf("?%s: %d %+v, want 400 naming %s", query, resp.StatusCode, e.Error, field)
		}
	}
}
