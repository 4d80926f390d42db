package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
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

func TestOIDCValidation(t *testing.T) {
	load := func(yamlText string) error {
		path := filepath.Join(t.TempDir(), "sitrep.yaml")
		os.WriteFile(path, []byte(yamlText), 0o600)
		_, err := Load(path, nil)
		return err
	}
	// Off, and on with what a Google Workspace needs: fine. The callback
	// defaults to the public URL's.
	if err := load(""); err != nil {
		t.Fatal(err)
	}
	good := `
server:
  public_url: https://sitrep.example.com/
auth:
  oidc:
    issuer: https://accounts.google.com
    client_id: 123.apps.googleusercontent.com
    client_secret: s3cret
    hosted_domain: example.com
    create_accounts: true
`
	if err := load(good); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(path, []byte(good), 0o600)
	cfg, _ := Load(path, []string{"SITREP_AUTH_OIDC_ALLOWED_DOMAINS=example.com, example.org"})
	if got := cfg.OIDCRedirectURL(); got != "https://sitrep.example.com/login/oidc/callback" {
		t.Errorf("default redirect URL %q", got)
	}
	if got := cfg.Auth.OIDC.AllowedDomains; len(got) != 2 || got[1] != "example.org" {
		t.Errorf("allowed domains from the environment: %q", got)
	}
	if strings.Contains(fmt.Sprintf("%+v", cfg), "s3cret") {
		t.Error("the client secret printed")
	}
	// A loopback http issuer (a test's fake provider) is allowed; the redirect is given.
	if err := load("auth:\n  oidc:\n    issuer: http://127.0.0.1:4567\n    client_id: x\n    client_secret: y\n    redirect_url: http://127.0.0.1:8080/login/oidc/callback\n"); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ yaml, key, says string }{
		{"auth:\n  oidc:\n    issuer: http://idp.example.com\n    client_id: x\n    client_secret: y\n    redirect_url: https://s.example/login/oidc/callback\n", "auth.oidc.issuer", "want https"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n", "auth.oidc.client_id", "required"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n", "auth.oidc.client_secret", "required"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n", "auth.oidc.redirect_url", "server.public_url"},
		{"auth:\n  oidc:\n    client_id: x\n", "auth.oidc.issuer", "required"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n    redirect_url: https://s.example/elsewhere\n", "auth.oidc.redirect_url", "/login/oidc/callback"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n    create_accounts: true\n", "auth.oidc.create_accounts", "hosted_domain or allowed_domains"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n    new_account_role: admin\n", "auth.oidc.new_account_role", "viewer or lead"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n    scopes: [profile]\n", "auth.oidc.scopes", "openid and email"},
		{"auth:\n  oidc:\n    issuer: https://idp.example.com\n    allowed_domains: [\"@example.com\"]\n", "auth.oidc.allowed_domains[0]", "domain"},
		{"server:\n  trusted_proxies: [10.0.0.0/8, not-an-ip]\n", "server.trusted_proxies[1]", "CIDR"},
		{"mail:\n  imap:\n    trusted_authserv_ids: [\"mx one.example\"]\n", "mail.imap.trusted_authserv_ids", "not an authserv-id"},
		{"mail:\n  imap:\n    trusted_authserv_ids: [\"mx.example;\"]\n", "mail.imap.trusted_authserv_ids", "not an authserv-id"},
		{"escalation:\n  fallback_group: On Call\n", "escalation.fallback_group", "want a group name"},
		{"status_page:\n  public:\n    enabled: true\n    subscriptions: true\n", "status_page.public.subscriptions", "needs public.listen and public.url"},
		{"status_page:\n  public:\n    enabled: true\n    url: https://status.example.com\n    listen: \"\"\n    subscriptions: true\n", "status_page.public.subscriptions", "needs public.listen"},
	} {
		err := load(c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.key+": ") || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%q: want a problem at %s saying %q, got %v", c.yaml, c.key, c.says, err)
		}
	}
}

