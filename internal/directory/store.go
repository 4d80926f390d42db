package directory

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
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
	DB    *store.DB
	state atomic.Pointer[state]
	// write is held by each change (a sync, an API edit) from its first
	// read to putting its result in force: a sync installs the directory
	// it wrote, so an API edit between its read and its install would be
	// missing from memory, and an older directory could replace a newer.
	write sync.Mutex
}

// state is the directory in force and which of its entries came through
// the API, swapped together. Every other entry is the file's: a set of the
// few API entries instead of a source per entry, which was a map of
// 100,000 "person:…" keys (~8 MB) beside a large directory.
type state struct {
	dir *Directory // people by address, groups by name, escalations by system (install), for SourceOf to search
	api map[string]bool
}

// Current is the directory in force. It is never nil after Load.
func (s *Store) Current() *Directory {
	if st := s.state.Load(); st != nil {
		return st.dir
	}
	return &Directory{}
}

// KnowsPerson reports whether email is a person in the directory.
func (s *Store) KnowsPerson(email string) bool {
	_, ok := s.Current().Person(email)
	return ok
}

// SourceOf says where an entry came from ("file" or "api"; "" for none);
// kind is person, group or escalation. The key is compared in lower case
// with the entry's stored name.
func (s *Store) SourceOf(kind, key string) string {
	st := s.state.Load()
	if st == nil {
		return ""
	}
	key = strings.ToLower(key)
	if st.api[kind+":"+key] {
		return SourceAPI
	}
	// A binary search, not a scan: the directory page asks this of every
	// person.
	var found bool
	switch kind {
	case "person":
		_, found = slices.BinarySearchFunc(st.dir.People, key, func(p Person, k string) int { return strings.Compare(p.Email, k) })
	case "group":
		_, found = slices.BinarySearchFunc(st.dir.Groups, key, func(g Group, k string) int { return strings.Compare(g.Name, k) })
	case "escalation":
		_, found = slices.BinarySearchFunc(st.dir.Escalations, key, func(e Escalation, k string) int { return strings.Compare(e.System, k) })
	}
	if found {
		return SourceFile
	}
	return ""
}

// install puts d in force, sorting its entries as SourceOf needs; api
// names the entries that came through the API.
func (s *Store) install(d *Directory, api map[string]bool) {
	// Byte order on both databases: PostgreSQL's ORDER BY follows the
	// database's collation, and a directory read back must be the one a
	// sync installed.
	slices.SortFunc(d.People, func(a, b Person) int { return strings.Compare(a.Email, b.Email) })
	slices.SortFunc(d.Groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Escalations, func(a, b Escalation) int { return strings.Compare(a.System, b.System) })
	// A group's members are people's addresses written again: 100,000
	// of them in "everyone"'s departments. Each member takes the person's
	// own string, and its copy from the file or the database is let go.
	for i := range d.Groups {
		members := d.Groups[i].Members
		for j, m := range members {
			if k, ok := slices.BinarySearchFunc(d.People, m, func(p Person, e string) int { return strings.Compare(p.Email, e) }); ok {
				members[j] = d.People[k].Email
			}
		}
	}
	s.state.Store(&state{dir: d, api: api})
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
	s.write.Lock()
	defer s.write.Unlock()
	// Only the API's entries are kept beside the file's: read those, not
	// the whole directory again.
	existing, _, err := s.read(ctx, SourceAPI)
	if err != nil {
		return nil, err
	}
	res := &SyncResult{People: len(file.People), Groups: len(file.Groups), Escalations: len(file.Escalations)}
	// The file's entries, before the API's are added after them.
	people, groups, escalations := file.People, file.Groups, file.Escalations
	apiPeople := make(map[string]bool, len(existing.People))
	for _, p := range existing.People {
		apiPeople[p.Email] = true
	}
	merged, api := mergeAPIEntries(file, existing)
	if len(merged.People) != len(people) || len(merged.Groups) != len(groups) || len(merged.Escalations) != len(escalations) {
		// Without API entries the merged directory is the file's, which
		// ParseYAML has just checked.
		if err := merged.Validate(); err != nil {
			return nil, fmt.Errorf("directory: %s with the entries added through the API: %w", filename, err)
		}
	}
	audiences := store.JSON(merged.Audiences)
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
		for _, p := range people {
			if apiPeople[p.Email] {
				if _, err := tx.ExecContext(ctx, queries.Get("delete-person"), p.Email); err != nil {
					return fmt.Errorf("directory: put person: %w", err)
				}
			}
		}
		if err := s.insertPeople(ctx, tx, people, SourceFile); err != nil {
			return err
		}
		for _, g := range groups {
			if err := putGroup(ctx, tx, g, SourceFile); err != nil {
				return err
			}
		}
		for _, e := range escalations {
			if err := putEscalation(ctx, tx, e, SourceFile); err != nil {
				return err
			}
		}
		meta := map[string]string{"organization": merged.Organization, "language": merged.Language, "example": fmt.Sprint(merged.Example), "audiences": audiences, "file": filename}
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
	// The database now holds exactly the merged directory: it is put in
	// force as Load would read it back, instead of reading back a second
	// copy of 100,000 people while the previous one is still in force
	// (the peak of a reload). TestSyncInstallsWhatLoadReads holds the two
	// to the same directory.
	asStored(merged, audiences)
	s.install(merged, api)
	return res, nil
}

