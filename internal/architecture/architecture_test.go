package architecture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// owners names, for each table, the one package that may name it in SQL
// (HELPERS.md, docs/architecture.md). A package's subpackages count as the
// package, so that an owner may keep its queries in, say,
// internal/incident/sqlite. River's tables (river_*) belong to
// internal/jobs, the one package that talks to River.
var owners = map[string]string{
	"incidents":       "internal/incident",
	"timeline_events": "internal/incident",
	"reports":         "internal/incident",

	"people":         "internal/directory",
	"dir_groups":     "internal/directory",
	"escalations":    "internal/directory",
	"directory_meta": "internal/directory",

	"api_tokens":  "internal/auth",
	"accounts":    "internal/auth",
	"ui_sessions": "internal/auth",

	"threads":               "internal/outbox",
	"messages":              "internal/outbox",
	"deliveries":            "internal/outbox",
	"address_status":        "internal/outbox",
	"delivery_transactions": "internal/outbox",
	"smtp_rate":             "internal/outbox",

	"inbound_messages":  "internal/inbox",
	"lead_questions":    "internal/reply",
	"inbox_checkpoints": "internal/inbox",
	"inbox_leases":      "internal/inbox",

	"confirmations": "internal/resolution",
	"summaries":     "internal/resolution",

	"postmortems":          "internal/postmortem",
	"postmortem_attendees": "internal/postmortem",
	"postmortem_issues":    "internal/postmortem",
	"improvements":         "internal/postmortem",

	"changes":          "internal/changes",
	"incident_changes": "internal/changes",

	"maintenance_notices": "internal/maintenance",

	"intake_drafts": "internal/intake",
	"draft_reports": "internal/intake",

	"subscriptions":              "internal/subscription",
	"subscription_confirmations": "internal/subscription",

	"backlog_issues":  "internal/backlog",
	"backlog_cursors": "internal/backlog",

	"chat_cursors": "internal/chat",
	"chat_posts":   "internal/chat",
	"chat_threads": "internal/chat",

	"readiness_probe": "internal/store",
}

const riverOwner = "internal/jobs"

// migrationsDir holds the schema; the store runs it, so it names every
// table and is exempt.
const migrationsDir = "internal/store/migrations"

// harnesses check from outside what sitrep stored, as a test does, so they
// are exempt like test files: the reliability scenarios count deliveries
// and timeline events after a kill -9, the load generator counts deliveries.
// They are no part of the running program.
var harnesses = []string{"cmd/sitrep-reliability", "cmd/sitrep-load"}

// pendingTables are today's "package table" violations. issue 16: to be
// emptied. The test fails on one not listed, and on one listed that no
// longer occurs.
var pendingTables = []string{}

// maxDepth is the longest chain of the module's imports allowed from
// cmd/sitrep, in edges (issue 16: it was 8).
const maxDepth = 5

// pendingDepth is, for each package today further than maxDepth from
// cmd/sitrep, its distance (the longest chain of imports reaching it).
// issue 16: to be emptied. The test fails when a package not listed is too
// deep or a listed one gets deeper, and when a listed one got shallower
// (lower its number, or strike it at maxDepth or less).
var pendingDepth = map[string]int{}

// pendingOutboxImports are today's "importer -> imported" violations of
// TestOutboxKnowsNoIncident. issue 16: to be emptied.
var pendingOutboxImports = []string{}

// pendingDomainImports are today's "importer -> imported" violations of
// TestDomainImportsNoAdapter. issue 16: to be emptied.
var pendingDomainImports = []string{}

// pendingMainFuncs are today's fields (package.Type.Field, or
// package.Var) of other packages that cmd/sitrep gives function values.
// issue 16: to be emptied.
var pendingMainFuncs = []string{}

// tableRef finds a name where SQL expects a table. DELETE FROM, INSERT
// INTO, ALTER/CREATE/DROP TABLE are covered by FROM, INTO and TABLE.
var tableRef = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES|TRUNCATE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?"?([a-z_][a-z0-9_]*)`)

