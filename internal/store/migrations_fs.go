package store

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// migrationsFor is the migrations of one database: those written once
// for both (migrations/both) and those that differ (migrations/<dialect>),
// as one directory. A migration is written once unless the two databases
// need different SQL; a version in both places is an error.
func migrationsFor(d Dialect) (fs.FS, error) {
	both, err := fs.Sub(migrations, "migrations/both")
	if err != nil {
		return nil, err
	}
	own, err := fs.Sub(migrations, "migrations/"+string(d))
	if err != nil {
		return nil, err
	}
	m := &mergedFS{parts: []fs.FS{own, both}}
	seen := map[string]string{}
	for _, part := range m.parts {
		entries, err := fs.ReadDir(part, ".")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			version, _, _ := strings.Cut(e.Name(), "_")
			if prev, dup := seen[version]; dup {
				return nil, fmt.Errorf("store: migration %s is both %s and %s", version, prev, e.Name())
			}
			seen[version] = e.Name()
			m.entries = append(m.entries, e)
		}
	}
	slices.SortFunc(m.entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return m, nil
}

// mergedFS is a flat directory made of several: enough for goose, which
// lists "." and opens the files in it.
type mergedFS struct {
	parts   []fs.FS
	entries []fs.DirEntry
}

func (m *mergedFS) Open(name string) (fs.File, error) {
	if name == "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	for _, p := range m.parts {
		if f, err := p.Open(name); err == nil {
			return f, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (m *mergedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(m.entries), nil
}
