// Command sitrep-load measures the fan-out of one status update to N
// recipients into a loopback SMTP sink that accepts and discards (and
// counts every recipient: each must be accepted exactly once), beside two
// yardsticks sending the same message in the same shape (4 connections,
// 50 recipients per transaction) to the same sink, each in its own child
// process:
//
//   - pipelining: a bare client using RFC 2920 fully (MAIL, all RCPTs and
//     DATA in one write; 2 round trips per transaction), the client-side
//     limit;
//   - gomail: go-mail's SMTP client, one command per round trip (53 round
//     trips for 50 recipients), no NOOP or RSET between messages.
//
// -serve measures sitrep as deployed: the real `sitrep serve` binary,
// built from this tree, with its default settings except the database,
// the SMTP server (the sink) and a groups.yaml of N people; an incident is
// declared and one update posted through the HTTP API with a token, and
// the time runs from the POST until the sink has accepted the last
// recipient. It also reports the serve process's start time, the time to
// reload groups.yaml on SIGHUP and its peak RSS. -replicas K runs K serve
// processes on one PostgreSQL database.
//
// -serve -latency runs -incidents incidents (20) at once, each posting an
// update to its own group (50–500 people) every -every (1 min), staggered,
// for -duration, and reports the time from each POST to the first
// recipient of that update accepted (p50/p95/max), failing unless every
// update reached exactly its group. -serve -postfix sends into a real
// Postfix (internal/testenv's mail stack, as root) instead of the sink and
// times sitrep until the API counts every delivery sent, the pipelining
// client until its last 250. See docs/benchmarks.md.
//
// Without -serve the outbox runs inside this tool (a directory built in
// memory, a 20 ms job poll): that mode is for CPU profiles
// (-cpuprofile), not for figures of the server.
//
//	go run ./cmd/sitrep-load -serve -n 10000
//	go run ./cmd/sitrep-load -serve -n 10000 -db postgres://postgres@127.0.0.1:5432/postgres
//	go run ./cmd/sitrep-load -serve -n 100000 -replicas 3 -db postgres://postgres@127.0.0.1:5432/postgres
//	go run ./cmd/sitrep-load -serve -latency -incidents 20 -duration 3m
//	go run ./cmd/sitrep-load -serve -postfix -n 10000                     # as root
//	go run ./cmd/sitrep-load -n 100000 -cpuprofile /tmp/outbox.prof   # in-process, for profiling
//	go run ./cmd/sitrep-load -n 10000 -trace /tmp/outbox.trace        # in-process: where it waits
//
// Run it from the repository root (-serve builds ./cmd/sitrep).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
)

