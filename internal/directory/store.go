package directory

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Sources of directory entries.
const (
	SourceFile = "file" // groups.yaml: the source of truth for what it names
	SourceAPI  = "api"  // added through the API or the web UI
)

// Store keeps the directory in the database and a validated copy in
// memory, swapped whole on every change so readers never see half of one.
type Store struct {
	DB      *store.DB
	current atomic.Pointer[Directory]
	sources atomic.Pointer[map[string]string] // "person:a@x", "group:exec", "escalation:db" → source
}

// Current is the directory in force. It is never nil after Load.
func (s *Store) Current() *Directory {
	if d := s.current.Load(); d != nil {
		return d
	}
	return &Directory{}
}

// KnowsPerson reports whether email is a person in the directory.
func (s *Store) KnowsPerson(email string) bool {
	_, ok := s.Current().Person(email)
	return ok
}

// SourceOf says where an entry came from ("file" or "api"); kind is
// person, group or escalation.
func (s *Store) SourceOf(kind, key string) string {
	if m := s.sources.Load(); m != nil {
		return (*m)[kind+":"+strings.ToLower(key)]
	}
	return ""
}

// SyncResult says what a sync changed.
type SyncResult struct {
	People, Groups, Escalations int // entries from the file
	Removed                     int // file entries gone from the file
}

