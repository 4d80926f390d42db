package graphfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// The excerpt is made from Microsoft's published CSDL document. To make it
// again after msgraph-metadata changes:
//
//	git -C msgraph-metadata show HEAD:clean_v10_metadata/cleanMetadata.xml > /tmp/cleanMetadata.xml
//	go test ./internal/calendar/graphfake -run TestExcerpt -metadata /tmp/cleanMetadata.xml -update
//
// Without -update (and with -metadata, or GRAPH_METADATA naming the file)
// the test fails when the committed excerpt differs from what the full
// document gives.
var (
	update   = flag.Bool("update", false, "rewrite metadata/v1.0-excerpt.xml from the -metadata document")
	metadata = flag.String("metadata", os.Getenv("GRAPH_METADATA"), "path of msgraph-metadata's clean_v10_metadata/cleanMetadata.xml")
)

const excerptPath = "metadata/v1.0-excerpt.xml"

// Roots of the excerpt: what sitrep sends and reads. Everything their
// properties reach (base types, property types, enum types) comes along;
// navigation properties are kept as declarations, their targets are not
// followed.
var (
	rootTypes   = []string{"event", "room", "roomList", "calendar", "scheduleInformation", "singleValueLegacyExtendedProperty"}
	rootActions = []struct{ name, binding string }{{"getSchedule", "calendar"}, {"cancel", "event"}}
)

