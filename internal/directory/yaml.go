package directory

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The keys each mapping in groups.yaml may have. Anything else is reported,
// because in a hand-edited file an unknown key is nearly always a typo
// ("memebers:") whose value would otherwise be dropped without a word.
var (
	topKeys        = []string{"organization", "language", "example", "people", "groups", "escalations", "audiences"}
	personKeys     = []string{"email", "name", "time_zone", "language", "roles", "handles", "team", "github"}
	groupKeys      = []string{"name", "display_name", "description", "time_zone", "language", "members", "groups"}
	escalationKeys = []string{"system", "team", "responders", "backup", "notify"}
)

// ParseYAML reads a groups.yaml. On any mistake it returns a
// *ValidationError listing every problem with its line and column in
// filename (used only in messages), and no directory. Emails are normalised
// to lower case.
func ParseYAML(data []byte, filename string) (*Directory, error) {
	// A correct file is read once, keeping no positions: the node tree is
	// let go of item by item as it is converted, and nothing holds it
	// once the checks run. Positions are only wanted for problems, so a file that
	// has any is read again, recording where every field is.
	d, problems := readFirst(data, filename)
	if !problems && len(d.check(nil)) == 0 {
		// After the checks, which ignore case anyway, so that messages
		// quote addresses as the operator wrote them.
		d.Normalize()
		return d, nil
	}
	return parseWithPositions(data, filename)
}

// readFirst is the first reading, without positions: a block of list
// items at a time when the file's shape allows it (blocks.go), else whole.
// problems: it found any.
func readFirst(data []byte, filename string) (d *Directory, problems bool) {
	p := &parser{file: filename}
	d = &Directory{}
	if p.readInBlocks(data, d) {
		return d, false
	}
	root, err := parseRoot(data, filename)
	if err != nil {
		return nil, true
	}
	p = &parser{file: filename}
	d = &Directory{}
	p.directory(root, d)
	return d, len(p.problems) > 0
}

// parseRoot parses data into its root node, reporting a syntax error or
// an empty file as the file's only problem.
func parseRoot(data []byte, filename string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := unmarshal(data, &doc); err != nil {
		return nil, &ValidationError{Problems: []Problem{syntaxProblem(filename, err)}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &ValidationError{Problems: []Problem{{File: filename, Line: 1, Col: 1,
			Message: "file is empty; expected keys " + strings.Join(topKeys, ", ")}}}
	}
	return doc.Content[0], nil
}

// parseWithPositions is ParseYAML for a file with problems: every problem
// with its line and column, sorted by them.
func parseWithPositions(data []byte, filename string) (*Directory, error) {
	root, err := parseRoot(data, filename)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, record: true, pos: map[string]*yaml.Node{}, bad: map[string]bool{}}
	d := &Directory{}
	p.directory(root, d)

	problems := p.problems
	for _, sp := range d.check(p.where) {
		if p.underBad(sp.Path) {
			continue // the shape was wrong there, and that is already reported
		}
		n := p.lookup(sp.Path)
		sp.File, sp.Line, sp.Col = filename, n.Line, n.Column
		problems = append(problems, sp)
	}
	if len(problems) == 0 {
		// Not reached: the first reading found a problem, and this one
		// reads the same bytes the same way.
		return nil, errs.E(errs.Internal, "directory: %s: a problem found on first reading was not found again", filename)
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].Line != problems[j].Line {
			return problems[i].Line < problems[j].Line
		}
		return problems[i].Col < problems[j].Col
	})
	return nil, &ValidationError{Problems: problems}
}

// unmarshal guards against a panic inside the YAML library: the file comes
// from an operator's editor, and a crash at start-up over it would take the
// whole incident hub down with it.
func unmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

