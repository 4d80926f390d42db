package slackfake

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// spec.json is an extract of Slack's published OpenAPI 2 description of
// the Web API (github.com/slackapi/slack-api-specs,
// web-api/slack_web_openapi_v2_without_examples.json; the commit is in
// its x-source): the paths of Methods and the definitions they refer to,
// made by TestSpecExtract. The fake checks every request against it and
// every answer it gives.
//
//go:embed spec.json
var specJSON []byte

// Methods are the Web API methods sitrep calls: the only ones the fake
// answers.
var Methods = []string{"auth.test", "chat.postMessage", "chat.update", "conversations.history", "conversations.replies"}

type extract struct {
	Source struct {
		Repository string `json:"repository"`
		File       string `json:"file"`
		Commit     string `json:"commit"`
		Note       string `json:"note"`
	} `json:"x-source"`
	Host        string                     `json:"host"`
	BasePath    string                     `json:"basePath"`
	Paths       map[string]json.RawMessage `json:"paths"`
	Definitions map[string]json.RawMessage `json:"definitions"`
}

// operation is one method as the description has it.
type operation struct {
	httpMethod string // GET or POST
	consumes   []string
	params     map[string]param
	scopes     []string // any one of them will do
	success    any      // the schema of the 200 answer
	failure    any      // the schema of an error answer
}

type param struct {
	in       string // header, query, formData
	typ      string // string, boolean, number, integer
	required bool
}

type spec struct {
	basePath string
	ops      map[string]*operation // by method name: "chat.postMessage"
	defs     map[string]any
}

func loadSpec() (*spec, error) {
	var x extract
	if err := json.Unmarshal(specJSON, &x); err != nil {
		return nil, fmt.Errorf("slackfake: spec.json: %w", err)
	}
	s := &spec{basePath: x.BasePath, ops: map[string]*operation{}, defs: map[string]any{}}
	for name, raw := range x.Definitions {
		var d any
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("slackfake: definition %s: %w", name, err)
		}
		s.defs[name] = d
	}
	for p, raw := range x.Paths {
		var byMethod map[string]struct {
			Consumes   []string `json:"consumes"`
			Parameters []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Type     string `json:"type"`
				Required bool   `json:"required"`
			} `json:"parameters"`
			Security  []map[string][]string `json:"security"`
			Responses map[string]struct {
				Schema any `json:"schema"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(raw, &byMethod); err != nil {
			return nil, fmt.Errorf("slackfake: path %s: %w", p, err)
		}
		if len(byMethod) != 1 {
			return nil, fmt.Errorf("slackfake: path %s: %d HTTP methods; the fake knows one", p, len(byMethod))
		}
		for m, o := range byMethod {
			op := &operation{httpMethod: strings.ToUpper(m), consumes: o.Consumes, params: map[string]param{},
				success: o.Responses["200"].Schema, failure: o.Responses["default"].Schema}
			for _, prm := range o.Parameters {
				op.params[prm.Name] = param{in: prm.In, typ: prm.Type, required: prm.Required}
			}
			for _, sec := range o.Security {
				op.scopes = append(op.scopes, sec["slackAuth"]...)
			}
			s.ops[path.Base(p)] = op
		}
	}
	return s, nil
}

// validate checks v against a JSON schema of the description (the subset
// it uses: $ref, type, enum, pattern, properties, required,
// additionalProperties, items) and returns what does not fit. Two of the
// description's habits are read as Slack's answers show them: "items" as a
// list is "one of these", and minItems is not checked (Slack answers an
// empty "messages" for an empty channel).
func (s *spec) validate(schema any, v any, at string) []string {
	sc, ok := schema.(map[string]any)
	if !ok {
		return nil
	}
	if ref, ok := sc["$ref"].(string); ok {
		return s.validate(s.defs[path.Base(ref)], v, at)
	}
	if alts, ok := sc["items"].([]any); ok && sc["type"] == nil {
		return s.oneOf(alts, v, at)
	}
	var bad []string
	if typ, ok := sc["type"].(string); ok && !hasType(v, typ) {
		return []string{fmt.Sprintf("%s: %s, want %s", at, kind(v), typ)}
	}
	if enum, ok := sc["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if e == v {
				found = true
			}
		}
		if !found {
			bad = append(bad, fmt.Sprintf("%s: %v not one of %v", at, v, enum))
		}
	}
	if pat, ok := sc["pattern"].(string); ok {
		if str, ok := v.(string); ok && !regexp.MustCompile(pat).MatchString(str) {
			bad = append(bad, fmt.Sprintf("%s: %q does not match %s", at, str, pat))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := sc["properties"].(map[string]any)
		req, _ := sc["required"].([]any)
		for _, r := range req {
			if _, ok := v[r.(string)]; !ok {
				bad = append(bad, fmt.Sprintf("%s: %s missing", at, r))
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				bad = append(bad, s.validate(p, v[k], at+"."+k)...)
			} else if sc["additionalProperties"] == false {
				bad = append(bad, fmt.Sprintf("%s: %s is not in the description", at, k))
			}
		}
	case []any:
		switch items := sc["items"].(type) {
		case map[string]any:
			for i, x := range v {
				bad = append(bad, s.validate(items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		case []any:
			for i, x := range v {
				bad = append(bad, s.oneOf(items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return bad
}

func (s *spec) oneOf(alts []any, v any, at string) []string {
	var first []string
	for i, a := range alts {
		bad := s.validate(a, v, at)
		if len(bad) == 0 {
			return nil
		}
		if i == 0 {
			first = bad
		}
	}
	return first
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "number":
		_, ok := v.(float64)
		return ok
	case "null":
		return v == nil
	}
	return true
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