var renameTable = regexp.MustCompile(`(?i)\bALTER\s+TABLE\s+"?([a-z_][a-z0-9_]*)"?\s+RENAME\s+TO\b`)

var createTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([a-z_][a-z0-9_]*)`)

// TestTablesHaveOneOwner: no package but a table's owner names it in SQL,
// in a Go string literal or an embedded .sql file. Test files are exempt:
// a test may check the rows its package's work left in another package's
// table, and is no part of the program.
func TestTablesHaveOneOwner(t *testing.T) {
	m := loadModule(t)
	tables := migrationTables(t, m)
	for table := range tables {
		if _, ok := owners[table]; !ok {
			t.Errorf("table %s (created in %s) has no owner: add it to owners in internal/architecture/architecture_test.go and to docs/architecture.md",
				table, strings.Join(tables[table], ", "))
		}
	}
	for table := range owners {
		if _, ok := tables[table]; !ok {
			t.Errorf("owners names table %s, which no migration creates: strike it from owners", table)
		}
	}

	found := map[string][]string{} // "package table" -> places
	note := func(pkg, table, place string) {
		owner, ok := owners[table]
		if strings.HasPrefix(table, "river_") {
			owner, ok = riverOwner, true
		}
		if !ok || within(pkg, owner) {
			return
		}
		key := pkg + " " + table
		found[key] = append(found[key], place+" (owner: "+owner+")")
	}
	for _, pkg := range m.packages(t) {
		if !within(pkg, "internal") && !within(pkg, "cmd") {
			continue
		}
		if slices.ContainsFunc(harnesses, func(h string) bool { return within(pkg, h) }) {
			continue
		}
		fset := token.NewFileSet()
		for _, file := range m.goFiles(t, pkg) {
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				pos := fset.Position(lit.Pos())
				raw := strings.HasPrefix(lit.Value, "`")
				for _, ref := range tableRef.FindAllStringSubmatchIndex(s, -1) {
					line := pos.Line
					if raw { // a raw string's line breaks are the file's
						line += strings.Count(s[:ref[0]], "\n")
					}
					note(pkg, strings.ToLower(s[ref[2]:ref[3]]), fmt.Sprintf("%s:%d", m.rel(file), line))
				}
				return true
			})
		}
	}
	// Embedded SQL files: named queries belong to the package whose
	// directory holds them.
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(m.root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := m.rel(p)
			if d.IsDir() {
				if rel == migrationsDir || skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".sql") {
				return nil
			}
			pkg := path.Dir(rel)
			if slices.ContainsFunc(harnesses, func(h string) bool { return within(pkg, h) }) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b = stripSQLComments(b) // keeps the line breaks, so lines still count
			for _, ref := range tableRef.FindAllSubmatchIndex(b, -1) {
				line := 1 + bytes.Count(b[:ref[0]], []byte("\n"))
				note(pkg, strings.ToLower(string(b[ref[2]:ref[3]])), fmt.Sprintf("%s:%d", rel, line))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ratchet(t, "pendingTables", pendingTables, found,
		"a package names a table it does not own. Ask the owner instead: add a method to the owning package "+
			"and call it through a small interface declared where it is used (see docs/architecture.md)")
}

// TestImportDepth: no chain of the module's imports from cmd/sitrep is
// longer than maxDepth edges, so that a reader follows any path from main
// to the bottom in a few hops.
func TestImportDepth(t *testing.T) {
	m := loadModule(t)
	g := m.importGraph(t, []string{"cmd/sitrep"})
	depth, via := longestFrom(g, "cmd/sitrep")
	chain := func(pkg string) string {
		var c []string
		for p := pkg; p != ""; p = via[p] {
			c = append(c, p)
		}
		slices.Reverse(c)
		return strings.Join(c, " -> ")
	}
	deepest := "cmd/sitrep"
	for pkg, d := range depth {
		if d > depth[deepest] || d == depth[deepest] && pkg < deepest {
			deepest = pkg
		}
	}
	t.Logf("longest chain, %d edges: %s", depth[deepest], chain(deepest))
	var pkgs []string
	for pkg := range depth {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		d, allowed := depth[pkg], pendingDepth[pkg]
		switch {
		case d > maxDepth && allowed == 0:
			t.Errorf("%s is %d imports deep from cmd/sitrep (at most %d):\n\t%s\n"+
				"Make the chain shorter: let the package that needs it declare a small interface instead of importing its implementation, "+
				"or move the code down to where its callers are.", pkg, d, maxDepth, chain(pkg))
		case d > allowed && allowed != 0:
			t.Errorf("%s got deeper: %d imports from cmd/sitrep, pendingDepth allows %d (issue 16: the list only shrinks):\n\t%s",
				pkg, d, allowed, chain(pkg))
		}
	}
	var listed []string
	for pkg := range pendingDepth {
		listed = append(listed, pkg)
	}
	sort.Strings(listed)
	for _, pkg := range listed {
		d, reached := depth[pkg]
		allowed := pendingDepth[pkg]
		switch {
		case !reached || d <= maxDepth:
			t.Errorf("pendingDepth lists %s at %d, but it is now within %d imports of cmd/sitrep: strike it from pendingDepth (issue 16: the list only shrinks)",
				pkg, allowed, maxDepth)
		case d < allowed:
			t.Errorf("pendingDepth lists %s at %d, but it is now %d deep: lower it to %d (issue 16: the list only shrinks)", pkg, allowed, d, d)
		}
	}
}

// TestOutboxKnowsNoIncident: the outbox delivers messages in threads; it
// imports, directly or through other packages, no domain package nor the
// inbox, which sits above it.
func TestOutboxKnowsNoIncident(t *testing.T) {
	forbidImports(t, []string{"internal/outbox"},
		[]string{"internal/incident", "internal/resolution", "internal/postmortem", "internal/inbox"},
		"pendingOutboxImports", pendingOutboxImports,
		"the outbox must know nothing of incidents: take what it needs (a thread, recipients, a rendered message) as plain "+
			"values or through an interface the outbox declares, and let the domain call the outbox")
}

// TestDomainImportsNoAdapter: the domain imports, directly or through
// other packages, no adapter; an adapter it needs is an interface the
// domain declares and cmd/sitrep fills in. internal/calendar itself is
// the calendars' vocabulary (events, rooms, the Backend interface, the
// iCalendar format); its backends are the adapters.
func TestDomainImportsNoAdapter(t *testing.T) {
	forbidImports(t, []string{"internal/incident", "internal/resolution", "internal/postmortem", "internal/reply", "internal/blameless"},
		[]string{"internal/outbox", "internal/inbox", "internal/calendar/caldav", "internal/calendar/google", "internal/chat", "internal/changes",
			"internal/intake", "internal/web", "internal/sandbox", "internal/doctor", "internal/backlog"},
		"pendingDomainImports", pendingDomainImports,
		"the domain imports no adapter: declare the small interface the domain needs (\"deliver these messages in this thread\", "+
			"\"book this meeting\") in the domain package, and let cmd/sitrep pass the adapter that satisfies it")
}

// TestMainAssignsNoFuncs: cmd/sitrep gives no function value to a field
// (or package variable) of another of the module's packages, neither by
// assignment nor in a composite literal. A function-valued hook is an
// interface waiting to be declared by its user (STYLE.md 2). Fields of
// the standard library's and other modules' types (http.Server.BaseContext,
// flag.FlagSet.Usage) are theirs to design and not checked.
func TestMainAssignsNoFuncs(t *testing.T) {
	m := loadModule(t)
	const mainPkg = "cmd/sitrep"
	start := time.Now()
	fset, files, info, pkg := m.typeCheck(t, mainPkg)
	t.Logf("type-checked %s in %s", mainPkg, time.Since(start).Round(time.Millisecond))

	ours := func(p *types.Package) bool {
		return p != nil && p != pkg && (p.Path() == m.path || strings.HasPrefix(p.Path(), m.path+"/"))
	}
	found := map[string][]string{}
	report := func(at token.Pos, key string) {
		pos := fset.Position(at)
		found[key] = append(found[key], fmt.Sprintf("%s:%d", m.rel(pos.Filename), pos.Line))
	}
	isNil := func(e ast.Expr) bool { tv, ok := info.Types[e]; return ok && tv.IsNil() }
	// hook returns the name of the field or variable lhs sets when it is
	// another package's and holds functions, else "".
	hook := func(lhs ast.Expr) string {
		for { // x.F[k] = fn sets a map or slice of functions
			ix, ok := lhs.(*ast.IndexExpr)
			if !ok {
				break
			}
			lhs = ix.X
		}
		se, ok := ast.Unparen(lhs).(*ast.SelectorExpr)
		if !ok {
			return ""
		}
		if sel := info.Selections[se]; sel != nil {
			field, ok := sel.Obj().(*types.Var)
			if sel.Kind() != types.FieldVal || !ok || !ours(field.Pkg()) || !holdsFunc(field.Type()) {
				return ""
			}
			return fieldName(m, sel.Recv(), field)
		}
		if v, ok := info.Uses[se.Sel].(*types.Var); ok && ours(v.Pkg()) && !v.IsField() && holdsFunc(v.Type()) {
			return strings.TrimPrefix(v.Pkg().Path(), m.path+"/") + "." + v.Name()
		}
		return ""
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Lhs) != len(n.Rhs) {
					return true // v, err := f(): no function literal here
				}
				for i, lhs := range n.Lhs {
					if name := hook(lhs); name != "" && !isNil(n.Rhs[i]) {
						report(n.Pos(), name)
					}
				}
			case *ast.CompositeLit:
				typ := info.TypeOf(n)
				if typ == nil {
					return true
				}
				st, ok := typ.Underlying().(*types.Struct)
				if !ok {
					return true
				}
				for i, elt := range n.Elts {
					var field *types.Var
					value := elt
					if kv, ok := elt.(*ast.KeyValueExpr); ok {
						id, _ := kv.Key.(*ast.Ident)
						if id == nil {
							continue
						}
						field, _ = info.Uses[id].(*types.Var)
						if field != nil && !field.IsField() {
							field = nil
						}
						value = kv.Value
					} else if i < st.NumFields() {
						field = st.Field(i)
					}
					if field == nil || !ours(field.Pkg()) || !holdsFunc(field.Type()) || isNil(value) {
						continue
					}
					report(value.Pos(), fieldName(m, typ, field))
				}
			}
			return true
		})
	}
	ratchet(t, "pendingMainFuncs", pendingMainFuncs, found,
		"cmd/sitrep gives a function value to another package's field. Let that package declare the small interface it "+
			"needs and take an implementation of it (a type with methods, in the package that has the behaviour); "+
			"business rules live in their package, not in main")
}

