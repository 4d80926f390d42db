package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// The SQLite file holds password and token hashes and everyone's incident
// mail: it, and its -wal and -shm files, are readable by sitrep's user only,
// whatever the umask (it used to be 0644 in a 0750 directory).
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
