package api_test

import (
	"context"
	"fmt"
	"testing"

	"net/http/httptest"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/api"
)

// Subscriptions through the API: one's own, or anyone's for an admin;
// bad input answers 400 with nothing stored; someone else's subscription
// cannot be listed or removed.
func TestSubscriptions(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ctx := context.Background()
	// Routes are registered when the handler is built: a server of its own.
	tokens := &auth.Tokens{DB: a.db}
	base := &web.Server{Tokens: tokens, MaxBodyBytes: 4096}
	srv := httptest.NewServer(base.Handler(&api.Server{Server: base, Incidents: a.incidents, Directory: a.server.Directory,
		Subscriptions: &subscription.Service{DB: a.db, Directory: a.server.Directory, Incidents: a.incidents}}))
	t.Cleanup(srv.Close)
	a.srv = srv
	ann, _, err := tokens.Create(ctx, "ann@x.test", auth.Lead)
	if err != nil {
		t.Fatal(err)
	}
	vp, _, err := tokens.Create(ctx, "vp@x.test", auth.Lead)
	if err != nil {
		t.Fatal(err)
	}

	status, out := a.call(t, ann, "POST", "/api/v1/subscriptions", `{"kind":"system","target":"checkout"}`)
	sub, _ := out["subscription"].(map[string]any)
	if status != 201 || out["pending"] != false || sub["email"] != "ann@x.test" || sub["confirmed"] != true {
		t.Fatalf("subscribe oneself: %d %v", status, out)
	}
	id := int64(sub["id"].(float64))

	for _, c := range []struct{ name, token, body, field string }{
		{"unknown system", ann, `{"kind":"system","target":"billing"}`, "target"},
		{"unknown kind", ann, `{"kind":"everything"}`, "kind"},
		{"unknown incident", ann, `{"kind":"incident","target":"INC-77"}`, "target"},
		{"outside the directory", a.admin, `{"email":"x@evil.test","kind":"all"}`, "email"},
	} {
		status, out := a.call(t, c.token, "POST", "/api/v1/subscriptions", c.body)
		if code, field := errCode(out); status != 400 || code != "invalid" || field != c.field {
			t.Errorf("%s: %d %v, want 400 invalid %s", c.name, status, out, c.field)
		}
	}

	status, out = a.call(t, ann, "GET", "/api/v1/subscriptions", "")
	if list, _ := out["subscriptions"].([]any); status != 200 || len(list) != 1 {
		t.Fatalf("ann's list: %d %v", status, out)
	}
	if status, _ := a.call(t, ann, "GET", "/api/v1/subscriptions?email=vp@x.test", ""); status != 403 {
		t.Errorf("ann lists vp's: %d, want 403", status)
	}
	if status, _ := a.call(t, a.view, "GET", "/api/v1/subscriptions", ""); status != 403 {
		t.Errorf("a token that names no address lists: %d, want 403", status)
	}
	if status, _ := a.call(t, a.view, "POST", "/api/v1/subscriptions", `{"email":"ann@x.test","kind":"all"}`); status != 403 {
		t.Errorf("a viewer's token subscribes: %d, want 403 (viewer tokens are read only)", status)
	}
	status, out = a.call(t, a.admin, "POST", "/api/v1/subscriptions", `{"email":"vp@x.test","kind":"all"}`)
	if status != 201 {
		t.Fatalf("admin subscribes vp: %d %v", status, out)
	}
	status, out = a.call(t, a.admin, "GET", "/api/v1/subscriptions", "")
	if list, _ := out["subscriptions"].([]any); status != 200 || len(list) != 2 {
		t.Fatalf("admin's list: %d %v", status, out)
	}

	path := fmt.Sprintf("/api/v1/subscriptions/%d", id)
	if status, _ := a.call(t, vp, "DELETE", path, ""); status != 404 {
		t.Errorf("vp removes ann's: %d, want 404", status)
	}
	if status, out := a.call(t, ann, "GET", "/api/v1/subscriptions", ""); status != 200 || len(out["subscriptions"].([]any)) != 1 {
		t.Fatalf("ann's subscription after vp's attempt: %v", out)
	}
	if status, _ := a.call(t, ann, "DELETE", path, ""); status != 204 {
		t.Fatalf("ann removes hers: %d", status)
	}
	if _, out := a.call(t, ann, "GET", "/api/v1/subscriptions", ""); len(out["subscriptions"].([]any)) != 0 {
		t.Fatalf("still subscribed: %v", out)
	}
}
