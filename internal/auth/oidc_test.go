package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/auth/oidcfake"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

func TestSignOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	accts := &auth.Accounts{DB: db, Argon2: cheap}
	ann, err := accts.Create(ctx, "ann@example.com", "Ann", auth.Lead, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if got, created, err := accts.SignOn(ctx, "ANN@example.com", "Someone Else", ""); err != nil || created || got.ID != ann.ID || got.Role != auth.Lead || got.Name != "Ann" {
		t.Fatalf("existing account: %+v %v %v", got, created, err)
	}
	if _, _, err := accts.SignOn(ctx, "bob@example.com", "Bob", ""); errs.CodeOf(err) != errs.NotFound || !strings.Contains(err.Error(), "Ask an admin") {
		t.Fatalf("unknown email without creation: %v", err)
	}
	bob, created, err := accts.SignOn(ctx, "bob@example.com", " Bob\r\nSmith ", auth.Viewer)
	if err != nil || !created || bob.Role != auth.Viewer || bob.Name != "Bob Smith" {
		t.Fatalf("created: %+v %v %v", bob, created, err)
	}
	// Its password is nobody's: no password signs in until an admin resets it.
	if _, err := accts.Authenticate(ctx, "bob@example.com", ""); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("a created account must not take an empty password: %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET disabled_at = $1 WHERE id = $2`, time.Now().UTC(), bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := accts.SignOn(ctx, "bob@example.com", "Bob", auth.Viewer); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("disabled account: %v", err)
	}
}

// signInAt walks an authorization through the fake provider and returns
// the callback's code and state.
func signInAt(t *testing.T, start *auth.OIDCStart) (code, state string) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(start.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %v", resp.StatusCode, err)
	}
	return u.Query().Get("code"), u.Query().Get("state")
}

func TestOIDCDiscoveryIsLazyAndRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp := oidcfake.New(t)
	idp.SetDown(true)
	now := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	o := &auth.OIDC{Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: "http://127.0.0.1:1/login/oidc/callback",
		Now: func() time.Time { return now }}
	if _, err := o.Start(ctx); errs.CodeOf(err) != errs.Unavailable || !strings.Contains(err.Error(), "503") {
		t.Fatalf("provider down: %v", err)
	}
	// Back up, but within RetryAfter of the failure: not asked again yet.
	idp.SetDown(false)
	if _, err := o.Start(ctx); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("within RetryAfter: %v", err)
	}
	now = now.Add(6 * time.Second)
	start, err := o.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if start.State == "" || start.Nonce == "" || len(start.Verifier) != 43 || !strings.Contains(start.URL, "code_challenge_method=S256") {
		t.Fatalf("start %+v", start)
	}
	// Once discovered, a provider outage of the token endpoint is Unavailable, not the person's fault.
	code, state := signInAt(t, start)
	if state != start.State {
		t.Fatalf("state %q, want %q", state, start.State)
	}
	idp.SetDown(true)
	if _, err := o.Finish(ctx, code, start.Verifier, start.Nonce); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("token endpoint down: %v", err)
	}
}

func TestOIDCFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp := oidcfake.New(t)
	o := &auth.OIDC{Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: "http://127.0.0.1:1/login/oidc/callback"}
	idp.SignIn(oidcfake.User{Subject: "s1", Email: "Ann@Example.com", EmailVerified: true, Name: "Ann"}, func(c map[string]any) {
		c["email_verified"] = "true" // as some providers send it
	})
	start, err := o.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := signInAt(t, start)
	id, err := o.Finish(ctx, code, start.Verifier, start.Nonce)
	if err != nil || id.Email != "ann@example.com" || id.Subject != "s1" || id.Name != "Ann" {
		t.Fatalf("identity %+v %v", id, err)
	}
	// The same code again: the provider refuses it, and that is the person's to retry.
	if _, err := o.Finish(ctx, code, start.Verifier, start.Nonce); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("code reused: %v", err)
	}
	// A wrong client secret is refused by the provider.
	bad := &auth.OIDC{Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: "wrong", RedirectURL: o.RedirectURL}
	start, _ = bad.Start(ctx)
	code, _ = signInAt(t, start)
	if _, err := bad.Finish(ctx, code, start.Verifier, start.Nonce); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong client secret: %v", err)
	}
}
