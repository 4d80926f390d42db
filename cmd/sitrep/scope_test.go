package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// Issue 17, on the command line: `sitrep declare --systems logins` is
// refused naming the flag and the known systems, and declares nothing; a
// declaration without an incident lead says who an overdue update would
// reach (here the fallback group, configured and checked at start).
func TestDeclareRefusesUnknownSystemsAndWarnsOfNoLead(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Escalation.FallbackGroup = "exec"
	e, _ := startHub(t, cfg)

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"declare", "--title", "Sign-in fails", "--severity", "SEV2", "--systems", "checkout,logins"},
		strings.NewReader(""), &out, &errOut, e.environ)
	msg := errOut.String()
	if code == 0 || !strings.Contains(msg, `--systems: unknown system "logins"`) || !strings.Contains(msg, "auth, cdn, checkout, database, payments, search") {
		t.Fatalf("declare --systems logins: exit %d\n%s%s", code, out.String(), msg)
	}
	if list := cli(t, e, "list"); !strings.Contains(list, "No incidents.") {
		t.Fatalf("a refused declaration stored an incident:\n%s", list)
	}

	declared := cli(t, e, "declare", "--title", "Sign-in fails", "--severity", "SEV2", "--systems", "auth")
	if !strings.Contains(declared, "WARNING: No incident lead and no backup: an overdue update escalates to the comms lead and the Executives group") {
		t.Fatalf("declare without an incident lead:\n%s", declared)
	}
}

// A fallback group that is not in the directory stops sitrep at start.
func TestUnknownFallbackGroupStopsTheStart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Escalation.FallbackGroup = "on-call"
	m := NewMain(cfg, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	err := m.Run(context.Background())
	if cerr := m.Close(); cerr != nil {
		t.Errorf("close: %v", cerr)
	}
	if err == nil || !strings.Contains(err.Error(), "escalation.fallback_group") || !strings.Contains(err.Error(), `no group "on-call"`) {
		t.Fatalf("start with an unknown fallback group: %v", err)
	}
}
