package intake_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

// FuzzParse: any body, for any source, reads into alerts with a key and
// a title, or is refused as invalid; it never panics. Every vendor
// payload in testdata (named <source>_...) is a seed, and must read.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		f.Fatal("no seeds in testdata")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		source, _, _ := strings.Cut(filepath.Base(name), "_")
		if _, err := intake.Parse(source, b); err != nil {
			f.Fatalf("seed %s does not read: %v", name, err)
		}
		f.Add(source, b)
	}
	f.Add("generic", []byte(`{"key":"k","title":"t","started_at":"2026-11-24T13:00:00Z"}`))
	f.Fuzz(func(t *testing.T, source string, body []byte) {
		alerts, err := intake.Parse(source, body)
		if err != nil {
			if c := errs.CodeOf(err); c != errs.Invalid && c != errs.NotFound {
				t.Fatalf("%s: %v (code %s)", source, err, c)
			}
			return
		}
		for _, a := range alerts {
			if a.Key == "" || a.Title == "" || a.Source != source {
				t.Fatalf("%s: alert %+v", source, a)
			}
		}
	})
}
