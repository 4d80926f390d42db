package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// IRCd is a real ngIRCd on loopback, for the chat mirror's tests.
type IRCd struct {
	Addr string // "127.0.0.1:PORT"
	Dir  string // config and log

	bin, conf string
	cmd       *exec.Cmd
	done      <-chan struct{}
}

// LogTail returns the end of ngIRCd's log, for failure messages.
func (s *IRCd) LogTail() string { return tailFile(filepath.Join(s.Dir, "ngircd.log"), 4096) }

// StartIRCd starts ngIRCd from a private config (no PAM, ident or DNS
// look-ups, no flood penalty for local test clients) and stops it on cleanup.
func StartIRCd(t testing.TB) *IRCd {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/ngircd"); serr != nil {
			Unavailable(t, "testenv: ngircd not installed (scripts/install-test-deps.sh)")
			return nil
		}
		bin = "/usr/sbin/ngircd"
	}
	start := time.Now()
	var s *IRCd
	// The free port is free when chosen, not when ngIRCd binds it: a test
	// running alongside may take it in between. Try again with another.
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			t.Fatalf("testenv: ircd: %v", err)
		}
		s = &IRCd{Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), Dir: t.TempDir(), bin: bin}
		conf := fmt.Sprintf(`# Written by internal/testenv; a private ngIRCd for one test.
[Global]
	Name = irc.sitrep.test
	Info = sitrep test IRC server
	Listen = 127.0.0.1
	Ports = %d
	PidFile = %s
	MotdPhrase = sitrep test
[Limits]
	PingTimeout = 120
	PongTimeout = 20
	MaxConnectionsIP = 0
[Options]
	PAM = no
	Ident = no
	DNS = no
	SyslogFacility = local7
[Channel]
	Name = #incidents
	Modes = +nt
`, ports[0], filepath.Join(s.Dir, "ngircd.pid"))
		s.conf = filepath.Join(s.Dir, "ngircd.conf")
		if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
			t.Fatalf("testenv: ircd: %v", err)
		}
		if err := s.start(); err != nil {
			if attempt == 3 {
				t.Fatalf("testenv: %v", err)
			}
			t.Logf("testenv: ngircd start-up failed, trying again: %v", err)
			continue
		}
		break
	}
	t.Logf("testenv: ngircd up in %s at %s", time.Since(start).Round(time.Millisecond), s.Addr)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func (s *IRCd) start() error {
	var err error
	// -n: stay in the foreground, logging to stderr (our log file).
	s.cmd, s.done, err = startLogged(filepath.Join(s.Dir, "ngircd.log"), s.bin, "-n", "-f", s.conf)
	if err != nil {
		return fmt.Errorf("ircd: start: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := waitTCP(ctx, s.Addr, "", s.done); err != nil {
		_ = stopCmd(s.cmd, s.done, 5*time.Second)
		return fmt.Errorf("ircd: %w\n%s", err, s.LogTail())
	}
	return nil
}

// Stop stops the server (every client is disconnected); Restart brings it
// back on the same port, for reconnection tests.
func (s *IRCd) Stop() error { return stopCmd(s.cmd, s.done, 10*time.Second) }

// Restart starts the server again after Stop.
func (s *IRCd) Restart() error { return s.start() }
