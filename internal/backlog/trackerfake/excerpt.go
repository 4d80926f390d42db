package trackerfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
)

// SameExcerpt compares two excerpts of a published description as JSON
// values, their "source" aside: the source says where (at which commit,
// from which copy) the document was read, not what it says.
func SameExcerpt(a, b []byte) (bool, error) {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false, err
	}
	for _, v := range []any{x, y} {
		if m, ok := v.(map[string]any); ok {
			delete(m, "source")
		}
	}
	return reflect.DeepEqual(x, y), nil
}

// CheckExcerpt is an excerpt test's last step, once the excerpt made was
// made from the full document (the file from): with update, made is
// written to path, the committed excerpt; without, t fails when the
// committed excerpt says something else, so that a fake is never checked
// against a description nobody can make again.
func CheckExcerpt(t testing.TB, path string, made, committed []byte, update bool, from string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, made, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	same, err := SameExcerpt(made, committed)
	if err != nil {
		t.Fatal(err)
	}
	if !same {
		t.Errorf("%s differs from what %s gives: run with -update and review the difference", path, from)
	}
}

// DecodeJSON reads one JSON value with numbers kept as written (so that
// a schema check can tell an integer from a number), and nothing after it.
func DecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// Kind names the JSON type of v, a value DecodeJSON read, for a schema
// check's message.
func Kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
