package mailauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
)

const mailbox = "status@example.test"

// claims reads an access token the fake issued (unverified: Dovecot
// verifies them in the real-server tests).
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// providers registers one grant of each kind at the fake and returns
// their configurations.
func providers(t *testing.T, f *oauthfake.Server) map[string]mailauth.Config {
	_, keyFile := f.AddServiceAccount("hub@sitrep-test.iam.gserviceaccount.com", mailbox)
	f.Delegate("hub@sitrep-test.iam.gserviceaccount.com", mailauth.GoogleMailScope)
	certPEM, keyPEM, cert := oauthfake.NewCertificate(t, "sitrep")
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "app-secret", Secret: "s3cret", Consent: true, Mailbox: mailbox})
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "app-cert", Cert: cert, Consent: true, Mailbox: mailbox})
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "app-public", Consent: true})
	f.AddClient(oauthfake.Client{ID: "generic", Secret: "g-secret", Mailbox: mailbox})
	return map[string]mailauth.Config{
		"google":                  {Provider: "google", Mailbox: mailbox, ServiceAccountKey: keyFile, TokenURL: f.GoogleTokenURL()},
		"microsoft secret":        {Provider: "microsoft", Tenant: "contoso", ClientID: "app-secret", ClientSecret: "s3cret", TokenURL: f.MicrosoftTokenURL("contoso")},
		"microsoft certificate":   {Provider: "microsoft", Tenant: "contoso", ClientID: "app-cert", CertificatePEM: certPEM, PrivateKeyPEM: keyPEM, TokenURL: f.MicrosoftTokenURL("contoso")},
		"microsoft refresh token": {Provider: "microsoft", Grant: "refresh_token", Tenant: "contoso", ClientID: "app-public", RefreshToken: f.IssueRefreshToken("contoso", "app-public", mailbox), TokenURL: f.MicrosoftTokenURL("contoso")},
		"generic client post":     {Provider: "oauth2", ClientID: "generic", ClientSecret: "g-secret", TokenURL: f.GenericTokenURL(), Scopes: []string{"https://mail.example.test/.default"}},
		"generic client basic":    {Provider: "oauth2", ClientID: "generic", ClientSecret: "g-secret", TokenURL: f.GenericTokenURL(), Scopes: []string{"https://mail.example.test/.default"}, BasicAuth: true},
		"generic refresh token":   {Provider: "oauth2", Grant: "refresh_token", ClientID: "generic", ClientSecret: "g-secret", RefreshToken: f.IssueRefreshToken("", "generic", mailbox), TokenURL: f.GenericTokenURL(), Scopes: []string{"https://mail.example.test"}},
	}
}

func TestEveryProviderGetsATokenForTheMailbox(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, time.Hour)
	wantAud := map[string]string{
		"google": "https://mail.google.com/", "microsoft secret": "https://outlook.office365.com", "microsoft certificate": "https://outlook.office365.com",
		"microsoft refresh token": "https://outlook.office.com", "generic client post": "https://mail.example.test", "generic client basic": "https://mail.example.test",
		"generic refresh token": "https://mail.example.test",
	}
	for name, cfg := range providers(t, f) {
		fetcher, err := mailauth.NewFetcher(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tokens := mailauth.NewTokens(fetcher, mailauth.TokensOptions{})
		// Twice: a refresh token grant must go on working after the
		// provider rotated the refresh token.
		for i := 0; i < 2; i++ {
			tok, err := tokens.Token(context.Background())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			c := claims(t, tok)
			if c["email"] != mailbox || c["aud"] != wantAud[name] {
				t.Errorf("%s: token for %v, audience %v; want %s, %s", name, c["email"], c["aud"], mailbox, wantAud[name])
			}
			tokens = mailauth.NewTokens(fetcher, mailauth.TokensOptions{}) // no cache: fetch again
		}
	}
}