func TestTrustedProxyPrefixes(t *testing.T) {
	s := Server{TrustedProxies: []string{"10.0.0.0/8", "127.0.0.1", "::1", "192.168.1.7/24"}}
	var got []string
	for _, p := range s.TrustedProxyPrefixes() {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 127.0.0.1/32 ::1/128 192.168.1.0/24" {
		t.Fatalf("prefixes %q", got)
	}
}

// A Google maintenance calendar borrows the post-mortem's service account
// unless it names its own, and needs one of them.
func TestMaintenanceGoogleValidation(t *testing.T) {
	load := func(yaml string) error { return loadYAML(t, yaml) }
	err := load("changes:\n  maintenance_google:\n    calendar_id: ops@group.calendar.google.com\n")
	if err == nil || !strings.Contains(err.Error(), "changes.maintenance_google.credentials_file") || !strings.Contains(err.Error(), "changes.maintenance_google.subject") {
		t.Fatalf("without credentials or subject: %v", err)
	}
	if err := load("changes:\n  maintenance_google:\n    calendar_id: ops@group.calendar.google.com\npostmortem:\n  google:\n    credentials_file: /etc/sitrep/sa.json\n    organizer: hub@example.com\n"); err != nil {
		t.Fatalf("the post-mortem's account is borrowed: %v", err)
	}
	if err := load("changes:\n  maintenance_google:\n    calendar_id: ops@group.calendar.google.com\n    credentials_file: /k.json\n    subject: not an address\n"); err == nil || !strings.Contains(err.Error(), "changes.maintenance_google.subject") {
		t.Fatalf("a bad subject: %v", err)
	}
}

func TestMailOAuthValidation(t *testing.T) {
	load := func(yamlText string) error {
		path := filepath.Join(t.TempDir(), "sitrep.yaml")
		os.WriteFile(path, []byte(yamlText), 0o600)
		_, err := Load(path, nil)
		return err
	}
	good := `
mail:
  smtp: {host: smtp.office365.com, port: 587, username: status@example.com}
  imap: {host: outlook.office365.com, username: status@example.com}
  oauth:
    provider: microsoft
    tenant: 11111111-2222-3333-4444-555555555555
    client_id: 66666666-7777-8888-9999-000000000000
    client_secret: {env: SITREP_TEST_MAIL_SECRET}
`
	t.Setenv("SITREP_TEST_MAIL_SECRET", "s3cret")
	if err := load(good); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(path, []byte(good), 0o600)
	cfg, _ := Load(path, nil)
	if cfg.Mail.SMTPAuth() != MailAuthOAuth2 || cfg.Mail.IMAPAuth() != MailAuthOAuth2 || cfg.Mail.OAuthMailbox() != "status@example.com" {
		t.Errorf("a provider makes both sign in with OAuth2 as the IMAP user: %s %s %s", cfg.Mail.SMTPAuth(), cfg.Mail.IMAPAuth(), cfg.Mail.OAuthMailbox())
	}
	// Every missing piece is reported at once, by key.
	err := load(`
mail:
  smtp: {host: smtp.office365.com, port: 587, auth: oauth2}
  imap: {host: outlook.office365.com, username: status@example.com, auth: kerberos}
  oauth:
    provider: microsoft
    certificate: /etc/sitrep/app.pem
`)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, key := range []string{"mail.smtp.username", "mail.imap.auth", "mail.oauth.tenant", "mail.oauth.client_id", "mail.oauth.private_key"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("%s not reported: %v", key, err)
		}
	}
	if err := load("mail:\n  imap: {host: imap.gmail.com, username: s@example.com, auth: oauth2}\n"); err == nil || !strings.Contains(err.Error(), "mail.oauth.provider") {
		t.Errorf("oauth2 without provider: %v", err)
	}
	if err := load("mail:\n  imap: {host: imap.gmail.com, username: s@example.com}\n  oauth: {provider: google}\n"); err == nil || !strings.Contains(err.Error(), "mail.oauth.service_account_key") {
		t.Errorf("google without key: %v", err)
	}
}

