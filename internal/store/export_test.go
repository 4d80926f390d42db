package store

import (
	"context"

	"github.com/pressly/goose/v3"
)

// OwnQueries are the store's own statements, for TestQueriesPrepare (an
// external test: storetest imports store).
var OwnQueries = queries

// MigrateUpTo applies sitrep's migrations up to version only, so that a
// test can store rows as an older sitrep did and then migrate them.
func (db *DB) MigrateUpTo(ctx context.Context, version int64) error {
	sub, err := migrationsFor(db.Dialect)
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	provider, err := goose.NewProvider(dialect, db.DB, sub)
	if err != nil {
		return err
	}
	_, err = provider.UpTo(ctx, version)
	return err
}