// holdsFunc reports whether a value of type t is a function, or a slice,
// array, map or pointer of them.
func holdsFunc(t types.Type) bool { return holdsFuncIn(t, 0) }

func holdsFuncIn(t types.Type, depth int) bool {
	if depth > 3 { // type L []L would never end
		return false
	}
	switch u := t.Underlying().(type) {
	case *types.Signature:
		return true
	case *types.Slice:
		return holdsFuncIn(u.Elem(), depth+1)
	case *types.Array:
		return holdsFuncIn(u.Elem(), depth+1)
	case *types.Map:
		return holdsFuncIn(u.Elem(), depth+1)
	case *types.Pointer:
		return holdsFuncIn(u.Elem(), depth+1)
	}
	return false
}

// fieldName is "internal/incident.Service.AfterDeclare".
func fieldName(m module, recv types.Type, field *types.Var) string {
	if p, ok := recv.(*types.Pointer); ok {
		recv = p.Elem()
	}
	if n, ok := recv.(*types.Named); ok && n.Obj().Pkg() != nil {
		return strings.TrimPrefix(n.Obj().Pkg().Path(), m.path+"/") + "." + n.Obj().Name() + "." + field.Name()
	}
	return strings.TrimPrefix(field.Pkg().Path(), m.path+"/") + ".(struct)." + field.Name()
}

