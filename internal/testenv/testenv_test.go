package testenv_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// recorder stands in for a *testing.T to see whether Unavailable fails or
// skips. Fatalf and Skipf end the goroutine like the real ones do.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
}

func TestUnavailableFailsInCIAndSkipsElsewhere(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{
		{"true", true},
		{"", false},
		{"false", false},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			testenv.Unavailable(r, "dovecot missing")
			if r.failed != tc.wantFail || r.skipped == tc.wantFail {
				t.Fatalf("failed=%v skipped=%v, want failed=%v", r.failed, r.skipped, tc.wantFail)
			}
			if !strings.Contains(r.msg, "dovecot missing") || !strings.Contains(r.msg, testenv.InstallHint) {
				t.Errorf("message %q should name what is missing and %s", r.msg, testenv.InstallHint)
			}
		})
	}
}

func TestDatabaseKind(t *testing.T) {
	for in, want := range map[string]string{"": "sqlite", "sqlite": "sqlite", "postgres": "postgres", "PostgreSQL": "postgres", "mysql": "mysql"} {
		t.Setenv("SITREP_TEST_DB", in)
		if got := testenv.DatabaseKind(); got != want {
			t.Errorf("SITREP_TEST_DB=%q: got %q, want %q", in, got, want)
		}
	}
}

func TestDatabaseURLSQLite(t *testing.T) {
	t.Setenv("SITREP_TEST_DB", "sqlite")
	u := testenv.DatabaseURL(t)
	path, ok := strings.CutPrefix(u, "sqlite://")
	if !ok || !filepath.IsAbs(path) || filepath.Base(path) != "sitrep.db" {
		t.Fatalf("got %q, want sqlite:///abs/path/sitrep.db", u)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		t.Fatalf("directory of %s: %v", path, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s should not exist yet (err %v): every test starts empty", path, err)
	}
	if u2 := testenv.DatabaseURL(t); u2 == u {
		t.Errorf("two calls gave the same database %s", u)
	}
}

func TestDatabaseURLPostgres(t *testing.T) {
	t.Setenv("SITREP_TEST_DB", "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var name string
	t.Run("use", func(t *testing.T) {
		u := testenv.DatabaseURL(t)
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(pu.Path, "/")
		if !strings.HasPrefix(name, "sitrep_t_") {
			t.Fatalf("database %q, want sitrep_t_<hex>", name)
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop on cleanup must not hang on it.
		var one int
		var current string
		if err := conn.QueryRow(ctx, "SELECT 1, current_database()").Scan(&one, &current); err != nil {
			t.Fatal(err)
		}
		if one != 1 || current != name {
			t.Fatalf("got %d in %q, want 1 in %q", one, current, name)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
			t.Fatalf("the throwaway database must be writable: %v", err)
		}
	})
	if name == "" {
		return // skipped or failed above
	}
	admin := os.Getenv("SITREP_TEST_PG_URL")
	if admin == "" {
		admin = testenv.DefaultPGAdminURL
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestRadicaleOwnerOnly(t *testing.T) {
	t.Parallel()
	r := testenv.StartRadicale(t, "hub@example.test", "other@example.test")
	propfind := func(user, password, target string) int {
		t.Helper()
		req, err := http.NewRequest("PROPFIND", target, strings.NewReader(`<?xml version="1.0" encoding="utf-8"?>
<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>`))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, password)
		req.Header.Set("Depth", "0")
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("PROPFIND %s: %v\n%s", target, err, r.LogTail())
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hub := "hub@example.test"
	if got := propfind(hub, r.Password(hub), r.PrincipalURL(hub)); got != http.StatusMultiStatus {
		t.Fatalf("PROPFIND own principal: %d, want 207\n%s", got, r.LogTail())
	}
	if got := propfind(hub, "wrong", r.PrincipalURL(hub)); got != http.StatusUnauthorized {
		t.Errorf("PROPFIND with a wrong password: %d, want 401", got)
	}
	if got := propfind(hub, r.Password(hub), r.PrincipalURL("other@example.test")); got != http.StatusForbidden {
		t.Errorf("PROPFIND another user's principal: %d, want 403", got)
	}
}

func TestChromiumPath(t *testing.T) {
	p := testenv.ChromiumPath(t)
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s: not an executable (%v)", p, err)
	}

	t.Setenv("SITREP_CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	testenv.ChromiumPath(r)
	if !r.skipped || !strings.Contains(r.msg, "no-such-chromium") {
		t.Errorf("a missing browser outside CI: skipped=%v msg %q, want a skip naming the path", r.skipped, r.msg)
	}
}
