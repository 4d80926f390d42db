package slackfake

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path"
	"sort"
	"testing"
)

// The extract in spec.json is made from Slack's published OpenAPI 2
// description (github.com/slackapi/slack-api-specs,
// web-api/slack_web_openapi_v2_without_examples.json). To make it again:
//
//	git -C <clone of slackapi/slack-api-specs> show HEAD:web-api/slack_web_openapi_v2_without_examples.json >/tmp/slack.json
//	go test ./internal/chat/slackfake -run TestSpecExtract -update -spec /tmp/slack.json -spec-commit <that commit>
//
// Without -update, and given -spec, the test fails when spec.json is not
// what the full file gives.
var (
	update     = flag.Bool("update", false, "rewrite spec.json from -spec")
	fullSpec   = flag.String("spec", "", "Slack's full OpenAPI 2 description (slack_web_openapi_v2_without_examples.json)")
	specCommit = flag.String("spec-commit", "", "the slack-api-specs commit -spec was read at, kept in spec.json")
)

func TestSpecExtract(t *testing.T) {
	if *fullSpec == "" {
		// Without the full file, the extract must still hold every method
		// the fake answers, each with its parameters and answers: a
		// method missing here would make every call to it a violation.
		sp, err := loadSpec()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range Methods {
			op, ok := sp.ops[m]
			if !ok {
				t.Errorf("spec.json lacks %s", m)
				continue
			}
			if len(op.params) == 0 || op.success == nil || op.failure == nil {
				t.Errorf("spec.json's %s has no parameters or no answers", m)
			}
		}
		return
	}
	raw, err := os.ReadFile(*fullSpec)
	if err != nil {
		t.Fatal(err)
	}
	var full struct {
		Host        string                     `json:"host"`
		BasePath    string                     `json:"basePath"`
		Paths       map[string]json.RawMessage `json:"paths"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	paths := map[string]json.RawMessage{}
	defs := map[string]json.RawMessage{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					name := path.Base(ref)
					if _, seen := defs[name]; !seen {
						def, ok := full.Definitions[name]
						if !ok {
							t.Fatalf("%s: no such definition", ref)
						}
						defs[name] = def
						var d any
						json.Unmarshal(def, &d)
						walk(d)
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, m := range Methods {
		p, ok := full.Paths["/"+m]
		if !ok {
			t.Fatalf("%s: not in the published description", m)
		}
		paths["/"+m] = p
		var v any
		json.Unmarshal(p, &v)
		walk(v)
	}
	commit := *specCommit
	if commit == "" && !*update {
		var old extract
		json.Unmarshal(specJSON, &old)
		commit = old.Source.Commit
	}
	out := extract{Paths: paths, Definitions: defs}
	out.Source.Repository = "https://github.com/slackapi/slack-api-specs"
	out.Source.File = "web-api/slack_web_openapi_v2_without_examples.json"
	out.Source.Commit = commit
	out.Source.Note = "only the paths sitrep calls and the definitions they refer to; made by TestSpecExtract"
	out.Host, out.BasePath = full.Host, full.BasePath
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("spec.json", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		names := make([]string, 0, len(defs))
		for n := range defs {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Logf("spec.json: %d paths, definitions %v", len(paths), names)
		return
	}
	if !bytes.Equal(buf.Bytes(), specJSON) {
		t.Errorf("spec.json is not what %s gives; run with -update", *fullSpec)
	}
}
