package graphfake

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// bodyError is a request body the fake refuses. Graph's OData reader
// answers these with 400 and the code RequestBodyRead; the messages follow
// the reader's (ODL's) wording as far as it is known, which is modelled, not
// copied. A non-empty uncovered marks something the fake does not model:
// it is refused and recorded, so that a test cannot pass on a guess.
type bodyError struct {
	msg       string
	uncovered string
}

func (e *bodyError) Error() string { return e.msg }

func readErr(format string, args ...any) *bodyError {
	return &bodyError{msg: fmt.Sprintf(format, args...)}
}

func notModelled(format string, args ...any) *bodyError {
	s := fmt.Sprintf(format, args...)
	return &bodyError{msg: "graphfake does not model this: " + s, uncovered: s}
}

// decodeJSON reads one JSON value, numbers kept as json.Number, and
// refuses a property name given twice in one object, as OData's reader
// does ("Duplicate property named ...").
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("Invalid JSON. More than one value was found at the root of the JSON content.")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("Invalid JSON. %v", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch d {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("Invalid JSON. %v", err)
			}
			key := kt.(string)
			if _, dup := obj[key]; dup {
				return nil, fmt.Errorf("Duplicate property named '%s' is not allowed.", key)
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("Invalid JSON. %v", err)
		}
		return obj, nil
	case '[':
		list := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("Invalid JSON. %v", err)
		}
		return list, nil
	}
	return nil, fmt.Errorf("Invalid JSON. Unexpected %v", d)
}

// nodeKind names a JSON value as OData's JSON reader does in its messages.
func nodeKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "StartObject"
	case []any:
		return "StartArray"
	}
	return "PrimitiveValue"
}