// TestDKIMKeyProblemsNamed: a missing, malformed or weak DKIM key stops
// the start with the key's name and what is wrong.
func TestDKIMKeyProblemsNamed(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	for _, tc := range []struct {
		name, key, want string
	}{
		{"rsa", pkcs8(rsaKey), ""},
		{"rsa pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})), ""},
		{"ed25519", pkcs8(edKey), ""},
		{"missing", "", "mail.dkim.private_key: required"},
		{"not pem", "MIIEvQIBADANBg", "mail.dkim.private_key: not a PEM private key"},
		{"truncated", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "mail.dkim.private_key: malformed private key (PRIVATE KEY)"},
		{"public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", `mail.dkim.private_key: a PEM "PUBLIC KEY" block`},
		{"weak", pkcs8(weak), "mail.dkim.private_key: an RSA key of 1024 bits is too short"},
	} {
		cfg := Default()
		cfg.Mail.DKIM = DKIM{Selector: "s2026", PrivateKey: Secret(tc.key)}
		got := strings.Join(cfg.validate(), "\n")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
	cfg := Default()
	cfg.Mail.DKIM.PrivateKey = Secret(pkcs8(edKey))
	if got := strings.Join(cfg.validate(), "\n"); !strings.Contains(got, "mail.dkim.selector: required") {
		t.Errorf("a key without a selector: %q", got)
	}
	if cfg.DKIMDomain() != "sitrep.example" {
		t.Errorf("DKIM domain defaults to the From domain, got %q", cfg.DKIMDomain())
	}
}

// TestMissingSecretFileNamedByKey: a key file that is not there is
// reported with the key that names it.
func TestMissingSecretFileNamedByKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sitrep.yaml")
	yaml := "mail:\n  dkim:\n    selector: s1\n    private_key: {file: /nonexistent/dkim.pem}\n  smtp:\n    password: {env: SITREP_TEST_NO_SUCH_VARIABLE}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("want Problems, got %v", err)
	}
	got := strings.Join(p.List, "\n")
	for _, want := range []string{"mail.dkim.private_key: secret file: open /nonexistent/dkim.pem", "mail.smtp.password: environment variable SITREP_TEST_NO_SUCH_VARIABLE is not set"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x00") {
		t.Errorf("the marker leaked into the message: %q", got)
	}
}

// TestActTimeoutFollowsRescueAfter: lowering jobs.rescue_after alone keeps
// the config valid (the act budget follows it); an explicit act_timeout at
// or over River's job timeout is refused, since a rescued act job would run
// twice.
func TestActTimeoutFollowsRescueAfter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sitrep.yaml")
	os.WriteFile(path, []byte("data_dir: "+dir+"\njobs:\n  rescue_after: 10s\n"), 0o600)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("rescue_after 10s alone: %v", err)
	}
	if got := cfg.Mail.IMAP.ActTimeoutWithin(cfg.Jobs.RescueAfter); got <= 0 || got >= 9*time.Second {
		t.Errorf("act budget %s with rescue_after 10s, want above 0 and below 9s", got)
	}
	if got := (IMAP{}).ActTimeoutWithin(time.Hour); got != 30*time.Second {
		t.Errorf("default act budget %s, want 30s", got)
	}
	os.WriteFile(path, []byte("data_dir: "+dir+"\njobs:\n  rescue_after: 10s\nmail:\n  imap:\n    act_timeout: 30s\n"), 0o600)
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "mail.imap.act_timeout: ") {
		t.Errorf("act_timeout 30s with rescue_after 10s: %v, want a problem at mail.imap.act_timeout", err)
	}
}

