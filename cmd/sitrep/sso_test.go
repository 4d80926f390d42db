package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth/oidcfake"
	"github.com/sitrep-dev/sitrep/internal/config"
)

// TestSSOProviderDownAtStart: sitrep configured for single sign-on starts
// while the provider is down, passwords work, the button says why it
// cannot sign in; once the provider is back, the button signs the first
// admin in, without a restart. Through serve's own wiring of auth.oidc.
func TestSSOProviderDownAtStart(t *testing.T) {
	t.Parallel()
	idp := oidcfake.New(t)
	idp.SetDown(true)
	// The callback URL is configured, so the port is chosen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(t)
	cfg.Server.Listen = addr
	cfg.Server.PublicURL = "http://" + addr
	cfg.Auth.OIDC = config.OIDC{Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: config.Secret(idp.ClientSecret),
		ButtonLabel: "Sign in with Example SSO", HostedDomain: "sitrep.example", NewAccountRole: "viewer", Scopes: []string{"openid", "email"}}
	_, h := startHub(t, cfg)
	base := "http://" + addr

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, page := get("/login")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sign in with Example SSO") {
		t.Fatalf("sign-in page while the provider is down: %d", resp.StatusCode)
	}
	resp, page = get("/login/oidc")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Single sign-on is unavailable") {
		t.Fatalf("the button while the provider is down: %d\n%s", resp.StatusCode, page)
	}

	// Passwords work meanwhile.
	raw, err := os.ReadFile(filepath.Join(h.cfg.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.Fields(string(raw))
	_, page = get("/login")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	resp, err = browser.PostForm(base+"/login", url.Values{"csrf": {csrf[1]}, "email": {admin[0]}, "password": {admin[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents" {
		t.Fatalf("password sign-in while the provider is down: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The provider is back: within the retry delay, the button works.
	idp.SetDown(false)
	idp.SignIn(oidcfake.User{Subject: "1", Email: admin[0], EmailVerified: true, HostedDomain: "sitrep.example"}, nil)
	jar2, _ := cookiejar.New(nil)
	follow := &http.Client{Jar: jar2} // follows sitrep → provider → callback → incidents
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := follow.Get(base + "/login/oidc")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/incidents" && strings.Contains(string(b), admin[0]+" (admin)") {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("single sign-on after the provider is back: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		time.Sleep(250 * time.Millisecond)
	}
	out := h.logs.String()
	if !strings.Contains(out, "single sign-on failed") || !strings.Contains(out, "method=oidc") {
		t.Fatalf("the logs must tell the failure and the sign-in:\n%s", out)
	}
	if strings.Contains(out, idp.ClientSecret) {
		t.Fatal("the client secret reached the logs")
	}
}
