package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadPolicyYAML(t *testing.T, text string, env ...string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sitrep.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, env)
}

func TestPolicyDefaultsAreIssue21s(t *testing.T) {
	t.Parallel()
	cfg := Default()
	got := cfg.PolicyFor("SEV1")
	want := SeverityPolicy{FirstUpdateWithin: 5 * time.Minute, Every: 20 * time.Minute, For: 2 * time.Hour, ThenEvery: time.Hour, AnswerWithin: 15 * time.Minute}
	if got != want {
		t.Errorf("SEV1 policy = %+v, want %+v", got, want)
	}
	if problems := cfg.validate(); len(problems) > 0 {
		t.Errorf("the defaults do not validate: %v", problems)
	}
	if cfg.CadenceFor("sev2") != 30*time.Minute || cfg.PolicyFor("SEV9") != cfg.PolicyFor("SEV4") {
		t.Errorf("SEV2 every = %s; unknown severity = %+v", cfg.CadenceFor("sev2"), cfg.PolicyFor("SEV9"))
	}
}

// A file sets one key of one severity: the others keep their defaults.
func TestPolicyPartialOverride(t *testing.T) {
	t.Parallel()
	cfg, err := loadPolicyYAML(t, `
cadence:
  policy:
    sev1: {every: 15m}
    sev3:
      answer_within: 0s
`, "SITREP_CADENCE_POLICY_SEV2_THEN_EVERY=90m")
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.PolicyFor("sev1"); p.Every != 15*time.Minute || p.For != 2*time.Hour || p.ThenEvery != time.Hour || p.FirstUpdateWithin != 5*time.Minute {
		t.Errorf("sev1 = %+v", p)
	}
	if p := cfg.PolicyFor("sev3"); p.AnswerWithin != 0 || p.Every != 4*time.Hour {
		t.Errorf("sev3 = %+v", p)
	}
	if p := cfg.PolicyFor("sev2"); p.ThenEvery != 90*time.Minute {
		t.Errorf("the environment's then_every: sev2 = %+v", p)
	}
}

// cadence.sev1: 30m, written before the policy, still means one interval
// of 30 minutes for the whole incident; the first-update and question
// targets stay the policy's.
func TestLegacyCadenceKeysStillWork(t *testing.T) {
	t.Parallel()
	cfg, err := loadPolicyYAML(t, "cadence:\n  sev1: 30m\n  sev4: 12h\n")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.PolicyFor("SEV1")
	if p.Every != 30*time.Minute || p.For != 0 || p.ThenEvery != 0 || p.FirstUpdateWithin != 5*time.Minute || p.AnswerWithin != 15*time.Minute {
		t.Errorf("sev1 with the older key = %+v", p)
	}
	if cfg.CadenceFor("sev4") != 12*time.Hour || cfg.CadenceFor("sev2") != 30*time.Minute {
		t.Errorf("sev4 = %s, sev2 = %s", cfg.CadenceFor("sev4"), cfg.CadenceFor("sev2"))
	}
}

// Each bad value is reported with its key and what to write instead.
func TestPolicyProblemsNameTheKeyAndTheFix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"not a duration", "cadence:\n  policy:\n    sev1: {every: 20 mins}\n", []string{"cadence.policy.sev1.every", `"20 mins"`, "such as 20m"}},
		{"a bare number", "cadence:\n  sev2: 30\n", []string{"cadence.sev2", "write 30m for minutes"}},
		{"a bare number in the policy", "cadence:\n  policy:\n    sev3:\n      answer_within: 15\n", []string{"line 4", "cadence.policy.sev3.answer_within", "15m"}},
		{"a typo", "cadence:\n  policy:\n    sev1: {evry: 20m}\n", []string{"cadence.policy.sev1.evry", "unknown key", "first_update_within, every, for, then_every, answer_within"}},
		{"an unknown severity", "cadence:\n  policy:\n    sev5: {every: 20m}\n", []string{"cadence.policy.sev5", "unknown key", "sev1, sev2, sev3, sev4"}},
		{"then_every without for", "cadence:\n  policy:\n    sev3: {then_every: 8h}\n", []string{"cadence.policy.sev3.then_every", "for: 2h"}},
		{"for without then_every", "cadence:\n  policy:\n    sev4: {for: 48h}\n", []string{"cadence.policy.sev4.then_every", "required", "then_every: 1h"}},
		{"swapped", "cadence:\n  policy:\n    sev1: {every: 1h, then_every: 20m}\n", []string{"cadence.policy.sev1.then_every", "shorter than every", "swap"}},
		{"too short", "cadence:\n  policy:\n    sev2: {every: 30s}\n", []string{"cadence.policy.sev2.every", "between 1m and 168h", "30s"}},
		{"first update too short", "cadence:\n  policy:\n    sev1: {first_update_within: 10s}\n", []string{"cadence.policy.sev1.first_update_within", "0s (no first-update reminder)"}},
		{"both forms", "cadence:\n  sev1: 30m\n  policy:\n    sev1: {every: 15m}\n", []string{"cadence.sev1", "cadence.policy.sev1.every", "keep one", "remove cadence.sev1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadPolicyYAML(t, tc.yaml)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// A key outside the policy that is not a duration still reads as one
// (the hook covers the whole section, not the policy alone).
func TestCadenceSectionStillReadsItsOtherKeys(t *testing.T) {
	t.Parallel()
	cfg, err := loadPolicyYAML(t, "cadence:\n  reminder_before: 3m\n  backup: ops@example.com\n  question_window: 0s\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cadence.ReminderBefore != 3*time.Minute || cfg.Cadence.Backup != "ops@example.com" || cfg.Cadence.QuestionWindow != 0 {
		t.Errorf("cadence = %+v", cfg.Cadence)
	}
	if _, err := loadPolicyYAML(t, "cadence:\n  overdue_after: soon\n"); err == nil || !strings.Contains(err.Error(), "cadence.overdue_after") {
		t.Errorf("a bad overdue_after: %v", err)
	}
}
