package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// incidentTitle and statusText are a real incident's wording (a payment
// provider's outage, as the comms lead of an online shop would write it):
// with the default templates the email is about 4.9 KB, text and HTML.
const incidentTitle = "Checkout failing for card payments in the EU"

const statusText = `**Customers in the EU cannot pay by card at checkout.** About 38 % of attempts since 14:05 UTC fail; PayPal and invoice work. US and UK stores are not affected.

Our card provider's EU endpoint times out; their status page confirms it. Nothing changed on our side.

- Payments team is on a call with the provider (ticket opened 14:12 UTC).
- We may route EU card payments through our secondary provider; decision by 15:00 UTC.

Customer service: failed attempts were **not** charged; suggest PayPal or invoice.`

// fallbackMessage is what the baselines send when sitrep's side was not
// run (-only): a message of the same size and shape as sitrep's.
func fallbackMessage() string {
	body := strings.ReplaceAll(statusText, "\n", "\r\n")
	return "From: sitrep <status@example.test>\r\nTo: Everyone <everyone@example.test>\r\nSubject: [INC-1] " + incidentTitle +
		"\r\nMessage-ID: <load@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		body + "\r\n\r\n" + body + "\r\n\r\n" + body[:len(body)/3] + "\r\n"
}

// writeDirectory writes a groups.yaml of n people as an operator keeps it:
// a comms lead and an incident lead, everyone with a name and a team, ten
// departments (each with its time zone), and "everyone" nesting them.
func writeDirectory(path string, n int) error {
	var b strings.Builder
	b.Grow(n * 120)
	b.WriteString("organization: Load Co\npeople:\n")
	b.WriteString("  - email: comms@example.test\n    name: Comms Lead\n    roles: [comms-lead]\n")
	b.WriteString("  - email: lead@example.test\n    name: Incident Lead\n    roles: [incident-lead]\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - email: %s\n    name: Person %d\n    team: team-%d\n", address(i), i, i%50)
	}
	b.WriteString("groups:\n")
	const depts = 10
	zones := []string{"Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/Paris"}
	for g := 0; g < depts; g++ {
		fmt.Fprintf(&b, "  - name: dept-%d\n    display_name: Department %d\n    time_zone: %s\n    members:\n", g, g, zones[g%len(zones)])
		for i := g; i < n; i += depts {
			fmt.Fprintf(&b, "      - %s\n", address(i))
		}
	}
	b.WriteString("  - name: everyone\n    display_name: Everyone\n    groups:\n")
	for g := 0; g < depts; g++ {
		fmt.Fprintf(&b, "      - dept-%d\n", g)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// serveConfig is sitrep.yaml with only what the measurement must set:
// everything else is the server's default (jobs poll every 200 ms,
// 4 SMTP connections, 50 recipients per transaction, ...).
func serveConfig(dataDir, listen, token, dbURL, dirFile, smtpPort string) string {
	return fmt.Sprintf(`data_dir: %s
server:
  listen: %s
  admin_token: %s
database:
  url: %q
directory:
  file: %s
mail:
  domain: example.test
  from: "sitrep <status@example.test>"
  smtp:
    host: 127.0.0.1
    port: %s
    tls: none
`, dataDir, listen, token, dbURL, dirFile, smtpPort)
}

// runServe measures the deployed server: see the package comment.
func runServe(ctx context.Context, o options, s *sink) (*result, error) {
	tmp, err := os.MkdirTemp("", "sitrep-load-serve")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := o.sitrep
	if bin == "" {
		if bin, err = reliability.Build(ctx, ".", tmp); err != nil {
			return nil, err
		}
	}
	dbURL := "sqlite://" + filepath.Join(tmp, "sitrep.db")
	if o.db != "" && o.db != "sqlite" {
		u, drop, err := throwawayPostgres(ctx, o.db)
		if err != nil {
			return nil, err
		}
		defer drop()
		dbURL = u
	}
	dirFile := filepath.Join(tmp, "groups.yaml")
	if err := writeDirectory(dirFile, o.n); err != nil {
		return nil, err
	}
	st, _ := os.Stat(dirFile)
	var tok [16]byte
	rand.Read(tok[:])
	token := "load-" + hex.EncodeToString(tok[:])
	_, smtpPort, _ := strings.Cut(s.addr, ":")

	var hubs []*reliability.Hub
	defer func() {
		for _, h := range hubs {
			h.Stop()
		}
		if o.hubLog != "" && len(hubs) > 0 {
			if err := os.WriteFile(o.hubLog, []byte(hubs[0].Log()), 0o600); err != nil {
				fmt.Fprintln(os.Stderr, "sitrep-load:", err)
			}
		}
	}()
	var starts []string
	for r := 0; r < o.replicas; r++ {
		port, err := reliability.FreePort()
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(tmp, fmt.Sprintf("replica%d", r))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		listen := fmt.Sprintf("127.0.0.1:%d", port)
		cfg := filepath.Join(dir, "sitrep.yaml")
		if err := os.WriteFile(cfg, []byte(serveConfig(dir, listen, token, dbURL, dirFile, smtpPort)), 0o600); err != nil {
			return nil, err
		}
		t0 := time.Now()
		h, err := reliability.StartHub(bin, cfg, "http://"+listen)
		if err != nil {
			return nil, err
		}
		hubs = append(hubs, h)
		starts = append(starts, fmt.Sprintf("%.2fs", time.Since(t0).Seconds()))
	}
	sampler := startSampler(hubs)
	// CPU seconds as well as wall time: on a shared machine the CPU the
	// start took is the steadier figure.
	fmt.Printf("serve: groups.yaml of %d people (%.1f MB); start until ready %s (CPU %.2fs); peak RSS of the start (VmHWM) %.0f MB, RSS once ready %.0f MB\n",
		o.n+2, float64(st.Size())/1e6, strings.Join(starts, ", "), cpuOf(hubs), hwm(hubs), rssMB(hubs[0].PID()))

	if o.hup {
		sampler.reset()
		c0 := hubs[0].Usage().CPU
		d, err := reloadOnSIGHUP(hubs[0])
		if err != nil {
			return nil, err
		}
		fmt.Printf("serve: groups.yaml reloaded on SIGHUP in %.2fs (CPU %.2fs); peak RSS during the reload (sampled) %.0f MB, VmHWM since start %.0f MB\n",
			d.Seconds(), (hubs[0].Usage().CPU - c0).Seconds(), sampler.peak(), hwm(hubs))
	}

	api := reliability.API{URL: hubs[0].URL, Token: token}
	ref, err := api.Declare(ctx, incidentTitle, "SEV1", "comms@example.test", "lead@example.test")
	if err != nil {
		return nil, err
	}
	// Whatever declaring sent is not this update's.
	time.Sleep(500 * time.Millisecond)
	s.expect(o.n, true)
	sampler.reset()
	cpu0, m0 := cpuOf(hubs), readMachineCPU()
	start := time.Now()
	if _, err := api.SendUpdate(ctx, ref, statusText, "", "everyone"); err != nil {
		return nil, err
	}
	posted := time.Since(start)
	last, err := s.wait(o.timeout)
	if err != nil {
		return nil, err
	}
	d := last.Sub(start).Seconds()
	cpu, machine := cpuOf(hubs)-cpu0, readMachineCPU().since(m0)
	sampler.stop()
	var hwms []string
	for _, h := range hubs {
		hwms = append(hwms, fmt.Sprintf("%.0f", h.Usage().PeakRSSMB))
	}
	// The peak reported is the update's (sampled RSS while it was in
	// flight); VmHWM includes the start and the SIGHUP reload.
	note := fmt.Sprintf(" (RSS sampled during the update); POST answered in %.2fs, first recipient accepted after %.2fs; VmHWM since start %s MB", posted.Seconds(), s.first().Sub(start).Seconds(), strings.Join(hwms, ", "))
	return &result{Mode: "sitrep", Recipients: o.n, Seconds: d, PerSecond: float64(o.n) / d, PeakRSSMB: sampler.peak(), CPUSeconds: cpu, Note: note, Machine: machine}, nil
}

func cpuOf(hubs []*reliability.Hub) float64 {
	var t time.Duration
	for _, h := range hubs {
		t += h.Usage().CPU
	}
	return t.Seconds()
}

// reloadOnSIGHUP signals the hub and waits for its log to say the
// directory was synced again.
func reloadOnSIGHUP(h *reliability.Hub) (time.Duration, error) {
	before := strings.Count(h.Log(), "directory synced")
	if before == 0 {
		return 0, fmt.Errorf("serve: no \"directory synced\" in the log at start:\n%s", h.LogTail(2000))
	}
	t0 := time.Now()
	if err := syscall.Kill(h.PID(), syscall.SIGHUP); err != nil {
		return 0, err
	}
	for time.Since(t0) < time.Minute {
		log := h.Log()
		if strings.Count(log, "directory synced") > before {
			return time.Since(t0), nil
		}
		if strings.Contains(log, "refused on SIGHUP") {
			return 0, fmt.Errorf("serve: groups.yaml refused on SIGHUP:\n%s", h.LogTail(2000))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("serve: no reload a minute after SIGHUP:\n%s", h.LogTail(3000))
}

// sampler reads the serve processes' resident memory (VmRSS) from /proc
// every 20 ms, keeping the largest since the last reset: the peak of one
// phase. VmHWM, the kernel's peak over the process's life, is read apart.
type sampler struct {
	mu   sync.Mutex
	max  float64
	quit chan struct{}
	done chan struct{}
}

func startSampler(hubs []*reliability.Hub) *sampler {
	sm := &sampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sm.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			for _, h := range hubs {
				if mb := rssMB(h.PID()); mb > 0 {
					sm.mu.Lock()
					sm.max = max(sm.max, mb)
					sm.mu.Unlock()
				}
			}
			select {
			case <-sm.quit:
				return
			case <-t.C:
			}
		}
	}()
	return sm
}

func (sm *sampler) peak() float64 {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.max
}

// reset starts a new phase.
func (sm *sampler) reset() {
	sm.mu.Lock()
	sm.max = 0
	sm.mu.Unlock()
}

func (sm *sampler) stop() { close(sm.quit); <-sm.done }

// rssMB is a process's resident memory now (VmRSS), in MB.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			if f := strings.Fields(line); len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

func hwm(hubs []*reliability.Hub) float64 {
	peak := 0.0
	for _, h := range hubs {
		peak = max(peak, h.Usage().PeakRSSMB)
	}
	return peak
}

// throwawayPostgres creates a database beside the one admin names (never
// migrating that one) and returns its URL and how to drop it.
func throwawayPostgres(ctx context.Context, admin string) (string, func(), error) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("sitrep_load_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create %s: %w", name, err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		db.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
		db.Close()
	}, nil
}
