// Command sitrep is the incident communications hub: `sitrep serve` runs
// it; the other subcommands talk to a running server over its API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

const usage = `sitrep: incident communications hub

Server:
  sitrep serve [--config FILE]          run the hub (embedded default with no config)
  sitrep migrate [--config FILE]        apply database migrations and exit
  sitrep doctor [--config FILE] [--json] [--probe-timeout 60s] [--no-probe]
                                        check the mail route, DNS, database and integrations; exit 1 on a failure
  sitrep version

Client (--server URL --token TOKEN, or SITREP_SERVER / SITREP_TOKEN; every command takes --json):
  sitrep declare --title T --severity SEV1 [--systems a,b] [--detected-via monitoring] ...
  sitrep list [--active]
  sitrep show INC-42
  sitrep groups [NAME]
  sitrep state INC-42 STATE [--note TEXT]
  sitrep update INC-42 --status TEXT [--next 30m | --next-at 15:30] [--to GROUP,...] [--dry-run] [--hold]
  sitrep headsup INC-42 [--to EMAIL,...]
  sitrep deliveries INC-42 [MESSAGE] [--state failed]
  sitrep report INC-42 --from EMAIL [--where REGION] [--how ACCESS] --saw TEXT
  sitrep changes INC-42 [--window 24h]
  sitrep change add --service S --version V [--at TIME] [--by WHO] [--url U]
  sitrep change suspect|confirm INC-42 CHANGE-ID
  sitrep drafts [--all | --state draft|declared|dismissed]      incidents monitoring alerts opened, not declared yet
  sitrep draft show|declare|dismiss ID [--severity SEV1] [--reason TEXT]
  sitrep resolve INC-42 --root-cause TEXT [--fix TEXT] [--impact TEXT] | --root-cause-unknown
  sitrep confirmations INC-42
  sitrep summary INC-42 [--file F (--lint | --dry-run | --send [--override])]

Run "sitrep COMMAND --help" for a command's flags.
`

// commands is every subcommand but version and help: the server's, then
// the clients', which talk to a running server over its API.
var commands = map[string]func(ctx context.Context, e env, args []string) error{
	"serve":   cmdServe,
	"migrate": cmdMigrate,
	"doctor":  cmdDoctor,

	"declare":       cmdDeclare,
	"list":          cmdList,
	"show":          cmdShow,
	"groups":        cmdGroups,
	"state":         cmdState,
	"update":        cmdUpdate,
	"headsup":       cmdHeadsUp,
	"deliveries":    cmdDeliveries,
	"report":        cmdReport,
	"changes":       cmdChanges,
	"change":        cmdChange,
	"drafts":        cmdDrafts,
	"draft":         cmdDraft,
	"resolve":       cmdResolve,
	"confirmations": cmdConfirmations,
	"summary":       cmdSummary,
	"postmortem":    cmdPostmortem,
	"improvements":  cmdImprovements,
}

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	// terminal: stdout is a terminal a person reads, not a log; serve
	// prints first-start secrets only then.
	terminal bool
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
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ, terminal: isTerminal(stdout)}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version":
		fmt.Fprintf(stdout, "sitrep %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "sitrep: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err := c(ctx, e, rest); err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "sitrep %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