func makeExcerpt(full []byte) ([]byte, error) {
	e, s, err := parseEdmx(full)
	if err != nil {
		return nil, err
	}
	enums := map[string]bool{}
	structs := map[string]xStruct{}
	for _, list := range [][]xStruct{s.ComplexTypes, s.EntityTypes} {
		for _, x := range list {
			structs[x.Name] = x
		}
	}
	for _, x := range s.EnumTypes {
		enums[x.Name] = false
	}
	keep := map[string]bool{}
	var visit func(typeRef string) error
	visit = func(typeRef string) error {
		t, _ := elementType(typeRef)
		if strings.HasPrefix(t, "Edm.") {
			return nil
		}
		name, ok := localName(t)
		if !ok {
			return fmt.Errorf("type %s is outside %s", t, graphNamespace)
		}
		if keep[name] {
			return nil
		}
		if _, ok := enums[name]; ok {
			keep[name] = true
			return nil
		}
		x, ok := structs[name]
		if !ok {
			return fmt.Errorf("no type %s", name)
		}
		keep[name] = true
		if x.BaseType != "" {
			if err := visit(x.BaseType); err != nil {
				return err
			}
		}
		for _, p := range x.Properties {
			if err := visit(p.Type); err != nil {
				return fmt.Errorf("%s.%s: %w", name, p.Name, err)
			}
		}
		return nil
	}
	for _, r := range rootTypes {
		if err := visit("graph." + r); err != nil {
			return nil, err
		}
	}
	var actions []xAction
	for _, a := range s.Actions {
		for _, r := range rootActions {
			if a.Name != r.name || len(a.Parameters) == 0 || a.Parameters[0].Type != "graph."+r.binding {
				continue
			}
			actions = append(actions, a)
			for _, p := range a.Parameters {
				if err := visit(p.Type); err != nil {
					return nil, err
				}
			}
			if a.ReturnType != nil {
				if err := visit(a.ReturnType.Type); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(actions) != len(rootActions) {
		return nil, fmt.Errorf("found %d of the %d actions", len(actions), len(rootActions))
	}

	var b bytes.Buffer
	sum := sha256.Sum256(full)
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
	fmt.Fprintf(&b, "<!-- An extract of Microsoft Graph v1.0's CSDL, microsoftgraph/msgraph-metadata\n"+
		"     clean_v10_metadata/cleanMetadata.xml (SHA-256 %x):\n"+
		"     the types reachable from %s and the actions %s,\n"+
		"     annotations left out. Made by TestExcerpt (excerpt_test.go); do not edit. -->\n",
		sum, strings.Join(rootTypes, ", "), actionNames())
	fmt.Fprintf(&b, "<edmx:Edmx Version=%s xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n", attr(e.Version))
	b.WriteString("  <edmx:DataServices>\n")
	fmt.Fprintf(&b, "    <Schema Namespace=%s Alias=%s xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n", attr(s.Namespace), attr(s.Alias))
	for _, x := range s.EnumTypes {
		if !keep[x.Name] {
			continue
		}
		fmt.Fprintf(&b, "      <EnumType Name=%s%s>\n", attr(x.Name), opt("IsFlags", x.IsFlags))
		for _, m := range x.Members {
			fmt.Fprintf(&b, "        <Member Name=%s Value=%s />\n", attr(m.Name), attr(m.Value))
		}
		b.WriteString("      </EnumType>\n")
	}
	writeStructs := func(kind string, list []xStruct) {
		for _, x := range list {
			if !keep[x.Name] {
				continue
			}
			fmt.Fprintf(&b, "      <%s Name=%s%s%s%s%s", kind, attr(x.Name), opt("BaseType", x.BaseType), opt("Abstract", x.Abstract), opt("OpenType", x.OpenType), opt("HasStream", x.HasStream))
			if len(x.Properties) == 0 && len(x.Navigation) == 0 {
				b.WriteString(" />\n")
				continue
			}
			b.WriteString(">\n")
			for _, p := range x.Properties {
				fmt.Fprintf(&b, "        <Property Name=%s Type=%s%s />\n", attr(p.Name), attr(p.Type), opt("Nullable", p.Nullable))
			}
			for _, n := range x.Navigation {
				fmt.Fprintf(&b, "        <NavigationProperty Name=%s Type=%s%s%s />\n", attr(n.Name), attr(n.Type), opt("ContainsTarget", n.ContainsTarget), opt("Nullable", n.Nullable))
			}
			fmt.Fprintf(&b, "      </%s>\n", kind)
		}
	}
	writeStructs("ComplexType", s.ComplexTypes)
	writeStructs("EntityType", s.EntityTypes)
	for _, a := range actions {
		fmt.Fprintf(&b, "      <Action Name=%s%s%s>\n", attr(a.Name), opt("IsBound", a.IsBound), opt("EntitySetPath", a.EntitySetPath))
		for _, p := range a.Parameters {
			fmt.Fprintf(&b, "        <Parameter Name=%s Type=%s%s />\n", attr(p.Name), attr(p.Type), opt("Nullable", p.Nullable))
		}
		if a.ReturnType != nil {
			fmt.Fprintf(&b, "        <ReturnType Type=%s%s />\n", attr(a.ReturnType.Type), opt("Nullable", a.ReturnType.Nullable))
		}
		b.WriteString("      </Action>\n")
	}
	b.WriteString("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n")
	return b.Bytes(), nil
}

func actionNames() string {
	var names []string
	for _, a := range rootActions {
		names = append(names, a.name+" (bound to "+a.binding+")")
	}
	return strings.Join(names, " and ")
}

func attr(v string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(v))
	return `"` + strings.ReplaceAll(b.String(), `"`, "&quot;") + `"`
}

func opt(name, v string) string {
	if v == "" {
		return ""
	}
	return " " + name + "=" + attr(v)
}

func TestExcerpt(t *testing.T) {
	switch {
	case *metadata != "":
		full, err := os.ReadFile(*metadata)
		if err != nil {
			t.Fatal(err)
		}
		got, err := makeExcerpt(full)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(excerptPath, got, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", excerptPath, len(got))
			return
		}
		if !bytes.Equal(got, metadataExcerpt) {
			t.Fatalf("%s differs from what %s gives: run this test with -metadata %s -update", excerptPath, *metadata, *metadata)
		}
	case *update:
		t.Fatal("-update needs -metadata (or GRAPH_METADATA): the path of cleanMetadata.xml")
	}

	m, err := LoadModel(metadataExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	// What the fake reads and writes, and the backend sends: each must be
	// in the excerpt, with the type the code assumes.
	props := map[string]string{
		"event.subject": "Edm.String", "event.body": "graph.itemBody", "event.start": "graph.dateTimeTimeZone",
		"event.end": "graph.dateTimeTimeZone", "event.attendees": "Collection(graph.attendee)", "event.location": "graph.location",
		"event.isOnlineMeeting": "Edm.Boolean", "event.onlineMeetingProvider": "graph.onlineMeetingProviderType",
		"event.onlineMeeting": "graph.onlineMeetingInfo", "event.transactionId": "Edm.String", "event.webLink": "Edm.String",
		"event.iCalUId": "Edm.String", "event.organizer": "graph.recipient", "event.isCancelled": "Edm.Boolean",
		"event.showAs": "graph.freeBusyStatus", "event.responseStatus": "graph.responseStatus", "event.id": "Edm.String",
		"event.changeKey": "Edm.String", "event.createdDateTime": "Edm.DateTimeOffset",
		"attendee.status": "graph.responseStatus", "attendee.type": "graph.attendeeType", "attendee.emailAddress": "graph.emailAddress",
		"emailAddress.address": "Edm.String", "emailAddress.name": "Edm.String",
		"responseStatus.response": "graph.responseType", "responseStatus.time": "Edm.DateTimeOffset",
		"dateTimeTimeZone.dateTime": "Edm.String", "dateTimeTimeZone.timeZone": "Edm.String",
		"itemBody.content": "Edm.String", "itemBody.contentType": "graph.bodyType",
		"location.displayName": "Edm.String", "location.locationEmailAddress": "Edm.String", "location.locationType": "graph.locationType",
		"onlineMeetingInfo.joinUrl": "Edm.String",
		"room.emailAddress":         "Edm.String", "room.displayName": "Edm.String", "room.capacity": "Edm.Int32", "room.building": "Edm.String",
		"room.floorNumber": "Edm.Int32", "room.floorLabel": "Edm.String", "room.tags": "Collection(Edm.String)",
		"room.address": "graph.physicalAddress", "room.geoCoordinates": "graph.outlookGeoCoordinates",
		"roomList.emailAddress":          "Edm.String",
		"scheduleInformation.scheduleId": "Edm.String", "scheduleInformation.scheduleItems": "Collection(graph.scheduleItem)",
		"scheduleInformation.availabilityView": "Edm.String", "scheduleInformation.error": "graph.freeBusyError",
		"scheduleInformation.workingHours": "graph.workingHours",
		"scheduleItem.status":              "graph.freeBusyStatus", "scheduleItem.start": "graph.dateTimeTimeZone", "scheduleItem.end": "graph.dateTimeTimeZone",
		"freeBusyError.responseCode": "Edm.String", "freeBusyError.message": "Edm.String",
		"calendar.name": "Edm.String", "calendar.owner": "graph.emailAddress", "calendar.canEdit": "Edm.Boolean",
	}
	for key, typ := range props {
		tn, pn, _ := strings.Cut(key, ".")
		p, ok := m.Property(tn, pn)
		if !ok || p.Type != typ {
			t.Errorf("%s: got %+v (found %v), want type %s", key, p, ok, typ)
		}
	}
	if p, _ := m.Property("dateTimeTimeZone", "dateTime"); p.Nullable {
		t.Error("dateTimeTimeZone.dateTime should be Nullable=false")
	}
	if _, ok := m.NavigationProperty("roomList", "rooms"); !ok {
		t.Error("roomList.rooms navigation property missing")
	}
	if p, ok := m.NavigationProperty("event", "singleValueExtendedProperties"); !ok || p.Type != "Collection(graph.singleValueLegacyExtendedProperty)" {
		t.Errorf("event.singleValueExtendedProperties: %+v", p)
	}
	if p, ok := m.Property("singleValueLegacyExtendedProperty", "value"); !ok || p.Type != "Edm.String" {
		t.Errorf("singleValueLegacyExtendedProperty.value: %+v", p)
	}
	for enum, members := range map[string][]string{
		"freeBusyStatus":            {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"},
		"responseType":              {"none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"},
		"attendeeType":              {"required", "optional", "resource"},
		"bodyType":                  {"text", "html"},
		"locationType":              {"conferenceRoom"},
		"onlineMeetingProviderType": {"teamsForBusiness"},
		"bookingType":               {"standard"},
	} {
		for _, mem := range members {
			if !m.HasMember(enum, mem) {
				t.Errorf("enum %s lacks %s", enum, mem)
			}
		}
	}
	gs := m.Action("getSchedule", "calendar")
	if gs == nil {
		t.Fatal("no getSchedule bound to calendar")
	}
	var params []string
	for _, p := range gs.Parameters {
		params = append(params, p.Name+":"+p.Type)
	}
	slices.Sort(params)
	if got := strings.Join(params, " "); got != "AvailabilityViewInterval:Edm.Int32 EndTime:graph.dateTimeTimeZone Schedules:Collection(Edm.String) StartTime:graph.dateTimeTimeZone" {
		t.Errorf("getSchedule parameters: %s", got)
	}
	if gs.ReturnType != "Collection(graph.scheduleInformation)" {
		t.Errorf("getSchedule returns %s", gs.ReturnType)
	}
	c := m.Action("cancel", "event")
	if c == nil || len(c.Parameters) != 1 || c.Parameters[0].Name != "Comment" || c.Parameters[0].Type != "Edm.String" {
		t.Errorf("cancel bound to event: %+v", c)
	}
	if !m.Types["event"].Open || m.Types["event"].Base != "outlookItem" || !m.DerivesFrom("room", "place") {
		t.Error("event's openness or base types are not as the fake's documentation says")
	}
}
