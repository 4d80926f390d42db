package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// served is one `sitrep serve` child set up as runServe sets it up (its
// default settings except the data directory, listen address, token,
// database, groups.yaml and the SMTP server), for the -latency and
// -postfix modes, which need the server but not runServe's one-update
// measurement.
type served struct {
	hub *reliability.Hub
	api reliability.API
	db  string // "sqlite" or "postgres", for the report

	cleanup []func()
}

// startServed writes groups.yaml with writeDir, starts the server with its
// mail going to 127.0.0.1:smtpPort and waits until it is ready. Close undoes
// everything, also after an error.
func startServed(ctx context.Context, o options, smtpPort string, writeDir func(path string) error) (sv *served, err error) {
	sv = &served{db: "sqlite"}
	defer func() {
		if err != nil {
			sv.Close(o)
			sv = nil
		}
	}()
	tmp, err := os.MkdirTemp("", "sitrep-load-served")
	if err != nil {
		return sv, err
	}
	sv.cleanup = append(sv.cleanup, func() { os.RemoveAll(tmp) })
	bin := o.sitrep
	if bin == "" {
		if bin, err = reliability.Build(ctx, ".", tmp); err != nil {
			return sv, fmt.Errorf("build sitrep: %w", err)
		}
	}
	dbURL := "sqlite://" + filepath.Join(tmp, "sitrep.db")
	if o.db != "" && o.db != "sqlite" {
		u, drop, err := throwawayPostgres(ctx, o.db)
		if err != nil {
			return sv, err
		}
		sv.cleanup = append(sv.cleanup, drop)
		dbURL, sv.db = u, "postgres"
	}
	dirFile := filepath.Join(tmp, "groups.yaml")
	if err := writeDir(dirFile); err != nil {
		return sv, fmt.Errorf("groups.yaml: %w", err)
	}
	var tok [16]byte
	rand.Read(tok[:])
	token := "load-" + hex.EncodeToString(tok[:])
	port, err := reliability.FreePort()
	if err != nil {
		return sv, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := serveConfig(tmp, listen, token, dbURL, dirFile, smtpPort)
	cfgFile := filepath.Join(tmp, "sitrep.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return sv, err
	}
	h, err := reliability.StartHub(bin, cfgFile, "http://"+listen)
	if err != nil {
		return sv, err
	}
	sv.hub = h
	// One client for every call: a new connection per POST would add its
	// set-up to the answer time measured.
	sv.api = reliability.API{URL: h.URL, Token: token, Client: &http.Client{Timeout: 60 * time.Second}}
	return sv, nil
}

// Close stops the server (writing its log to -hublog), drops the
// database and removes the files, in the reverse order of their making.
func (sv *served) Close(o options) {
	if sv.hub != nil {
		sv.hub.Stop()
		if o.hubLog != "" {
			if err := os.WriteFile(o.hubLog, []byte(sv.hub.Log()), 0o600); err != nil {
				fmt.Fprintln(os.Stderr, "sitrep-load:", err)
			}
		}
		sv.hub = nil
	}
	for i := len(sv.cleanup) - 1; i >= 0; i-- {
		sv.cleanup[i]()
	}
	sv.cleanup = nil
}
