package googlefake

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// calendarDiscovery is google.golang.org/api's calendar/v3/calendar-api.json,
// the discovery document the Go client was generated from. A test keeps the
// copy equal to the module's.
//
//go:embed discovery/calendar-api.json
var calendarDiscovery []byte

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties *schema            `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	Description          string             `json:"description"`
}

type param struct {
	Type     string   `json:"type"`
	Format   string   `json:"format"`
	Location string   `json:"location"`
	Enum     []string `json:"enum"`
	Required bool     `json:"required"`
	Minimum  string   `json:"minimum"`
	Maximum  string   `json:"maximum"`
	Repeated bool     `json:"repeated"`
}

type method struct {
	ID         string            `json:"id"`
	Path       string            `json:"path"`
	HTTPMethod string            `json:"httpMethod"`
	Parameters map[string]*param `json:"parameters"`
	Request    *schema           `json:"request"`
}

type resource struct {
	Methods   map[string]*method  `json:"methods"`
	Resources map[string]resource `json:"resources"`
}

type discovery struct {
	Parameters map[string]*param   `json:"parameters"`
	Schemas    map[string]*schema  `json:"schemas"`
	Resources  map[string]resource `json:"resources"`
	methods    map[string]*method  // by id, "calendar.events.insert"
}

func loadDiscovery(doc []byte) (*discovery, error) {
	var d discovery
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("googlefake: discovery document: %w", err)
	}
	d.methods = map[string]*method{}
	var walk func(map[string]resource)
	walk = func(rs map[string]resource) {
		for _, r := range rs {
			for _, m := range r.Methods {
				d.methods[m.ID] = m
			}
			walk(r.Resources)
		}
	}
	walk(d.Resources)
	return &d, nil
}

// documentedValue matches a value a description lists, as the document
// writes string fields whose values are not an enum: '- "accepted" - The
// attendee has accepted the invitation.'
var documentedValue = regexp.MustCompile(`(?m)^- "([A-Za-z]+)" - `)

// values are the values a property's description lists: the field is a
// plain string to the schema, the description names what it may hold.
func (d *discovery) values(schemaName, prop string) []string {
	s := d.Schemas[schemaName]
	if s == nil || s.Properties[prop] == nil {
		return nil
	}
	var out []string
	for _, m := range documentedValue.FindAllStringSubmatch(s.Properties[prop].Description, -1) {
		out = append(out, m[1])
	}
	return out
}

// badRequest is a 400 as Google words it for a body or parameter it cannot
// take (the wording follows Google's JSON-to-proto errors).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// checkQuery validates query parameters against the method's and the API's
// declared ones: unknown names, enum values, types and ranges.
func (d *discovery) checkQuery(methodID string, q url.Values) error {
	m := d.methods[methodID]
	if m == nil {
		return fmt.Errorf("googlefake: no method %s in the discovery document", methodID)
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		p := m.Parameters[name]
		if p == nil {
			p = d.Parameters[name]
		}
		if p == nil || p.Location == "path" {
			if name == "$.xgafv" {
				continue
			}
			return &badRequest{fmt.Sprintf("Invalid JSON payload received. Unknown name %q: Cannot bind query parameter. Field %q could not be found in request message.", name, name)}
		}
		vals := q[name]
		if len(vals) > 1 && !p.Repeated {
			return &badRequest{fmt.Sprintf("Invalid value for parameter %q: repeated", name)}
		}
		for _, v := range vals {
			if err := checkParam(name, p, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkParam(name string, p *param, v string) error {
	bad := &badRequest{fmt.Sprintf("Invalid value for %s parameter %q: %q", p.Type, name, v)}
	switch p.Type {
	case "boolean":
		if v != "true" && v != "false" {
			return bad
		}
	case "integer":
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return bad
		}
		if p.Minimum != "" {
			if lo, _ := strconv.ParseInt(p.Minimum, 10, 64); n < lo {
				return bad
			}
		}
		if p.Maximum != "" {
			if hi, _ := strconv.ParseInt(p.Maximum, 10, 64); n > hi {
				return bad
			}
		}
	case "string":
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
			return bad
		}
		if p.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return bad
			}
		}
	}
	return nil
}

// checkBody validates a request body against the method's request schema:
// every field must be declared, and of its declared type.
func (d *discovery) checkBody(methodID string, body []byte) (map[string]any, error) {
	m := d.methods[methodID]
	if m == nil || m.Request == nil {
		return nil, fmt.Errorf("googlefake: method %s takes no body", methodID)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &badRequest{"Invalid JSON payload received. " + err.Error()}
	}
	if dec.More() {
		return nil, &badRequest{"Invalid JSON payload received. Unexpected token after the body."}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &badRequest{"Invalid JSON payload received. Expected an object."}
	}
	if err := d.check(obj, m.Request, "resource"); err != nil {
		return nil, err
	}
	return obj, nil
}

func (d *discovery) check(v any, s *schema, at string) error {
	for s.Ref != "" {
		s = d.Schemas[s.Ref]
		if s == nil {
			return fmt.Errorf("googlefake: unknown schema at %s", at)
		}
	}
	if v == nil {
		return nil // JSON null clears a field (PATCH) and is accepted anywhere
	}
	invalid := func(kind string) error {
		b, _ := json.Marshal(v)
		return &badRequest{fmt.Sprintf("Invalid value at '%s' (%s), %s", at, kind, b)}
	}
	switch s.Type {
	case "any":
		return nil
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return invalid("TYPE_MESSAGE")
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := s.Properties[k]
			if sub == nil {
				sub = s.AdditionalProperties
			}
			if sub == nil {
				return &badRequest{fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': Cannot find field.", k, at)}
			}
			if err := d.check(obj[k], sub, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return invalid("TYPE_LIST")
		}
		for i, item := range list {
			if err := d.check(item, s.Items, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return invalid("TYPE_BOOL")
		}
	case "integer":
		// Proto JSON takes an integer as a number or a decimal string.
		var s2 string
		switch n := v.(type) {
		case json.Number:
			s2 = n.String()
		case string:
			s2 = n
		default:
			return invalid("TYPE_INT32")
		}
		if _, err := strconv.ParseInt(s2, 10, 32); err != nil {
			return invalid("TYPE_INT32")
		}
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			return invalid("TYPE_DOUBLE")
		}
		if f, err := n.Float64(); err != nil || math.IsInf(f, 0) {
			return invalid("TYPE_DOUBLE")
		}
	case "string":
		if s.Format == "int64" || s.Format == "uint64" {
			var s2 string
			switch n := v.(type) {
			case json.Number:
				s2 = n.String()
			case string:
				s2 = n
			default:
				return invalid("TYPE_INT64")
			}
			if _, err := strconv.ParseInt(s2, 10, 64); err != nil {
				return invalid("TYPE_INT64")
			}
			return nil
		}
		str, ok := v.(string)
		if !ok {
			return invalid("TYPE_STRING")
		}
		switch s.Format {
		case "date-time":
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return &badRequest{fmt.Sprintf("Invalid value at '%s': %q is not an RFC 3339 date-time", at, str)}
			}
		case "date":
			if _, err := time.Parse("2006-01-02", str); err != nil {
				return &badRequest{fmt.Sprintf("Invalid value at '%s': %q is not a date", at, str)}
			}
		case "byte":
			if _, err := base64.StdEncoding.DecodeString(str); err != nil {
				if _, err := base64.URLEncoding.DecodeString(str); err != nil {
					return invalid("TYPE_BYTES")
				}
			}
		}
	default:
		return fmt.Errorf("googlefake: schema type %q at %s not handled", s.Type, at)
	}
	return nil
}
