package statuspage

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNeitherUINorAPI: the public page is served apart from the web
// UI and the API, and must not reach their handlers, sessions or
// templates; the UI imports this package, never the other way.
func TestImportsNeitherUINorAPI(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), fn, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/sitrep-dev/sitrep/internal/web/") {
				t.Errorf("%s imports %s: the status page package imports no other web package", fn, path)
			}
		}
	}
}
