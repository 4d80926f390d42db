package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

// TestEveryAPIRouteNeedsAToken walks the router: every route refuses a
// request without a token (401) and, when it changes state, a viewer's
// token (403). A route added without auth fails this test.
func TestEveryAPIRouteNeedsAToken(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	routes := a.server.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered; the walk would prove little", len(routes))
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.NewReplacer("{ref}", "INC-1", "{name}", "exec", "{email}", "vp@x.test", "{system}", "db", "{id}", "1").Replace(path)
		if strings.Contains(path, "{") {
			t.Fatalf("route %s has a parameter the walk does not fill", r.Pattern)
		}
		if status, _ := a.call(t, "", method, path, "{}"); status != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", r.Pattern, status)
		}
		if method != http.MethodGet {
			if r.Role == auth.Viewer {
				t.Errorf("%s changes state but a viewer may call it", r.Pattern)
			}
			if status, _ := a.call(t, a.view, method, path, "{}"); status != http.StatusForbidden {
				t.Errorf("%s with a viewer's token: %d, want 403", r.Pattern, status)
			}
		}
	}
}