// CheckEntity decodes body and checks it against a type: every property
// declared (on the type or a base type) and every value of its declared
// type. Navigation properties are refused as not modelled, except those
// named in deepInsert, which are checked against their target type. It
// returns the decoded object.
func (m *Model) CheckEntity(body []byte, typeName string, deepInsert ...string) (map[string]any, error) {
	v, err := decodeJSON(body)
	if err != nil {
		return nil, readErr("%s", err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, readErr("An unexpected '%s' node was found when reading from the JSON reader. A 'StartObject' node was expected.", nodeKind(v))
	}
	inserted := map[string]any{}
	for _, nav := range deepInsert {
		v, given := obj[nav]
		if !given {
			continue
		}
		p, ok := m.NavigationProperty(typeName, nav)
		if !ok {
			return nil, notModelled("deep insert of %s, which microsoft.graph.%s does not have", nav, typeName)
		}
		if err := m.checkValue(v, p.Type, false, nav); err != nil {
			return nil, err
		}
		inserted[nav] = v
		delete(obj, nav)
	}
	if err := m.checkObject(obj, typeName); err != nil {
		return nil, err
	}
	for k, v := range inserted {
		obj[k] = v
	}
	return obj, nil
}

// checkObject checks one JSON object against a complex or entity type.
//
// The CSDL marks event as an open type, which in OData would let a client
// add properties of its own. Graph's calendar service does not take them
// ("The property '...' does not exist on type ..."), and a property the
// service does not know is a typo on sitrep's side in any case: the fake
// refuses undeclared properties on every type, open or not.
func (m *Model) checkObject(obj map[string]any, typeName string) *bodyError {
	t := m.Types[typeName]
	if t == nil {
		return notModelled("type microsoft.graph.%s is not in the excerpt", typeName)
	}
	if raw, ok := obj["@odata.type"]; ok {
		s, _ := raw.(string)
		derived, ok := localName(strings.TrimPrefix(s, "#"))
		if !ok || m.Types[derived] == nil {
			return readErr("A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", strings.TrimPrefix(s, "#"))
		}
		if !m.DerivesFrom(derived, typeName) {
			return readErr("A resource with type '%s' was found, but it is not assignable to the expected type 'microsoft.graph.%s'. The type specified in the resource must be equal to either the expected type or a derived type.", strings.TrimPrefix(s, "#"), typeName)
		}
		typeName, t = derived, m.Types[derived]
	}
	if t.Abstract && !t.Entity {
		return readErr("An instance of the abstract type 'microsoft.graph.%s' cannot be created; give @odata.type of a derived type.", typeName)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "@") {
			continue // instance annotations: @odata.type (above), @odata.etag, ...
		}
		name, annotation, annotated := strings.Cut(k, "@")
		p, ok := m.Property(typeName, name)
		if !ok {
			if _, nav := m.NavigationProperty(typeName, name); nav {
				return notModelled("a body with the navigation property %s of microsoft.graph.%s (deep insert)", name, typeName)
			}
			return readErr("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, typeName)
		}
		if annotated {
			if !strings.HasPrefix(annotation, "odata.") {
				return notModelled("the property annotation %s", k)
			}
			continue
		}
		if err := m.checkValue(obj[k], p.Type, p.Nullable, name); err != nil {
			return err
		}
	}
	return nil
}

var (
	timeOfDayRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,12})?)?$`)
	durationRE  = regexp.MustCompile(`^-?P([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?$`)
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// checkValue checks one value against a CSDL type reference.
func (m *Model) checkValue(v any, typeRef string, nullable bool, name string) *bodyError {
	if v == nil {
		if nullable {
			return nil
		}
		return readErr("A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. The expected type '%s[Nullable=False]' does not allow null values.", name, typeRef, typeRef)
	}
	if elem, isColl := elementType(typeRef); isColl {
		list, ok := v.([]any)
		if !ok {
			return readErr("An unexpected '%s' node was found for property named '%s' when reading from the JSON reader. A 'StartArray' node was expected.", nodeKind(v), name)
		}
		for _, item := range list {
			if err := m.checkValue(item, elem, nullable, name); err != nil {
				return err
			}
		}
		return nil
	}
	if prim, ok := strings.CutPrefix(typeRef, "Edm."); ok {
		return checkPrimitive(v, prim, name)
	}
	local, ok := localName(typeRef)
	if !ok {
		return notModelled("the type %s of %s, outside microsoft.graph", typeRef, name)
	}
	if e := m.Enums[local]; e != nil {
		s, ok := v.(string)
		if !ok {
			return readErr("An unexpected '%s' node was found for property named '%s' when reading from the JSON reader. A 'PrimitiveValue' node was expected.", nodeKind(v), name)
		}
		members := []string{s}
		if e.IsFlags {
			members = strings.Split(s, ",")
		}
		for _, mem := range members {
			if !m.HasMember(local, strings.TrimSpace(mem)) {
				return readErr("Cannot convert the literal '%s' to the expected type 'microsoft.graph.%s'.", s, local)
			}
		}
		return nil
	}
	if m.Types[local] != nil {
		obj, ok := v.(map[string]any)
		if !ok {
			return readErr("An unexpected '%s' node was found for property named '%s' when reading from the JSON reader. A 'StartObject' node was expected.", nodeKind(v), name)
		}
		return m.checkObject(obj, local)
	}
	return notModelled("the type %s of %s is not in the excerpt", typeRef, name)
}

func checkPrimitive(v any, prim, name string) *bodyError {
	if _, isObj := v.(map[string]any); isObj {
		return readErr("An unexpected 'StartObject' node was found for property named '%s' when reading from the JSON reader. A 'PrimitiveValue' node was expected.", name)
	}
	if _, isList := v.([]any); isList {
		return readErr("An unexpected 'StartArray' node was found for property named '%s' when reading from the JSON reader. A 'PrimitiveValue' node was expected.", name)
	}
	kindErr := readErr("Cannot convert a primitive value to the expected type 'Edm.%s'. See the inner exception for more details.", prim)
	literal := func(s string) *bodyError {
		return readErr("Cannot convert the literal '%s' to the expected type 'Edm.%s'.", s, prim)
	}
	str, isStr := v.(string)
	num, isNum := v.(json.Number)
	switch prim {
	case "String":
		if !isStr {
			return kindErr
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return kindErr
		}
	case "Int32", "Int16", "Int64", "Byte", "SByte":
		// Numbers only: OData JSON allows a string for Int64 under
		// IEEE754Compatible=true only, which sitrep does not send.
		if !isNum {
			return kindErr
		}
		bits := map[string]int{"Int16": 16, "Int32": 32, "Int64": 64, "Byte": 9, "SByte": 8}[prim]
		n, err := strconv.ParseInt(num.String(), 10, bits)
		if err != nil || (prim == "Byte" && (n < 0 || n > 255)) {
			return literal(num.String())
		}
	case "Double", "Single", "Decimal":
		if isStr && (str == "INF" || str == "-INF" || str == "NaN") && prim != "Decimal" {
			return nil
		}
		if !isNum {
			return kindErr
		}
		if f, err := num.Float64(); err != nil || math.IsInf(f, 0) {
			return literal(num.String())
		}
	case "DateTimeOffset":
		if !isStr {
			return kindErr
		}
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			return literal(str)
		}
	case "Date":
		if !isStr {
			return kindErr
		}
		if _, err := time.Parse("2006-01-02", str); err != nil {
			return literal(str)
		}
	case "TimeOfDay":
		if !isStr {
			return kindErr
		}
		if !timeOfDayRE.MatchString(str) {
			return literal(str)
		}
	case "Duration":
		if !isStr {
			return kindErr
		}
		if !durationRE.MatchString(str) || str == "P" || str == "-P" || strings.HasSuffix(str, "T") {
			return literal(str)
		}
	case "Guid":
		if !isStr {
			return kindErr
		}
		if !guidRE.MatchString(str) {
			return literal(str)
		}
	case "Binary":
		if !isStr {
			return kindErr
		}
		if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			if _, err := base64.URLEncoding.DecodeString(str); err != nil {
				return literal(str)
			}
		}
	default:
		return notModelled("the primitive type Edm.%s of %s", prim, name)
	}
	return nil
}

// CheckAction decodes an action's body and checks its parameters. It
// returns the parameters by their CSDL names.
//
// Parameter names are matched without regard to case: the CSDL names
// getSchedule's Schedules, StartTime, EndTime and AvailabilityViewInterval,
// and Microsoft's own reference example sends schedules, startTime, endTime
// and availabilityViewInterval; both are documented to work. Giving one
// parameter twice in two spellings is refused.
func (m *Model) CheckAction(body []byte, a *Action) (map[string]any, error) {
	v, err := decodeJSON(body)
	if err != nil {
		return nil, readErr("%s", err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, readErr("An unexpected '%s' node was found when reading from the JSON reader. A 'StartObject' node was expected.", nodeKind(v))
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		if strings.HasPrefix(k, "@") {
			continue
		}
		var param *Property
		for i := range a.Parameters {
			if strings.EqualFold(a.Parameters[i].Name, k) {
				param = &a.Parameters[i]
			}
		}
		if param == nil {
			return nil, readErr("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", k, a.Name)
		}
		if _, dup := out[param.Name]; dup {
			return nil, readErr("Multiple parameters with the name '%s' were found in the request payload.", param.Name)
		}
		if err := m.checkValue(obj[k], param.Type, param.Nullable, k); err != nil {
			return nil, err
		}
		out[param.Name] = obj[k]
	}
	return out, nil
}

// CheckResponse checks an object the fake answers against a type, for the
// fake's own tests: Graph's answers are typed by the same document.
// Annotations (@odata.context, @odata.etag, @odata.nextLink) are allowed.
func (m *Model) CheckResponse(v any, typeName string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("not an object: %T", v)
	}
	if err := m.checkObject(obj, typeName); err != nil {
		return err
	}
	return nil
}
