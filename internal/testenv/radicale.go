package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// radicalePassword is every Radicale user's password (see mailPassword).
const radicalePassword = "secret"

// Radicale is a real Radicale CalDAV server on loopback, each user allowed
// only their own collections (rights owner_only). Radicale does no RFC 6638
// server-side scheduling: the hub sends invitations itself.
type Radicale struct {
	URL string // base URL, "http://127.0.0.1:PORT"
	Dir string // config, htpasswd, collections and log

	cmd  *exec.Cmd
	done <-chan struct{}
}

// Password is user's Radicale password (the same for every user).
func (r *Radicale) Password(user string) string { return radicalePassword }

// PrincipalURL is user's principal collection; the name is percent-encoded
// ("/hub%40example.test/"), as Radicale itself writes it.
func (r *Radicale) PrincipalURL(user string) string {
	return r.URL + "/" + url.PathEscape(user) + "/"
}

// LogTail returns the end of Radicale's log, for failure messages.
func (r *Radicale) LogTail() string {
	return tailFile(filepath.Join(r.Dir, "radicale.log"), 4096)
}

// StartRadicale starts Radicale for the users (any names; mail addresses
// work) with storage under t.TempDir(), and stops it on cleanup.
func StartRadicale(t testing.TB, users ...string) *Radicale {
	t.Helper()
	bin, err := exec.LookPath("radicale")
	if err != nil {
		Unavailable(t, "testenv: radicale not installed")
		return nil
	}
	start := time.Now()
	var r *Radicale
	// The free port is free when chosen, not when Radicale binds it: a test
	// running alongside may take it in between. Try again with another.
	for attempt := 1; ; attempt++ {
		r, err = startRadicale(bin, t.TempDir(), users)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("testenv: %v", err)
		}
		t.Logf("testenv: radicale start-up failed, trying again: %v", err)
	}
	t.Logf("testenv: radicale up in %s at %s", time.Since(start).Round(time.Millisecond), r.URL)
	t.Cleanup(func() {
		if err := stopCmd(r.cmd, r.done, 10*time.Second); err != nil {
			t.Errorf("testenv: radicale: %v", err)
		}
	})
	return r
}

func startRadicale(bin, dir string, users []string) (*Radicale, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, fmt.Errorf("radicale: %w", err)
	}
	r := &Radicale{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), Dir: dir}

	var htpasswd strings.Builder
	for _, u := range users {
		if u == "" || strings.ContainsAny(u, ":\r\n") {
			return nil, fmt.Errorf("radicale: bad user %q", u)
		}
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, radicalePassword)
	}
	htpath := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpath, []byte(htpasswd.String()), 0o600); err != nil {
		return nil, fmt.Errorf("radicale: %w", err)
	}
	conf := fmt.Sprintf(`# Written by internal/testenv; a private Radicale for one test.
[server]
hosts = 127.0.0.1:%d

[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
# Tests try wrong passwords on purpose; no tar-pit for that.
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = %s

[web]
type = none

[logging]
level = info
mask_passwords = True
`, ports[0], htpath, filepath.Join(dir, "collections"))
	confPath := filepath.Join(dir, "radicale.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("radicale: %w", err)
	}

	r.cmd, r.done, err = startLogged(filepath.Join(dir, "radicale.log"), bin, "--config", confPath)
	if err != nil {
		return nil, fmt.Errorf("radicale: start: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitHTTP(ctx, r.URL+"/", r.done); err != nil {
		_ = stopCmd(r.cmd, r.done, 5*time.Second)
		return nil, fmt.Errorf("radicale: %w\n%s", err, r.LogTail())
	}
	return r, nil
}

// waitHTTP polls u until the server answers at all (any status).
func waitHTTP(ctx context.Context, u string, died <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not answering: %w (last: %v)", u, ctx.Err(), last)
		case <-died:
			return fmt.Errorf("%s: the server exited during start-up", u)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
