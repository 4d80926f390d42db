package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// DefaultChromium is where Debian's chromium package puts the browser.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumPath returns the headless browser for page tests: SITREP_CHROMIUM
// if set, else Debian's /usr/bin/chromium. Missing, it is Unavailable.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("SITREP_CHROMIUM")
	if p == "" {
		p = DefaultChromium
	}
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		Unavailable(t, "testenv: chromium not found at %s (set SITREP_CHROMIUM to use another)", p)
		return ""
	}
	return p
}

// OneBrowserAtATime holds, until the test ends, a lock that every test
// process on the machine shares: the suite runs both databases side by
// side, and four headless Chromiums beside race-built hubs starved a
// 2-core machine until sign-in and SQLite writes timed out. A browser
// test waits here for the one before it instead.
func OneBrowserAtATime(t testing.TB) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "sitrep-test-chromium.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("testenv: browser lock: %v", err)
	}
	start := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("testenv: browser lock: %v", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Logf("testenv: waited %s for another test's browser", waited.Round(time.Second))
	}
	t.Cleanup(func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() })
}