// Each token failure an administrator can cause says what to fix.
func TestTokenFailuresNameTheFix(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, time.Hour)
	ok := providers(t, f)
	_, otherKey := f.AddServiceAccount("nodelegation@sitrep-test.iam.gserviceaccount.com", mailbox)
	otherCert, otherKeyPEM, _ := oauthfake.NewCertificate(t, "not uploaded")
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "app-noconsent", Secret: "s", Consent: false, Mailbox: mailbox})
	revoked := f.IssueRefreshToken("contoso", "app-public", mailbox)
	with := func(name string, mod func(*mailauth.Config)) mailauth.Config {
		c := ok[name]
		mod(&c)
		return c
	}
	cases := []struct {
		name   string
		cfg    mailauth.Config
		before func()
		want   []string
		code   errs.Code
	}{
		{"google without delegation", with("google", func(c *mailauth.Config) { c.ServiceAccountKey = otherKey }), nil,
			[]string{"lacks domain-wide delegation", "Security > Access and data control > API controls > Domain-wide delegation"}, errs.Unauthorized},
		{"google unknown mailbox", with("google", func(c *mailauth.Config) { c.Mailbox = "nobody@example.test" }), nil,
			[]string{"mailbox to impersonate does not exist"}, errs.Unauthorized},
		{"microsoft wrong secret", with("microsoft secret", func(c *mailauth.Config) { c.ClientSecret = "secret-id-not-value" }), nil,
			[]string{"client secret is wrong", "Certificates & secrets", "AADSTS7000215"}, errs.Unauthorized},
		{"microsoft unknown app", with("microsoft secret", func(c *mailauth.Config) { c.ClientID = "nope" }), nil,
			[]string{"no application with this client_id", "AADSTS700016"}, errs.Unauthorized},
		{"microsoft no consent", with("microsoft secret", func(c *mailauth.Config) { c.ClientID, c.ClientSecret = "app-noconsent", "s" }), nil,
			[]string{"admin consent is not granted", "IMAP.AccessAsApp", "SMTP.SendAsApp", "AADSTS65001"}, errs.Unauthorized},
		{"microsoft certificate not uploaded", with("microsoft certificate", func(c *mailauth.Config) { c.CertificatePEM, c.PrivateKeyPEM = otherCert, otherKeyPEM }), nil,
			[]string{"upload the certificate", "AADSTS700027"}, errs.Unauthorized},
		{"microsoft unknown tenant", with("microsoft secret", func(c *mailauth.Config) { c.Tenant, c.TokenURL = "fabrikam", f.MicrosoftTokenURL("fabrikam") }), nil,
			[]string{"the tenant does not exist"}, errs.Unauthorized},
		{"revoked refresh token", with("microsoft refresh token", func(c *mailauth.Config) { c.RefreshToken = revoked }), func() { f.RevokeRefreshTokens("app-public") },
			[]string{"sign in again", "AADSTS70008"}, errs.Unauthorized},
		{"generic wrong secret", with("generic client post", func(c *mailauth.Config) { c.ClientSecret = "x" }), nil,
			[]string{"client credentials are wrong"}, errs.Unauthorized},
		{"html answer", ok["google"], func() { f.AnswerHTMLNext(1) },
			[]string{"answered HTML", "check token_url"}, errs.Unavailable},
	}
	for _, tc := range cases {
		if tc.before != nil {
			tc.before()
		}
		fetcher, err := mailauth.NewFetcher(tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = mailauth.NewTokens(fetcher, mailauth.TokensOptions{}).Token(context.Background())
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
		if errs.CodeOf(err) != tc.code {
			t.Errorf("%s: code %s, want %s", tc.name, errs.CodeOf(err), tc.code)
		}
	}
}

// A clock that disagrees with the provider's shows as such, not as a
// token every server refuses for no stated reason.
func TestClockSkewIsNamed(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, time.Hour)
	cfgs := providers(t, f)
	// The provider is two hours ahead: Google finds the assertion expired.
	f.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	fetcher, _ := mailauth.NewFetcher(cfgs["google"])
	_, err := mailauth.NewTokens(fetcher, mailauth.TokensOptions{}).Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "clock is off") {
		t.Errorf("provider ahead: %v", err)
	}
	// The provider is two hours behind: the token it issues for an hour
	// has expired by this host's clock.
	f.SetClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
	fetcher, _ = mailauth.NewFetcher(cfgs["microsoft secret"])
	_, err = mailauth.NewTokens(fetcher, mailauth.TokensOptions{}).Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "clocks disagree") {
		t.Errorf("provider behind: %v", err)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Tokens are fetched once, again when most of their lifetime has passed,
// and while a refresh fails the token in hand serves until it expires;
// nothing logged carries a token.
func TestTokensRefreshEarlyAndKeepTheWorkingToken(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, time.Hour)
	fetcher, err := mailauth.NewFetcher(providers(t, f)["microsoft secret"])
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Now()}
	f.SetClock(clk.now)
	var logs bytes.Buffer
	tokens := mailauth.NewTokens(fetcher, mailauth.TokensOptions{Now: clk.now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	first, err := tokens.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(50 * time.Minute)
	if again, _ := tokens.Token(ctx); again != first || f.Issued() != 1 {
		t.Fatalf("within its lifetime the token must be reused (issued %d)", f.Issued())
	}
	clk.add(6 * time.Minute) // 4 minutes before expiry: refresh
	f.AnswerHTMLNext(1)
	kept, err := tokens.Token(ctx)
	if err != nil || kept != first {
		t.Fatalf("a failed refresh must keep the working token: err %v, same %v", err, kept == first)
	}
	if tokens.Health() != nil {
		t.Errorf("a working token in hand: mail is healthy, got %v", tokens.Health())
	}
	fresh, err := tokens.Token(ctx)
	if err != nil || fresh == first || f.Issued() != 2 {
		t.Fatalf("refresh: err %v, new %v, issued %d", err, fresh != first, f.Issued())
	}
	clk.add(61 * time.Minute) // the fresh one has expired too
	f.AnswerHTMLNext(1)
	if _, err := tokens.Token(ctx); err == nil {
		t.Fatal("an expired token must not be used")
	}
	if h := tokens.Health(); h == nil || !strings.Contains(h.Error(), "HTML") {
		t.Errorf("health: %v", h)
	}
	if _, err := tokens.Token(ctx); err != nil || tokens.Health() != nil {
		t.Errorf("recovery: %v, health %v", err, tokens.Health())
	}
	for _, tok := range []string{first, fresh} {
		if strings.Contains(logs.String(), tok) {
			t.Error("a token was logged")
		}
	}
}

// Do fetches a new token once when the server refuses one, and reports a
// second refusal.
func TestDoRetriesOnceWithAFreshToken(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, time.Hour)
	fetcher, _ := mailauth.NewFetcher(providers(t, f)["generic client post"])
	tokens := mailauth.NewTokens(fetcher, mailauth.TokensOptions{})
	var seen []string
	err := tokens.Do(context.Background(), "IMAP server x", func(tok string) error {
		seen = append(seen, tok)
		if len(seen) == 1 {
			return mailauth.Refused(errs.E(errs.Unauthorized, "NO"))
		}
		return nil
	})
	if err != nil || len(seen) != 2 || seen[0] == seen[1] {
		t.Fatalf("err %v, attempts %d, fresh token %v", err, len(seen), len(seen) == 2 && seen[0] != seen[1])
	}
	calls := 0
	err = tokens.Do(context.Background(), "IMAP server x", func(string) error {
		calls++
		return mailauth.Refused(errs.E(errs.Unauthorized, "NO"))
	})
	if calls != 2 || err == nil || !strings.Contains(err.Error(), "IMAP server x refused a fresh token") || tokens.Health() == nil {
		t.Fatalf("calls %d, err %v, health %v", calls, err, tokens.Health())
	}
}

