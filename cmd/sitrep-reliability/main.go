// Command sitrep-reliability proves sitrep under crashes, faults, two
// replicas and load. It builds the real `sitrep` binary, starts it as a
// child process against real servers on loopback (PostgreSQL or SQLite,
// go-smtp servers that record or misbehave, Postfix/Dovecot where a
// mailbox is needed) and prints a table of figures per scenario. It exits
// non-zero when any recipient or reply is lost or doubled.
//
//	go run ./cmd/sitrep-reliability crash-fanout -trials 20 -db sqlite,postgres
//	go run ./cmd/sitrep-reliability crash-ingest -trials 5
//	go run ./cmd/sitrep-reliability replicas
//	go run ./cmd/sitrep-reliability smtp-faults
//	go run ./cmd/sitrep-reliability imap-faults
//	go run ./cmd/sitrep-reliability db-cut
//	go run ./cmd/sitrep-reliability load -duration 60s
//	go run ./cmd/sitrep-reliability ci      # the CI-sized suite, a few minutes
//	go run ./cmd/sitrep-reliability full    # everything at full size
//
// Run from the repository root (it builds ./cmd/sitrep from the work tree;
// SITREP_RELIABILITY_SRC=head builds the committed HEAD instead), as root when a
// scenario needs Postfix/Dovecot (they start as root and drop privileges).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// env is what every scenario shares: the binary and a scratch directory.
type env struct {
	bin  string
	dir  string
	keep bool
}

// errLoss marks a run that lost or doubled something: the exit status is 1.
var errLoss = errors.New("loss detected")

type scenario struct {
	name, help string
	run        func(ctx context.Context, e *env, args []string) error
}

var scenarios = []scenario{
	{"crash-fanout", "kill -9 mid fan-out of one update to 2,000 recipients, restart: missing and extra copies", crashFanout},
	{"crash-ingest", "kill -9 mid ingest of 1,000 replies from Dovecot, restart: missing and doubled on the timeline", crashIngest},
	{"replicas", "two sitrep serve on one PostgreSQL: updates, reminders and replies once each; ingest takeover", replicas},
	{"smtp-faults", "421 at connect, 451/550 on RCPT, drop in DATA, a stalled server: every recipient sent or failed with a reason", smtpFaults},
	{"imap-faults", "connection cut mid-FETCH, UIDVALIDITY change, 50,000 old messages under the horizon", imapFaults},
	{"db-cut", "the path to PostgreSQL cut and restored under load: work resumes, nothing lost", dbCut},
	{"load", "20 incidents updating 5,000 recipients each on a cadence, then a 100,000-member group", load},
	{"ci", "the CI-sized suite (a few minutes)", suiteCI},
	{"full", "every scenario at full size (the figures of docs/reliability.md)", suiteFull},
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: sitrep-reliability SCENARIO [flags]\n\n")
	for _, s := range scenarios {
		fmt.Fprintf(os.Stderr, "  %-13s %s\n", s.name, s.help)
	}
	fmt.Fprintf(os.Stderr, "\nSCENARIO -h lists its flags.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	var sc *scenario
	for i := range scenarios {
		if scenarios[i].name == name {
			sc = &scenarios[i]
		}
	}
	if sc == nil {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "sitrep-reliability-")
	if err != nil {
		fatal(err)
	}
	e := &env{dir: dir}
	defer func() {
		if !e.keep {
			os.RemoveAll(dir)
		}
	}()
	if os.Getenv("SITREP_RELIABILITY_SRC") == "head" {
		fmt.Printf("== sitrep-reliability %s (building ./cmd/sitrep at git HEAD)\n", name)
		e.bin, err = reliability.BuildHead(ctx, ".", dir)
	} else {
		fmt.Printf("== sitrep-reliability %s (building ./cmd/sitrep)\n", name)
		e.bin, err = reliability.Build(ctx, ".", dir)
	}
	if err != nil {
		fatal(err)
	}
	began := time.Now()
	err = sc.run(ctx, e, os.Args[2:])
	fmt.Printf("== %s: %s\n", name, time.Since(began).Round(time.Second))
	if err != nil {
		if errors.Is(err, errLoss) {
			fmt.Println("FAIL: loss detected")
		} else {
			fmt.Println("FAIL:", err)
		}
		e.keep = true
		fmt.Println("scratch directory kept:", dir)
		os.RemoveAll(dir) // the binary and databases are large; the log was printed
		os.Exit(1)
	}
	fmt.Println("PASS")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "sitrep-reliability:", err)
	os.Exit(1)
}

// table prints rows under a header, aligned.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case time.Duration:
			row[i] = v.Round(time.Millisecond).String()
		case float64:
			row[i] = fmt.Sprintf("%.1f", v)
		default:
			row[i] = fmt.Sprint(v)
		}
	}
	t.rows = append(t.rows, row)
}

func (t *table) print() {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

// flags parses a scenario's flags.
func flags(name string, args []string, define func(fs *flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	define(fs)
	return fs.Parse(args)
}

func dbList(s string) []string {
	var out []string
	for _, d := range strings.Split(s, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// suiteCI is bounded for CI: a few trials each, small sizes.
func suiteCI(ctx context.Context, e *env, args []string) error {
	steps := []struct {
		name string
		run  func(context.Context, *env, []string) error
		args []string
	}{
		{"crash-fanout", crashFanout, []string{"-trials", "2", "-db", "sqlite,postgres", "-languages", "en,de,fr,es,ja"}},
		{"crash-ingest", crashIngest, []string{"-trials", "1", "-n", "500", "-db", "sqlite,postgres"}},
		{"smtp-faults", smtpFaults, []string{"-n", "300", "-stall", "6s", "-refuse", "0"}},
		{"db-cut", dbCut, []string{"-cuts", "2", "-n", "1000"}},
		{"replicas", replicas, []string{"-n", "500", "-replies", "100", "-reminders=false"}},
	}
	return runSteps(ctx, e, steps)
}

// suiteFull is every scenario at the size docs/reliability.md reports.
func suiteFull(ctx context.Context, e *env, args []string) error {
	steps := []struct {
		name string
		run  func(context.Context, *env, []string) error
		args []string
	}{
		{"crash-fanout", crashFanout, []string{"-trials", "20", "-db", "sqlite,postgres"}},
		{"crash-ingest", crashIngest, []string{"-trials", "5", "-db", "sqlite,postgres"}},
		{"replicas", replicas, nil},
		{"smtp-faults", smtpFaults, nil},
		{"imap-faults", imapFaults, nil},
		{"db-cut", dbCut, nil},
		{"load", load, []string{"-duration", "30s"}},
	}
	return runSteps(ctx, e, steps)
}

func runSteps(ctx context.Context, e *env, steps []struct {
	name string
	run  func(context.Context, *env, []string) error
	args []string
}) error {
	var failed []string
	for _, s := range steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("\n== %s %s\n", s.name, strings.Join(s.args, " "))
		began := time.Now()
		if err := s.run(ctx, e, s.args); err != nil {
			fmt.Printf("%s: FAIL after %s: %v\n", s.name, time.Since(began).Round(time.Second), err)
			failed = append(failed, s.name)
			continue
		}
		fmt.Printf("%s: ok in %s\n", s.name, time.Since(began).Round(time.Second))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", errLoss, strings.Join(failed, ", "))
	}
	return nil
}
