// Package testenv starts the real servers that sitrep's tests talk to on
// loopback: a throwaway database (SQLite file or PostgreSQL database), Postfix
// delivering through LMTP into Dovecot, Radicale for CalDAV, and headless
// Chromium. It is imported only by tests.
//
// The rule it enforces: in CI (CI=true) a test that needs a real server and
// cannot get one fails; elsewhere it is skipped with a message naming the
// script that installs the server (scripts/install-test-deps.sh). A green CI
// must therefore mean the real thing ran.
package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// InstallHint names the script that installs every server the tests use.
const InstallHint = "scripts/install-test-deps.sh"

// InCI reports whether the tests run in CI, where every real server must be
// present and a skip would hide a missing install step.
func InCI() bool {
	v := strings.TrimSpace(strings.ToLower(os.Getenv("CI")))
	return v == "true" || v == "1"
}

// Unavailable ends the test because a real server it needs cannot be had: a
// failure in CI, a skip elsewhere. The message should say what is missing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing test server is a failure; the CI script runs %s)", msg, InstallHint)
		return
	}
	t.Skipf("%s (install the test servers with: sudo %s)", msg, InstallHint)
}
