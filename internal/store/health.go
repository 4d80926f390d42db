package store

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// StorageFault says, for people, why err means the database cannot store
// anything now (a full disk, an I/O error, a read-only file or server), or
// "" when err is something else. Such a failure is neither the caller's
// fault nor a bug: the HTTP layer answers 503 with this reason, and
// readiness fails while it lasts.
func StorageFault(err error) string {
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL:
			return "the disk holding the database is full (SQLITE_FULL)"
		case sqlite3.SQLITE_IOERR:
			return "the database file cannot be read or written (SQLITE_IOERR)"
		case sqlite3.SQLITE_READONLY:
			return "the database file is read-only (SQLITE_READONLY)"
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return "the database file is damaged (SQLITE_CORRUPT)"
		}
		return ""
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// PostgreSQL error codes, Appendix A of its manual.
		switch {
		case pgErr.Code == "53100":
			return "the disk holding the database is full (PostgreSQL 53100 disk_full)"
		case pgErr.Code == "53200":
			return "the database server is out of memory (PostgreSQL 53200)"
		case pgErr.Code == "53300":
			return "the database server has too many connections (PostgreSQL 53300)"
		case strings.HasPrefix(pgErr.Code, "53"):
			return fmt.Sprintf("the database server is out of resources (PostgreSQL %s)", pgErr.Code)
		case pgErr.Code == "25006":
			return "the database is read-only, perhaps a standby (PostgreSQL 25006)"
		case pgErr.Code == "58030":
			return "the database server cannot read or write its files (PostgreSQL 58030 io_error)"
		case pgErr.Code == "57P03":
			return "the database server is starting up or recovering (PostgreSQL 57P03)"
		}
	}
	return ""
}

// faultMemory is how long readiness keeps failing after a write failed
// for lack of storage. A probe write can succeed by reusing space freed by
// the probe before it while bigger writes still fail; remembering the
// failure keeps the instance out of the load balancer while that lasts.
const faultMemory = 30 * time.Second

type faultNote struct {
	mu     sync.Mutex
	at     time.Time
	reason string
}

// noteFault remembers err when it is a storage fault.
func (db *DB) noteFault(err error) {
	reason := StorageFault(err)
	if reason == "" || db.faults == nil {
		return
	}
	db.faults.mu.Lock()
	db.faults.at, db.faults.reason = time.Now(), reason
	db.faults.mu.Unlock()
}

// NoteError lets a caller that wrote outside InTx report the failure, so
// that readiness sees it too; any error that is not a storage fault is
// ignored.
func (db *DB) NoteError(err error) { db.noteFault(err) }

// probeBytes is the size of the readiness probe's write: more than a
// SQLite page, so that it needs pages of its own, as real writes do.
const probeBytes = 8 << 10

// Ready reports whether the database can take work now: it answers, it
// took a small write just now, and no write failed for lack of storage in
// the last faultMemory. The error says which, for /readyz and the log.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	filler := make([]byte, probeBytes)
	_, _ = rand.Read(filler) // incompressible, so PostgreSQL stores all of it
	// Not through InTx: a failed probe is not remembered, so readiness
	// returns as soon as a probe succeeds and no real write failed lately.
	err := db.probe(ctx, filler)
	if err != nil {
		if reason := StorageFault(err); reason != "" {
			return fmt.Errorf("database cannot take writes: %s", reason)
		}
		return fmt.Errorf("database write probe failed: %w", err)
	}
	if db.faults != nil {
		db.faults.mu.Lock()
		at, reason := db.faults.at, db.faults.reason
		db.faults.mu.Unlock()
		if ago := time.Since(at); reason != "" && ago < faultMemory {
			return fmt.Errorf("a write failed %s ago: %s", ago.Round(time.Second), reason)
		}
	}
	return nil
}

func (db *DB) probe(ctx context.Context, filler []byte) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: readiness probe: %w", err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, queries.Get("insert-probe"), time.Now().UTC(), filler).Scan(&id); err != nil {
		return fmt.Errorf("store: readiness probe: %w", err)
	}
	if _, err := tx.ExecContext(ctx, queries.Get("delete-older-probes"), id); err != nil {
		return fmt.Errorf("store: readiness probe: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: readiness probe: commit: %w", err)
	}
	return nil
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = MustQueries(queryFiles)
