package directory

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	// The zone database compiled in: a container built from scratch has no
	// /usr/share/zoneinfo, and there every time_zone in a correct file would
	// be rejected as unknown.
	_ "time/tzdata"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Problem is one mistake in a directory. File, Line and Col are set when the
// directory came from a file (Col is 0 when the YAML parser gave only a line).
// Path names the field at fault in the errs.Field style: "groups[2].members[0]".
type Problem struct {
	File      string
	Line, Col int
	Path      string
	Message   string
}

// Error formats the problem as compilers do, "file:line:col: message", so
// that editors can jump to it; without a position it is "path: message".
func (p Problem) Error() string {
	switch {
	case p.File != "" && p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	case p.File != "":
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	case p.Path != "":
		return fmt.Sprintf("%s: %s", p.Path, p.Message)
	}
	return p.Message
}

// ValidationError carries every problem found, so that the operator fixes
// the file in one pass instead of one error per run. errors.As converts it
// to an *errs.Error with code errs.Invalid; errors.As can also reach each
// Problem.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.As and errors.Is.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// As lets errors.As(err, &errsErr) and errs.CodeOf see an Invalid error,
// which the HTTP layer maps to 400 and the CLI prints. With one problem the
// field is set; with several the message lists them all.
func (e *ValidationError) As(target any) bool {
	t, ok := target.(**errs.Error)
	if !ok {
		return false
	}
	if len(e.Problems) == 1 && e.Problems[0].File == "" {
		*t = errs.InvalidField(e.Problems[0].Path, "%s", e.Problems[0].Message)
		return true
	}
	*t = errs.E(errs.Invalid, "%s", e.Error())
	return true
}

