package directory

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func TestParseYAMLExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../config/groups.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseYAML(data, "groups.yaml")
	if err != nil {
		t.Fatalf("the shipped example must be valid:\n%v", err)
	}
	if !d.Example || d.Organization != "Example Corp" {
		t.Errorf("Example = %v, Organization = %q; want true, Example Corp", d.Example, d.Organization)
	}
	if n := len(d.People); n < 25 || n > 35 {
		t.Errorf("example has %d people, want 25–35", n)
	}
	zones := map[string]bool{}
	for _, p := range d.People {
		if !strings.HasSuffix(p.Email, "@sitrep.example") {
			t.Errorf("%s: example addresses must be in the sandbox domain sitrep.example", p.Email)
		}
		if p.TimeZone != "" {
			zones[p.TimeZone] = true
		}
	}
	if len(zones) < 3 {
		t.Errorf("example spans %d time zones, want at least 3", len(zones))
	}
	if n := len(d.PeopleWithRole(RoleAdmin)); n != 1 {
		t.Errorf("%d admins, want 1", n)
	}
	comms := d.PeopleWithRole(RoleCommsLead)
	if len(comms) != 2 {
		t.Errorf("%d comms leads, want 2", len(comms))
	}
	if len(d.PeopleWithRole(RoleIncidentLead)) == 0 || len(d.PeopleWithRole(RoleFacilitator)) == 0 {
		t.Error("example needs incident leads and a facilitator")
	}
	// Names that are also English words, for the blameless lint to cope with.
	for _, first := range []string{"Will ", "Mark ", "Bill ", "Grace ", "Rose "} {
		found := false
		for _, p := range d.People {
			found = found || strings.HasPrefix(p.Name, first)
		}
		if !found {
			t.Errorf("no person named %q in the example", first)
		}
	}
	for _, sys := range []string{"checkout", "payments", "search", "auth", "database", "cdn"} {
		e, ok := d.Escalation(sys)
		if !ok || len(e.Responders) == 0 || e.Backup == "" {
			t.Errorf("escalation %s = %+v, %v; want responders and a backup", sys, e, ok)
		}
	}
	all, err := d.Expand("all")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(d.People) {
		t.Errorf("all expands to %d people, want every one of the %d", len(all), len(d.People))
	}
	for _, kind := range AudienceKinds {
		if _, err := d.Expand(d.Audience(kind)...); err != nil {
			t.Errorf("audience %s: %v", kind, err)
		}
	}
}

// pos is one expected problem: where it is and a piece of what it says.
type pos struct {
	line, col int
	says      string
}

