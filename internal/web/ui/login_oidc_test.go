package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/auth/oidcfake"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// ssoEnv is the UI with single sign-on through a fake provider.
type ssoEnv struct {
	*uiEnv
	idp *oidcfake.Provider
}

func newSSOEnv(t *testing.T, configure func(*SSO)) *ssoEnv {
	t.Helper()
	idp := oidcfake.New(t)
	e := newUIEnvWith(t, func(s *Server, base string) {
		s.SSO = &SSO{Label: "Sign in with Google", OIDC: &auth.OIDC{Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			RedirectURL: base + "/login/oidc/callback", RetryAfter: time.Millisecond}}
		if configure != nil {
			configure(s.SSO)
		}
	})
	return &ssoEnv{uiEnv: e, idp: idp}
}

// ssoSignIn walks the button's way: sitrep → the provider → the callback,
// with change applied to the callback's URL (nil: none). It returns the
// callback's answer and its body.
func (e *ssoEnv) ssoSignIn(b *browser, next string, change func(callback *url.URL)) (*http.Response, string) {
	e.t.Helper()
	resp, err := b.c.Get(e.srv.URL + ssoLink(next))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idp.URL+"/authorize?") {
		e.t.Fatalf("the button must lead to the provider: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	text := body(resp)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("the provider refused the authorization request: %d %s", resp.StatusCode, text)
	}
	callback, _ := url.Parse(resp.Header.Get("Location"))
	if change != nil {
		change(callback)
	}
	resp, err = b.c.Get(callback.String())
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, body(resp)
}

func decodeFlow(t *testing.T, v string) oidcFlow {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(v)
	var f oidcFlow
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func encodeFlow(f oidcFlow) string {
	b, _ := json.Marshal(f)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie && c.Value != "" {
			return c
		}
	}
	return nil
}

func TestSSOSignsInAnExistingAccount(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	e.idp.SignIn(oidcfake.User{Subject: "42", Email: "Lead@X.test", EmailVerified: true, Name: "Lee"}, nil)
	b := e.browser()
	if _, page := b.get("/login"); !strings.Contains(page, `id="sso" href="/login/oidc"`) || !strings.Contains(page, "Sign in with Google") || !strings.Contains(page, `id="password"`) {
		t.Fatalf("the sign-in page must offer the button and keep the password form:\n%s", page)
	}
	// The button's first step: the flow's cookie, and the provider's URL with PKCE and a nonce.
	resp, err := b.c.Get(e.srv.URL + "/login/oidc?next=%2Fdirectory")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var flow *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == oidcCookie {
			flow = c
		}
	}
	if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.Path != "/login/oidc" || flow.MaxAge != 600 {
		t.Fatalf("flow cookie %+v", flow)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" || q.Get("client_id") != e.idp.ClientID ||
		q.Get("redirect_uri") != e.srv.URL+"/login/oidc/callback" || q.Get("scope") != "openid email profile" {
		t.Fatalf("authorization request %s", loc)
	}

	var callback string
	resp, _ = e.ssoSignIn(b, "/directory", func(u *url.URL) { callback = u.String() })
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/directory" || sessionOf(resp) == nil {
		t.Fatalf("callback: %d %s, session cookie %v", resp.StatusCode, resp.Header.Get("Location"), sessionOf(resp))
	}
	if status, page := b.get("/incidents"); status != http.StatusOK || !strings.Contains(page, "lead@x.test (lead)") {
		t.Fatalf("incidents after single sign-on: %d", status)
	}
	if n := len(e.allAccounts()); n != 3 {
		t.Fatalf("an existing account must be used, not a new one: %d accounts", n)
	}
	// The flow is used once: the callback again (a reload, a replay) does not sign in.
	if status, page := e.browser().get(strings.TrimPrefix(callback, e.srv.URL)); status != http.StatusBadRequest || !strings.Contains(page, "Start again") {
		t.Fatalf("callback replayed: %d", status)
	}
	if resp, err := b.c.Get(callback); err != nil || resp.StatusCode != http.StatusBadRequest || sessionOf(resp) != nil {
		t.Fatalf("callback replayed in the same browser: %v %d", err, resp.StatusCode)
	}
	if e.idp.Exchanges() != 1 {
		t.Fatalf("%d code exchanges", e.idp.Exchanges())
	}
}