// Validate checks a directory built or edited through the API with the same
// rules as ParseYAML, without positions. It does not modify d; comparisons of
// emails ignore case, as Normalize would make them equal anyway.
func (d *Directory) Validate() error {
	ps := d.check(nil)
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// slug is the shape of a group name: it appears in URLs and in the CLI.
var slug = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// checker gathers problems. where, when set, turns a path into "line 4" so
// that a duplicate can say where the first one is; otherwise the path is used.
type checker struct {
	problems []Problem
	where    func(path string) string
	// zones remembers each time zone name's verdict: LoadLocation reads
	// and parses the zone's file on every call, and a company's people
	// share a handful of zones (100,000 calls were a third of a large
	// file's load time and most of its garbage).
	zones map[string]bool
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) at(path string) string {
	if c.where != nil {
		if w := c.where(path); w != "" {
			return w
		}
	}
	return path
}

// check returns every semantic problem in d. It never stops at the first.
func (d *Directory) check(where func(path string) string) []Problem {
	c := &checker{where: where}

	if strings.TrimSpace(d.Organization) == "" {
		c.add("organization", "organization is required: the name of the company, used in email footers")
	}
	c.line("organization", d.Organization)
	c.language("language", d.Language)

	people := make(map[string]int, len(d.People)) // lower-case email → index of first person with it
	handles := map[string]string{}
	logins := map[string]string{}
	for i, p := range d.People {
		path := fmt.Sprintf("people[%d]", i)
		email := normalizeEmail(p.Email)
		switch {
		case email == "":
			c.add(path+".email", "person %q has no email", p.Name)
		case !validEmail(p.Email):
			c.add(path+".email", "person %q: %q is not a valid email address (want a bare address such as alice@example.org)", p.Name, p.Email)
		default:
			if first, dup := people[email]; dup {
				c.add(path+".email", "person %s is listed twice (first %s)", email, c.at(fmt.Sprintf("people[%d].email", first)))
			} else {
				people[email] = i
			}
		}
		if strings.TrimSpace(p.Name) == "" {
			c.add(path+".name", "person %s has no name", email)
		}
		c.personText(path+".", p)
		c.zone(path+".time_zone", p.TimeZone)
		c.language(path+".language", p.Language)
		seenRole := map[string]bool{}
		for j, r := range p.Roles {
			rp := fmt.Sprintf("%s.roles[%d]", path, j)
			switch {
			case !slices.Contains(KnownRoles, r):
				c.add(rp, "unknown role %q%s; roles are %s", r, suggest(r, KnownRoles), strings.Join(KnownRoles, ", "))
			case seenRole[r]:
				c.add(rp, "role %q is given twice", r)
			}
			seenRole[r] = true
		}
		if p.GitHub != "" {
			gp, key := path+".github", strings.ToLower(p.GitHub)
			switch {
			case !validGitHubLogin(p.GitHub):
				c.add(gp, "github %q is not a GitHub login (letters, digits and single hyphens, at most 39, without @)", p.GitHub)
			case logins[key] != "":
				c.add(gp, "github login %s is already given %s", p.GitHub, c.at(logins[key]))
			default:
				logins[key] = gp
			}
		}
		for j, h := range p.Handles {
			hp := fmt.Sprintf("%s.handles[%d]", path, j)
			key := strings.ToLower(h)
			switch {
			case !strings.HasPrefix(h, "@") || len(h) < 2 || strings.ContainsAny(h, " \t\r\n"):
				c.add(hp, "handle %q must be @ followed by the name, without spaces", h)
			case handles[key] != "":
				c.add(hp, "handle %s is already given %s", h, c.at(handles[key]))
			default:
				handles[key] = hp
			}
		}
	}

	groups := map[string]int{}
	for i, g := range d.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		switch {
		case g.Name == "":
			c.add(path+".name", "group has no name")
		case !slug.MatchString(g.Name):
			c.add(path+".name", "group name %q must be lower-case letters, digits and single hyphens, such as customer-service", g.Name)
		default:
			if first, dup := groups[g.Name]; dup {
				c.add(path+".name", "group %s is defined twice (first %s)", g.Name, c.at(fmt.Sprintf("groups[%d].name", first)))
			} else {
				groups[g.Name] = i
			}
		}
	}
	for i, g := range d.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		c.zone(path+".time_zone", g.TimeZone)
		c.language(path+".language", g.Language)
		c.groupText(path+".", g)
		seen := make(map[string]bool, len(g.Members))
		for j, m := range g.Members {
			// The path only for a problem: a large group has 100,000 members.
			mp := func() string { return fmt.Sprintf("%s.members[%d]", path, j) }
			email := normalizeEmail(m)
			switch {
			case email == "":
				c.add(mp(), "group %s: empty member", g.Name)
			case seen[email]:
				c.add(mp(), "group %s: %s is a member twice", g.Name, email)
			case !hasKey(people, email):
				c.add(mp(), "group %s: member %s is not a person in this directory (add them under people)", g.Name, m)
			}
			seen[email] = true
		}
		seenGroup := map[string]bool{}
		for j, n := range g.Groups {
			np := fmt.Sprintf("%s.groups[%d]", path, j)
			switch {
			case seenGroup[n]:
				c.add(np, "group %s: nested group %s is given twice", g.Name, n)
			case !hasKey(groups, n):
				c.add(np, "group %s: nested group %q does not exist%s", g.Name, n, suggest(n, mapKeys(groups)))
			}
			seenGroup[n] = true
		}
	}
	c.cycles(d.Groups, groups)

	systems := map[string]int{}
	for i, e := range d.Escalations {
		path := fmt.Sprintf("escalations[%d]", i)
		key := strings.ToLower(strings.TrimSpace(e.System))
		switch {
		case key == "":
			c.add(path+".system", "escalation has no system")
		default:
			if first, dup := systems[key]; dup {
				c.add(path+".system", "system %s has two escalation lists (first %s)", e.System, c.at(fmt.Sprintf("escalations[%d].system", first)))
			} else {
				systems[key] = i
			}
		}
		c.escalationText(path+".", e)
		if len(e.Responders) == 0 {
			c.add(path+".responders", "system %s has no responders", e.System)
		}
		seen := map[string]bool{}
		for j, r := range e.Responders {
			rp := fmt.Sprintf("%s.responders[%d]", path, j)
			email := normalizeEmail(r)
			switch {
			case seen[email]:
				c.add(rp, "system %s: responder %s is listed twice", e.System, email)
			case !hasKey(people, email):
				c.add(rp, "system %s: responder %s is not a person in this directory", e.System, r)
			}
			seen[email] = true
		}
		if e.Backup != "" && !hasKey(people, normalizeEmail(e.Backup)) {
			c.add(path+".backup", "system %s: backup %s is not a person in this directory", e.System, e.Backup)
		}
		for j, g := range e.Notify {
			if _, ok := groups[g]; !ok {
				c.add(fmt.Sprintf("%s.notify[%d]", path, j), "system %s: notify group %s is not a group in this directory", e.System, g)
			}
		}
	}

	for _, kind := range mapKeys(d.Audiences) {
		path := "audiences." + kind
		if !slices.Contains(AudienceKinds, kind) {
			c.add(path, "unknown message kind %q%s; kinds are %s", kind, suggest(kind, AudienceKinds), strings.Join(AudienceKinds, ", "))
			continue
		}
		seen := map[string]bool{}
		for j, n := range d.Audiences[kind] {
			np := fmt.Sprintf("%s[%d]", path, j)
			switch {
			case seen[n]:
				c.add(np, "audience %s: group %s is given twice", kind, n)
			case !hasKey(groups, n):
				c.add(np, "audience %s: group %q does not exist%s", kind, n, suggest(n, mapKeys(groups)))
			}
			seen[n] = true
		}
	}
	return c.problems
}