func TestParseYAMLBroken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []pos
	}{
		{"cycle.yaml", []pos{
			{10, 19, "groups nest in a cycle: all -> engineering -> all"},
			{13, 9, "groups nest in a cycle: sre -> sre"},
		}},
		{"duplicate.yaml", []pos{
			{5, 12, "person alice@dup.example is listed twice (first at line 3)"},
			{11, 51, "bob@dup.example is a member twice"},
			{12, 11, "group legal is defined twice (first at line 10)"},
		}},
		{"unknown_member.yaml", []pos{
			{9, 9, "member dave@member.example is not a person"},
			{12, 40, "responder erin@member.example is not a person"},
			{13, 13, "backup frank@member.example is not a person"},
		}},
		{"unknown_key.yaml", []pos{
			{3, 5, `unknown key "emial" in person (did you mean "email"?)`},
			{3, 5, `person "Gina Ray" has no email`},
			{7, 5, `unknown key "memebers" in group (did you mean "members"?)`},
			{8, 1, `unknown key "escalation" in the file (did you mean "escalations"?)`},
		}},
		{"bad_zone.yaml", []pos{
			{5, 16, `unknown time zone "Europe/Londn"`},
			{8, 16, "time zone Local is the server's zone"},
			{11, 16, `unknown time zone "Mars/Olympus_Mons"`},
		}},
		{"many.yaml", []pos{
			{2, 10, "example must be true or false"},
			{4, 12, "is not a valid email address"},
			{6, 5, "person kim@many.example has no name"},
			{7, 13, `unknown role "comms_lead" (did you mean "comms-lead"?)`},
			{8, 15, `handle "kim" must be @`},
			{10, 11, `group name "Customer Service" must be lower-case`},
			{13, 14, `nested group "legall" does not exist`},
			{14, 14, "members must be a list"},
			{17, 18, "responder lou@many.example is not a person"},
			{18, 13, "system Checkout has two escalation lists (first at line 16)"},
			{19, 17, "system Checkout has no responders"},
			{21, 18, `audience status: group "marketing" does not exist`},
			{22, 3, `unknown message kind "statuss" (did you mean "status"?)`},
		}},
		{"control_text.yaml", []pos{
			{4, 11, "name contains U+001B (a control character) at character 4"},
			{7, 19, "display_name contains U+000D (a line break) at character 8"},
			{10, 19, "display_name contains U+0085 (a line break) at character 3"},
		}},
		{"syntax.yaml", []pos{
			{4, 0, "YAML syntax: found unexpected end of stream"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseYAML(data, tt.file)
			if d != nil {
				t.Errorf("got a directory from a broken file")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *ValidationError", err, err)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("errs.CodeOf = %q, want invalid", errs.CodeOf(err))
			}
			if len(ve.Problems) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ve.Problems), len(tt.want), err)
			}
			for i, w := range tt.want {
				if i >= len(ve.Problems) {
					break
				}
				p := ve.Problems[i]
				if p.File != tt.file || p.Line != w.line || p.Col != w.col || !strings.Contains(p.Message, w.says) {
					t.Errorf("problem %d = %s:%d:%d: %s\nwant      %s:%d:%d: …%s…", i, p.File, p.Line, p.Col, p.Message, tt.file, w.line, w.col, w.says)
				}
			}
			// One line per problem, each starting with file:line:col so editors can jump to it.
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(ve.Problems) {
				t.Errorf("Error() has %d lines for %d problems", len(lines), len(ve.Problems))
			}
			for i, l := range lines {
				if i < len(ve.Problems) && !strings.HasPrefix(l, ve.Problems[i].Error()) {
					t.Errorf("line %d = %q, want %q", i, l, ve.Problems[i].Error())
				}
			}
		})
	}
}