func TestSSOCreatesAViewerWhenAllowed(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, func(s *SSO) {
		s.NewAccountRole = auth.Viewer
		s.OIDC.HostedDomain = "x.test"
	})
	e.idp.SignIn(oidcfake.User{Subject: "7", Email: "new.person@x.test", EmailVerified: true, Name: "New\nPerson", HostedDomain: "x.test"}, nil)
	b := e.browser()
	resp, _ := e.ssoSignIn(b, "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents" || sessionOf(resp) == nil {
		t.Fatalf("first sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, page := b.get("/incidents"); status != http.StatusOK || !strings.Contains(page, "new.person@x.test (viewer)") {
		t.Fatalf("incidents: %d", status)
	}
	created := 0
	for _, a := range e.allAccounts() {
		if a.Email == "new.person@x.test" && a.Role == auth.Viewer && a.Name == "New Person" {
			created++
		}
	}
	if n := created; n != 1 {
		t.Fatal("a viewer account must be created, named from the token")
	}
	// The second sign-in finds it.
	resp, _ = e.ssoSignIn(e.browser(), "", nil)
	if resp.StatusCode != http.StatusSeeOther || len(e.allAccounts()) != 4 {
		t.Fatalf("second sign-in: %d", resp.StatusCode)
	}
}

// TestSSORefusals: every way a sign-in must not get through ends on the
// sign-in page with a message and the password form, without a session.
func TestSSORefusals(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, func(s *SSO) {
		s.OIDC.HostedDomain = "x.test"
	})
	ctx := context.Background()
	if _, err := e.s.Accounts.SetDisabled(ctx, e.accountID("admin@x.test"), e.accountID("viewer@x.test"), true); err != nil {
		t.Fatal(err)
	}
	lead := oidcfake.User{Subject: "42", Email: "lead@x.test", EmailVerified: true, HostedDomain: "x.test"}
	with := func(u oidcfake.User, change func(*oidcfake.User)) oidcfake.User { change(&u); return u }
	for _, c := range []struct {
		name     string
		user     oidcfake.User
		tweak    func(map[string]any)
		callback func(*url.URL)
		status   int
		says     string
	}{
		{name: "no account and no creation", user: with(lead, func(u *oidcfake.User) { u.Email = "stranger@x.test" }),
			status: http.StatusForbidden, says: "There is no sitrep account for stranger@x.test"},
		{name: "wrong hosted domain", user: with(lead, func(u *oidcfake.User) { u.HostedDomain = "evil.test" }),
			status: http.StatusForbidden, says: "This account is not allowed to sign in here."},
		{name: "no hosted domain (a personal Google account)", user: with(lead, func(u *oidcfake.User) { u.HostedDomain = "" }),
			status: http.StatusForbidden, says: "This account is not allowed to sign in here."},
		{name: "email not verified", user: with(lead, func(u *oidcfake.User) { u.EmailVerified = false }),
			status: http.StatusForbidden, says: "not verified at the identity provider"},
		{name: "disabled account", user: with(lead, func(u *oidcfake.User) { u.Email = "viewer@x.test" }),
			status: http.StatusForbidden, says: "viewer@x.test is disabled"},
		{name: "bad state", user: lead, callback: func(u *url.URL) { q := u.Query(); q.Set("state", "forged"); u.RawQuery = q.Encode() },
			status: http.StatusBadRequest, says: "was not started in this browser"},
		{name: "no code", user: lead, callback: func(u *url.URL) { q := u.Query(); q.Del("code"); u.RawQuery = q.Encode() },
			status: http.StatusBadRequest, says: "was not started in this browser"},
		{name: "refused at the provider", user: lead, callback: func(u *url.URL) { u.RawQuery = "error=access_denied&state=" + u.Query().Get("state") },
			status: http.StatusUnauthorized, says: "cancelled or refused at the identity provider"},
		{name: "wrong nonce", user: lead, tweak: func(c map[string]any) { c["nonce"] = "replayed" },
			status: http.StatusUnauthorized, says: "does not belong to this sign-in"},
		{name: "expired token", user: lead, tweak: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() },
			status: http.StatusUnauthorized, says: "expired before it reached sitrep"},
		{name: "wrong audience", user: lead, tweak: func(c map[string]any) { c["aud"] = "another-app" },
			status: http.StatusUnauthorized, says: "could not be verified"},
		{name: "an email that is no address", user: with(lead, func(u *oidcfake.User) { u.Email = "lead at x.test" }),
			status: http.StatusForbidden, says: "an email address sitrep cannot use"},
		{name: "claims of the wrong type", user: lead, tweak: func(c map[string]any) { c["email"] = 42 },
			status: http.StatusUnauthorized, says: "could not be read"},
		{name: "another issuer", user: lead, tweak: func(c map[string]any) { c["iss"] = "https://evil.example" },
			status: http.StatusUnauthorized, says: "could not be verified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.idp.SignIn(c.user, c.tweak)
			before := e.sessions()
			b := e.browser()
			resp, page := e.ssoSignIn(b, "", c.callback)
			if resp.StatusCode != c.status || !strings.Contains(page, c.says) || !strings.Contains(page, `id="password"`) || sessionOf(resp) != nil {
				t.Fatalf("%d, want %d saying %q:\n%s", resp.StatusCode, c.status, c.says, page)
			}
			if strings.Contains(page, "oidc:") || strings.Contains(page, "goroutine") {
				t.Fatalf("internal details on the page:\n%s", page)
			}
			if e.sessions() != before || len(e.allAccounts()) != 3 {
				t.Fatal("a refused sign-in started a session or made an account")
			}
			if status, _ := b.get("/incidents"); status != http.StatusSeeOther {
				t.Fatalf("after a refused sign-in /incidents answers %d", status)
			}
		})
	}
}

