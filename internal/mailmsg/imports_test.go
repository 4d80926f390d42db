package mailmsg

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package stays pure and at the bottom of the import graph: besides
// the standard library it imports only the parsers it builds on and two
// leaf packages, and none of the standard library's ways to do I/O. A new
// import here is a design decision, not a convenience.
func TestImportsStayPure(t *testing.T) {
	t.Parallel()
	allowed := map[string]bool{
		"github.com/jhillyerd/enmime/v2":                true,
		"github.com/jhillyerd/enmime/v2/dsn":            true,
		"github.com/jhillyerd/enmime/v2/mediatype":      true,
		"golang.org/x/net/publicsuffix":                 true,
		"github.com/sitrep-dev/sitrep/internal/authres": true,
		"github.com/sitrep-dev/sitrep/internal/errs":    true,
	}
	// Standard packages (and all below them) that reach outside the
	// process, or log. net itself is listed alone: net/mail and
	// net/textproto are parsers.
	forbidden := []string{"os", "net/http", "net/smtp", "net/rpc", "crypto/tls", "database", "syscall", "log", "io/fs", "plugin", "unsafe"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			stdlib := !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
			switch {
			case stdlib && path != "net" && !isForbidden(path, forbidden):
			case allowed[path]:
			default:
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

func isForbidden(path string, forbidden []string) bool {
	for _, p := range forbidden {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}
