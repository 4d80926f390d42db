package api_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openAPISchemas is components.schemas of openapi.yaml.
func openAPISchemas(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// undocumented lists the keys of v that schema does not document, by path;
// schema is followed through $ref and allOf, into objects and arrays.
func undocumented(schemas map[string]any, schema map[string]any, v any, path string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		next, _ := schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return undocumented(schemas, next, v, path)
	}
	switch x := v.(type) {
	case map[string]any:
		props := map[string]any{}
		var collect func(s map[string]any)
		collect = func(s map[string]any) {
			if ref, ok := s["$ref"].(string); ok {
				next, _ := schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
				collect(next)
			}
			if p, ok := s["properties"].(map[string]any); ok {
				for k, v := range p {
					props[k] = v
				}
			}
			if all, ok := s["allOf"].([]any); ok {
				for _, a := range all {
					if m, ok := a.(map[string]any); ok {
						collect(m)
					}
				}
			}
		}
		collect(schema)
		if len(props) == 0 {
			return nil // a free-form object
		}
		var out []string
		for k, val := range x {
			p, ok := props[k].(map[string]any)
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, undocumented(schemas, p, val, path+"."+k)...)
		}
		sort.Strings(out)
		return out
	case []any:
		items, _ := schema["items"].(map[string]any)
		var out []string
		for _, item := range x {
			out = append(out, undocumented(schemas, items, item, path+"[]")...)
		}
		return out
	}
	return nil
}

// TestDirectoryLanguageInAPI: people and groups carry their language, the
// groups' recipients their resolved one, and every key of the answers is
// in the OpenAPI document.
func TestDirectoryLanguageInAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	status, out := a.call(t, a.admin, "PUT", "/api/v1/people/eve@x.test", `{"name":"Eve","language":"de-at","time_zone":"Europe/Vienna"}`)
	if status != 200 || out["language"] != "de-AT" {
		t.Fatalf("put person: %d %v (want the canonical de-AT)", status, out)
	}
	status, out = a.call(t, a.admin, "PUT", "/api/v1/groups/dach", `{"display_name":"DACH","language":"de","members":["eve@x.test"]}`)
	if status != 200 || out["language"] != "de" {
		t.Fatalf("put group: %d %v", status, out)
	}
	status, out = a.call(t, a.admin, "PUT", "/api/v1/people/pia@x.test", `{"name":"Pia","language":"pt-BR"}`)
	if code, _ := errCode(out); status != 400 || code != "invalid" || !strings.Contains(out["error"].(map[string]any)["message"].(string), `unknown language "pt-BR"`) {
		t.Errorf("an unknown language must be refused: %d %v", status, out)
	}

	schemas := openAPISchemas(t)
	object := func(props map[string]any) map[string]any {
		return map[string]any{"type": "object", "properties": props}
	}
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	arrayOf := func(s map[string]any) map[string]any { return map[string]any{"type": "array", "items": s} }
	for _, c := range []struct {
		path   string
		schema map[string]any
	}{
		{"/api/v1/people", object(map[string]any{"people": arrayOf(ref("Person"))})},
		{"/api/v1/groups", object(map[string]any{"groups": arrayOf(ref("GroupView")), "organization": map[string]any{}, "language": map[string]any{}, "example": map[string]any{}})},
		{"/api/v1/groups/dach", ref("GroupView")},
		{"/api/v1/directory", ref("Directory")},
	} {
		status, out := a.call(t, a.view, "GET", c.path, "")
		if status != 200 {
			t.Fatalf("%s: %d %v", c.path, status, out)
		}
		if bad := undocumented(schemas, c.schema, out, ""); len(bad) > 0 {
			t.Errorf("%s answers keys openapi.yaml does not document: %v", c.path, bad)
		}
		if _, ok := out["language"]; !ok && c.path != "/api/v1/people" {
			t.Errorf("%s: no language in %v", c.path, out)
		}
	}
	_, out = a.call(t, a.view, "GET", "/api/v1/people", "")
	langs := map[string]any{}
	for _, p := range out["people"].([]any) {
		m := p.(map[string]any)
		langs[m["email"].(string)] = m["language"]
	}
	if langs["eve@x.test"] != "de-AT" || langs["ann@x.test"] != "" {
		t.Errorf("people's languages = %v", langs)
	}
	_, out = a.call(t, a.view, "GET", "/api/v1/groups/dach", "")
	rec := out["recipients"].([]any)
	if len(rec) != 1 || rec[0].(map[string]any)["language"] != "de-AT" {
		t.Errorf("dach's recipients = %v, want Eve with her own de-AT", rec)
	}
}
