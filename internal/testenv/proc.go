package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// freePorts asks the kernel for n distinct free loopback ports. All listeners
// stay open until every port is chosen so the same port is not handed out
// twice; another process may still take one before the server binds it, which
// the callers report as a start-up failure.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitTCP polls addr until it accepts a connection. When greeting is not empty
// it also waits for a line starting with it (an SMTP "220"), since Postfix
// accepts connections well before smtpd is ready to talk.
func waitTCP(ctx context.Context, addr, greeting string, died <-chan struct{}) error {
	var last error
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			if greeting == "" {
				c.Close()
				return nil
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, greeting) {
				return nil
			}
			last = fmt.Errorf("greeting %q: %v", strings.TrimSpace(line), rerr)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not answering: %w (last: %v)", addr, ctx.Err(), last)
		case <-died:
			return fmt.Errorf("%s: the server exited during start-up", addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// terminate sends SIGTERM to a daemon that is not our child (Postfix's master
// detaches) and waits for it to go. A zombie counts as gone: the machine's
// init may not reap orphans.
func terminate(pid int, timeout time.Duration) error {
	if pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("pid %d did not stop within %s; killed", pid, timeout)
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Field 3 is the state; the command name before it is in parentheses and may
	// hold spaces, so read after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// startLogged starts a server in the foreground with its output in logPath.
// Output goes to a file, never a pipe: Dovecot's master keeps the stderr it
// was started with open forever, so a pipe reader would never see EOF. The
// returned channel closes when the process exits.
func startLogged(logPath string, name string, args ...string) (*exec.Cmd, <-chan struct{}, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	// If the test binary dies without cleanup, take the server with it rather
	// than leave it bound to a port.
	// A process group of its own lets killGroup end the server's children
	// too, without touching the test binary's group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, nil, err
	}
	f.Close() // the child holds its own copy
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	return cmd, done, nil
}

// stopCmd sends SIGTERM to a child started by startLogged and waits.
func stopCmd(cmd *exec.Cmd, done <-chan struct{}, timeout time.Duration) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within %s; killed", filepath.Base(cmd.Path), timeout)
	}
}

// tailFile returns the last max bytes of a log, for failure messages.
func tailFile(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%s: %v)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(%s: %v)", path, err)
	}
	off := fi.Size() - max
	if off < 0 {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Sprintf("(%s: %v)", path, err)
	}
	b, _ := io.ReadAll(f)
	if off > 0 {
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// makeTraversable gives "others" search permission on dir and its ancestors
// that we own. Dovecot's mail processes run as the mail user and its auth
// process as dovecot; t.TempDir() makes 0700 directories they could not enter.
func makeTraversable(dir string) error {
	uid := os.Getuid()
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// killGroup ends a server started by startLogged and all its children at
// once, for servers whose clean stop is slow and whose state is thrown away.
func killGroup(cmd *exec.Cmd, done <-chan struct{}, timeout time.Duration) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running %s after SIGKILL", filepath.Base(cmd.Path), cmd.Process.Pid, timeout)
	}
}

// startWatchdog guards a daemon that detached from us (Postfix's master): a
// shell that waits forever and, when the kernel signals it because the test
// binary died (a panic, a -timeout), sends SIGTERM to the pid in pidFile.
// Without it a crashed test run leaves a Postfix listening until reboot.
// Stop it with killGroup, which gives the shell no chance to run its trap.
func startWatchdog(pidFile string) (*exec.Cmd, <-chan struct{}, error) {
	const script = `trap 'kill -TERM "$(cat "$1" 2>/dev/null)" 2>/dev/null; kill $! 2>/dev/null; exit 0' TERM
sleep infinity &
wait`
	return startLogged(os.DevNull, "/bin/sh", "-c", script, "sitrep-watchdog", pidFile)
}
