package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sitrep-dev/sitrep/internal/reliability"
	"github.com/sitrep-dev/sitrep/internal/store"
)

const adminToken = "reliability-admin-token-0123456789"

// trial is one hub's configuration, database and directory in a fresh
// directory. Replicas share a trial: same database, same config but the
// listen address.
type trial struct {
	e      *env
	dir    string
	db     *reliability.Database
	check  *store.DB // the driver's own connection, for counts
	cfg    reliability.Config
	config string
	url    string
	api    reliability.API
}

var trialSeq int

// newTrial makes a directory, a database of kind and writes the directory
// file; cfg's listen, data dir, database and directory are filled in.
func newTrial(ctx context.Context, e *env, kind string, dir reliability.Directory, cfg reliability.Config) (*trial, error) {
	trialSeq++
	t := &trial{e: e, dir: filepath.Join(e.dir, fmt.Sprintf("t%03d", trialSeq))}
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		return nil, err
	}
	db, err := reliability.NewDatabase(ctx, kind, t.dir)
	if err != nil {
		return nil, err
	}
	t.db = db
	if err := dir.Write(filepath.Join(t.dir, "groups.yaml")); err != nil {
		t.close()
		return nil, err
	}
	cfg.DataDir = t.dir
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = db.URL
	}
	cfg.DirectoryFile = filepath.Join(t.dir, "groups.yaml")
	cfg.AdminToken = adminToken
	t.cfg = cfg
	t.config, t.url, err = t.writeConfig("sitrep.yaml", cfg)
	if err != nil {
		t.close()
		return nil, err
	}
	t.api = reliability.API{URL: t.url, Token: adminToken}
	return t, nil
}

// writeConfig writes cfg with a fresh listen port under name.
func (t *trial) writeConfig(name string, cfg reliability.Config) (path, url string, err error) {
	port, err := reliability.FreePort()
	if err != nil {
		return "", "", err
	}
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", port)
	path = filepath.Join(t.dir, name)
	return path, "http://" + cfg.Listen, cfg.Write(path)
}

// start starts the trial's hub.
func (t *trial) start() (*reliability.Hub, error) {
	return reliability.StartHub(t.e.bin, t.config, t.url)
}

// openCheck opens the driver's own connection to the database, after the
// hub has migrated it.
func (t *trial) openCheck(ctx context.Context) error {
	if t.check != nil {
		return nil
	}
	db, err := t.db.Open(ctx)
	if err != nil {
		return err
	}
	t.check = db
	return nil
}

func (t *trial) count(ctx context.Context, q string, args ...any) int {
	if err := t.openCheck(ctx); err != nil {
		return -1
	}
	n, err := reliability.Count(ctx, t.check, q, args...)
	if err != nil {
		return -1
	}
	return n
}

func (t *trial) close() {
	if t.check != nil {
		t.check.Close()
	}
	if t.db != nil {
		t.db.Drop()
	}
	os.RemoveAll(t.dir)
}

// dumpLog prints the end of a hub's log when a trial fails.
func dumpLog(h *reliability.Hub) {
	if h != nil {
		fmt.Printf("--- sitrep serve log (tail)\n%s\n---\n", h.LogTail(6000))
	}
}
