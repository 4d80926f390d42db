package api_test

import (
	"strings"
	"testing"
)

// People-written text passes one check at the door, so that nothing
// accepted there is refused later: a title with U+0085 used to be declared
// (201) and then refuse every status update with a garbled character, and a
// group display name with CR/LF used to be saved (200) and then fail every
// delivery to the group with 554.
func TestTextIsCheckedAtTheDoor(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, tc := range []struct {
		name, method, path, body, field, want string
	}{
		{"title with NEXT LINE", "POST", "/api/v1/incidents", `{"title":"Checkout\u0085down","severity":"SEV1"}`, "title", "U+0085"},
		{"title with a C1 CSI", "POST", "/api/v1/incidents", `{"title":"Checkout \u009b31m down","severity":"SEV1"}`, "title", "U+009B"},
		{"title with LINE SEPARATOR", "POST", "/api/v1/incidents", `{"title":"Checkout\u2028down","severity":"SEV1"}`, "title", "U+2028"},
		{"scope segment with a tab", "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV1","scope":{"segments":["EU\tWest"]}}`, "scope.segments[0]", "U+0009"},
		{"title changed to hold NEXT LINE", "PATCH", "/api/v1/incidents/INC-1", `{"title":"Still\u0085down"}`, "title", "U+0085"},
		{"group display name with CR/LF", "PUT", "/api/v1/groups/oncall", `{"display_name":"On call\r\nBcc: all@x.test","members":["ann@x.test"]}`, "display_name", "U+000D"},
		{"group display name with NEXT LINE", "PUT", "/api/v1/groups/oncall", `{"display_name":"On call\u0085","members":["ann@x.test"]}`, "display_name", "U+0085"},
		{"group description with ESC", "PUT", "/api/v1/groups/oncall", `{"description":"pages \u001b[2J","members":["ann@x.test"]}`, "description", "U+001B"},
		{"person name with LF", "PUT", "/api/v1/people/bob@x.test", `{"name":"Bob\nBcc: x@y.test"}`, "name", "U+000A"},
		{"escalation team with NUL", "PUT", "/api/v1/escalations/checkout", `{"team":"sre\u0000","responders":["ann@x.test"]}`, "team", "U+0000"},
	} {
		if tc.method == "PATCH" {
			if status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV1"}`); status != 201 || out["id"] != "INC-1" {
				t.Fatalf("declare a clean title: %d %v", status, out)
			}
		}
		status, out := a.call(t, a.admin, tc.method, tc.path, tc.body)
		code, field := errCode(out)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if status != 400 || code != "invalid" || field != tc.field || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v; want 400 invalid on %s naming %s", tc.name, status, out, tc.field, tc.want)
		}
		if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0xfffd }) {
			t.Errorf("%s: the message %q carries the offending character (or a garbled one) itself", tc.name, msg)
		}
	}
	// Nothing was stored: no incident but INC-1, with its clean title; no group oncall.
	if status, out := a.call(t, a.view, "GET", "/api/v1/incidents/INC-1", ""); status != 200 || out["title"] != "Checkout down" {
		t.Errorf("INC-1 after refused changes: %d %v", status, out)
	}
	if status, out := a.call(t, a.view, "GET", "/api/v1/incidents/INC-2", ""); status != 404 {
		t.Errorf("a refused declaration left INC-2: %d %v", status, out)
	}
	if status, out := a.call(t, a.view, "GET", "/api/v1/groups/oncall", ""); status != 404 {
		t.Errorf("a refused group was stored: %d %v", status, out)
	}
	// Text in other scripts, emoji and typographic punctuation are text.
	if status, out := a.call(t, a.admin, "PUT", "/api/v1/groups/oncall", `{"display_name":"Bereitschaft – 值班 🚨","members":["ann@x.test"]}`); status != 200 {
		t.Errorf("a printable display name was refused: %d %v", status, out)
	}
}

// A JSON body that says two things about one field, or carries bytes that
// are not UTF-8, is refused instead of keeping the last value or storing
// U+FFFD where the sender's text was.
func TestJSONBodiesMeanOneThing(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"duplicate key", `{"title":"Checkout down","severity":"SEV1","title":"All fine"}`, "title"},
		{"keys differing in case", `{"title":"Checkout down","severity":"SEV1","Title":"All fine"}`, "Title"},
		{"duplicate nested key", `{"title":"Checkout down","severity":"SEV1","scope":{"systems":["a"],"systems":["b"]}}`, "scope.systems"},
		{"duplicate key in an array element", `{"title":"Checkout down","severity":"SEV1","reports":[{"email":"ann@x.test"},{"email":"ann@x.test","email":"vp@x.test"}]}`, "reports[1].email"},
		{"invalid UTF-8 in a value", "{\"title\":\"Checkout \xff down\",\"severity\":\"SEV1\"}", "title"},
		{"invalid UTF-8 in an array", "{\"title\":\"Checkout down\",\"severity\":\"SEV1\",\"scope\":{\"systems\":[\"a\",\"b\xc3\"]}}", "scope.systems[1]"},
		{"unpaired surrogate escape", `{"title":"Checkout \ud800 down","severity":"SEV1"}`, "title"},
	} {
		status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", tc.body)
		if code, field := errCode(out); status != 400 || code != "invalid" || field != tc.field {
			t.Errorf("%s: %d %v; want 400 invalid on field %s", tc.name, status, out, tc.field)
		}
	}
	if status, out := a.call(t, a.view, "GET", "/api/v1/incidents/INC-1", ""); status != 404 {
		t.Fatalf("a refused body declared an incident: %d %v", status, out)
	}
	// A surrogate pair, an escaped or literal U+FFFD and the same key in
	// two different objects are fine.
	status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout \ud83d\udea8 \ufffd �","severity":"SEV1","scope":{"systems":["checkout"]},"roles":{"comms_lead":"vp@x.test"}}`)
	if status != 201 || out["title"] != "Checkout 🚨 \ufffd \ufffd" {
		t.Fatalf("valid text refused or changed: %d %v", status, out)
	}
}