// forbidImports fails when a package in (or under) from reaches a package
// in (or under) forbidden through the imports of non-test files.
func forbidImports(t *testing.T, from, forbidden []string, listName string, pending []string, fix string) {
	t.Helper()
	m := loadModule(t)
	var starts []string
	for _, pkg := range m.packages(t) {
		if slices.ContainsFunc(from, func(f string) bool { return within(pkg, f) }) {
			starts = append(starts, pkg)
		}
	}
	if len(starts) == 0 {
		t.Fatalf("no package found in %v", from)
	}
	g := m.importGraph(t, starts)
	found := map[string][]string{}
	for _, start := range starts {
		// Breadth first, so that the chain shown is a shortest one.
		via := map[string]string{start: ""}
		queue := []string{start}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			for _, dep := range g[pkg] {
				if _, seen := via[dep]; seen {
					continue
				}
				via[dep] = pkg
				queue = append(queue, dep)
				if !slices.ContainsFunc(forbidden, func(f string) bool { return within(dep, f) }) {
					continue
				}
				var c []string
				for p := dep; p != ""; p = via[p] {
					c = append(c, p)
				}
				slices.Reverse(c)
				key := start + " -> " + dep
				found[key] = append(found[key], m.importPlace(t, c[0], c[1])+": "+strings.Join(c, " -> "))
			}
		}
	}
	ratchet(t, listName, pending, found, fix)
}