// SyncFile makes the database match groups.yaml for everything the file
// names; entries added through the API and not named by the file stay. A
// file that does not parse or validate changes nothing: the previous
// directory stays in force, and the error lists every problem.
func (s *Store) SyncFile(ctx context.Context, data []byte, filename string) (*SyncResult, error) {
	file, err := ParseYAML(data, filename)
	if err != nil {
		return nil, err
	}
	// Only the API's entries are kept beside the file's: read those, not
	// the whole directory again.
	existing, sources, err := s.read(ctx, SourceAPI)
	if err != nil {
		return nil, err
	}
	merged := mergeAPIEntries(file, existing, sources)
	if len(merged.People) != len(file.People) || len(merged.Groups) != len(file.Groups) || len(merged.Escalations) != len(file.Escalations) {
		// Without API entries the merged directory is the file's, which
		// ParseYAML has just checked.
		if err := merged.Validate(); err != nil {
			return nil, fmt.Errorf("directory: %s with the entries added through the API: %w", filename, err)
		}
	}
	res := &SyncResult{People: len(file.People), Groups: len(file.Groups), Escalations: len(file.Escalations)}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		fromFile := []struct{ table, query string }{
			{"people", "clear-file-people"}, {"dir_groups", "clear-file-groups"}, {"escalations", "clear-file-escalations"},
		}
		for _, c := range fromFile {
			r, err := tx.ExecContext(ctx, queries.Get(c.query), SourceFile)
			if err != nil {
				return fmt.Errorf("directory: clear %s: %w", c.table, err)
			}
			n, _ := r.RowsAffected()
			res.Removed += int(n)
		}
		// A person the file names replaces the one added through the
		// API with that address (the file's were just cleared), and then
		// everyone is inserted in a few statements, not two per person.
		for _, p := range file.People {
			if sources["person:"+p.Email] == SourceAPI {
				if _, err := tx.ExecContext(ctx, queries.Get("delete-person"), p.Email); err != nil {
					return fmt.Errorf("directory: put person: %w", err)
				}
			}
		}
		if err := s.insertPeople(ctx, tx, file.People, SourceFile); err != nil {
			return err
		}
		for _, g := range file.Groups {
			if err := putGroup(ctx, tx, g, SourceFile); err != nil {
				return err
			}
		}
		for _, e := range file.Escalations {
			if err := putEscalation(ctx, tx, e, SourceFile); err != nil {
				return err
			}
		}
		meta := map[string]string{"organization": file.Organization, "language": file.Language, "example": fmt.Sprint(file.Example), "audiences": store.JSON(file.Audiences), "file": filename}
		for k, v := range meta {
			if _, err := tx.ExecContext(ctx, queries.Get("delete-meta"), k); err != nil {
				return fmt.Errorf("directory: meta: %w", err)
			}
			if _, err := tx.ExecContext(ctx, queries.Get("insert-meta"), k, v); err != nil {
				return fmt.Errorf("directory: meta: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Removed -= res.People + res.Groups + res.Escalations
	if res.Removed < 0 {
		res.Removed = 0
	}
	return res, s.Load(ctx)
}

// mergeAPIEntries adds to the file's directory the API entries it does not name.
func mergeAPIEntries(file, existing *Directory, sources map[string]string) *Directory {
	merged := *file
	merged.People = slices.Clone(file.People)
	merged.Groups = slices.Clone(file.Groups)
	merged.Escalations = slices.Clone(file.Escalations)
	// Only API entries can be added, so the file's names are looked up
	// only for them: with a file of 100,000 people, asking the file
	// about every existing person (a scan each) took minutes.
	var people map[string]bool
	for _, p := range existing.People {
		if sources["person:"+p.Email] != SourceAPI {
			continue
		}
		if people == nil {
			people = make(map[string]bool, len(file.People))
			for _, fp := range file.People {
				people[normalizeEmail(fp.Email)] = true
			}
		}
		if !people[normalizeEmail(p.Email)] {
			merged.People = append(merged.People, p)
		}
	}
	// Groups and escalation lists are few: asked as before.
	for _, g := range existing.Groups {
		if _, named := file.Group(g.Name); !named && sources["group:"+g.Name] == SourceAPI {
			merged.Groups = append(merged.Groups, g)
		}
	}
	for _, e := range existing.Escalations {
		if _, named := file.Escalation(e.System); !named && sources["escalation:"+e.System] == SourceAPI {
			merged.Escalations = append(merged.Escalations, e)
		}
	}
	return &merged
}

// Load reads the directory from the database into memory.
func (s *Store) Load(ctx context.Context) error {
	d, sources, err := s.read(ctx, "")
	if err != nil {
		return err
	}
	s.current.Store(d)
	s.sources.Store(&sources)
	return nil
}

// read reads the directory, or with source only the entries from there
// (and none of the organisation's settings).
func (s *Store) read(ctx context.Context, source string) (*Directory, map[string]string, error) {
	d := &Directory{Audiences: map[string][]string{}}
	sources := map[string]string{}
	query := func(name string) (*sql.Rows, error) {
		if source == "" {
			return s.DB.QueryContext(ctx, queries.Get(name))
		}
		return s.DB.QueryContext(ctx, queries.Get(name+"-from"), source)
	}
	rows, err := query("people")
	if err != nil {
		return nil, nil, fmt.Errorf("directory: read people: %w", err)
	}
	for rows.Next() {
		var p Person
		var roles, handles, source string
		if err := rows.Scan(&p.Email, &p.Name, &p.TimeZone, &p.Language, &roles, &handles, &p.Team, &source, &p.GitHub); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("directory: read people: %w", err)
		}
		p.Roles, p.Handles = parseJSONList(roles), parseJSONList(handles)
		d.People = append(d.People, p)
		sources["person:"+p.Email] = source
	}
	rows.Close()
	rows, err = query("groups")
	if err != nil {
		return nil, nil, fmt.Errorf("directory: read groups: %w", err)
	}
	for rows.Next() {
		var g Group
		var members, nested, source string
		if err := rows.Scan(&g.Name, &g.DisplayName, &g.Description, &g.TimeZone, &g.Language, &members, &nested, &source); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("directory: read groups: %w", err)
		}
		g.Members, g.Groups = parseJSONList(members), parseJSONList(nested)
		d.Groups = append(d.Groups, g)
		sources["group:"+g.Name] = source
	}
	rows.Close()
	rows, err = query("escalations")
	if err != nil {
		return nil, nil, fmt.Errorf("directory: read escalations: %w", err)
	}
	for rows.Next() {
		var e Escalation
		var responders, source, notify string
		if err := rows.Scan(&e.System, &e.Team, &responders, &e.Backup, &source, &notify); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("directory: read escalations: %w", err)
		}
		e.Responders = parseJSONList(responders)
		if n := parseJSONList(notify); len(n) > 0 {
			e.Notify = n
		}
		d.Escalations = append(d.Escalations, e)
		sources["escalation:"+e.System] = source
	}
	rows.Close()
	if source != "" {
		return d, sources, nil
	}
	rows, err = s.DB.QueryContext(ctx, queries.Get("meta"))
	if err != nil {
		return nil, nil, fmt.Errorf("directory: read meta: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, nil, fmt.Errorf("directory: read meta: %w", err)
		}
		switch k {
		case "organization":
			d.Organization = v
		case "language":
			d.Language = v
		case "example":
			d.Example = v == "true"
		case "audiences":
			_ = json.Unmarshal([]byte(v), &d.Audiences)
		}
	}
	return d, sources, rows.Err()
}

// PutPerson adds or changes a person through the API. Entries that come
// from groups.yaml are edited there, not here.
func (s *Store) PutPerson(ctx context.Context, p Person) error {
	p.Language = normalizeLanguage(p.Language)
	if err := checkText(func(c *checker) { c.personText("", p) }); err != nil {
		return err
	}
	return s.putAPI(ctx, "person", p.Email, func(d *Directory) {
		d.People = slices.DeleteFunc(d.People, func(x Person) bool { return strings.EqualFold(x.Email, p.Email) })
		d.People = append(d.People, p)
	}, func(tx *sql.Tx) error { return putPerson(ctx, tx, p, SourceAPI) })
}

// PutGroup adds or changes a group through the API.
func (s *Store) PutGroup(ctx context.Context, g Group) error {
	g.Language = normalizeLanguage(g.Language)
	if err := checkText(func(c *checker) { c.groupText("", g) }); err != nil {
		return err
	}
	return s.putAPI(ctx, "group", g.Name, func(d *Directory) {
		d.Groups = slices.DeleteFunc(d.Groups, func(x Group) bool { return x.Name == g.Name })
		d.Groups = append(d.Groups, g)
	}, func(tx *sql.Tx) error { return putGroup(ctx, tx, g, SourceAPI) })
}

