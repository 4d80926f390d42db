package reliability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// DefaultPGAdminURL is the suite's PostgreSQL (scripts/install-test-deps.sh
// sets it up); SITREP_TEST_PG_URL overrides it.
const DefaultPGAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PGAdminURL is where throwaway PostgreSQL databases are created.
func PGAdminURL() string {
	if u := os.Getenv("SITREP_TEST_PG_URL"); u != "" {
		return u
	}
	return DefaultPGAdminURL
}

// Database is a throwaway database for one trial.
type Database struct {
	Kind string // sqlite or postgres
	URL  string
	name string // PostgreSQL database name
}

// NewDatabase makes an empty database: a file under dir for SQLite, a
// fresh sitrep_rel_<hex> database for PostgreSQL (never the admin's own).
func NewDatabase(ctx context.Context, kind, dir string) (*Database, error) {
	switch kind {
	case "sqlite":
		return &Database{Kind: kind, URL: "sqlite://" + filepath.Join(dir, "sitrep.db")}, nil
	case "postgres":
		conn, err := pgx.Connect(ctx, PGAdminURL())
		if err != nil {
			return nil, fmt.Errorf("reliability: postgres: %w", err)
		}
		defer conn.Close(context.Background())
		var b [6]byte
		rand.Read(b[:])
		name := "sitrep_rel_" + hex.EncodeToString(b[:])
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("reliability: create database: %w", err)
		}
		u, err := url.Parse(PGAdminURL())
		if err != nil {
			return nil, err
		}
		u.Path = "/" + name
		return &Database{Kind: kind, URL: u.String(), name: name}, nil
	default:
		return nil, fmt.Errorf("reliability: database %q: want sqlite or postgres", kind)
	}
}

// Host and port of a PostgreSQL database, for a proxy in front of it.
func (d *Database) HostPort() string {
	u, err := url.Parse(d.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Via is the database's URL with its host and port replaced by addr.
func (d *Database) Via(addr string) string {
	u, err := url.Parse(d.URL)
	if err != nil {
		return d.URL
	}
	u.Host = addr
	return u.String()
}

// Drop removes a PostgreSQL database (SQLite goes with its directory).
func (d *Database) Drop() {
	if d.name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PGAdminURL())
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)")
}

// Open opens the database for the driver's own checks.
func (d *Database) Open(ctx context.Context) (*store.DB, error) {
	return store.Open(ctx, d.URL)
}

// Count runs a COUNT query ($n placeholders work on both databases).
func Count(ctx context.Context, db *store.DB, query string, args ...any) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// Directory writes a groups.yaml: a comms lead, an incident lead, and
// groups of people named <prefix><n>@example.test.
type Directory struct {
	Groups map[string][]string // group name → member emails (people are made for them)
	Extra  []string            // more people, in no group
	// Languages, when set, are given to the people in turn (the first
	// person the first language, ...): `language:` in groups.yaml.
	Languages []string
}

// LanguageOf is the language Write gives the i-th person of a group.
func (d Directory) LanguageOf(i int) string {
	if len(d.Languages) == 0 {
		return ""
	}
	return d.Languages[i%len(d.Languages)]
}

// Write writes the directory to path.
func (d Directory) Write(path string) error {
	var b strings.Builder
	b.WriteString("organization: Reliability\npeople:\n")
	b.WriteString("  - email: comms@example.test\n    name: Comms Lead\n    roles: [comms-lead]\n")
	b.WriteString("  - email: lead@example.test\n    name: Incident Lead\n    roles: [incident-lead]\n")
	seen := map[string]bool{"comms@example.test": true, "lead@example.test": true}
	person := func(e, lang string) {
		if !seen[e] {
			seen[e] = true
			fmt.Fprintf(&b, "  - email: %s\n    name: P\n", e)
			if lang != "" {
				fmt.Fprintf(&b, "    language: %s\n", lang)
			}
		}
	}
	names := sortedKeys(d.Groups)
	for _, g := range names {
		for i, e := range d.Groups[g] {
			person(e, d.LanguageOf(i))
		}
	}
	for _, e := range d.Extra {
		person(e, "")
	}
	b.WriteString("groups:\n")
	for _, g := range names {
		fmt.Fprintf(&b, "  - name: %s\n    members:\n", g)
		for _, e := range d.Groups[g] {
			fmt.Fprintf(&b, "      - %s\n", e)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func sortedKeys(m map[string][]string) []string { return slices.Sorted(maps.Keys(m)) }

// People returns n addresses prefix0000@example.test ... .
func People(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%06d@example.test", prefix, i)
	}
	return out
}

// Config is the part of sitrep.yaml a trial sets.
type Config struct {
	DataDir, Listen, AdminToken, DatabaseURL, DirectoryFile string
	SMTPPort                                                string
	Concurrency, BatchSize                                  int
	RatePerSecond                                           float64
	Timeout, ClaimLease                                     time.Duration
	MaxAttempts                                             int
	IMAPPort, IMAPUser, IMAPPassword                        string // empty port: no ingest
	Horizon                                                 time.Duration
	ReminderBefore, OverdueAfter                            time.Duration
	CheckInterval                                           time.Duration
}

// Write writes the configuration to path.
func (c Config) Write(path string) error {
	def := func(d, v time.Duration) time.Duration {
		if d == 0 {
			return v
		}
		return d
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.BatchSize == 0 {
		c.BatchSize = 50
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 12
	}
	var b strings.Builder
	fmt.Fprintf(&b, `data_dir: %s
server:
  listen: %s
  admin_token: %s
database:
  url: %q
directory:
  file: %s
mail:
  domain: example.test
  from: "sitrep <status@example.test>"
  reply_local_part: status
  smtp:
    host: 127.0.0.1
    port: %s
    tls: none
    concurrency: %d
    batch_size: %d
    rate_per_second: %g
    timeout: %s
    claim_lease: %s
    max_attempts: %d
`, c.DataDir, c.Listen, c.AdminToken, c.DatabaseURL, c.DirectoryFile, c.SMTPPort,
		c.Concurrency, c.BatchSize, c.RatePerSecond, def(c.Timeout, 10*time.Second), def(c.ClaimLease, 3*time.Second), c.MaxAttempts)
	if c.IMAPPort != "" {
		fmt.Fprintf(&b, `  imap:
    host: 127.0.0.1
    port: %s
    tls: none
    username: %s
    password: %s
    horizon: %s
`, c.IMAPPort, c.IMAPUser, c.IMAPPassword, def(c.Horizon, 168*time.Hour))
	}
	fmt.Fprintf(&b, `cadence:
  reminder_before: %s
  overdue_after: %s
jobs:
  poll_interval: 50ms
  check_interval: %s
  rescue_after: 10s
log:
  level: warn
`, def(c.ReminderBefore, 10*time.Minute), def(c.OverdueAfter, 5*time.Minute), def(c.CheckInterval, 500*time.Millisecond))
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
