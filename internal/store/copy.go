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
// tx must come from InTx, which keeps its connection within reach; COPY
// is PostgreSQL's, so on SQLite it is an error to call it.
func (db *DB) CopyFrom(ctx context.Context, tx *sql.Tx, table string, columns []string, n int, row func(i int) []any) error {
	if db.pinned == nil {
		return fmt.Errorf("store: copy into %s: COPY is PostgreSQL's, and this database is %s", table, db.Dialect)
	}
	c, ok := db.pinned.Load(tx)
	if !ok {
		return fmt.Errorf("store: copy into %s: the transaction was not started by InTx", table)
	}
	// The transaction's own connection: database/sql runs one operation at
	// a time on it, and this runs between two of the transaction's.
	err := c.(*sql.Conn).Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the connection is a %T, not pgx's", driverConn)
		}
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return row(i), nil
		}))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: copy into %s: %w", table, err)
	}
	return nil
}
