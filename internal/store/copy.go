package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// begin starts InTx's transaction. On PostgreSQL it pins a connection of
// the pool first and remembers it for the transaction, so that CopyFrom
// can reach the pgx connection under it; done returns the connection.
func (db *DB) begin(ctx context.Context) (tx *sql.Tx, done func(), err error) {
	if db.pinned == nil {
		tx, err = db.BeginTx(ctx, nil)
		return tx, func() {}, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if tx, err = conn.BeginTx(ctx, nil); err != nil {
		conn.Close()
		return nil, nil, err
	}
	db.pinned.Store(tx, conn)
	return tx, func() {
		db.pinned.Delete(tx)
		conn.Close() // back to the pool, once the transaction has ended
	}, nil
}

// CopyFrom writes n rows into table with PostgreSQL's COPY, in tx: for
// thousands of rows the server does a third less work than for an INSERT
// of the same rows from arrays (no array to take apart, no plan), and the
// rows take their ids in the order given. row(i) gives the i-th row's
// values, in the order of columns.
//
// It reports false, and writes nothing, where COPY cannot be used: on
// SQLite, or for a transaction that InTx did not start. The caller then
// inserts the rows its own way.
func (db *DB) CopyFrom(ctx context.Context, tx *sql.Tx, table string, columns []string, n int, row func(i int) []any) (bool, error) {
	if db.pinned == nil {
		return false, nil
	}
	c, ok := db.pinned.Load(tx)
	if !ok {
		return false, nil
	}
	// The transaction's own connection: database/sql runs one operation at
	// a time on it, and this runs between two of the transaction's.
	err := c.(*sql.Conn).Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: copy into %s: the connection is a %T, not pgx's", table, driverConn)
		}
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return row(i), nil
		}))
		return err
	})
	if err != nil {
		return true, fmt.Errorf("store: copy into %s: %w", table, err)
	}
	return true, nil
}
