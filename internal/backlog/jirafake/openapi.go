package jirafake

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/trackerfake"
)

// The excerpt of Jira Cloud's published OpenAPI document (swagger-v3.v3.json)
// the fake checks every request, and every answer it gives, against
// (excerpt_test.go makes it from the full document).
//
//go:embed openapi/jira-excerpt.json
var excerptJSON []byte

// Excerpt is the part of Jira's description sitrep uses.
type Excerpt struct {
	Source     map[string]string         `json:"source"`
	Operations []Operation               `json:"operations"`
	Schemas    map[string]map[string]any `json:"schemas"`
}

// Operation is one method on one path.
type Operation struct {
	Method      string                    `json:"method"`
	Path        string                    `json:"path"`
	OperationID string                    `json:"operationId"`
	Parameters  []Parameter               `json:"parameters"`
	RequestBody *RequestBody              `json:"requestBody,omitempty"`
	Responses   map[string]map[string]any `json:"responses"` // code: the JSON schema, or null
}

// Parameter is a path or query parameter.
type Parameter struct {
	Name     string         `json:"name"`
	In       string         `json:"in"`
	Required bool           `json:"required"`
	Schema   map[string]any `json:"schema"`
}

// RequestBody is an operation's JSON body.
type RequestBody struct {
	Required bool           `json:"required"`
	Schema   map[string]any `json:"schema"`
}

// LoadExcerpt reads the embedded excerpt.
func LoadExcerpt() (*Excerpt, error) {
	var e Excerpt
	dec := json.NewDecoder(bytes.NewReader(excerptJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("jirafake: excerpt: %w", err)
	}
	return &e, nil
}

func (e *Excerpt) operation(id string) *Operation {
	for i := range e.Operations {
		if e.Operations[i].OperationID == id {
			return &e.Operations[i]
		}
	}
	return nil
}

// match finds the operation for method and path, and the path's parameters.
func (e *Excerpt) match(method, path string) (*Operation, map[string]string) {
	for i := range e.Operations {
		op := &e.Operations[i]
		if !strings.EqualFold(op.Method, method) {
			continue
		}
		if vars, ok := trackerfake.MatchPath(op.Path, path); ok {
			return op, vars
		}
	}
	return nil, nil
}

// checkQuery checks the query against the operation's parameters: every
// name known, every value of its type; an array parameter takes
// comma-separated values, as Jira documents for fields and properties.
func (op *Operation) checkQuery(q map[string][]string) error {
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var p *Parameter
		for i := range op.Parameters {
			if op.Parameters[i].In == "query" && op.Parameters[i].Name == n {
				p = &op.Parameters[i]
			}
		}
		if p == nil {
			return fmt.Errorf("query parameter %q is not one of %s's", n, op.OperationID)
		}
		if p.Schema["type"] == "array" {
			items, _ := p.Schema["items"].(map[string]any)
			for _, v := range q[n] {
				for _, x := range strings.Split(v, ",") {
					if err := checkString(x, items, n); err != nil {
						return err
					}
				}
			}
			continue
		}
		if len(q[n]) != 1 {
			return fmt.Errorf("query parameter %q given %d times", n, len(q[n]))
		}
		if err := checkString(q[n][0], p.Schema, n); err != nil {
			return err
		}
	}
	for _, p := range op.Parameters {
		if p.In == "query" && p.Required && len(q[p.Name]) == 0 {
			return fmt.Errorf("query parameter %q is required", p.Name)
		}
	}
	return nil
}

func checkString(v string, s map[string]any, name string) error {
	if s == nil {
		return nil
	}
	switch s["type"] {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", name, v)
		}
		if s["format"] == "int32" && (n > math.MaxInt32 || n < math.MinInt32) {
			return fmt.Errorf("%s: %d is not an int32", name, n)
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("%s: %q is not a boolean", name, v)
		}
	}
	if s["maxLength"] != nil {
		if max, _ := s["maxLength"].(float64); float64(len([]rune(v))) > max {
			return fmt.Errorf("%s: longer than %v", name, max)
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == v }) {
		return fmt.Errorf("%s: %q is not one of %v", name, v, enum)
	}
	return nil
}

