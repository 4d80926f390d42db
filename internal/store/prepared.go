package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// prepared holds the statements Prepare kept, by their SQL text.
type prepared struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func (p *prepared) get(query string) *sql.Stmt {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stmts[query]
}

// Prepare keeps the queries prepared, for In to run them without parsing
// them again. On SQLite, database/sql and modernc.org/sqlite parse a
// statement anew at every ExecContext and QueryContext: for the outbox's
// claims and records a few per cent of a large fan-out's CPU, on its one
// connection. pgx keeps a statement cache of its own, so on PostgreSQL
// Prepare does nothing.
//
// Call it outside any transaction: with SQLite's one connection, preparing
// on the pool while a transaction holds that connection would wait for
// the transaction, which waits for the prepare. A query already prepared
// is skipped, so calling it at the start of every job is cheap.
func (db *DB) Prepare(ctx context.Context, queries ...string) error {
	if db.Dialect != SQLite || db.prepared == nil {
		return nil
	}
	for _, q := range queries {
		if db.prepared.get(q) != nil {
			continue
		}
		stmt, err := db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		db.prepared.mu.Lock()
		if db.prepared.stmts[q] == nil {
			db.prepared.stmts[q], stmt = stmt, nil
		}
		db.prepared.mu.Unlock()
		if stmt != nil { // another caller prepared it meanwhile
			stmt.Close()
		}
	}
	return nil
}

// In is tx, running the queries Prepare kept through their prepared
// statement (database/sql reuses it on the transaction's connection) and
// any other query as tx would.
//
// A statement's rows must be read to the end or closed before the same
// query runs again in the transaction: both share one SQLite statement.
func (db *DB) In(tx *sql.Tx) Querier {
	if db.Dialect != SQLite || db.prepared == nil {
		return tx
	}
	return inTx{tx: tx, prepared: db.prepared}
}

type inTx struct {
	tx       *sql.Tx
	prepared *prepared
}

func (t inTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.prepared.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t inTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.prepared.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t inTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.prepared.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
