package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/api"
)

const org = `organization: API Test
people:
  - email: vp@x.test
    name: Vera
    roles: [comms-lead]
  - email: ann@x.test
    name: Ann
groups:
  - name: exec
    members: [vp@x.test]
  - name: all
    members: [ann@x.test]
    groups: [exec]
escalations:
  - system: checkout
    responders: [ann@x.test]
  - system: login
    responders: [ann@x.test]
`

type apiEnv struct {
	server            *api.Server
	srv               *httptest.Server
	admin, lead, view string
	incidents         *incident.Service
	db                *store.DB
}

func newAPI(t *testing.T) *apiEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	tokens := &auth.Tokens{DB: db}
	a := &apiEnv{incidents: &incident.Service{DB: db, People: dir, KnownSystems: dir}, db: db}
	var err error
	for _, x := range []struct {
		dst  *string
		role auth.Role
	}{{&a.admin, auth.Admin}, {&a.lead, auth.Lead}, {&a.view, auth.Viewer}} {
		if *x.dst, _, err = tokens.Create(ctx, string(x.role), x.role); err != nil {
			t.Fatal(err)
		}
	}
	base := &web.Server{Tokens: tokens, MaxBodyBytes: 4096}
	groups := filepath.Join(t.TempDir(), "groups.yaml")
	if err := os.WriteFile(groups, []byte(org), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Server: base, Incidents: a.incidents, Directory: dir, Groups: &directory.FileSync{Store: dir, File: groups}}
	a.server = s
	a.srv = httptest.NewServer(base.Handler(s))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *apiEnv) call(t *testing.T, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func errCode(out map[string]any) (code, field string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

func TestDeclareShowAndTransition(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV1","scope":{"systems":["checkout"],"extent":"subset","segments":["region: EU"]},"roles":{"comms_lead":"vp@x.test"}}`)
	if status != 201 || out["id"] != "INC-1" || out["state"] != "investigating" {
		t.Fatalf("declare: %d %v", status, out)
	}
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/INC-1", "")
	if status != 200 || len(out["timeline"].([]any)) != 1 {
		t.Fatalf("show: %d %v", status, out)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/INC-1/transitions", `{"state":"closed"}`)
	if code, field := errCode(out); status != 409 || code != "conflict" || field != "state" {
		t.Fatalf("illegal transition: %d %v", status, out)
	}
	status, _ = a.call(t, a.lead, "POST", "/api/v1/incidents/INC-1/transitions", `{"state":"identified","note":"bad deploy"}`)
	if status != 200 {
		t.Fatalf("transition: %d", status)
	}
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents?active=true", "")
	if list := out["incidents"].([]any); status != 200 || len(list) != 1 {
		t.Fatalf("list: %d %v", status, out)
	}
}

func TestBadInputGetsTheErrorShapeAndChangesNothing(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	cases := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"unknown severity", `{"title":"x","severity":"SEV7"}`, 400, "invalid", "severity"},
		{"bad time", `{"title":"x","severity":"SEV2","first_failure_at":"yesterday"}`, 400, "invalid", ""},
		{"unknown lead", `{"title":"x","severity":"SEV2","roles":{"incident_lead":"who@x.test"}}`, 400, "invalid", "roles.incident_lead"},
		{"broken JSON", `{"title":`, 400, "invalid", ""},
		{"unknown field", `{"title":"x","severity":"SEV2","sevrity":"x"}`, 400, "invalid", ""},
		{"trailing data", `{"title":"x","severity":"SEV2"} {}`, 400, "invalid", ""},
		{"wrong type", `{"title":5,"severity":"SEV2"}`, 400, "invalid", "title"},
		{"oversized", `{"title":"` + strings.Repeat("x", 5000) + `","severity":"SEV2"}`, 413, "too_large", ""},
		{"header injection", `{"title":"x\r\nBcc: all@x.test","severity":"SEV2"}`, 400, "invalid", "title"},
		// Issue 17: a typo'd system declared an incident whose heads-up reached nobody.
		{"unknown system", `{"title":"x","severity":"SEV2","scope":{"systems":["logins"]}}`, 400, "invalid", "scope.systems"},
	}
	for _, c := range cases {
		status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", c.body)
		code, field := errCode(out)
		if status != c.status || code != c.code || (c.field != "" && field != c.field) {
			t.Errorf("%s: got %d %s %q, want %d %s %q (%v)", c.name, status, code, field, c.status, c.code, c.field, out)
		}
		if e, _ := out["error"].(map[string]any); e["message"] == "" {
			t.Errorf("%s: the error needs a message for people", c.name)
		} else if msg, _ := e["message"].(string); c.field == "scope.systems" && !strings.Contains(msg, "checkout, login") {
			t.Errorf("%s: the error must list the known systems: %s", c.name, msg)
		}
	}
	_, out := a.call(t, a.view, "GET", "/api/v1/incidents", "")
	if n := len(out["incidents"].([]any)); n != 0 {
		t.Fatalf("bad input created %d incidents", n)
	}
	if status, out := a.call(t, a.view, "GET", "/api/v1/incidents/INC-77", ""); status != 404 {
		t.Fatalf("unknown incident: %d %v", status, out)
	}
	if status, _ := a.call(t, a.view, "GET", "/api/v1/nowhere", ""); status != 404 {
		t.Fatalf("unknown route: %d", status)
	}
}

func TestAuthAndRoles(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	if status, out := a.call(t, "", "GET", "/api/v1/incidents", ""); status != 401 {
		t.Fatalf("no token: %d %v", status, out)
	}
	if status, _ := a.call(t, "sitrep_forged", "GET", "/api/v1/incidents", ""); status != 401 {
		t.Fatalf("bad token: %d", status)
	}
	if status, out := a.call(t, a.view, "POST", "/api/v1/incidents", `{"title":"x","severity":"SEV2"}`); status != 403 {
		t.Fatalf("a viewer may not declare: %d %v", status, out)
	}
	if status, _ := a.call(t, a.lead, "POST", "/api/v1/tokens", `{"name":"x","role":"admin"}`); status != 403 {
		t.Fatalf("a lead may not mint tokens: %d", status)
	}
	status, out := a.call(t, a.admin, "POST", "/api/v1/tokens", `{"name":"ci","role":"viewer"}`)
	if status != 201 || !strings.HasPrefix(out["token"].(string), "sitrep_") {
		t.Fatalf("admin token: %d %v", status, out)
	}
	if status, _ := a.call(t, out["token"].(string), "GET", "/api/v1/me", ""); status != 200 {
		t.Fatalf("new token: %d", status)
	}
}

func TestGroupsExpandNesting(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	status, out := a.call(t, a.view, "GET", "/api/v1/groups/all", "")
	if status != 200 || len(out["recipients"].([]any)) != 2 || out["source"] != "file" {
		t.Fatalf("group all: %d %v", status, out)
	}
	if status, _ := a.call(t, a.view, "GET", "/api/v1/groups/nope", ""); status != 404 {
		t.Fatalf("unknown group: %d", status)
	}
	if status, out := a.call(t, a.admin, "PUT", "/api/v1/groups/exec", `{"members":["ann@x.test"]}`); status != 409 {
		t.Fatalf("a group from groups.yaml is edited in the file: %d %v", status, out)
	}
	if status, out := a.call(t, a.admin, "PUT", "/api/v1/groups/oncall", `{"members":["ghost@x.test"]}`); status != 400 {
		t.Fatalf("unknown member: %d %v", status, out)
	}
	if status, out := a.call(t, a.admin, "PUT", "/api/v1/groups/oncall", `{"display_name":"On call","members":["ann@x.test"]}`); status != 200 {
		t.Fatalf("new group: %d %v", status, out)
	}
	if status, out := a.call(t, a.admin, "POST", "/api/v1/directory/sync", ""); status != 200 {
		t.Fatalf("sync: %d %v", status, out)
	}
}

func TestHealthMetricsAndOpenAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.yaml"} {
		resp, err := http.Get(a.srv.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/api/v1/openapi.yaml" && !bytes.Contains(body, []byte("/incidents/{ref}/transitions")) {
			t.Fatal("openapi must document the routes")
		}
	}
}

// Issue 17: declaring an incident with no incident lead and no backup
// says that an overdue update would reach nobody but the comms lead; with
// a lead it says nothing.
func TestDeclareWarnsWhenNobodyElseWouldHearOfAnOverdueUpdate(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.server.Comms = &incident.Comms{Directory: a.server.Directory}
	status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV2","roles":{"comms_lead":"vp@x.test"}}`)
	warnings, _ := out["warnings"].([]any)
	if status != 201 || len(warnings) != 1 || !strings.Contains(warnings[0].(string), "nobody but the comms lead") {
		t.Fatalf("declare without an incident lead: %d %v", status, out)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Search slow","severity":"SEV3","roles":{"comms_lead":"vp@x.test","incident_lead":"ann@x.test"}}`)
	if status != 201 || out["warnings"] != nil {
		t.Fatalf("declare with an incident lead: %d %v", status, out)
	}
}
