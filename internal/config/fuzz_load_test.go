package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzLoad: the config loader never panics on any file or environment
// value; it either returns a configuration that validates, or problems
// that each name something (never an empty list); and it is
// deterministic: the same input gives the same answer.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "sitrep.example.yaml"))
	if err == nil {
		f.Add(example, "SITREP_MAIL_SMTP_PORT", "2525")
	}
	for _, s := range []string{
		"server:\n  listen: 127.0.0.1:0\n",
		"mail:\n  smtp:\n    host: smtp.example.com\n    password: {file: /nonexistent}\n",
		"mail:\n  smtp:\n    password: {env: SITREP_NOPE}\n",
		"cadence:\n  sev1: 10s\n  reminder_before: -1m\n",
		"unknown_key: 1\n",
		"database:\n  url: mysql://x\n",
		"postmortem:\n  rooms:\n    - email: a@b\n      capacity: -1\n",
		"data_dir: [1, 2]\n",
		"",
		"---\n...\n",
		"&a [*a]\n",
		"cadence:\n  policy:\n    sev1: {first_update_within: 5m, every: 20m, for: 2h, then_every: 1h, answer_within: 15m}\n",
		"cadence:\n  policy: &p\n    sev1: *p\n",
		"cadence:\n  policy:\n    sev2: {every: 20 mins, for: 30}\n    sev5: {}\n",
		"cadence:\n  sev1: 30m\n  policy:\n    sev1: {every: 15m}\n",
		"cadence: [1]\n",
	} {
		f.Add([]byte(s), "SITREP_CADENCE_SEV1", "45m")
	}
	f.Add([]byte(""), "SITREP_MAIL_SMTP_CONCURRENCY", "many")
	f.Add([]byte(""), "SITREP_MAIL_IMAP_TRUSTED_AUTHSERV_IDS", "a, b,,c")
	f.Fuzz(func(t *testing.T, file []byte, envKey, envValue string) {
		path := filepath.Join(t.TempDir(), "sitrep.yaml")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		env := []string{envKey + "=" + envValue}
		cfg, err := Load(path, env)
		cfg2, err2 := Load(path, env)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("two loads of the same input differ: %v / %v", err, err2)
		}
		if err != nil {
			var p *Problems
			if errors.As(err, &p) && len(p.List) == 0 {
				t.Fatalf("Problems with an empty list for %q", file)
			}
			return
		}
		if !reflect.DeepEqual(cfg, cfg2) {
			t.Fatalf("two loads of the same input give different configurations")
		}
		if problems := cfg.validate(); len(problems) > 0 {
			t.Fatalf("Load accepted a configuration that does not validate: %v", problems)
		}
	})
}