func TestMicrosoft365AndChatValidation(t *testing.T) {
	load := func(yaml string) error { return loadYAML(t, yaml) }
	cases := []struct {
		yaml, want string // want "": valid
	}{
		{"postmortem:\n  backend: microsoft365\n", "postmortem.microsoft365: tenant, client_id and organizer are required"},
		{"postmortem:\n  backend: microsoft365\n  microsoft365:\n    tenant: contoso.onmicrosoft.com\n    client_id: 1234\n    organizer: incidents@contoso.com\n", "give client_secret, or certificate and private_key"},
		{"postmortem:\n  backend: microsoft365\n  microsoft365:\n    tenant: t\n    client_id: c\n    organizer: o@contoso.com\n    client_secret: s\n    certificate: /c.pem\n", "one of the two"},
		{"postmortem:\n  backend: microsoft365\n  microsoft365:\n    tenant: t\n    client_id: c\n    organizer: o@contoso.com\n    certificate: /c.pem\n", "postmortem.microsoft365.private_key: required with certificate"},
		{"postmortem:\n  backend: microsoft365\n  microsoft365:\n    tenant: t\n    client_id: c\n    organizer: o@contoso.com\n    client_secret: s\n", ""},
		{"postmortem:\n  backend: outlook\n", "want imip, caldav, google or microsoft365"},
		{"postmortem:\n  answers_every: 10s\n", "postmortem.answers_every: want at least 1m"},
		{"chat:\n  slack:\n    token: xoxb-1\n", "token and channel go together"},
		{"chat:\n  slack:\n    token: xoxb-1\n    channel: C0123\n    webhook_url: https://hooks.slack.com/services/x\n", "not both"},
		{"chat:\n  slack:\n    token: xoxb-1\n    channel: \"#incidents\"\n", "want the channel's ID"},
		{"chat:\n  slack:\n    token: xoxb-1\n    channel: C0123\n", ""},
		{"chat:\n  teams:\n    webhook_url: prod-01.westeurope.logic.azure.com\n", "chat.teams.webhook_url: want the Workflows webhook's https URL"},
	}
	for _, c := range cases {
		err := load(c.yaml)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got %v, want %q", c.yaml, err, c.want)
		}
	}
}

// loadYAML loads yaml as a config file and returns what Load says.
func loadYAML(t *testing.T, yaml string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	return err
}

func TestBacklogValidation(t *testing.T) {
	load := func(yaml string) error { return loadYAML(t, yaml) }
	for yaml, want := range map[string][]string{
		"backlog:\n  tracker: trello\n": {"backlog.tracker", "github, jira or linear"},
		"backlog:\n  tracker: jira\n":   {"backlog.jira", "base_url, email, api_token and project are required"},
		"backlog:\n  tracker: jira\n  jira:\n    base_url: https://acme.atlassian.net/rest/api/3\n    email: bot\n    api_token: t\n    project: ops\n    issue_type: \" \"\n    labels: [post mortem]\n": {
			"backlog.jira.base_url", "without /rest/api/3", "backlog.jira.email", "backlog.jira.project", "like OPS in OPS-42", "backlog.jira.issue_type", "backlog.jira.labels"},
		"backlog:\n  tracker: linear\n":  {"backlog.linear", "api_key and team are required"},
		"backlog:\n  call_timeout: 1s\n": {"backlog.call_timeout", "want 5s to 5m, got 1s"},
		"backlog:\n  tracker: linear\n  linear:\n    api_key: k\n    team: Engineering\n": {"backlog.linear.team", "ENG in ENG-123"},
	} {
		err := load(yaml)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%q: want %q in %v", yaml, w, err)
			}
		}
	}
	for _, ok := range []string{
		"backlog:\n  tracker: jira\n  jira:\n    base_url: https://acme.atlassian.net\n    email: bot@acme.example\n    api_token: t\n    project: OPS\n",
		"backlog:\n  tracker: linear\n  linear:\n    api_key: lin_api_x\n    team: ENG\n",
	} {
		if err := load(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