// ratchet compares the violations found (key -> places) with a pending
// list: a violation not listed fails with its places and how to fix it; a
// listed one that no longer occurs fails too, so that the list only
// shrinks.
func ratchet(t *testing.T, listName string, pending []string, found map[string][]string, fix string) {
	t.Helper()
	var keys []string
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fresh []string
	for _, k := range keys {
		if slices.Contains(pending, k) {
			if testing.Verbose() {
				t.Logf("pending (%s): %s: %s", listName, k, strings.Join(found[k], ", "))
			}
			continue
		}
		fresh = append(fresh, k+":\n\t"+strings.Join(found[k], "\n\t"))
	}
	if len(fresh) > 0 {
		t.Errorf("%d new violation(s), not in %s:\n%s\nHow to fix: %s.", len(fresh), listName, strings.Join(fresh, "\n"), fix)
	}
	for _, k := range pending {
		if _, ok := found[k]; !ok {
			t.Errorf("%s lists %q, which no longer occurs: strike it from %s in internal/architecture/architecture_test.go (issue 16: the list only shrinks)",
				listName, k, listName)
		}
	}
}

// longestFrom returns, for every package reached from start, the length in
// edges of the longest import chain reaching it, and its predecessor on
// that chain. Go forbids import cycles, so the graph is acyclic.
func longestFrom(g map[string][]string, start string) (map[string]int, map[string]string) {
	var order []string // reverse postorder: a topological order
	seen := map[string]bool{}
	var visit func(string)
	visit = func(p string) {
		seen[p] = true
		for _, q := range g[p] {
			if !seen[q] {
				visit(q)
			}
		}
		order = append(order, p)
	}
	visit(start)
	slices.Reverse(order)
	depth := map[string]int{start: 0}
	via := map[string]string{start: ""}
	for _, p := range order {
		for _, q := range g[p] {
			if d, ok := depth[q]; !ok || depth[p]+1 > d || depth[p]+1 == d && p < via[q] {
				depth[q], via[q] = depth[p]+1, p
			}
		}
	}
	return depth, via
}

// module is the repository being checked.
type module struct {
	root string // the directory holding go.mod
	path string // the module path, github.com/sitrep-dev/sitrep
}

