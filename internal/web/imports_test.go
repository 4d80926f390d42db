package web_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBaseImportsNoHandlers: the base is imported by the API and the UI,
// never the other way, and it imports no domain package, so that
// cmd/sitrep → ui → domain is as short as if there were no base.
func TestBaseImportsNoHandlers(t *testing.T) {
	t.Parallel()
	allowed := map[string]bool{"internal/auth": true, "internal/errs": true, "internal/store": true}
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
			own, ok := strings.CutPrefix(path, "github.com/sitrep-dev/sitrep/")
			if ok && !allowed[own] {
				t.Errorf("%s imports %s; the base may import only %v", fn, path, allowed)
			}
		}
	}
}
