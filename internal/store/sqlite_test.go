package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// The SQLite file holds password and token hashes and everyone's incident
// mail: it, and its -wal and -shm files, are readable by sitrep's user only,
// whatever the umask (it used to be 0644 in a 0750 directory).
//
// Not parallel: the umask it sets is the whole process's.
func TestSQLiteFilesAreCreatedPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, under which SQLite alone makes 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "data", "sitrep.db")
	db, err := store.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil { // writes, so the WAL and SHM files exist
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), mode)
		}
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("data directory: %v, %v; want 0750", fi.Mode().Perm(), err)
	}
}

// Ready fails while the database cannot take a write, found by its own
// probe write (nothing else failed through InTx here), and names the fault.
func TestReadyFailsWhileTheDiskIsFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the probe reuses what the probe before it freed
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("Ready on a healthy database: %v", err)
		}
	}
	var pages int
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	// Fill what free pages are left, as other writes would.
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		_, full = db.ExecContext(ctx, `INSERT INTO readiness_probe (at, filler) VALUES ($1, $2)`, time.Now().UTC(), []byte(strings.Repeat("x", 3000)))
	}
	if reason := store.StorageFault(full); !strings.Contains(reason, "SQLITE_FULL") {
		t.Fatalf("the filling write failed with %v, classified %q; want SQLITE_FULL", full, reason)
	}
	if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("Ready on a full database = %v, want it to say the disk is full", err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA max_page_count = 1000000`); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready once there is space again: %v", err)
	}
	// A real write that failed for lack of space keeps Ready failing for a
	// while, even when the probe's small write fits.
	db.NoteError(full)
	if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "a write failed") {
		t.Fatalf("Ready just after a write failed for lack of space = %v", err)
	}
}