func TestProblemFormat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "g.yaml", Line: 3, Col: 7, Path: "people[0].email", Message: "bad"}, "g.yaml:3:7: bad"},
		{Problem{File: "g.yaml", Line: 3, Message: "YAML syntax: x"}, "g.yaml:3: YAML syntax: x"},
		{Problem{Path: "groups[1].name", Message: "bad"}, "groups[1].name: bad"},
	} {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseYAMLNormalisesEmails(t *testing.T) {
	t.Parallel()
	src := `organization: Case Inc
people:
  - email: Alice.Smith@Case.Example
    name: Alice Smith
groups:
  - name: exec
    members: [ALICE.smith@case.example]
escalations:
  - system: web
    responders: [alice.SMITH@case.example]
    backup: Alice.Smith@CASE.example
`
	d, err := ParseYAML([]byte(src), "case.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const want = "alice.smith@case.example"
	if d.People[0].Email != want || d.Groups[0].Members[0] != want ||
		d.Escalations[0].Responders[0] != want || d.Escalations[0].Backup != want {
		t.Errorf("emails not lower-cased: %+v", d)
	}
}

func TestParseYAMLEmptyAndWrongShape(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src string
		want      pos
	}{
		{"empty", "", pos{1, 1, "file is empty"}},
		{"comments only", "# nothing\n", pos{1, 1, "file is empty"}},
		{"list at top", "- a\n- b\n", pos{1, 1, "the file must be a mapping"}},
		{"people not a list", "organization: X\npeople: alice\n", pos{2, 9, "people must be a list"}},
		{"alias to a list", "organization: X\ngroups: &g []\nescalations: *g\n", pos{3, 14, "aliases to lists or mappings are not supported"}},
		{"duplicate key", "organization: X\norganization: Y\n", pos{2, 1, `key "organization" is given twice (first at line 1)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseYAML([]byte(tt.src), "f.yaml")
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			p := ve.Problems[0]
			if p.Line != tt.want.line || p.Col != tt.want.col || !strings.Contains(p.Message, tt.want.says) {
				t.Errorf("first problem = %s, want %d:%d …%s…\nall:\n%v", p.Error(), tt.want.line, tt.want.col, tt.want.says, err)
			}
		})
	}
}

func TestParseYAMLScalarAlias(t *testing.T) {
	t.Parallel()
	// An anchor on a scalar is harmless and sometimes handy for a shared zone.
	src := `organization: X
people:
  - email: a@x.example
    name: A
    time_zone: &tz Europe/Berlin
  - email: b@x.example
    name: B
    time_zone: *tz
`
	d, err := ParseYAML([]byte(src), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d.People[1].TimeZone != "Europe/Berlin" {
		t.Errorf("alias zone = %q", d.People[1].TimeZone)
	}
}

func TestParseYAMLAudiencesSaidEmpty(t *testing.T) {
	t.Parallel()
	src := "organization: X\ngroups:\n  - name: product\naudiences:\n  postmortem: []\n"
	d, err := ParseYAML([]byte(src), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Audience(KindPostmortem); len(got) != 0 {
		t.Errorf("postmortem audience said empty in the file = %v, want none (not the default)", got)
	}
}

// parseDeadline is what one fuzz input may take in wall time: a large
// valid file parses in milliseconds; the margin is for a loaded machine.
const parseDeadline = 5 * time.Second

func FuzzParseYAML(f *testing.F) {
	for _, name := range []string{"../../config/groups.yaml", "testdata/cycle.yaml", "testdata/duplicate.yaml",
		"testdata/unknown_member.yaml", "testdata/unknown_key.yaml", "testdata/bad_zone.yaml",
		"testdata/many.yaml", "testdata/syntax.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("groups:\n  - name: a\n    groups: [a]\n"))
	f.Add([]byte("organization: X\nlanguage: de-AT\npeople:\n  - {email: a@b.c, name: A, language: pt-BR}\ngroups:\n  - {name: g, language: ja, members: [a@b.c]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d *Directory
		var err error
		done := make(chan struct{})
		go func() { defer close(done); d, err = ParseYAML(data, "fuzz.yaml") }()
		select {
		case <-done:
		case <-time.After(parseDeadline):
			t.Fatalf("ParseYAML took longer than %s on %d bytes", parseDeadline, len(data))
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || d != nil {
				t.Fatalf("err = %v (%T), d = %v; want a non-empty *ValidationError and no directory", err, err, d)
			}
			return
		}
		// What ParseYAML accepts, Validate accepts, and every group expands.
		if err := d.Validate(); err != nil {
			t.Fatalf("ParseYAML accepted what Validate rejects:\n%v", err)
		}
		for _, g := range d.Groups {
			if _, err := d.Expand(g.Name); err != nil {
				t.Fatalf("Expand(%s): %v", g.Name, err)
			}
		}
	})
}

// readWhole is the first reading done on the whole file, as before blocks.
func readWhole(data []byte) (*Directory, bool) {
	root, err := parseRoot(data, "f.yaml")
	if err != nil {
		return nil, true
	}
	p := &parser{file: "f.yaml"}
	d := &Directory{}
	p.directory(root, d)
	return d, len(p.problems) > 0
}

// blocksSeeds are files whose shape the block reading takes, and near
// misses it must leave to the whole reading or read the same.
var blocksSeeds = []string{
	"organization: X\npeople:\n  - email: a@b.c\n    name: A\n  - email: d@b.c\n    name: \"D, 'quoted'\" # c\ngroups:\n  - name: g\n    members: [a@b.c, d@b.c]\n",
	"organization: X\npeople:\n- email: a@b.c\n  name: A\n  roles: [comms-lead]\ngroups:\n- name: g\n  members:\n  - a@b.c\n",
	"organization: X\npeople:\n  - email: a@b.c\n    name: 'it''s\n      - me'\n",
	"organization: X\npeople:\n  - email: a@b.c\n    name: \"two\n  - lines\"\n",
	"organization: X\npeople:\n  - email: a@b.c\n    name: [A,\n  - B]\n",
	"organization: X\npeople:\n  - email: a@b.c\n    name: |\n      A\n  - email: b@b.c\n",
	"organization: X\npeople:\n  - &p {email: a@b.c, name: A}\ngroups:\n  - name: g\n    members: [*p]\n",
	"organization: X\npeople:\n  - email: a@b.c\n    name: Ann\n      Smith\n  - email: b@b.c\n    name: B\n",
	"organization: X\npeople: []\npeople:\n  - email: a@b.c\n",
	"organization: X\n---\npeople:\n  - email: a@b.c\n    name: A\n",
	"organization: X\npeople:\n  - email: a@b.c\n    name: A\n  extra: 1\n",
	"organization: X\r\npeople:\r\n  - email: a@b.c\r\n    name: A\r\n",
	"organization: X\npeople: # everyone\n\n  # the first\n  - email: a@b.c\n    name: A\naudiences:\n  status: []\n",
}

// TestBlocksReadTheShippedFile: the example organisation, the shape
// operators copy, is read in blocks, to the directory the whole reading
// gives.
func TestBlocksReadTheShippedFile(t *testing.T) {
	data, err := os.ReadFile("../../config/groups.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := &parser{file: "groups.yaml"}
	got := &Directory{}
	if !p.readInBlocks(data, got) {
		t.Fatalf("the shipped groups.yaml is not read in blocks: %v", p.problems)
	}
	want, problems := readWhole(data)
	if problems {
		t.Fatal("the shipped groups.yaml has problems")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("blocks and whole differ:\n%+v\n%+v", got, want)
	}
}

// TestBlocksOfManyItems: a list longer than a block is cut into several,
// every item read once and in order.
func TestBlocksOfManyItems(t *testing.T) {
	var b strings.Builder
	b.WriteString("organization: X\npeople:\n")
	n := 3*blockItems + 7
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - email: p%d@x.test\n    name: P %d\n", i, i)
		if i%500 == 0 {
			b.WriteString("  # a comment between items\n\n")
		}
	}
	b.WriteString("groups:\n  - name: all\n    members:\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "      - p%d@x.test\n", i)
	}
	data := []byte(b.String())
	p := &parser{file: "f.yaml"}
	got := &Directory{}
	if !p.readInBlocks(data, got) {
		t.Fatalf("not read in blocks: %v", p.problems)
	}
	want, _ := readWhole(data)
	if len(got.People) != n || !reflect.DeepEqual(got, want) {
		t.Fatalf("blocks read %d people (whole: %d), equal %v", len(got.People), len(want.People), reflect.DeepEqual(got, want))
	}
	if got.People[n-1].Email != fmt.Sprintf("p%d@x.test", n-1) || got.People[blockItems].Name != fmt.Sprintf("P %d", blockItems) {
		t.Fatalf("items out of place: %+v, %+v", got.People[n-1], got.People[blockItems])
	}
}

// FuzzBlocksMatchWhole: whenever the block reading takes a file without a
// problem, the whole reading finds no problem either and the same
// directory; so ParseYAML's result never depends on which one ran.
func FuzzBlocksMatchWhole(f *testing.F) {
	for _, s := range blocksSeeds {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("../../config/groups.yaml"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		var ok, wholeProblems bool
		var got, want *Directory
		orig := bytes.Clone(data)
		go func() {
			defer close(done)
			p := &parser{file: "f.yaml"}
			got = &Directory{}
			ok = p.readInBlocks(data, got)
			want, wholeProblems = readWhole(orig)
		}()
		select {
		case <-done:
		case <-time.After(parseDeadline):
			t.Fatalf("reading took longer than %s on %d bytes", parseDeadline, len(data))
		}
		if !bytes.Equal(data, orig) {
			t.Fatalf("the block reading changed the file's bytes:\n%q\n%q", orig, data)
		}
		if !ok {
			return // read whole, as before
		}
		if wholeProblems {
			t.Fatalf("blocks read without a problem what the whole reading finds a problem in:\n%q", data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("blocks and whole differ on\n%q:\n%+v\n%+v", data, got, want)
		}
	})
}
