package graphfake

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"fmt"
	"strings"
)

// metadataExcerpt is the part of Microsoft Graph v1.0's CSDL document
// (microsoftgraph/msgraph-metadata, clean_v10_metadata/cleanMetadata.xml)
// that the fake checks requests against: the types reachable from event,
// room, roomList, calendar and scheduleInformation, and the actions
// getSchedule and cancel. TestExcerpt in excerpt_test.go makes it from the
// full document and keeps the copy in step; do not edit it by hand.
//
//go:embed metadata/v1.0-excerpt.xml
var metadataExcerpt []byte

// The raw shape of a CSDL document (OData CSDL XML 4.0), as far as the
// excerpt needs it. encoding/xml matches elements by local name, so the
// edmx and edm namespaces need no mention.
type xEdmx struct {
	XMLName xml.Name  `xml:"Edmx"`
	Version string    `xml:"Version,attr"`
	Schemas []xSchema `xml:"DataServices>Schema"`
}

type xSchema struct {
	Namespace    string    `xml:"Namespace,attr"`
	Alias        string    `xml:"Alias,attr"`
	EnumTypes    []xEnum   `xml:"EnumType"`
	ComplexTypes []xStruct `xml:"ComplexType"`
	EntityTypes  []xStruct `xml:"EntityType"`
	Actions      []xAction `xml:"Action"`
}

type xEnum struct {
	Name    string    `xml:"Name,attr"`
	IsFlags string    `xml:"IsFlags,attr"`
	Members []xMember `xml:"Member"`
}

type xMember struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:"Value,attr"`
}

type xStruct struct {
	Name       string  `xml:"Name,attr"`
	BaseType   string  `xml:"BaseType,attr"`
	Abstract   string  `xml:"Abstract,attr"`
	OpenType   string  `xml:"OpenType,attr"`
	HasStream  string  `xml:"HasStream,attr"`
	Properties []xProp `xml:"Property"`
	Navigation []xNav  `xml:"NavigationProperty"`
}

type xProp struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr"`
}

type xNav struct {
	Name           string `xml:"Name,attr"`
	Type           string `xml:"Type,attr"`
	ContainsTarget string `xml:"ContainsTarget,attr"`
	Nullable       string `xml:"Nullable,attr"`
}

type xAction struct {
	Name          string   `xml:"Name,attr"`
	IsBound       string   `xml:"IsBound,attr"`
	EntitySetPath string   `xml:"EntitySetPath,attr"`
	Parameters    []xProp  `xml:"Parameter"`
	ReturnType    *xReturn `xml:"ReturnType"`
}

type xReturn struct {
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr"`
}

// graphNamespace is the schema the calendar and places types live in.
const graphNamespace = "microsoft.graph"

func parseEdmx(doc []byte) (*xEdmx, *xSchema, error) {
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")) // the published file starts with a BOM
	var e xEdmx
	if err := xml.Unmarshal(doc, &e); err != nil {
		return nil, nil, fmt.Errorf("graphfake: CSDL: %w", err)
	}
	for i := range e.Schemas {
		if e.Schemas[i].Namespace == graphNamespace {
			return &e, &e.Schemas[i], nil
		}
	}
	return nil, nil, fmt.Errorf("graphfake: CSDL: no schema %s", graphNamespace)
}

// Model is the checked part of the CSDL: types by name (without the
// namespace) and the actions.
type Model struct {
	Enums   map[string]*EnumType
	Types   map[string]*StructType // complex and entity types
	Actions []*Action
}

// EnumType is an EnumType's name and members.
type EnumType struct {
	Name    string
	IsFlags bool
	Members []string
}

// StructType is a ComplexType or an EntityType.
type StructType struct {
	Name       string
	Base       string // the base type's name, "" for none
	Entity     bool
	Abstract   bool
	Open       bool
	Properties []Property
	Navigation []Property // navigation properties (Nullable unused)
}

// Property is a structural property or an action's parameter. Type is as
// the CSDL writes it, qualified: "Edm.String", "graph.attendee",
// "Collection(graph.attendee)".
type Property struct {
	Name     string
	Type     string
	Nullable bool
}

// Action is a bound or unbound action.
type Action struct {
	Name       string
	Bound      bool
	Binding    string // the binding parameter's type name, for a bound action
	Parameters []Property
	ReturnType string
}

