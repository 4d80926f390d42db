package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"go.yaml.in/yaml/v3"
)

// TestEveryRouteOfTheHubNeedsAToken walks the router of the whole hub, as
// serve wires it: every API route refuses a request without a token, and
// every state-changing one refuses a viewer.
func TestEveryRouteOfTheHubNeedsAToken(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	server := e.getenv("SITREP_SERVER")
	admin := e.getenv("SITREP_TOKEN")
	call := func(token, method, path string) int {
		req, _ := http.NewRequest(method, server+path, strings.NewReader("{}"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	req, _ := http.NewRequest("POST", server+"/api/v1/tokens", strings.NewReader(`{"name":"walker","role":"viewer"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	routes := h.web.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes: the hub is not wired as expected", len(routes))
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r.Pattern, " ")
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + "1" + path[j+1:]
		}
		if code := call("", method, path); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", r.Pattern, code)
		}
		if method != http.MethodGet {
			if r.Role == auth.Viewer && !strings.HasSuffix(path, "/lint") {
				t.Errorf("%s changes state but a viewer may call it", r.Pattern)
			}
			if r.Role != auth.Viewer {
				if code := call(created.Token, method, path); code != http.StatusForbidden {
					t.Errorf("%s with a viewer's token: %d, want 403", r.Pattern, code)
				}
			}
		}
	}
}

// TestSecretsNeverReachTheLogs runs the hub with secrets in its
// configuration and debug logging, exercises it, and greps everything it
// wrote.
func TestSecretsNeverReachTheLogs(t *testing.T) {
	t.Parallel()
	const admin = "admin-token-secret-5b8e2d4f9a"
	const sandboxPassword = "sandbox-password-c4e7a1"
	cfg := testConfig(t)
	cfg.Server.AdminToken = admin
	cfg.Mail.Sandbox.Password = sandboxPassword
	cfg.Log.Level = "debug"
	e, h := startHub(t, cfg)
	cli(t, e, "declare", "--title", "Secrets test", "--severity", "SEV3", "--systems", "checkout")
	cli(t, e, "update", "INC-1", "--status", "Checking.", "--to", "exec")
	for _, secret := range []string{admin, sandboxPassword} {
		if secret != "" && strings.Contains(h.logs.String(), secret) {
			t.Fatalf("a secret reached the logs:\n%s", h.logs.String())
		}
	}
	if h.logs.String() == "" {
		t.Fatal("no logs captured: the test would prove nothing")
	}
}

// TestEveryRouteIsDocumented: every API route of the hub is in the
// OpenAPI file the server serves, with its method.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	resp, err := http.Get(e.getenv("SITREP_SERVER") + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	for _, r := range h.web.Routes() {
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.TrimPrefix(path, "/api/v1")
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("%s is not documented in openapi.yaml", r.Pattern)
			continue
		}
		if _, ok := ops[strings.ToLower(method)]; !ok {
			t.Errorf("%s: openapi.yaml documents %s but not %s", r.Pattern, path, method)
		}
	}
}

// Under Docker or systemd stdout is the log stream: the first start's
// admin token and password are printed only on a terminal, and otherwise
// the banner says which files hold them (they used to go to the log).
func TestFirstStartSecretsStayOutOfTheLog(t *testing.T) {
	t.Parallel()
	_, h := startHub(t, testConfig(t))
	dir := h.cfg.DataDir
	token, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	password := strings.Fields(string(raw))[1]
	tok := strings.TrimSpace(string(token))
	for _, f := range []string{"admin-token", "admin-password"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", f, fi.Mode().Perm(), err)
		}
	}
	// Not a terminal (the test's stdout is a buffer, as a pipe to a log is).
	if strings.Contains(h.banner, tok) || strings.Contains(h.banner, password) {
		t.Errorf("the banner on a non-terminal shows a secret:\n%s", h.banner)
	}
	for _, want := range []string{filepath.Join(dir, "admin-token"), filepath.Join(dir, "admin-password"), "admin@", "not a terminal"} {
		if !strings.Contains(h.banner, want) {
			t.Errorf("the banner does not say %q:\n%s", want, h.banner)
		}
	}
	banner := func(e env) string {
		var out bytes.Buffer
		e.stdout = &out
		h.printBanner(e, "http://sitrep.test", tok, time.Second)
		return out.String()
	}
	// A person at a terminal sees them, once.
	if b := banner(env{terminal: true}); !strings.Contains(b, tok) || !strings.Contains(b, password) {
		t.Errorf("the banner on a terminal hides the secrets:\n%s", b)
	}
	// With no file to hold them they are shown anyway, with a warning:
	// otherwise nobody could ever sign in.
	h.adminTokenFile, h.adminPasswordFile = "", ""
	if b := banner(env{}); !strings.Contains(b, tok) || !strings.Contains(b, password) || !strings.Contains(b, "may be a log") {
		t.Errorf("with no file, the banner must show the secrets and warn:\n%s", b)
	}
}