// yamlLine matches the parser's "yaml: line 3: could not find expected ':'".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: line, Message: "YAML syntax: " + m[2]}
	}
	return Problem{File: file, Message: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// parser turns the node tree into a Directory, reporting shape problems
// (unknown keys, a scalar where a list belongs) as it goes and remembering
// where each field was, so that the semantic checks shared with Validate can
// be given a line and column afterwards.
type parser struct {
	file     string
	problems []Problem
	// record: keep positions and paths (the second reading, of a file
	// with problems). Without it paths are "", pos and bad stay nil, and
	// list items are dropped from the tree once converted, so that a
	// large file's nodes can be collected while the rest is read.
	record bool
	pos    map[string]*yaml.Node // path → node to point at
	bad    map[string]bool       // paths whose shape was wrong
	// intern keeps one copy of the zones, languages and teams that many
	// people share.
	intern *interner
}

// shared is str for a value many people share: one copy of each.
func (p *parser) shared(n *yaml.Node, path, what string) string {
	if p.intern == nil {
		p.intern = newInterner()
	}
	return p.intern.str(p.str(n, path, what))
}

// at records n as where path is, when positions are kept.
func (p *parser) at(path string, n *yaml.Node) {
	if p.record {
		p.pos[path] = n
	}
}

// markBad records that path's shape was wrong, when positions are kept
// (without them, any problem means a second reading).
func (p *parser) markBad(path string) {
	if p.record {
		p.bad[path] = true
	}
}

// sub is the path of key under path; "" when paths are not kept.
func (p *parser) sub(path, key string) string {
	if !p.record {
		return ""
	}
	return path + "." + key
}

func (p *parser) problem(n *yaml.Node, path, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: n.Line, Col: n.Column, Path: path,
		Message: fmt.Sprintf(format, args...)})
}

// lookup returns the node recorded for path or, failing that, for its
// nearest ancestor: a missing "people[3].name" points at people[3].
func (p *parser) lookup(path string) *yaml.Node {
	for {
		if n, ok := p.pos[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	if n, ok := p.pos[""]; ok {
		return n
	}
	return &yaml.Node{}
}

func (p *parser) where(path string) string {
	if n := p.lookup(path); n.Line > 0 {
		return fmt.Sprintf("at line %d", n.Line)
	}
	return ""
}

func (p *parser) underBad(path string) bool {
	for b := range p.bad {
		if path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

// deref follows an alias to a scalar. Aliases to lists and mappings are
// refused: nothing in this file needs them, and following them is how a
// small file expands into a huge one.
func (p *parser) deref(n *yaml.Node, path string) *yaml.Node {
	if n.Kind != yaml.AliasNode {
		return n
	}
	if n.Alias != nil && n.Alias.Kind == yaml.ScalarNode {
		return n.Alias
	}
	p.problem(n, path, "aliases to lists or mappings are not supported; write the value out")
	p.markBad(path)
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// mapping walks the key/value pairs of n, a `what` such as "person", calling
// f for each allowed key once. keys nil allows any key.
func (p *parser) mapping(n *yaml.Node, path, what string, keys []string, f func(key string, k, v *yaml.Node)) {
	p.at(path, n)
	if n = p.deref(n, path); n == nil {
		return
	}
	if isNull(n) {
		return // "people:" with nothing after it: an empty section
	}
	if n.Kind != yaml.MappingNode {
		p.problem(n, path, "%s must be a mapping of key: value, not %s", what, kindName(n))
		p.markBad(path)
		return
	}
	// A person has a handful of keys: a map each would be much of the
	// garbage of a large file. Only a long mapping gets one.
	var seen map[string]*yaml.Node
	if len(n.Content) > 32 {
		seen = map[string]*yaml.Node{}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.problem(k, path, "%s: keys must be plain words, not %s", what, kindName(k))
			continue
		}
		if first := firstKey(n.Content[:i], k.Value, seen); first != nil {
			p.problem(k, path, "%s: key %q is given twice (first at line %d)", what, k.Value, first.Line)
			continue
		}
		if seen != nil {
			seen[k.Value] = k
		}
		if keys != nil && !slices.Contains(keys, k.Value) {
			p.problem(k, path, "unknown key %q in %s%s; expected %s", k.Value, what, suggest(k.Value, keys), strings.Join(keys, ", "))
			continue
		}
		f(k.Value, k, v)
	}
}

// list walks the items of a sequence n, calling f with each item's path.
func (p *parser) list(n *yaml.Node, path, what string, f func(path string, item *yaml.Node)) {
	p.at(path, n)
	if n = p.deref(n, path); n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.problem(n, path, "%s must be a list (items starting with \"- \"), not %s", what, kindName(n))
		p.markBad(path)
		return
	}
	if !p.record {
		for i, item := range n.Content {
			f("", item)
			// Converted: let it go (an alias to it, if any, is to a
			// scalar and holds its own pointer).
			n.Content[i] = nil
		}
		return
	}
	for i, item := range n.Content {
		f(fmt.Sprintf("%s[%d]", path, i), item)
	}
}

// firstKey is the first scalar key among the pairs before with the value
// key, nil if none: from seen when given, else by looking.
func firstKey(before []*yaml.Node, key string, seen map[string]*yaml.Node) *yaml.Node {
	if seen != nil {
		return seen[key]
	}
	for i := 0; i < len(before); i += 2 {
		if k := before[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k
		}
	}
	return nil
}

func (p *parser) str(n *yaml.Node, path, what string) string {
	p.at(path, n)
	if n = p.deref(n, path); n == nil || isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.problem(n, path, "%s must be a single value, not %s", what, kindName(n))
		p.markBad(path)
		return ""
	}
	return strings.TrimSpace(n.Value)
}

func (p *parser) strs(n *yaml.Node, path, what string) []string {
	var out []string
	p.list(n, path, what, func(ip string, item *yaml.Node) {
		out = append(out, p.str(item, ip, what+" item"))
	})
	return out
}

func (p *parser) directory(root *yaml.Node, d *Directory) {
	p.at("", root)
	p.mapping(root, "", "the file", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "organization":
			d.Organization = p.str(v, key, key)
		case "language":
			d.Language = p.str(v, key, key)
		case "example":
			p.at(key, v)
			if v = p.deref(v, key); v == nil {
				return
			}
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
				p.problem(v, key, "example must be true or false, not %s", kindName(v))
				return
			}
			_ = v.Decode(&d.Example) // a !!bool scalar always decodes
		case "people":
			p.list(v, key, key, func(path string, item *yaml.Node) {
				d.People = append(d.People, p.person(item, path))
			})
		case "groups":
			p.list(v, key, key, func(path string, item *yaml.Node) {
				d.Groups = append(d.Groups, p.group(item, path))
			})
		case "escalations":
			p.list(v, key, key, func(path string, item *yaml.Node) {
				d.Escalations = append(d.Escalations, p.escalation(item, path))
			})
		case "audiences":
			d.Audiences = map[string][]string{}
			p.mapping(v, key, "audiences", nil, func(kind string, k, v *yaml.Node) {
				path := p.sub(key, kind)
				d.Audiences[kind] = p.strs(v, path, "audience "+kind)
				if d.Audiences[kind] == nil {
					d.Audiences[kind] = []string{} // said, and said empty: no default
				}
				p.at(path, k) // an unknown kind is reported at its key
			})
		}
	})
}

