package githubfake

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

// The excerpt of GitHub's published OpenAPI description the fake checks
// every request against (excerpt_test.go makes it from the full document).
//
//go:embed openapi/issues-excerpt.json
var excerptJSON []byte

// Excerpt is the part of GitHub's description sitrep uses.
type Excerpt struct {
	Source     map[string]string  `json:"source"`
	Operations []Operation        `json:"operations"`
	Schemas    map[string]*Schema `json:"schemas"`
}

// Operation is one method on one path.
type Operation struct {
	Method      string       `json:"method"`
	Path        string       `json:"path"`
	OperationID string       `json:"operationId"`
	Parameters  []Parameter  `json:"parameters"`
	RequestBody *RequestBody `json:"requestBody,omitempty"`
	Responses   []string     `json:"responses"`
}

// Parameter is a path or query parameter.
type Parameter struct {
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required"`
	Schema   *Schema `json:"schema"`
}

// RequestBody is an operation's JSON body.
type RequestBody struct {
	Required bool    `json:"required"`
	Schema   *Schema `json:"schema"`
}

// Schema is the subset of OpenAPI 3.0's schema object that says what is
// valid.
type Schema struct {
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	OneOf                []*Schema          `json:"oneOf,omitempty"`
	AdditionalProperties *bool              `json:"additionalProperties,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
}

// LoadExcerpt reads the embedded excerpt.
func LoadExcerpt() (*Excerpt, error) {
	var e Excerpt
	dec := json.NewDecoder(bytes.NewReader(excerptJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("githubfake: excerpt: %w", err)
	}
	return &e, nil
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
// name known, every value of its type and enum, nothing repeated.
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

// checkString checks a parameter's text against its schema.
func checkString(v string, s *Schema, name string) error {
	switch s.Type {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", name, v)
		}
		if s.Minimum != nil && float64(n) < *s.Minimum || s.Maximum != nil && float64(n) > *s.Maximum {
			return fmt.Errorf("%s: %d out of range", name, n)
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("%s: %q is not a boolean", name, v)
		}
	case "string":
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return fmt.Errorf("%s: %q is not an RFC 3339 date-time", name, v)
			}
		}
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == v }) {
		return fmt.Errorf("%s: %q is not one of %v", name, v, s.Enum)
	}
	return nil
}

// CheckValue checks a decoded JSON value against s: types, required and
// unknown properties, enums, items, oneOf (exactly one), nullable.
func CheckValue(v any, s *Schema, at string) error {
	if v == nil {
		if s.Nullable {
			return nil
		}
		if len(s.OneOf) > 0 {
			for _, o := range s.OneOf {
				if o.Nullable {
					return nil
				}
			}
		}
		return fmt.Errorf("%s: null is not allowed", at)
	}
	if len(s.OneOf) > 0 {
		n := 0
		var errs []string
		for _, o := range s.OneOf {
			if err := CheckValue(v, o, at); err == nil {
				n++
			} else {
				errs = append(errs, err.Error())
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d of oneOf's %d schemas (%s)", at, n, len(s.OneOf), strings.Join(errs, "; "))
		}
		return nil
	}
	switch s.Type {
	case "object", "":
		obj, ok := v.(map[string]any)
		if !ok {
			if s.Type == "" {
				return nil
			}
			return fmt.Errorf("%s: want an object, got %s", at, trackerfake.Kind(v))
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				return fmt.Errorf("%s: property %q is required", at, r)
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := s.Properties[k]
			if !ok {
				// The description allows more unless it says otherwise,
				// but sitrep sending a property GitHub does not describe
				// is a mistake the fake must not let through.
				return fmt.Errorf("%s: property %q is not in the description", at, k)
			}
			if err := CheckValue(obj[k], ps, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", at, trackerfake.Kind(v))
		}
		if s.MinItems != nil && len(arr) < *s.MinItems {
			return fmt.Errorf("%s: at least %d items", at, *s.MinItems)
		}
		if s.Items != nil {
			for i, x := range arr {
				if err := CheckValue(x, s.Items, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %s", at, trackerfake.Kind(v))
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, str)
			}
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
		if f, err := n.Float64(); err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %s is not a number", at, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %s", at, trackerfake.Kind(v))
		}
	default:
		return fmt.Errorf("%s: the fake does not know the type %q", at, s.Type)
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, s.Enum)
	}
	return nil
}