// Direction says which way a value goes: a request may not carry a
// readOnly property; an answer may.
type Direction int

const (
	InRequest Direction = iota
	InAnswer
)

// CheckValue checks a decoded JSON value (numbers as json.Number) against
// schema s, resolving $ref among the excerpt's schemas: types, required
// and unknown properties (additionalProperties), readOnly properties in a
// request, enums, items, allOf, oneOf and anyOf, nullable.
func (e *Excerpt) CheckValue(v any, s map[string]any, at string, dir Direction) error {
	return e.check(v, s, at, dir, 0)
}

func (e *Excerpt) check(v any, s map[string]any, at string, dir Direction, depth int) error {
	if depth > 64 {
		return fmt.Errorf("%s: schema nesting too deep", at)
	}
	if s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := e.Schemas[name]
		if !ok {
			return fmt.Errorf("%s: the excerpt lacks schema %s", at, name)
		}
		return e.check(v, target, at, dir, depth+1)
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null is not allowed", at)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, x := range all {
			if err := e.check(v, x.(map[string]any), at, dir, depth+1); err != nil {
				return err
			}
		}
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		list, ok := s[k].([]any)
		if !ok {
			continue
		}
		n := 0
		var errs []string
		for _, x := range list {
			if err := e.check(v, x.(map[string]any), at, dir, depth+1); err == nil {
				n++
			} else {
				errs = append(errs, err.Error())
			}
		}
		if n == 0 || k == "oneOf" && n > 1 {
			return fmt.Errorf("%s: matches %d of %s's %d schemas (%s)", at, n, k, len(list), strings.Join(errs, "; "))
		}
	}
	typ, _ := s["type"].(string)
	switch typ {
	case "object", "":
		obj, ok := v.(map[string]any)
		if !ok {
			if typ == "" {
				return nil
			}
			return fmt.Errorf("%s: want an object, got %s", at, trackerfake.Kind(v))
		}
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := obj[r.(string)]; !ok {
					return fmt.Errorf("%s: property %q is required", at, r)
				}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k].(map[string]any); ok {
				if dir == InRequest && p["readOnly"] == true {
					return fmt.Errorf("%s: property %q is read-only", at, k)
				}
				if err := e.check(obj[k], p, at+"."+k, dir, depth+1); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				if err := e.check(obj[k], ap, at+"."+k, dir, depth+1); err != nil {
					return err
				}
			case bool:
				if !ap {
					return fmt.Errorf("%s: property %q is not allowed", at, k)
				}
			default:
				if props != nil || typ == "object" {
					// The description allows more unless it says otherwise,
					// but a property Jira does not describe is a mistake
					// the fake must not let through (in a request), or
					// make up (in an answer).
					return fmt.Errorf("%s: property %q is not in the description", at, k)
				}
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", at, trackerfake.Kind(v))
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range arr {
				if err := e.check(x, items, fmt.Sprintf("%s[%d]", at, i), dir, depth+1); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %s", at, trackerfake.Kind(v))
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse("2006-01-02T15:04:05.000-0700", str); err != nil {
				if _, err := time.Parse(time.RFC3339, str); err != nil {
					return fmt.Errorf("%s: %q is not a date-time", at, str)
				}
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				return fmt.Errorf("%s: %q is not a date", at, str)
			}
		}
		if max, ok := s["maxLength"].(float64); ok && float64(len([]rune(str))) > max {
			return fmt.Errorf("%s: longer than %v", at, max)
		}
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want an integer, got %s", at, trackerfake.Kind(v))
		}
		if _, err := n.Int64(); err != nil {
			return fmt.Errorf("%s: %s is not an integer", at, n)
		}
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a number, got %s", at, trackerfake.Kind(v))
		}
		if _, err := n.Float64(); err != nil {
			return fmt.Errorf("%s: %s is not a number", at, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %s", at, trackerfake.Kind(v))
		}
	default:
		return fmt.Errorf("%s: the fake does not know the type %q", at, typ)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	return nil
}
