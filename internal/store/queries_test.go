package store_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

func TestQueriesNamedWithDialectOverrides(t *testing.T) {
	fsys := fstest.MapFS{"a.sql": {Data: []byte(`-- Statements on things.

-- name: count-things
-- Why it counts: comments are kept.
SELECT COUNT(*) FROM things;

-- name: claim-thing
SELECT id FROM things LIMIT 1;

-- name: claim-thing (postgres)
SELECT id FROM things LIMIT 1 FOR UPDATE SKIP LOCKED;
`)}}
	q, err := store.ParseQueries(fsys)
	if err != nil {
		t.Fatal(err)
	}
	lite, pg := &store.DB{Dialect: store.SQLite}, &store.DB{Dialect: store.Postgres}
	if got := q.SQL(lite, "count-things"); !strings.HasSuffix(got, "SELECT COUNT(*) FROM things") || !strings.Contains(got, "Why it counts") {
		t.Errorf("count-things = %q", got)
	}
	if got := q.SQL(lite, "claim-thing"); got != "SELECT id FROM things LIMIT 1" {
		t.Errorf("claim-thing on SQLite = %q", got)
	}
	if got := q.SQL(pg, "claim-thing"); got != "SELECT id FROM things LIMIT 1 FOR UPDATE SKIP LOCKED" {
		t.Errorf("claim-thing on PostgreSQL = %q", got)
	}
	if got := q.SQL(pg, "count-things"); !strings.HasSuffix(got, "FROM things") {
		t.Errorf("a statement without override is the same on PostgreSQL: %q", got)
	}
	if got := q.Get("count-things"); !strings.HasSuffix(got, "FROM things") {
		t.Errorf("Get(count-things) = %q", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Get of a statement that differs per database must panic")
			}
		}()
		q.Get("claim-thing")
	}()
	if names := q.Names(); len(names) != 2 {
		t.Errorf("names %q", names)
	}
	defer func() {
		if recover() == nil {
			t.Error("an unknown name must panic: it is a typo")
		}
	}()
	q.SQL(lite, "count-thing")
}

func TestQueriesRefuseMistakes(t *testing.T) {
	for name, text := range map[string]string{
		"twice":         "-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n",
		"empty":         "-- name: a\n-- nothing\n",
		"before a name": "SELECT 1;\n-- name: a\nSELECT 2;\n",
		"lone override": "-- name: a (postgres)\nSELECT 1;\n",
		"unknown dbms":  "-- name: a\nSELECT 1;\n-- name: a (mysql)\nSELECT 1;\n",
		"space in name": "-- name: a b\nSELECT 1;\n",
	} {
		if _, err := store.ParseQueries(fstest.MapFS{"q.sql": {Data: []byte(text)}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every statement of the store's own queries.sql is valid on the database
// the test runs on.
func TestQueriesPrepare(t *testing.T) {
	if err := store.OwnQueries.Check(context.Background(), storetest.Open(t)); err != nil {
		t.Fatal(err)
	}
}
