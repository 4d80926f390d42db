package linearfake

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The excerpt is made from Linear's published GraphQL schema,
// packages/sdk/src/schema.graphql in github.com/linear/linear. To make it
// again after Linear changes it:
//
//	git -C linear show HEAD:packages/sdk/src/schema.graphql > /tmp/schema.graphql
//	LINEAR_SCHEMA_COMMIT=$(git -C linear rev-parse HEAD) \
//	  go test ./internal/backlog/linearfake -run TestExcerpt -schema /tmp/schema.graphql -update
//
// Without -update (and with -schema, or LINEAR_SCHEMA naming the file)
// the test fails when the committed excerpt says something other than
// what the full schema gives.
var (
	update     = flag.Bool("update", false, "rewrite schema/linear-excerpt.graphql from the -schema file")
	fullSchema = flag.String("schema", os.Getenv("LINEAR_SCHEMA"), "path of linear/linear's packages/sdk/src/schema.graphql")
)

const excerptPath = "schema/linear-excerpt.graphql"

// keep is what the excerpt holds: each type sitrep's queries reach, with
// the fields they select (nil: every field), and for a field the
// arguments kept ("issues(after,filter)"; no parentheses: all). A type
// reached but not listed is an error, except scalars and enums, kept
// whole.
var keep = map[string][]string{
	"Query": {"issues(after,filter,first,includeArchived,orderBy)", "users(filter,first)", "teams(filter,first)",
		"issueLabels(filter,first)", "viewer", "workflowStates(filter,first)"},
	"Mutation":                {"issueCreate", "issueUpdate"},
	"IssuePayload":            {"success", "issue", "lastSyncId"},
	"IssueConnection":         {"nodes", "pageInfo"},
	"PageInfo":                {"hasNextPage", "endCursor"},
	"Issue":                   {"id", "identifier", "url", "title", "description", "createdAt", "updatedAt", "dueDate", "state", "team", "assignee", "archivedAt"},
	"WorkflowState":           {"id", "name", "type", "team"},
	"WorkflowStateConnection": {"nodes"},
	"Team":                    {"id", "key", "name"},
	"TeamConnection":          {"nodes"},
	"User":                    {"id", "name", "email", "active"},
	"UserConnection":          {"nodes"},
	"IssueLabel":              {"id", "name", "team"},
	"IssueLabelConnection":    {"nodes"},
	"IssueFilter":             {"id", "updatedAt", "team"},
	"TeamFilter":              {"id", "key"},
	"UserFilter":              {"email"},
	"IssueLabelFilter":        {"name"},
	"WorkflowStateFilter":     {"type", "team"},
	"IssueCreateInput":        nil,
	"IssueUpdateInput":        nil,
	"IssueIDComparator":       nil,
	"IDComparator":            nil,
	"DateComparator":          nil,
	"StringComparator":        nil,
}

func makeExcerpt(full, commit string) (string, error) {
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: full})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# An excerpt of Linear's GraphQL schema: the types and fields sitrep's backlog\n")
	fmt.Fprintf(&b, "# client uses, as the schema declares them (descriptions, directives and\n")
	fmt.Fprintf(&b, "# interfaces left out). Source: github.com/linear/linear,\n")
	fmt.Fprintf(&b, "# packages/sdk/src/schema.graphql at commit %s.\n", commit)
	fmt.Fprintf(&b, "# Made by makeExcerpt (linearfake/excerpt_test.go); compare with TestExcerpt -schema FILE.\n")
	done := map[string]bool{}
	var queue []string
	for name := range keep {
		queue = append(queue, name)
	}
	var names []string
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if done[name] {
			continue
		}
		def := schema.Types[name]
		if def == nil {
			return "", fmt.Errorf("no type %s in the schema", name)
		}
		if def.BuiltIn {
			continue
		}
		done[name] = true
		names = append(names, name)
		fields, listed := keep[name]
		switch def.Kind {
		case ast.Scalar, ast.Enum:
		case ast.Object, ast.InputObject:
			if !listed {
				return "", fmt.Errorf("%s (%s) is reached but not listed in keep", name, def.Kind)
			}
			for _, f := range def.Fields {
				args, ok := keptField(fields, f.Name)
				if !ok {
					continue
				}
				queue = append(queue, f.Type.Name())
				for _, a := range f.Arguments {
					if args == nil || contains(args, a.Name) {
						queue = append(queue, a.Type.Name())
					}
				}
			}
		default:
			return "", fmt.Errorf("%s: the excerpt does not hold %s types", name, def.Kind)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		def := schema.Types[name]
		b.WriteString("\n")
		switch def.Kind {
		case ast.Scalar:
			fmt.Fprintf(&b, "scalar %s\n", name)
			continue
		case ast.Enum:
			fmt.Fprintf(&b, "enum %s {\n", name)
			for _, v := range def.EnumValues {
				fmt.Fprintf(&b, "  %s\n", v.Name)
			}
			b.WriteString("}\n")
			continue
		case ast.Object:
			fmt.Fprintf(&b, "type %s {\n", name)
		case ast.InputObject:
			fmt.Fprintf(&b, "input %s {\n", name)
		}
		for _, f := range def.Fields {
			args, ok := keptField(keep[name], f.Name)
			if !ok {
				continue
			}
			b.WriteString("  " + f.Name)
			var kept []string
			for _, a := range f.Arguments {
				if args == nil || contains(args, a.Name) {
					s := a.Name + ": " + a.Type.String()
					if a.DefaultValue != nil {
						s += " = " + a.DefaultValue.String()
					}
					kept = append(kept, s)
				}
			}
			if len(kept) > 0 {
				b.WriteString("(" + strings.Join(kept, ", ") + ")")
			}
			b.WriteString(": " + f.Type.String())
			if f.DefaultValue != nil {
				b.WriteString(" = " + f.DefaultValue.String())
			}
			b.WriteString("\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString("\nschema {\n  query: Query\n  mutation: Mutation\n}\n")
	return b.String(), nil
}

// keptField says whether field name is kept, and which of its arguments
// (nil: all).
func keptField(fields []string, name string) ([]string, bool) {
	if fields == nil {
		return nil, true
	}
	for _, f := range fields {
		n, args, hasArgs := strings.Cut(strings.TrimSuffix(f, ")"), "(")
		if n == name {
			if !hasArgs {
				return nil, true
			}
			return strings.Split(args, ","), true
		}
	}
	return nil, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExcerpt(t *testing.T) {
	committed, err := os.ReadFile(excerptPath)
	if err != nil && !*update {
		t.Fatal(err)
	}
	if _, err := LoadSchema(); err != nil && !*update {
		t.Fatal(err)
	}
	if *fullSchema == "" {
		// Not a skip: the committed excerpt loads (LoadSchema above), and
		// CI counts a skipped test as a failure.
		t.Log("no -schema (or LINEAR_SCHEMA): the excerpt is not compared with Linear's full schema")
		return
	}
	full, err := os.ReadFile(*fullSchema)
	if err != nil {
		t.Fatal(err)
	}
	commit := os.Getenv("LINEAR_SCHEMA_COMMIT")
	if commit == "" {
		// Compare what the schema says, not where it was read.
		commit = commitOf(string(committed))
	}
	made, err := makeExcerpt(string(full), commit)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(excerptPath, []byte(made), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if made != string(committed) {
		t.Errorf("%s differs from what %s gives: run with -update and review the difference", excerptPath, *fullSchema)
	}
}

func commitOf(excerpt string) string {
	_, rest, _ := strings.Cut(excerpt, "at commit ")
	c, _, _ := strings.Cut(rest, ".\n")
	return c
}
