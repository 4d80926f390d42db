package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if !cfg.SandboxEnabled() {
		t.Error("the default must run the mail sandbox")
	}
	if got := cfg.DatabaseURL(); got != "sqlite://sitrep-data/sitrep.db" {
		t.Errorf("DatabaseURL = %q", got)
	}
}

func TestFileThenEnvironment(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "smtp.pw")
	os.WriteFile(secretFile, []byte("hunter2\n"), 0o600)
	path := filepath.Join(dir, "sitrep.yaml")
	os.WriteFile(path, []byte(`
server:
  listen: 0.0.0.0:9000
mail:
  smtp:
    host: smtp.example.com
    username: sitrep
    password: {file: `+secretFile+`}
cadence:
  sev1: 15m
`), 0o600)
	cfg, err := Load(path, []string{"SITREP_SERVER_LISTEN=127.0.0.1:9999", "SITREP_MAIL_IMAP_TRUSTED_AUTHSERV_IDS=mx.example.com, mx2.example.com", "OTHER=1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:9999" {
		t.Errorf("env must override the file: listen = %q", cfg.Server.Listen)
	}
	if cfg.Mail.SMTP.Password.Value() != "hunter2" {
		t.Errorf("secret from file = %q", cfg.Mail.SMTP.Password.Value())
	}
	if cfg.Cadence.SEV1 != 15*time.Minute || cfg.CadenceFor("sev1") != 15*time.Minute {
		t.Errorf("sev1 cadence = %s", cfg.Cadence.SEV1)
	}
	if got := cfg.Mail.IMAP.TrustedAuthServIDs; len(got) != 2 || got[1] != "mx2.example.com" {
		t.Errorf("trusted ids = %q", got)
	}
	if cfg.SandboxEnabled() {
		t.Error("sandbox must be off when SMTP is configured")
	}
}

func TestEveryProblemReportedByKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(`
server:
  listen: nowhere
database:
  url: mysql://x
mail:
  from: not an address
  smtp:
    batch_size: 0
cadence:
  sev2: 10s
log:
  level: loud
`), 0o600)
	_, err := Load(path, []string{"SITREP_MAIL_SMTP_CONCURRENCY=many"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, key := range []string{"server.listen", "database.url", "mail.from", "mail.smtp.batch_size", "cadence.sev2", "log.level", "SITREP_MAIL_SMTP_CONCURRENCY"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(path, []byte("server:\n  listne: 1.2.3.4:5\n"), 0o600)
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "listne") {
		t.Fatalf("a typo must be reported, got %v", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg := Default()
	cfg.Mail.SMTP.Password = "hunter2"
	for _, s := range []string{cfg.Mail.SMTP.Password.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
}

// TestExampleConfigIsValidAndComplete: config/sitrep.example.yaml loads,
// and documents every key of the Config struct.
func TestExampleConfigIsValidAndComplete(t *testing.T) {
	cfg, err := Load("../../config/sitrep.example.yaml", nil)
	if err != nil {
		t.Fatalf("the example config must load: %v", err)
	}
	if cfg.Server.Listen != Default().Server.Listen || cfg.Cadence.SEV2 != Default().Cadence.SEV2 {
		t.Fatal("the example must show the defaults")
	}
	raw, _ := os.ReadFile("../../config/sitrep.example.yaml")
	var keys []string
	collectKeys(reflect.TypeOf(Config{}), "", &keys)
	for _, k := range keys {
		leaf := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(raw), leaf+":") {
			t.Errorf("config/sitrep.example.yaml does not document %s", k)
		}
	}
}

func collectKeys(t reflect.Type, prefix string, out *[]string) {
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" {
			continue
		}
		if t.Field(i).Type.Kind() == reflect.Struct {
			collectKeys(t.Field(i).Type, prefix+tag+".", out)
			continue
		}
		*out = append(*out, prefix+tag)
	}
}
