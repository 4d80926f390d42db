// Command sitrep-load measures the outbox: one status update fanned out to
// N recipients through a loopback SMTP server that accepts and discards,
// beside a bare go-mail loop sending the same message in the same shape
// (batch size, connections) to the same server. Each side runs in its own
// child process so that peak RSS is its own.
//
//	go run ./cmd/sitrep-load -n 10000
//	go run ./cmd/sitrep-load -n 100000 -db postgres://postgres@127.0.0.1:5432/postgres
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"
	gomail "github.com/wneessen/go-mail"

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
	CPUSeconds float64 `json:"cpu_seconds"` // user + system time of the side's process
	Received   int64   `json:"received"`
}

func main() {
	n := flag.Int("n", 10000, "recipients")
	batch := flag.Int("batch", 50, "recipients per SMTP transaction")
	conns := flag.Int("conns", 4, "SMTP connections")
	db := flag.String("db", "", "database: sqlite (default, a temporary file) or a PostgreSQL admin URL, under which a throwaway database is created and dropped")
	mode := flag.String("mode", "", "internal: run one side (outbox or bare) and print JSON")
	smtpAddr := flag.String("smtp", "", "internal: the sink's address")
	cpuProfile := flag.String("cpuprofile", "", "write the outbox side's CPU profile here")
	pipelining := flag.Bool("pipelining", true, "let the outbox pipeline RCPTs (RFC 2920; the bare go-mail loop does not)")
	flag.Parse()
	if *cpuProfile != "" && *mode == "outbox" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if *mode != "" {
		res, err := runSide(*mode, *n, *batch, *conns, *db, *smtpAddr, *pipelining)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	sink, err := startSink()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("fan-out of one update to %d recipients, %d per transaction, %d connections, outbox pipelining %v, sink %s\n", *n, *batch, *conns, *pipelining, sink)
	var results []result
	for _, m := range []string{"bare", "outbox"} {
		args := []string{"-mode", m, "-n", strconv.Itoa(*n), "-batch", strconv.Itoa(*batch), "-conns", strconv.Itoa(*conns), "-smtp", sink,
			"-pipelining=" + strconv.FormatBool(*pipelining)}
		if *db != "" {
			args = append(args, "-db", *db)
		}
		if *cpuProfile != "" {
			args = append(args, "-cpuprofile", *cpuProfile)
		}
		out, err := exec.Command(os.Args[0], args...).Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", m, err)
			if ee, ok := err.(*exec.ExitError); ok {
				os.Stderr.Write(ee.Stderr)
			}
			os.Exit(1)
		}
		var r result
		json.Unmarshal(out, &r)
		results = append(results, r)
		fmt.Printf("%-7s %8d recipients in %6.2fs = %8.0f/s, peak RSS %5.1f MB, CPU %5.2fs\n", r.Mode, r.Recipients, r.Seconds, r.PerSecond, r.PeakRSSMB, r.CPUSeconds)
	}
	fmt.Printf("ratio outbox/bare: %.2f×\n", results[1].PerSecond/results[0].PerSecond)
}

// startSink runs a discarding SMTP server in this process.
func startSink() (string, error) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return sinkSession{}, nil }))
	srv.Domain = "sink.test"
	srv.MaxRecipients = 1000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go srv.Serve(ln)
	return ln.Addr().String(), nil
}

type sinkSession struct{}

func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }
func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }

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

func runSide(mode string, n, batch, conns int, dbURL, sink string, pipelining bool) (*result, error) {
	host, portS, _ := net.SplitHostPort(sink)
	port, _ := strconv.Atoi(portS)
	emails := func(yield func(int, string) bool) {
		for i := 0; i < n; i++ {
			if !yield(i, fmt.Sprintf("person%06d@example.test", i)) {
				return
			}
		}
	}
	if mode == "bare" {
		return bare(host, port, n, batch, conns, emails)
	}
	return viaOutbox(host, port, n, batch, conns, dbURL, pipelining)
}

// bare is the yardstick: go-mail's own client, the same message shape.
func bare(host string, port, n, batch, conns int, emails func(func(int, string) bool)) (*result, error) {
	start := time.Now()
	work := make(chan []string)
	var wg sync.WaitGroup
	var sent atomic.Int64
	var firstErr error
	var once sync.Once
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS))
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			if err := client.DialWithContext(context.Background()); err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			defer client.Close()
			for rcpts := range work {
				m := gomail.NewMsg()
				m.From("sitrep <status@sitrep.test>")
				m.Bcc(rcpts...)
				m.Subject("[INC-1] Load test")
				m.SetBodyString(gomail.TypeTextPlain, "Status: load test. Next update by 15:30 UTC.")
				if err := client.Send(m); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				sent.Add(int64(len(rcpts)))
			}
		}()
	}
	var cur []string
	for _, e := range emails {
		cur = append(cur, e)
		if len(cur) == batch {
			work <- cur
			cur = nil
		}
	}
	if len(cur) > 0 {
		work <- cur
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	d := time.Since(start).Seconds()
	return &result{Mode: "bare", Recipients: int(sent.Load()), Seconds: d, PerSecond: float64(sent.Load()) / d, PeakRSSMB: peakRSSMB(), CPUSeconds: cpuSeconds()}, nil
}

// staticDirectory is a directory built in memory (YAML for 100,000 people
// would measure the parser).
type staticDirectory struct{ d *directory.Directory }

func (s staticDirectory) Current() *directory.Directory { return s.d }

func viaOutbox(host string, port, n, batch, conns int, dbURL string, pipelining bool) (*result, error) {
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
		e := fmt.Sprintf("person%06d@example.test", i)
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
	inc, err := incidents.Declare(ctx, "load", incident.DeclareInput{Title: "Load test", Severity: "SEV2"})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := worker.Start(ctx); err != nil {
		return nil, err
	}
	defer worker.Stop(ctx)
	res, err := comms.SendUpdate(ctx, "load", inc.Ref, incident.UpdateInput{Status: "Status: load test.", Groups: []string{"everyone"}})
	if err != nil {
		return nil, err
	}
	for {
		var pending int
		// Whether any is left, not how many: counting 100,000 rows every
		// 20 ms would load the database the outbox is using.
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE message_id = $1 AND state IN ('queued', 'sending', 'deferred') LIMIT 1) AS p`, res.Message.ID).Scan(&pending); err != nil && err != sql.ErrNoRows {
			return nil, err
		}
		if pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	dur := time.Since(start).Seconds()
	var sent int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND state = 'sent'`, res.Message.ID).Scan(&sent)
	return &result{Mode: "outbox", Recipients: sent, Seconds: dur, PerSecond: float64(sent) / dur, PeakRSSMB: peakRSSMB(), CPUSeconds: cpuSeconds()}, nil
}
