// Package store opens sitrep's database (SQLite or PostgreSQL), applies the
// embedded migrations of both sitrep and River, and offers the transaction
// helper every domain package uses. Queries live in the domain packages,
// next to the methods that run them, written once with $1 placeholders: both
// modernc's SQLite driver and pgx bind $N positionally.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database kind.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is the database with its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect

	faults   *faultNote // the last write that failed for lack of storage
	prepared *prepared  // statements kept by Prepare (SQLite)
	pinned   *sync.Map  // *sql.Tx of InTx → its *sql.Conn, for CopyFrom (PostgreSQL)
}

// Open connects to url: sqlite://PATH (the file and its directory are
// created) or postgres://... It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite://"))
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL)
	default:
		return nil, fmt.Errorf("store: unsupported database url %q (want sqlite://PATH or postgres://...)", redactURL(rawURL))
	}
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	path, query, _ := strings.Cut(path, "?")
	if path == "" {
		return nil, errors.New("store: sqlite url has no path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite url query: %w", err)
	}
	if path != ":memory:" && q.Get("mode") != "memory" {
		// The database holds password hashes, token hashes and everyone's
		// incident mail: only sitrep's user may read it. SQLite gives the
		// -wal and -shm files the database file's mode, so creating the file
		// here, before SQLite does (0644 less the umask), covers all three.
		// An existing file keeps its mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		f.Close()
	}
	// WAL for readers beside the writer; immediate transactions so that a
	// writer never fails half-way upgrading a read lock; a busy timeout
	// instead of SQLITE_BUSY for a second process (the CLI's migrate);
	// temporary data in memory: the statement journal of every multi-row
	// write is otherwise a temporary file, written to and thrown away (a
	// fifth of the CPU of storing a backlog of mail).
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// One connection: SQLite has one writer anyway, and River's SQLite
	// driver asks for it (concurrent writers on one file deadlock on locks).
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return &DB{DB: db, Dialect: SQLite, faults: &faultNote{}, prepared: &prepared{stmts: map[string]*sql.Stmt{}}}, nil
}

func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to postgres %s: %w", redactURL(rawURL), err)
	}
	return &DB{DB: db, Dialect: Postgres, faults: &faultNote{}, pinned: &sync.Map{}}, nil
}

// redactURL hides a password in a database URL for messages and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

// RiverDriver is the River driver for this database. Both work on
// *sql.Tx, so that a job is inserted in the same transaction as the state
// change that caused it, whichever the database. On PostgreSQL the
// database/sql driver runs River in poll-only mode (no LISTEN/NOTIFY).
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.Dialect == SQLite {
		return riversqlite.New(db.DB)
	}
	return riverdatabasesql.New(db.DB)
}

// Migrate applies sitrep's and River's migrations. On PostgreSQL several
// replicas may start at once: an advisory lock lets one migrate at a time.
func (db *DB) Migrate(ctx context.Context) error {
	return db.MigrateLogged(ctx, nil)
}

// MigrateLogged is Migrate telling log, when not nil, that it migrates
// before it starts, and each migration's time once all are applied (at
// Info when one took a second or more). One may rebuild a large table
// (00036 on SQLite: about 5 s a million deliveries), and a start that
// says nothing for that long looks hung.
func (db *DB) MigrateLogged(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sub, err := migrationsFor(db.Dialect)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider(dialect, db.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	current, target, err := provider.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if current < target {
		log.InfoContext(ctx, "store: migrating the database", "from", current, "to", target)
	}
	// All under one lock. One by one (UpByOne) takes the lock for each:
	// more round trips for every fresh database, and a replica that finds
	// it held waits goose's 5 s retry interval each time.
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, res := range results {
		level := slog.LevelDebug // a fresh database applies every one in ms
		if res.Duration >= time.Second {
			level = slog.LevelInfo
		}
		log.Log(ctx, level, "store: migration applied", "migration", filepath.Base(res.Source.Path), "took", res.Duration.Round(time.Millisecond))
	}
	return db.migrateRiver(ctx)
}

// MigrationStatus is the schema version the database is at and the newest
// this binary carries; sitrep doctor reports them, without migrating.
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	sub, err := migrationsFor(db.Dialect)
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	provider, err := goose.NewProvider(dialect, db.DB, sub)
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	sources := provider.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	current, err = provider.GetDBVersion(ctx)
	if err != nil {
		// A database never migrated has no version table yet.
		if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "does not exist") {
			return 0, latest, nil
		}
		return 0, latest, fmt.Errorf("store: schema version: %w", err)
	}
	return current, latest, nil
}

func (db *DB) migrateRiver(ctx context.Context) error {
	migrator, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return fmt.Errorf("store: river migrator: %w", err)
	}
	if db.Dialect == Postgres {
		// River's migrations add enum values, which PostgreSQL refuses
		// inside one outer transaction; so each version runs in its own,
		// and a session advisory lock serialises replicas starting together.
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: river migration lock: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7240331)`); err != nil {
			return fmt.Errorf("store: river migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7240331)`)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: river migrate: %w", err)
	}
	return nil
}

// InTx runs fn in a transaction, committing when it returns nil.
// A failure for lack of storage is remembered for Ready.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, done, err := db.begin(ctx)
	if err != nil {
		db.noteFault(err)
		return fmt.Errorf("store: begin: %w", err)
	}
	defer done()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		db.noteFault(err)
		return err
	}
	if err := tx.Commit(); err != nil {
		db.noteFault(err)
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Autocommit runs fn with statements that each commit by themselves. On
// PostgreSQL a statement outside a transaction is one round trip, against
// three inside one (BEGIN, the statement, COMMIT): for a write of a single
// statement, or of statements that need not commit together, that is two
// round trips saved, each of which waits for a core on a busy machine. On
// SQLite there is no round trip to save, so fn runs in InTx, where the
// statements Prepare kept are used (In).
// A failure for lack of storage is remembered for Ready, as in InTx.
func (db *DB) Autocommit(ctx context.Context, fn func(q Querier) error) error {
	if db.Dialect == SQLite {
		return db.InTx(ctx, func(tx *sql.Tx) error { return fn(db.In(tx)) })
	}
	if err := fn(db.DB); err != nil {
		db.noteFault(err)
		return err
	}
	return nil
}

// Querier is what both *sql.DB and *sql.Tx offer, for methods that run
// inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Querier = (*sql.DB)(nil)
	_ Querier = (*sql.Tx)(nil)
)

// IsUniqueViolation reports whether err is a unique-constraint violation
// on either database.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Placeholder is the n-th (1-based) bind parameter in this dialect, for
// statements built at run time with many parameters. SQLite reads "$N" as
// a named parameter and looks names up linearly, which makes a statement
// with thousands of them quadratic to prepare; "?" is positional there.
func (db *DB) Placeholder(n int) string {
	if db.Dialect == SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// Placeholders is n bind parameters numbered from from, comma separated:
// "$3, $4, $5", or "?, ?, ?" on SQLite (see Placeholder).
func (db *DB) Placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(db.Placeholder(from + i))
	}
	return b.String()
}
