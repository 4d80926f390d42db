package store

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Queries are a package's named SQL statements, kept in .sql files beside
// the code that runs them (the package that owns the tables), so that the
// SQL reads as SQL and a reviewer sees every statement on a table in one
// place. Each statement follows a line
//
//	-- name: insert-message
//
// and runs to the next such line. A statement that must differ between
// the databases is given once more under "-- name: insert-message
// (postgres)" or "(sqlite)"; that version wins on its database. Other
// comment lines are kept (they say why).
type Queries struct {
	common   map[string]string
	dialects map[Dialect]map[string]string
}

// MustQueries parses every .sql file at the root of fsys (an embed.FS of
// the package's queries). It panics on a malformed file, a name given
// twice, or an override of a statement that has no common version: these
// are programming errors, found by the first test that loads the package.
func MustQueries(fsys fs.FS) *Queries {
	q, err := ParseQueries(fsys)
	if err != nil {
		panic(err)
	}
	return q
}

// ParseQueries is MustQueries returning the error.
func ParseQueries(fsys fs.FS) (*Queries, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	q := &Queries{common: map[string]string{}, dialects: map[Dialect]map[string]string{SQLite: {}, Postgres: {}}}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		if err := q.parse(path.Base(name), string(b)); err != nil {
			return nil, err
		}
	}
	for d, m := range q.dialects {
		for n := range m {
			if _, ok := q.common[n]; !ok {
				return nil, fmt.Errorf("store: queries: %q (%s) overrides no common statement", n, d)
			}
		}
	}
	return q, nil
}

func (q *Queries) parse(file, text string) error {
	var name string
	var dialect Dialect
	var body strings.Builder
	flush := func() error {
		if name == "" {
			if strings.TrimSpace(stripComments(body.String())) != "" {
				return fmt.Errorf("store: queries: %s: SQL before the first \"-- name:\" line", file)
			}
			return nil
		}
		sql := strings.TrimSpace(body.String())
		if strings.TrimSpace(stripComments(sql)) == "" {
			return fmt.Errorf("store: queries: %s: %q is empty", file, name)
		}
		m := q.common
		if dialect != "" {
			m = q.dialects[dialect]
		}
		if _, dup := m[name]; dup {
			return fmt.Errorf("store: queries: %s: %q is given twice", file, name)
		}
		m[name] = strings.TrimSuffix(sql, ";")
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			if err := flush(); err != nil {
				return err
			}
			body.Reset()
			name, dialect = strings.TrimSpace(rest), ""
			if n, d, ok := strings.Cut(name, "("); ok {
				name, dialect = strings.TrimSpace(n), Dialect(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(d), ")")))
				if dialect != SQLite && dialect != Postgres {
					return fmt.Errorf("store: queries: %s: %q: unknown database %q (want sqlite or postgres)", file, name, dialect)
				}
			}
			if name == "" || strings.ContainsAny(name, " \t") {
				return fmt.Errorf("store: queries: %s: bad name line %q", file, line)
			}
			continue
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("store: queries: %s: %w", file, err)
	}
	return flush()
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// SQL is the statement called name on db's database. An unknown name
// panics: it is a typo in the code, which its test finds.
func (q *Queries) SQL(db *DB, name string) string {
	if s, ok := q.dialects[db.Dialect][name]; ok {
		return s
	}
	s, ok := q.common[name]
	if !ok {
		panic(fmt.Sprintf("store: no query named %q", name))
	}
	return s
}

// Get is the statement called name, for one written once for both
// databases. It panics on an unknown name, and on a name that has a
// version per database: that one needs SQL, with the database.
func (q *Queries) Get(name string) string {
	for d, m := range q.dialects {
		if _, ok := m[name]; ok {
			panic(fmt.Sprintf("store: query %q differs on %s: use SQL with the database", name, d))
		}
	}
	s, ok := q.common[name]
	if !ok {
		panic(fmt.Sprintf("store: no query named %q", name))
	}
	return s
}

// Names lists every statement name, for tests.
func (q *Queries) Names() []string {
	out := make([]string, 0, len(q.common))
	for n := range q.common {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check prepares every statement on db's database, so that a typo in a
// query a test does not run is still found. A statement ending in VALUES
// is the head of one built at run time, and is not prepared alone.
func (q *Queries) Check(ctx context.Context, db *DB) error {
	for _, name := range q.Names() {
		sql := q.SQL(db, name)
		if strings.HasSuffix(strings.ToUpper(sql), "VALUES") {
			continue
		}
		st, err := db.PrepareContext(ctx, sql)
		if err != nil {
			return fmt.Errorf("store: query %q on %s: %w", name, db.Dialect, err)
		}
		st.Close()
	}
	return nil
}