func (p *parser) person(n *yaml.Node, path string) Person {
	var x Person
	p.mapping(n, path, "person", personKeys, func(key string, _, v *yaml.Node) {
		kp := p.sub(path, key)
		switch key {
		case "email":
			x.Email = p.str(v, kp, key)
		case "name":
			x.Name = p.str(v, kp, key)
		case "time_zone":
			x.TimeZone = p.shared(v, kp, key)
		case "language":
			x.Language = p.shared(v, kp, key)
		case "roles":
			x.Roles = p.strs(v, kp, key)
		case "handles":
			x.Handles = p.strs(v, kp, key)
		case "team":
			x.Team = p.shared(v, kp, key)
		case "github":
			x.GitHub = strings.TrimPrefix(p.str(v, kp, key), "@")
		}
	})
	return x
}

func (p *parser) group(n *yaml.Node, path string) Group {
	var x Group
	p.mapping(n, path, "group", groupKeys, func(key string, _, v *yaml.Node) {
		kp := p.sub(path, key)
		switch key {
		case "name":
			x.Name = p.str(v, kp, key)
		case "display_name":
			x.DisplayName = p.str(v, kp, key)
		case "description":
			x.Description = p.str(v, kp, key)
		case "time_zone":
			x.TimeZone = p.str(v, kp, key)
		case "language":
			x.Language = p.str(v, kp, key)
		case "members":
			x.Members = p.strs(v, kp, key)
		case "groups":
			x.Groups = p.strs(v, kp, key)
		}
	})
	return x
}

func (p *parser) escalation(n *yaml.Node, path string) Escalation {
	var x Escalation
	p.mapping(n, path, "escalation", escalationKeys, func(key string, _, v *yaml.Node) {
		kp := p.sub(path, key)
		switch key {
		case "system":
			x.System = p.str(v, kp, key)
		case "team":
			x.Team = p.str(v, kp, key)
		case "responders":
			x.Responders = p.strs(v, kp, key)
		case "backup":
			x.Backup = p.str(v, kp, key)
		case "notify":
			x.Notify = p.strs(v, kp, key)
		}
	})
	return x
}