// asStored makes d what reading it back from the database gives: lists
// never nil (an empty JSON list), an escalation's empty notify nil, the
// audiences as their JSON decodes.
func asStored(d *Directory, audiences string) {
	for i := range d.People {
		p := &d.People[i]
		p.Roles, p.Handles = nonNil(p.Roles), nonNil(p.Handles)
	}
	for i := range d.Groups {
		g := &d.Groups[i]
		g.Members, g.Groups = nonNil(g.Members), nonNil(g.Groups)
	}
	for i := range d.Escalations {
		e := &d.Escalations[i]
		e.Responders = nonNil(e.Responders)
		if len(e.Notify) == 0 {
			e.Notify = nil
		}
	}
	d.Audiences = map[string][]string{}
	_ = json.Unmarshal([]byte(audiences), &d.Audiences)
}

// mergeAPIEntries adds to the file's directory the API entries it does not
// name, and returns the set of those (as state.api keys). It appends to
// file's lists, which are the caller's to give: no copy of 100,000 people.
func mergeAPIEntries(file, existing *Directory) (*Directory, map[string]bool) {
	merged := file
	api := map[string]bool{}
	// Only API entries can be added, so the file's names are looked up
	// only for them: with a file of 100,000 people, asking the file
	// about every existing person (a scan each) took minutes.
	if len(existing.People) > 0 {
		people := make(map[string]bool, len(file.People))
		for _, fp := range file.People {
			people[normalizeEmail(fp.Email)] = true
		}
		for _, p := range existing.People {
			if !people[normalizeEmail(p.Email)] {
				merged.People = append(merged.People, p)
				api["person:"+p.Email] = true
			}
		}
	}
	// Groups and escalation lists are few: asked as before.
	for _, g := range existing.Groups {
		if _, named := file.Group(g.Name); !named {
			merged.Groups = append(merged.Groups, g)
			api["group:"+g.Name] = true
		}
	}
	for _, e := range existing.Escalations {
		if _, named := file.Escalation(e.System); !named {
			merged.Escalations = append(merged.Escalations, e)
			api["escalation:"+e.System] = true
		}
	}
	return merged, api
}

// Load reads the directory from the database into memory.
func (s *Store) Load(ctx context.Context) error {
	s.write.Lock()
	defer s.write.Unlock()
	return s.load(ctx)
}

func (s *Store) load(ctx context.Context) error {
	d, api, err := s.read(ctx, "")
	if err != nil {
		return err
	}
	s.install(d, api)
	return nil
}

// read reads the directory, or with source only the entries from there
// (and none of the organisation's settings). api is the set of the API's
// entries (state.api).
func (s *Store) read(ctx context.Context, source string) (*Directory, map[string]bool, error) {
	d := &Directory{Audiences: map[string][]string{}}
	api := map[string]bool{}
	query := func(name string) (*sql.Rows, error) {
		if source == "" {
			return s.DB.QueryContext(ctx, queries.Get(name))
		}
		return s.DB.QueryContext(ctx, queries.Get(name+"-from"), source)
	}
	if source == "" {
		// About as many as in force: one array, not the garbage of
		// growing it person by person.
		d.People = make([]Person, 0, len(s.Current().People)+16)
	}
	// The zones, languages and teams of 100,000 people are a few dozen
	// strings: one copy of each, not one per person.
	intern := newInterner()
	rows, err := query("people")
	if err != nil {
		return nil, nil, fmt.Errorf("directory: read people: %w", err)
	}
	for rows.Next() {
		var p Person
		var zone, lang, team, roles, handles, source sql.RawBytes
		if err := rows.Scan(&p.Email, &p.Name, &zone, &lang, &roles, &handles, &team, &source, &p.GitHub); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("directory: read people: %w", err)
		}
		p.TimeZone, p.Language, p.Team = intern.bytes(zone), intern.bytes(lang), intern.bytes(team)
		p.Roles, p.Handles = parseJSONList(string(roles)), parseJSONList(string(handles))
		d.People = append(d.People, p)
		if string(source) == SourceAPI {
			api["person:"+p.Email] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("directory: read people: %w", err)
	}
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
		if source == SourceAPI {
			api["group:"+g.Name] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("directory: read groups: %w", err)
	}
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
		if source == SourceAPI {
			api["escalation:"+e.System] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("directory: read escalations: %w", err)
	}
	if source != "" {
		return d, api, nil
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
	return d, api, rows.Err()
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
	s.write.Lock()
	defer s.write.Unlock()
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
	return s.load(ctx)
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
