package linearfake

import (
	_ "embed"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

//go:embed schema/linear-excerpt.graphql
var schemaText string

// LoadSchema parses the embedded excerpt of Linear's schema.
func LoadSchema() (*ast.Schema, error) {
	return gqlparser.LoadSchema(&ast.Source{Name: "linear-excerpt.graphql", Input: schemaText})
}