// Names end up in email headers (the From and To display names, List-Id)
// and descriptions in email bodies: they pass the same text check as an
// incident title, so that a group accepted here never makes every
// delivery to it fail later.
const (
	maxNameBytes        = 200
	maxDescriptionBytes = 5000
)

func (c *checker) personText(prefix string, p Person) {
	c.line(prefix+"name", p.Name)
	c.line(prefix+"team", p.Team)
}

func (c *checker) groupText(prefix string, g Group) {
	c.line(prefix+"display_name", g.DisplayName)
	c.text(prefix+"description", errs.CheckBlock("", g.Description, maxDescriptionBytes, false))
}

func (c *checker) escalationText(prefix string, e Escalation) {
	c.line(prefix+"system", e.System)
	c.line(prefix+"team", e.Team)
}

func (c *checker) line(path, s string) { c.text(path, errs.CheckLine("", s, maxNameBytes, false)) }

func (c *checker) text(path string, err error) {
	var e *errs.Error
	if errors.As(err, &e) {
		// The last part of the path names the field for the YAML's
		// "file:line:col: message" form, which shows no path.
		c.add(path, "%s %s", path[strings.LastIndexByte(path, '.')+1:], e.Message)
	}
}

// checkText checks the text fields of one entity sent to the API, with
// paths relative to the request body ("display_name").
func checkText(fn func(c *checker)) error {
	c := &checker{}
	fn(c)
	if len(c.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: c.problems}
}

// cycles reports each cycle among nested groups once, at the nesting that
// closes it, naming the whole loop ("all -> engineering -> all"): a cycle
// would make a group contain itself, which has no meaning for a mailing.
func (c *checker) cycles(gs []Group, index map[string]int) {
	const (
		white = iota
		grey  // on the current path
		black // done
	)
	colour := make([]int, len(gs))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		colour[i] = grey
		stack = append(stack, i)
		for j, n := range gs[i].Groups {
			k, ok := index[n]
			if !ok {
				continue // reported as unknown
			}
			switch colour[k] {
			case white:
				visit(k)
			case grey:
				start := slices.Index(stack, k)
				names := make([]string, 0, len(stack)-start+1)
				for _, s := range stack[start:] {
					names = append(names, gs[s].Name)
				}
				names = append(names, gs[k].Name)
				c.add(fmt.Sprintf("groups[%d].groups[%d]", i, j), "groups nest in a cycle: %s", strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		colour[i] = black
	}
	for i, g := range gs {
		// Only the first definition of a duplicated name takes part; the
		// duplicate is reported on its own.
		if k, ok := index[g.Name]; ok && k == i && colour[i] == white {
			visit(i)
		}
	}
}

// zone checks an IANA time zone name. "Local" and "UTC" resolve without the
// database, but "Local" means the server's zone, which says nothing about
// where a person is.
func (c *checker) zone(path, name string) {
	if name == "" {
		return
	}
	if name == "Local" {
		c.add(path, "time zone Local is the server's zone; name the person's, such as Europe/London")
		return
	}
	ok, seen := c.zones[name]
	if !seen {
		_, err := time.LoadLocation(name)
		ok = err == nil
		if c.zones == nil {
			c.zones = map[string]bool{}
		}
		c.zones[name] = ok
	}
	if !ok {
		c.add(path, "unknown time zone %q (want an IANA name such as America/New_York)", name)
	}
}

// validEmail accepts a bare RFC 5322 addr-spec (3.4.1), not a display-name
// form: "Alice <alice@x>" in a members list is almost always a paste mistake.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) {
		return false
	}
	at := strings.LastIndexByte(a.Address, '@')
	return at > 0 && at < len(a.Address)-1
}

// suggest returns ` (did you mean "x"?)` when one of the options is within
// two edits of s, for the typos this file mostly suffers from.
func suggest(s string, options []string) string {
	best, bestD := "", 3
	for _, o := range options {
		if d := editDistance(strings.ToLower(s), o); d < bestD {
			best, bestD = o, d
		}
	}
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, on bytes; names here are ASCII.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // not a typo of a short name, and keeps the cost bounded
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out) // deterministic suggestions
	return out
}

// validGitHubLogin: GitHub's rule for user names: 1 to 39 letters, digits
// and hyphens, no hyphen first, last or twice in a row.
func validGitHubLogin(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
