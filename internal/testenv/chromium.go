package testenv

import (
	"os"
	"testing"
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