// PutEscalation adds or changes an escalation list through the API.
func (s *Store) PutEscalation(ctx context.Context, e Escalation) error {
	if err := checkText(func(c *checker) { c.escalationText("", e) }); err != nil {
		return err
	}
	return s.putAPI(ctx, "escalation", e.System, func(d *Directory) {
		d.Escalations = slices.DeleteFunc(d.Escalations, func(x Escalation) bool { return x.System == e.System })
		d.Escalations = append(d.Escalations, e)
	}, func(tx *sql.Tx) error { return putEscalation(ctx, tx, e, SourceAPI) })
}

func (s *Store) putAPI(ctx context.Context, kind, key string, change func(*Directory), write func(*sql.Tx) error) error {
	if strings.TrimSpace(key) == "" {
		return errs.InvalidField(kind, "needs a name or email")
	}
	if s.SourceOf(kind, key) == SourceFile {
		return errs.E(errs.Conflict, "%s %s comes from groups.yaml; change it in the file", kind, key)
	}
	cur := s.Current()
	next := *cur
	next.People, next.Groups, next.Escalations = slices.Clone(cur.People), slices.Clone(cur.Groups), slices.Clone(cur.Escalations)
	change(&next)
	next.Normalize()
	if err := next.Validate(); err != nil {
		return err
	}
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return write(tx) }); err != nil {
		return err
	}
	return s.Load(ctx)
}

func putPerson(ctx context.Context, tx *sql.Tx, p Person, source string) error {
	if _, err := tx.ExecContext(ctx, queries.Get("delete-person"), p.Email); err != nil {
		return fmt.Errorf("directory: put person: %w", err)
	}
	_, err := tx.ExecContext(ctx, queries.Get("insert-person"),
		strings.ToLower(p.Email), p.Name, p.TimeZone, p.Language, store.JSON(nonNil(p.Roles)), store.JSON(nonNil(p.Handles)), p.Team, source, p.GitHub)
	if err != nil {
		return fmt.Errorf("directory: put person %s: %w", p.Email, err)
	}
	return nil
}

// peopleChunk is how many people one INSERT writes: 9 parameters each,
// well inside both databases' limits on parameters.
const peopleChunk = 500

// insertPeople inserts people who are in no table row yet, a chunk per
// statement; full chunks share one prepared statement.
func (s *Store) insertPeople(ctx context.Context, tx *sql.Tx, people []Person, source string) error {
	var full *sql.Stmt
	for start := 0; start < len(people); start += peopleChunk {
		batch := people[start:min(start+peopleChunk, len(people))]
		args := make([]any, 0, len(batch)*9)
		for _, p := range batch {
			args = append(args, strings.ToLower(p.Email), p.Name, p.TimeZone, p.Language, store.JSON(nonNil(p.Roles)), store.JSON(nonNil(p.Handles)), p.Team, source, p.GitHub)
		}
		var err error
		if len(batch) == peopleChunk {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.insertPeopleSQL(peopleChunk)); err != nil {
					return fmt.Errorf("directory: put people: %w", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.insertPeopleSQL(len(batch)), args...)
		}
		if err != nil {
			return fmt.Errorf("directory: put people %s…: %w", batch[0].Email, err)
		}
	}
	return nil
}

func (s *Store) insertPeopleSQL(rows int) string {
	var sb strings.Builder
	sb.WriteString(queries.Get("insert-people"))
	for i := 0; i < rows; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(" (" + s.DB.Placeholders(i*9+1, 9) + ")")
	}
	return sb.String()
}

func putGroup(ctx context.Context, tx *sql.Tx, g Group, source string) error {
	if _, err := tx.ExecContext(ctx, queries.Get("delete-group"), g.Name); err != nil {
		return fmt.Errorf("directory: put group: %w", err)
	}
	_, err := tx.ExecContext(ctx, queries.Get("insert-group"),
		g.Name, g.DisplayName, g.Description, g.TimeZone, g.Language, store.JSON(nonNil(g.Members)), store.JSON(nonNil(g.Groups)), source)
	if err != nil {
		return fmt.Errorf("directory: put group %s: %w", g.Name, err)
	}
	return nil
}

func putEscalation(ctx context.Context, tx *sql.Tx, e Escalation, source string) error {
	if _, err := tx.ExecContext(ctx, queries.Get("delete-escalation"), e.System); err != nil {
		return fmt.Errorf("directory: put escalation: %w", err)
	}
	_, err := tx.ExecContext(ctx, queries.Get("insert-escalation"),
		e.System, e.Team, store.JSON(nonNil(e.Responders)), e.Backup, source, store.JSON(nonNil(e.Notify)))
	if err != nil {
		return fmt.Errorf("directory: put escalation %s: %w", e.System, err)
	}
	return nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func parseJSONList(s string) []string {
	if s == "[]" {
		return []string{} // as json.Unmarshal makes it, without its cost for most people's roles and handles
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