func TestBadKeysAreRefusedAtStart(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM, _ := oauthfake.NewCertificate(t, "a")
	_, otherKey, _ := oauthfake.NewCertificate(t, "b")
	cases := []struct {
		name string
		cfg  mailauth.Config
		want string
	}{
		{"google key not JSON", mailauth.Config{Provider: "google", Mailbox: mailbox, ServiceAccountKey: []byte("-----BEGIN")}, "not a service account JSON key file"},
		{"google user credentials", mailauth.Config{Provider: "google", Mailbox: mailbox, ServiceAccountKey: []byte(`{"type":"authorized_user"}`)}, "need type service_account"},
		{"google broken key", mailauth.Config{Provider: "google", Mailbox: mailbox, ServiceAccountKey: []byte(`{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`)}, "malformed private key"},
		{"google no mailbox", mailauth.Config{Provider: "google"}, "mailbox"},
		{"microsoft no credential", mailauth.Config{Provider: "microsoft", Tenant: "t", ClientID: "c"}, "needs a client secret or a certificate"},
		{"microsoft key of another certificate", mailauth.Config{Provider: "microsoft", Tenant: "t", ClientID: "c", CertificatePEM: certPEM, PrivateKeyPEM: otherKey}, "does not belong to the certificate"},
		{"microsoft certificate not PEM", mailauth.Config{Provider: "microsoft", Tenant: "t", ClientID: "c", CertificatePEM: []byte("x"), PrivateKeyPEM: keyPEM}, "no PEM CERTIFICATE block"},
		{"generic no URL", mailauth.Config{Provider: "oauth2", ClientID: "c", ClientSecret: "s"}, "token_url"},
		{"unknown provider", mailauth.Config{Provider: "yahoo"}, "want google, microsoft or oauth2"},
	}
	for _, tc := range cases {
		_, err := mailauth.NewFetcher(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: got %v, want an invalid error saying %q", tc.name, err, tc.want)
		}
	}
}

func TestChooseMechanism(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{[]string{"PLAIN", "XOAUTH2", "OAUTHBEARER"}, "OAUTHBEARER"},
		{[]string{"LOGIN", "xoauth2"}, "XOAUTH2"},
	} {
		if got, err := mailauth.ChooseMechanism("s", tc.offered); err != nil || got != tc.want {
			t.Errorf("%v: %q %v", tc.offered, got, err)
		}
	}
	_, err := mailauth.ChooseMechanism("SMTP server mx:587", []string{"PLAIN", "LOGIN"})
	if err == nil || !strings.Contains(err.Error(), "SMTP server mx:587 offers only PLAIN, LOGIN") {
		t.Errorf("no OAuth mechanism: %v", err)
	}
	_, err = mailauth.ChooseMechanism("SMTP server mx:25", nil)
	if err == nil || !strings.Contains(err.Error(), "no AUTH mechanisms at all") {
		t.Errorf("no AUTH: %v", err)
	}
}