func loadModule(t *testing.T) module {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for line := range strings.Lines(string(b)) {
				if rest, ok := strings.CutPrefix(line, "module "); ok {
					return module{root: dir, path: strings.Trim(strings.TrimSpace(rest), `"`)}
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}

// rel is p relative to the module root, with slashes.
func (m module) rel(p string) string {
	r, err := filepath.Rel(m.root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// within reports whether pkg is dir or below it.
func within(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// packages lists the module's packages (directories relative to the root)
// that have non-test Go files.
func (m module) packages(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(m.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != m.root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		if p != m.root {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		if len(m.goFiles(t, m.rel(p))) > 0 {
			out = append(out, m.rel(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goFiles are the non-test Go files of a package that this platform
// builds (their build constraints hold).
func (m module) goFiles(t *testing.T, pkg string) []string {
	t.Helper()
	dir := filepath.Join(m.root, filepath.FromSlash(pkg))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		ok, err := build.Default.MatchFile(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, filepath.Join(dir, name))
		}
	}
	return out
}

// imports are the module's packages that pkg's non-test files import.
func (m module) imports(t *testing.T, pkg string) []string {
	t.Helper()
	fset := token.NewFileSet()
	set := map[string]bool{}
	for _, file := range m.goFiles(t, pkg) {
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(p, m.path+"/"); ok {
				set[rest] = true
			}
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// importPlace is the file and line where pkg imports dep.
func (m module) importPlace(t *testing.T, pkg, dep string) string {
	t.Helper()
	fset := token.NewFileSet()
	for _, file := range m.goFiles(t, pkg) {
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == m.path+"/"+dep {
				pos := fset.Position(imp.Pos())
				return fmt.Sprintf("%s:%d", m.rel(pos.Filename), pos.Line)
			}
		}
	}
	return pkg
}

// importGraph maps every module package reached from starts to the module
// packages it imports.
func (m module) importGraph(t *testing.T, starts []string) map[string][]string {
	t.Helper()
	g := map[string][]string{}
	queue := slices.Clone(starts)
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if _, done := g[pkg]; done {
			continue
		}
		g[pkg] = m.imports(t, pkg)
		queue = append(queue, g[pkg]...)
	}
	return g
}

// migrationTables maps each table the migrations create to the files
// creating it.
func migrationTables(t *testing.T, m module) map[string][]string {
	t.Helper()
	tables := map[string][]string{}
	for _, dialect := range []string{"sqlite", "postgres"} {
		files, err := filepath.Glob(filepath.Join(m.root, migrationsDir, dialect, "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no migrations in %s/%s", migrationsDir, dialect)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sql := stripSQLComments(b)
			// SQLite changes a primary key by rebuilding the table: a
			// table created and renamed in the same migration is the one
			// it is renamed to, not a table of its own.
			renamed := map[string]bool{}
			for _, match := range renameTable.FindAllSubmatch(sql, -1) {
				renamed[strings.ToLower(string(match[1]))] = true
			}
			for _, match := range createTable.FindAllSubmatch(sql, -1) {
				name := strings.ToLower(string(match[1]))
				if renamed[name] {
					continue
				}
				tables[name] = append(tables[name], m.rel(file))
			}
		}
	}
	return tables
}

// stripSQLComments drops "-- ..." to the end of each line, so that a
// comment mentioning CREATE TABLE does not count.
func stripSQLComments(b []byte) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if i := bytes.Index(line, []byte("--")); i >= 0 {
			line = line[:i]
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// typeCheck type-checks the non-test files of pkg. Its dependencies come
// from the compiler's export data, which `go list -export` builds into (or
// finds in) the build cache: about 1.5 s with a warm cache, where
// type-checking every dependency from source (importer "source") took
// 2 min 46 s on the shared 2-core test machine.
func (m module) typeCheck(t *testing.T, pkg string) (*token.FileSet, []*ast.File, *types.Info, *types.Package) {
	t.Helper()
	cmd := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Export", "./"+pkg)
	cmd.Dir = m.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export ./%s: %v\n%s", pkg, err, stderr.Bytes())
	}
	exports := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	var files []*ast.File
	for _, file := range m.goFiles(t, pkg) {
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: imp}
	tpkg, err := conf.Check(m.path+"/"+pkg, fset, files, info)
	if err != nil {
		t.Fatalf("type-check %s: %v", pkg, err)
	}
	return fset, files, info, tpkg
}
