package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPGAdminURL is where the suite's PostgreSQL answers unless
// SITREP_TEST_PG_URL says otherwise (scripts/install-test-deps.sh sets it up
// with trust auth for 127.0.0.1).
const DefaultPGAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DatabaseKind is the database the suite runs against, from SITREP_TEST_DB:
// "sqlite" (the default) or "postgres". Any other value is returned as given
// (lower-cased) so that DatabaseURL can fail loudly on it.
func DatabaseKind() string {
	switch k := strings.ToLower(strings.TrimSpace(os.Getenv("SITREP_TEST_DB"))); k {
	case "", "sqlite", "sqlite3":
		return "sqlite"
	case "postgres", "postgresql", "pg":
		return "postgres"
	default:
		return k
	}
}

// DatabaseURL returns the URL of an empty database that lives as long as the
// test: a file in t.TempDir() for SQLite ("sqlite:///abs/path/sitrep.db"), a
// fresh database sitrep_t_<hex> for PostgreSQL, dropped on cleanup.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	switch kind := DatabaseKind(); kind {
	case "sqlite":
		return "sqlite://" + filepath.Join(t.TempDir(), "sitrep.db")
	case "postgres":
		return postgresURL(t)
	default:
		t.Fatalf("testenv: SITREP_TEST_DB=%q: want sqlite or postgres", kind)
		return ""
	}
}

func pgAdminURL() string {
	if u := os.Getenv("SITREP_TEST_PG_URL"); u != "" {
		return u
	}
	return DefaultPGAdminURL
}

func postgresURL(t testing.TB) string {
	t.Helper()
	admin := pgAdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		Unavailable(t, "testenv: PostgreSQL at %s: %v", redactURL(admin), err)
		return ""
	}
	defer conn.Close(context.Background())

	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "sitrep_t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// A fresh context: the test's own may be done by now. FORCE (PostgreSQL
		// 13+) ends connections a leaked pool still holds, so the drop cannot
		// hang on them.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("testenv: drop database %s: connect: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testenv: SITREP_TEST_PG_URL: %v", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// redactURL hides a password so that it never lands in a test log.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