type result struct {
	Mode       string  `json:"mode"`
	Recipients int     `json:"recipients"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	CPUSeconds float64 `json:"cpu_seconds"`       // user + system time of the side's process(es)
	Machine    string  `json:"machine,omitempty"` // where the machine's CPU went meanwhile (machineCPU)
	Note       string  `json:"note,omitempty"`
}

type options struct {
	n, batch, conns, replicas int
	db, sitrep, cpuProfile    string
	trace                     string
	pipelining, hup           bool
	timeout                   time.Duration
	hubLog                    string
	sinkDelay                 time.Duration
	postfixHold               bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 10000, "recipients")
	flag.IntVar(&o.batch, "batch", 50, "recipients per SMTP transaction (the baselines and the in-process outbox; -serve uses the server's default, 50)")
	flag.IntVar(&o.conns, "conns", 4, "SMTP connections (likewise; the server's default is 4)")
	flag.StringVar(&o.db, "db", "", "database: sqlite (default, a temporary file) or a PostgreSQL admin URL, under which a throwaway database is created and dropped")
	serve := flag.Bool("serve", false, "measure the real `sitrep serve` binary through its HTTP API (the figures to quote)")
	flag.IntVar(&o.replicas, "replicas", 1, "with -serve: serve processes sharing the database (PostgreSQL)")
	flag.StringVar(&o.sitrep, "sitrep", "", "with -serve: the sitrep binary to run (default: go build ./cmd/sitrep)")
	flag.BoolVar(&o.hup, "hup", true, "with -serve: time a reload of groups.yaml on SIGHUP before the update")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up when the sink has not got every recipient by then")
	flag.DurationVar(&o.sinkDelay, "sink-delay", 0, "the sink's own time per message before its 250 (e.g. 40ms, about Postfix's queue file here): shows whether each side keeps its connections busy")
	flag.StringVar(&o.hubLog, "hublog", "", "with -serve: write the first replica's log here when done (for profiling)")
	saveMsg := flag.String("save-message", "", "write sitrep's message, as the sink received it, to this file")
	only := flag.String("only", "", "run only these sides, comma separated: sitrep, pipelining, gomail")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "in-process mode: write the outbox's CPU profile here")
	flag.StringVar(&o.trace, "trace", "", "in-process mode: write an execution trace here (go tool trace: where the fan-out waits)")
	flag.BoolVar(&o.pipelining, "pipelining", true, "in-process mode: let the outbox pipeline RCPTs")
	mode := flag.String("mode", "", "internal: run one side (outbox, gomail or pipelining) and print JSON")
	smtpAddr := flag.String("smtp", "", "internal: the sink's address")
	msgFile := flag.String("msg", "", "internal: the message the baselines send")
	latency := flag.Bool("latency", false, "with -serve: time each update from its POST to the first recipient accepted, -incidents incidents updating every -every for -duration")
	var lo latencyOptions
	flag.IntVar(&lo.incidents, "incidents", 20, "with -latency: incidents running at once, each mailing its own group")
	flag.DurationVar(&lo.every, "every", time.Minute, "with -latency: each incident's interval between updates (the incidents' updates are staggered evenly)")
	flag.DurationVar(&lo.duration, "duration", 3*time.Minute, "with -latency: how long to post updates")
	flag.IntVar(&lo.groupMin, "group-min", 50, "with -latency: the smallest incident group")
	flag.IntVar(&lo.groupMax, "group-max", 500, "with -latency: the largest incident group")
	postfix := flag.Bool("postfix", false, "with -serve: send to a real Postfix (internal/testenv's mail stack, as root) instead of the sink; times until Postfix has accepted everyone")
	flag.BoolVar(&o.postfixHold, "postfix-hold", false, "with -postfix: Postfix puts the mail on hold (a header check) while a side sends and delivers it into Dovecot after, so that its deliveries do not share the cores with the acceptance measured")
	flag.Parse()
	if *mode != "" {
		os.Exit(child(*mode, o, *smtpAddr, *msgFile))
	}
	if *latency || *postfix {
		if !*serve {
			fatal(fmt.Errorf("-latency and -postfix measure the server: add -serve"))
		}
		var err error
		if *latency {
			err = runLatency(context.Background(), o, lo)
		} else {
			err = runPostfix(context.Background(), o, *only)
		}
		if err != nil {
			fatal(err)
		}
		return
	}
	if *serve && o.replicas > 1 && !strings.HasPrefix(o.db, "postgres") {
		fatal(fmt.Errorf("-replicas needs -db postgres://…"))
	}
	s, err := startSink(o.sinkDelay)
	if err != nil {
		fatal(err)
	}
	sides := []string{"sitrep", "pipelining", "gomail"}
	if *only != "" {
		sides = strings.Split(*only, ",")
	}
	ctx := context.Background()
	load, _ := os.ReadFile("/proc/loadavg")
	where := "in-process outbox (for profiling, not the server as deployed)"
	if *serve {
		where = fmt.Sprintf("`sitrep serve` ×%d through its API", o.replicas)
	}
	db := cmpOr(o.db, "sqlite")
	if strings.HasPrefix(db, "postgres") {
		db = "postgres"
	}
	fmt.Printf("one update to %d recipients into a discarding sink; sitrep: %s on %s; baselines: %d connections × %d per transaction; load average %s",
		o.n, where, db, o.conns, o.batch, load)
	results := map[string]*result{}
	var msg []byte
	for _, side := range sides {
		var r *result
		var err error
		switch side {
		case "sitrep":
			s.expect(o.n, true)
			if *serve {
				r, err = runServe(ctx, o, s)
			} else {
				r, err = runToSink("outbox", o, s, "")
			}
			msg = s.firstMessage()
		case "pipelining", "gomail":
			if msg == nil {
				msg = []byte(fallbackMessage())
			}
			f := filepath.Join(os.TempDir(), fmt.Sprintf("sitrep-load-%d.eml", os.Getpid()))
			if err := os.WriteFile(f, msg, 0o600); err != nil {
				fatal(err)
			}
			s.expect(o.n, false)
			r, err = runToSink(side, o, s, f)
			os.Remove(f)
		default:
			err = fmt.Errorf("unknown side %q", side)
		}
		if err != nil {
			fatal(fmt.Errorf("%s: %w", side, err))
		}
		if err := s.check(func(yield func(string) bool) {
			for i := 0; i < o.n; i++ {
				if !yield(address(i)) {
					return
				}
			}
		}); err != nil {
			fatal(fmt.Errorf("%s: %w", side, err))
		}
		results[side] = r
		fmt.Printf("%-10s %7d recipients in %6.2fs = %7.0f/s in %d SMTP transactions, peak RSS %6.1f MB, CPU %5.2fs%s\n", side, r.Recipients, r.Seconds, r.PerSecond, s.messages.Load(), r.PeakRSSMB, r.CPUSeconds, r.Note)
		if r.Machine != "" {
			fmt.Printf("%-10s CPU meanwhile: %s\n", "", r.Machine)
		}
	}
	if msg != nil {
		fmt.Printf("message: %d bytes as the sink received it\n", len(msg))
		if *saveMsg != "" {
			if err := os.WriteFile(*saveMsg, msg, 0o600); err != nil {
				fatal(err)
			}
		}
	}
	ratio := func(a, b string) {
		if results[a] != nil && results[b] != nil {
			fmt.Printf("ratio %s/%s: %.2f×\n", a, b, results[a].PerSecond/results[b].PerSecond)
		}
	}
	ratio("sitrep", "pipelining")
	ratio("sitrep", "gomail")
	ratio("gomail", "pipelining")
	fmt.Println("every recipient accepted exactly once by the sink, on every side")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "sitrep-load:", err)
	os.Exit(1)
}

// runChild runs one side in a child process of this binary against the
// SMTP server at addr, so that its peak RSS and CPU are its own; its time
// ends at the last transaction's 250.
func runChild(side string, o options, addr, msgFile string) (*result, error) {
	args := []string{"-mode", side, "-n", strconv.Itoa(o.n), "-batch", strconv.Itoa(o.batch), "-conns", strconv.Itoa(o.conns),
		"-smtp", addr, "-pipelining=" + strconv.FormatBool(o.pipelining), "-msg", msgFile}
	if o.db != "" {
		args = append(args, "-db", o.db)
	}
	if o.cpuProfile != "" && side == "outbox" {
		args = append(args, "-cpuprofile", o.cpuProfile)
	}
	if o.trace != "" && side == "outbox" {
		args = append(args, "-trace", o.trace)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("%s: %q: %w", side, out, err)
	}
	return &r, nil
}

// runToSink runs one side against the sink and waits for the sink to
// have everyone.
func runToSink(side string, o options, s *sink, msgFile string) (*result, error) {
	m0 := readMachineCPU()
	r, err := runChild(side, o, s.addr, msgFile)
	if err != nil {
		return nil, err
	}
	if _, err := s.wait(o.timeout); err != nil {
		return nil, err
	}
	if side != "outbox" { // the outbox's run includes its database's set-up
		r.Machine = readMachineCPU().since(m0)
	}
	return r, nil
}

// child is one side, run by runChild.
func child(mode string, o options, sink, msgFile string) int {
	if o.cpuProfile != "" {
		if f, err := os.Create(o.cpuProfile); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if o.trace != "" {
		if f, err := os.Create(o.trace); err == nil {
			trace.Start(f)
			defer trace.Stop()
		}
	}
	var res *result
	var err error
	switch mode {
	case "outbox":
		res, err = viaOutbox(sink, o.n, o.batch, o.conns, o.db, o.pipelining)
	case "gomail", "pipelining":
		var msg []byte
		if msg, err = os.ReadFile(msgFile); err == nil {
			if mode == "gomail" {
				res, err = gomailLoop(sink, o.n, o.batch, o.conns, msg)
			} else {
				res, err = pipelined(sink, o.n, o.batch, o.conns, msg)
			}
		}
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, mode+":", err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

func peakRSSMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the user and system CPU time this process has used: on a
// shared machine, CPU per recipient is steadier than the rate.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// staticDirectory is a directory built in memory (YAML for 100,000 people
// would measure the parser).
type staticDirectory struct{ d *directory.Directory }

func (s staticDirectory) Current() *directory.Directory { return s.d }

// viaOutbox is the in-process mode's sitrep side: the outbox and River
// worker in this process, a directory built in memory, a 20 ms job poll.
// For profiles only: it is not the server as deployed (see -serve).
func viaOutbox(sink string, n, batch, conns int, dbURL string, pipelining bool) (*result, error) {
	ctx := context.Background()
	if dbURL == "" || dbURL == "sqlite" {
		dir, _ := os.MkdirTemp("", "sitrep-load")
		defer os.RemoveAll(dir)
		dbURL = "sqlite://" + filepath.Join(dir, "load.db")
	} else {
		// Never migrate the database named: make a throwaway one beside it.
		admin, err := sql.Open("pgx", dbURL)
		if err != nil {
			return nil, err
		}
		defer admin.Close()
		name := fmt.Sprintf("sitrep_load_%d", time.Now().UnixNano())
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		defer admin.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
		u, err := url.Parse(dbURL)
		if err != nil {
			return nil, err
		}
		u.Path = "/" + name
		dbURL = u.String()
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	d := &directory.Directory{Organization: "Load"}
	g := directory.Group{Name: "everyone", DisplayName: "Everyone"}
	for i := 0; i < n; i++ {
		e := address(i)
		d.People = append(d.People, directory.Person{Email: e, Name: "Person"})
		g.Members = append(g.Members, e)
	}
	d.People = append(d.People, directory.Person{Email: "vp@example.test", Name: "VP"})
	d.Groups = []directory.Group{g}
	dir := staticDirectory{d}
	incidents := &incident.Service{DB: db}
	renderer, err := compose.New("")
	if err != nil {
		return nil, err
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		return nil, err
	}
	host, portS, _ := net.SplitHostPort(sink)
	port, _ := strconv.Atoi(portS)
	pool, err := outbox.NewPool(outbox.SMTPConfig{Host: host, Port: port, TLS: "none", Concurrency: conns, NoPipelining: !pipelining})
	if err != nil {
		return nil, err
	}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status", Sender: pool, BatchSize: batch}
	comms := &incident.Comms{DB: db, Incidents: incidents, Directory: dir, Mail: ob}
	workers := river.NewWorkers()
	ob.Register(workers)
	worker, err := jobs.NewWorker(db, jobs.Config{Workers: workers, PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	inc, err := incidents.Declare(ctx, "load", incident.DeclareInput{Title: incidentTitle, Severity: "SEV1"})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := worker.Start(ctx); err != nil {
		return nil, err
	}
	defer worker.Stop(ctx)
	res, err := comms.SendUpdate(ctx, "load", inc.Ref, incident.UpdateInput{Status: statusText, Groups: []string{"everyone"}})
	if err != nil {
		return nil, err
	}
	for {
		var settled bool
		// Whether the message is settled (none of its deliveries left to
		// change), not how many are left: counting 100,000 rows every
		// 20 ms would load the database the outbox is using.
		if err := db.QueryRowContext(ctx, `SELECT settled_at IS NOT NULL FROM messages WHERE id = $1`, res.Message.ID).Scan(&settled); err != nil {
			return nil, err
		}
		if settled {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	dur := time.Since(start).Seconds()
	var sent int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state = 'sent'`, res.Message.ID).Scan(&sent)
	return &result{Mode: "outbox", Recipients: sent, Seconds: dur, PerSecond: float64(sent) / dur, PeakRSSMB: peakRSSMB(), CPUSeconds: cpuSeconds()}, nil
}
