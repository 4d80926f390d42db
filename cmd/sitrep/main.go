// Command sitrep is the incident communications hub: `sitrep serve` runs
// it; the other subcommands talk to a running server over its API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runAs(ctx, programOf(os.Args[0]), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// goRun is how a person runs sitrep who started it with `go run`: the
// binary is in a temporary build directory, not on PATH.
const goRun = "go run ./cmd/sitrep"

// programOf is the command that runs this sitrep again, as messages
// suggest it: "sitrep" when it is on PATH, goRun under `go run`, else the
// path it was started by (./sitrep).
func programOf(arg0 string) string {
	slashed := filepath.ToSlash(arg0)
	if strings.Contains(slashed, "/go-build") && strings.Contains(slashed, "/exe/") {
		return goRun
	}
	if !strings.ContainsRune(arg0, os.PathSeparator) {
		return "sitrep" // found on PATH
	}
	if onPath, err := exec.LookPath("sitrep"); err == nil {
		a, errA := filepath.Abs(arg0)
		b, errB := filepath.Abs(onPath)
		if errA == nil && errB == nil && a == b {
			return "sitrep"
		}
	}
	return arg0
}

const usage = `sitrep: incident communications hub

Server:
  sitrep serve [--config FILE]          run the hub (embedded default with no config)
  sitrep migrate [--config FILE]        apply database migrations and exit
  sitrep doctor [--config FILE] [--json] [--probe-timeout 60s] [--no-probe]
                                        check the mail route, DNS, database and integrations; exit 1 on a failure
  sitrep status export DIR [--config FILE]
                                        write the public status page as static files (status_page.public)
  sitrep version

Client (--server URL --token TOKEN, or SITREP_SERVER / SITREP_TOKEN; every command takes --json):
  sitrep declare --title T --severity SEV1 [--systems a,b] [--detected-via monitoring] ...
  sitrep list [--active]
  sitrep show INC-42
  sitrep groups [NAME]
  sitrep state INC-42 STATE [--note TEXT]
  sitrep update INC-42 --status TEXT [--translation de=TEXT ...] [--next 30m | --next-at 15:30] [--to GROUP,...] [--dry-run] [--hold]
  sitrep headsup INC-42 [--to EMAIL,...]
  sitrep deliveries INC-42 [MESSAGE] [--state failed]
  sitrep replies INC-42                 replies by mail: class, sender, the new text
  sitrep questions INC-42 [--answered ID | --all-answered]   stakeholders' questions; mark them answered
  sitrep audit INC-42 [--csv]           every message sent, every recipient, delivery state and times
  sitrep triage [--limit N]             inbound mail that matched no incident, or was set aside
  sitrep triage file ID INC-42          file a triaged message on an incident
  sitrep report INC-42 --from EMAIL [--where REGION] [--how ACCESS] --saw TEXT
  sitrep changes INC-42 [--window 24h]
  sitrep change add --service S --version V [--at TIME] [--by WHO] [--url U]
  sitrep change suspect|confirm INC-42 CHANGE-ID
  sitrep alert --title T [--system S] [--severity high]    send a test alert as a monitor would (opens a draft)
  sitrep drafts [--all | --state draft|declared|dismissed]      incidents monitoring alerts opened, not declared yet
  sitrep draft show|declare|dismiss ID [--severity SEV1] [--reason TEXT]
  sitrep resolve INC-42 --root-cause TEXT [--fix TEXT] [--impact TEXT] | --root-cause-unknown
  sitrep confirmations INC-42
  sitrep summary INC-42 [--file F (--lint | --dry-run | --send [--override])]
  sitrep postmortem INC-42 [--propose | --book N | --auto | --issue TEXT | --improvement TEXT | --publish ...]
  sitrep improvements [--owner EMAIL] [--overdue] [--incident INC-42] [--csv]
  sitrep maintenance declare --systems a,b --from TIME --to TIME --title T [--details TEXT] [--url U]
  sitrep maintenance list | show|announce|cancel MAINT-7      planned maintenance and what was told
  sitrep subscribe [--system X | --incident INC-42 | --all] EMAIL     follow incidents by email (no group needed)
  sitrep unsubscribe [--system X | --incident INC-42 | --all | --id N] EMAIL
  sitrep subscriptions [EMAIL]

Run "sitrep COMMAND --help" (or "sitrep help COMMAND") for a command's flags.
With --json, a failure prints one JSON object on stderr, the API's error shape:
  {"error": {"code": "invalid", "message": "...", "field": "root_cause", "flag": "--root-cause"}}
and the exit status is 1 (2 for a command line sitrep could not parse).
`

// commands is every subcommand but version and help: the server's, then
// the clients', which talk to a running server over its API. Every one
// is listed in usage (a test checks).
var commands = map[string]func(ctx context.Context, e env, args []string) error{
	"serve":   cmdServe,
	"migrate": cmdMigrate,
	"doctor":  cmdDoctor,
	"status":  cmdStatus,

	"declare":       cmdDeclare,
	"list":          cmdList,
	"show":          cmdShow,
	"groups":        cmdGroups,
	"state":         cmdState,
	"update":        cmdUpdate,
	"headsup":       cmdHeadsUp,
	"deliveries":    cmdDeliveries,
	"replies":       cmdReplies,
	"questions":     cmdQuestions,
	"audit":         cmdAudit,
	"triage":        cmdTriage,
	"report":        cmdReport,
	"changes":       cmdChanges,
	"change":        cmdChange,
	"alert":         cmdAlert,
	"drafts":        cmdDrafts,
	"draft":         cmdDraft,
	"resolve":       cmdResolve,
	"confirmations": cmdConfirmations,
	"summary":       cmdSummary,
	"postmortem":    cmdPostmortem,
	"improvements":  cmdImprovements,
	"maintenance":   cmdMaintenance,
	"subscribe":     cmdSubscribe,
	"unsubscribe":   cmdUnsubscribe,
	"subscriptions": cmdSubscriptions,
}

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	// terminal: stdout is a terminal a person reads, not a log; serve
	// prints first-start secrets only then.
	terminal bool
	// program is how the person ran sitrep (programOf); "" in tests: sitrep.
	program string
}

// programName is the command to suggest in messages: "sitrep", or what
// works when it is not installed ("go run ./cmd/sitrep").
func (e env) programName() string {
	if e.program == "" {
		return "sitrep"
	}
	return e.program
}

func (e env) getenv(key string) string {
	for i := len(e.environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// isTerminal reports whether w is a terminal, as stdout is not under
// Docker (without -t) or systemd (the journal's socket). A terminal, not
// any character device: /dev/kmsg is one too.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	return runAs(ctx, "", args, stdin, stdout, stderr, environ)
}

// runAs is run as program (programOf), which messages suggest.
func runAs(ctx context.Context, program string, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ, terminal: isTerminal(stdout), program: program}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version":
		fmt.Fprintf(stdout, "sitrep %s\n", version)
		return 0
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		// `sitrep help update` is `sitrep update --help`.
		cmd, rest = rest[0], []string{"--help"}
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "sitrep: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	err := c(ctx, e, rest)
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	code := 1
	if errors.Is(err, errUsage) {
		code = 2
	}
	if jsonAsked(rest) {
		writeJSONError(stderr, err)
		return code
	}
	if err != errUsage && !isUsageError(err) {
		// A usage error's message and the usage went out as the flags were parsed.
		fmt.Fprintf(stderr, "sitrep %s: %v\n", cmd, err)
	}
	return code
}