func TestSSOAllowedDomains(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, func(s *SSO) { s.OIDC.AllowedDomains = []string{"example.com", "X.test"} })
	e.idp.SignIn(oidcfake.User{Subject: "42", Email: "lead@x.test", EmailVerified: true}, nil)
	if resp, _ := e.ssoSignIn(e.browser(), "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("email domain in allowed_domains: %d", resp.StatusCode)
	}
	e.idp.SignIn(oidcfake.User{Subject: "43", Email: "lead@x.test.evil.example", EmailVerified: true}, nil)
	if resp, page := e.ssoSignIn(e.browser(), "", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "not allowed to sign in here") {
		t.Fatalf("email domain outside allowed_domains: %d", resp.StatusCode)
	}
}

// Microsoft Entra ID sends no email_verified; its optional claim xms_edov
// (the email's domain verified by its owner) stands for it, and only when true.
func TestSSOEntraDomainOwnerVerified(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	entra := oidcfake.User{Subject: "42", Email: "lead@x.test"}
	for _, c := range []struct {
		edov   any
		status int
	}{{true, http.StatusSeeOther}, {"true", http.StatusSeeOther}, {false, http.StatusForbidden}, {nil, http.StatusForbidden}} {
		e.idp.SignIn(entra, func(claims map[string]any) {
			delete(claims, "email_verified")
			if c.edov != nil {
				claims["xms_edov"] = c.edov
			}
		})
		if resp, page := e.ssoSignIn(e.browser(), "", nil); resp.StatusCode != c.status {
			t.Errorf("xms_edov %v: %d, want %d\n%s", c.edov, resp.StatusCode, c.status, page)
		}
	}
}

// TestSSOVerifierIsChecked: a flow cookie with another PKCE verifier (as an
// attacker who stole the code but not the cookie would have) gets no token.
func TestSSOVerifierIsChecked(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	e.idp.SignIn(oidcfake.User{Subject: "42", Email: "lead@x.test", EmailVerified: true}, nil)
	b := e.browser()
	resp, page := e.ssoSignIn(b, "", func(callback *url.URL) {
		u, _ := url.Parse(e.srv.URL + "/login/oidc")
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == oidcCookie {
				// The same state and nonce, another verifier.
				flow := decodeFlow(t, c.Value)
				other := "x"
				if flow.Verifier[0] == 'x' {
					other = "y"
				}
				flow.Verifier = other + flow.Verifier[1:]
				b.c.Jar.SetCookies(u, []*http.Cookie{{Name: oidcCookie, Value: encodeFlow(flow), Path: "/login/oidc"}})
			}
		}
	})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "did not accept this sign-in") || sessionOf(resp) != nil {
		t.Fatalf("wrong verifier: %d\n%s", resp.StatusCode, page)
	}
	if e.idp.Exchanges() != 0 {
		t.Fatal("the provider gave a token for a wrong verifier")
	}
}

// TestSSOProviderDown: while the provider is down, the sign-in page and
// passwords work, and the button says what is wrong; once it is back, the
// button works without a restart.
func TestSSOProviderDown(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t, nil)
	e.idp.SetDown(true)
	b := e.browser()
	if status, page := b.get("/login"); status != http.StatusOK || !strings.Contains(page, "Sign in with Google") {
		t.Fatalf("sign-in page while the provider is down: %d", status)
	}
	resp, err := b.c.Get(e.srv.URL + "/login/oidc")
	if err != nil {
		t.Fatal(err)
	}
	if page := body(resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Single sign-on is unavailable") || !strings.Contains(page, `id="password"`) {
		t.Fatalf("button while the provider is down: %d\n%s", resp.StatusCode, page)
	}
	e.login("lead@x.test") // passwords still work

	e.idp.SetDown(false)
	time.Sleep(5 * time.Millisecond) // RetryAfter
	e.idp.SignIn(oidcfake.User{Subject: "42", Email: "lead@x.test", EmailVerified: true}, nil)
	if resp, _ := e.ssoSignIn(e.browser(), "", nil); resp.StatusCode != http.StatusSeeOther || sessionOf(resp) == nil {
		t.Fatalf("after the provider is back: %d", resp.StatusCode)
	}
}

func TestNoSSORoutesWhenNotConfigured(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	b := e.browser()
	if _, page := b.get("/login"); strings.Contains(page, `id="sso"`) {
		t.Fatal("a sign-in button without single sign-on configured")
	}
	if status, _ := b.get("/login/oidc"); status != http.StatusNotFound {
		t.Fatalf("/login/oidc without single sign-on: %d", status)
	}
}
