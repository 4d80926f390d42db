package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/doctor"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestDoctorAllGreenOnEmbeddedDefault: with nothing configured (the
// database and the built-in sandbox), every check the admin page runs and
// every check "sitrep doctor" runs from the command line passes; the
// probe makes the loop through the sandbox and is filed as a probe.
func TestDoctorAllGreenOnEmbeddedDefault(t *testing.T) {
	t.Parallel()
	_, h := startHub(t, testConfig(t))
	rep := h.doctorFor().Run(context.Background()) // what the admins' page runs
	for _, r := range rep.Results {
		if r.Status != doctor.OK && r.Status != doctor.Skip {
			t.Errorf("admin page: %s: %s: %s (fix: %s)", r.Name, r.Status, r.Detail, r.Fix)
		}
	}
	if loop, _ := rep.Find("loop"); loop.Status != doctor.OK {
		t.Errorf("the loop must be proven: %+v", loop)
	}

	cfg := h.cfg
	environ := []string{"SITREP_DATA_DIR=" + cfg.DataDir,
		"SITREP_MAIL_SANDBOX_SMTP_LISTEN=" + h.sandbox.SMTPAddr(), "SITREP_MAIL_SANDBOX_IMAP_LISTEN=" + h.sandbox.IMAPAddr()}
	if testenv.DatabaseKind() == "postgres" {
		environ = append(environ, "SITREP_DATABASE_URL="+cfg.Database.URL)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"doctor", "--json"}, strings.NewReader(""), &out, &errOut, environ)
	var cli doctor.Report
	if err := json.Unmarshal(out.Bytes(), &cli); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if code != 0 || cli.Failed() || cli.Count(doctor.Warn) > 0 {
		t.Errorf("sitrep doctor: exit %d, %d failed, %d warnings\n%s%s", code, cli.Count(doctor.Fail), cli.Count(doctor.Warn), out.String(), errOut.String())
	}
	if m, _ := cli.Find("migrations"); !strings.Contains(m.Detail, "up to date") {
		t.Errorf("the CLI must check the hub's database: %+v", m)
	}
	if s, _ := cli.Find("SMTP connect"); !strings.Contains(s.Detail, h.sandbox.SMTPAddr()) {
		t.Errorf("the CLI must check the running hub's sandbox: %+v", s)
	}
}

// TestDoctorExitStatusAndText: a route that cannot work exits 1 and says
// which check failed and how to fix it, one line each.
func TestDoctorExitStatusAndText(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	environ := []string{"SITREP_DATA_DIR=" + dir, "SITREP_MAIL_SMTP_HOST=127.0.0.1", "SITREP_MAIL_SMTP_PORT=1", "SITREP_MAIL_SMTP_TLS=none",
		"SITREP_MAIL_IMAP_HOST=127.0.0.1", "SITREP_MAIL_IMAP_PORT=1", "SITREP_MAIL_IMAP_TLS=none", "SITREP_MAIL_IMAP_USERNAME=status",
		"SITREP_DOCTOR_RESOLVER=127.0.0.1:1"}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"doctor"}, strings.NewReader(""), &out, &errOut, environ)
	text := out.String()
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, text)
	}
	for _, want := range []string{"FAIL  SMTP connect", "cannot reach 127.0.0.1:1", "fix: check mail.smtp.host", "FAIL  IMAP connect", "skip  loop", "failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("want %q in\n%s", want, text)
		}
	}
	if !strings.Contains(errOut.String(), "checks failed") {
		t.Errorf("stderr: %q", errOut.String())
	}
}