// LoadModel reads a CSDL document's microsoft.graph schema.
func LoadModel(doc []byte) (*Model, error) {
	_, s, err := parseEdmx(doc)
	if err != nil {
		return nil, err
	}
	m := &Model{Enums: map[string]*EnumType{}, Types: map[string]*StructType{}}
	for _, e := range s.EnumTypes {
		et := &EnumType{Name: e.Name, IsFlags: e.IsFlags == "true"}
		for _, mem := range e.Members {
			et.Members = append(et.Members, mem.Name)
		}
		m.Enums[e.Name] = et
	}
	add := func(list []xStruct, entity bool) error {
		for _, x := range list {
			st := &StructType{Name: x.Name, Entity: entity, Abstract: x.Abstract == "true", Open: x.OpenType == "true"}
			if x.BaseType != "" {
				base, ok := localName(x.BaseType)
				if !ok {
					return fmt.Errorf("graphfake: CSDL: %s: base type %s is outside %s", x.Name, x.BaseType, graphNamespace)
				}
				st.Base = base
			}
			for _, p := range x.Properties {
				st.Properties = append(st.Properties, Property{Name: p.Name, Type: p.Type, Nullable: p.Nullable != "false"})
			}
			for _, n := range x.Navigation {
				st.Navigation = append(st.Navigation, Property{Name: n.Name, Type: n.Type, Nullable: n.Nullable != "false"})
			}
			if _, dup := m.Types[x.Name]; dup {
				return fmt.Errorf("graphfake: CSDL: type %s defined twice", x.Name)
			}
			m.Types[x.Name] = st
		}
		return nil
	}
	if err := add(s.ComplexTypes, false); err != nil {
		return nil, err
	}
	if err := add(s.EntityTypes, true); err != nil {
		return nil, err
	}
	for _, a := range s.Actions {
		act := &Action{Name: a.Name, Bound: a.IsBound == "true"}
		for i, p := range a.Parameters {
			if act.Bound && i == 0 {
				act.Binding, _ = localName(p.Type)
				continue
			}
			act.Parameters = append(act.Parameters, Property{Name: p.Name, Type: p.Type, Nullable: p.Nullable != "false"})
		}
		if a.ReturnType != nil {
			act.ReturnType = a.ReturnType.Type
		}
		m.Actions = append(m.Actions, act)
	}
	return m, nil
}

// localName strips the namespace or its alias from a qualified name of
// the microsoft.graph schema: "graph.event" and "microsoft.graph.event"
// are "event". Other schemas' names are not the fake's business.
func localName(qualified string) (string, bool) {
	for _, prefix := range []string{graphNamespace + ".", "graph."} {
		if rest, ok := strings.CutPrefix(qualified, prefix); ok && !strings.Contains(rest, ".") {
			return rest, true
		}
	}
	return "", false
}

// elementType splits "Collection(T)" into T and true.
func elementType(t string) (string, bool) {
	if inner, ok := strings.CutPrefix(t, "Collection("); ok && strings.HasSuffix(inner, ")") {
		return strings.TrimSuffix(inner, ")"), true
	}
	return t, false
}

// Type returns a complex or entity type.
func (m *Model) Type(name string) *StructType { return m.Types[name] }

// Property finds a structural property of the type or of a base type.
func (m *Model) Property(typeName, prop string) (Property, bool) {
	for t := m.Types[typeName]; t != nil; t = m.Types[t.Base] {
		for _, p := range t.Properties {
			if p.Name == prop {
				return p, true
			}
		}
	}
	return Property{}, false
}

// NavigationProperty finds a navigation property of the type or a base.
func (m *Model) NavigationProperty(typeName, prop string) (Property, bool) {
	for t := m.Types[typeName]; t != nil; t = m.Types[t.Base] {
		for _, p := range t.Navigation {
			if p.Name == prop {
				return p, true
			}
		}
	}
	return Property{}, false
}

// DerivesFrom reports whether typeName is base or derives from it.
func (m *Model) DerivesFrom(typeName, base string) bool {
	for t := m.Types[typeName]; t != nil; t = m.Types[t.Base] {
		if t.Name == base {
			return true
		}
	}
	return false
}

// Action finds an action by name and binding type.
func (m *Model) Action(name, binding string) *Action {
	for _, a := range m.Actions {
		if a.Name == name && a.Binding == binding {
			return a
		}
	}
	return nil
}

// HasMember reports whether an enum type has the member.
func (m *Model) HasMember(enum, member string) bool {
	e := m.Enums[enum]
	if e == nil {
		return false
	}
	for _, mem := range e.Members {
		if mem == member {
			return true
		}
	}
	return false
}
