package inbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: parse must not panic on any input. It calls parse, not
// Parse, because Parse recovers from panics and would hide them.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/replies", "testdata/classify"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\r\nAction: failed\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parse(raw)
		if err == nil && m == nil {
			t.Fatal("parse returned neither a message nor an error")
		}
		if m != nil {
			Classify(m)
			CheckAuthentication(m, []string{"mx.example.com"})
			ParseCommand(m.NewText)
			ClassifyConfirmation(m.NewText)
		}
	})
}

// FuzzExtractReply: ExtractReply never panics and never invents text:
// every line it returns is a line of the input, less trailing white space.
func FuzzExtractReply(f *testing.F) {
	files, _ := filepath.Glob("testdata/replies/*.eml")
	for _, file := range files {
		if m, err := Parse(mustRead(f, file), 0); err == nil {
			f.Add(m.Text)
		}
	}
	f.Add("a\n> b\nOn x wrote:\nc\n-- \nd\n> e\nf")
	f.Add("From: x\nSent: y\n")
	f.Fuzz(func(t *testing.T, text string) {
		out := ExtractReply(text)
		in := map[string]bool{"": true}
		for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
			in[strings.TrimRight(l, " \t\r")] = true
		}
		for _, l := range strings.Split(out, "\n") {
			if !in[l] {
				t.Fatalf("output line %q is not an input line\ninput: %q\noutput: %q", l, text, out)
			}
		}
		if len(out) > len(text) {
			t.Fatalf("output longer than input: %q → %q", text, out)
		}
	})
}

func mustRead(f *testing.F, path string) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return raw
}
