package authres

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		id       string
		results  string // "method=value" joined by spaces
		props    map[string]string
	}{
		{name: "plain", in: "mx.example.com; dkim=pass header.d=example.net", id: "mx.example.com", results: "dkim=pass",
			props: map[string]string{"header.d": "example.net"}},
		{name: "none", in: "mx.example.com; none", id: "mx.example.com"},
		{name: "version", in: "MX.Example.COM 1; DMARC=Pass header.from=example.net", id: "mx.example.com", results: "dmarc=pass"},
		{name: "comment before the id", in: "(checked) mx.example.com; auth=pass smtp.auth=a", id: "mx.example.com", results: "auth=pass"},
		// The escape forms that once made the sandbox and the inbox read
		// different ids: inside a comment, \( and \) are literal.
		{name: `escaped "(" in a comment`, in: `(\() sitrep-sandbox; auth=pass smtp.auth=a`, id: "sitrep-sandbox", results: "auth=pass"},
		{name: `escaped ")" in a comment`, in: `(\)) sitrep-sandbox; auth=pass smtp.auth=a`, id: "sitrep-sandbox", results: "auth=pass"},
		{name: "nested comments", in: "(a (b (c)) d) mx.example.com (x); spf=pass (y (z)) smtp.mailfrom=a@b.example", id: "mx.example.com", results: "spf=pass",
			props: map[string]string{"smtp.mailfrom": "a@b.example"}},
		{name: "quoted id", in: `"mx.example.com"; dkim=pass`, id: "mx.example.com", results: "dkim=pass"},
		{name: "quoted id with a quoted-pair", in: `"sitrep\-sandbox"; auth=pass smtp.auth=a`, id: "sitrep-sandbox", results: "auth=pass"},
		{name: "semicolon inside a comment and a quoted string", in: `mx.example.com (a;b); dkim=pass reason="x;y" header.d=example.net`, id: "mx.example.com", results: "dkim=pass",
			props: map[string]string{"header.d": "example.net"}},
		{name: "folded", in: "mx.example.com;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.net\r\n\theader.i=@example.net header.b=\"AbCdEf12\";\r\n\tdkim-atps=neutral",
			id: "mx.example.com", results: "dkim=pass dkim-atps=neutral", props: map[string]string{"header.i": "@example.net", "header.b": "AbCdEf12"}},
		{name: "unquoted base64", in: "mx.google.com; dkim=pass header.i=@example.net header.s=20230601 header.b=Ab/cD+1=", id: "mx.google.com", results: "dkim=pass",
			props: map[string]string{"header.b": "Ab/cD+1="}},
		{name: "spaces around =", in: "mx.example.com; dmarc = pass header.from = example.net", id: "mx.example.com", results: "dmarc=pass",
			props: map[string]string{"header.from": "example.net"}},
		{name: "method version", in: "mx.example.com; dkim/1=pass header.d=example.net", id: "mx.example.com", results: "dkim=pass"},
		{name: "quoted local part", in: `mx.example.com; auth=pass smtp.auth="a b"@example.net`, id: "mx.example.com", results: "auth=pass",
			props: map[string]string{"smtp.auth": "a b@example.net"}},
		{name: "trailing semicolon", in: "mx.example.com; spf=pass smtp.mailfrom=example.net;", id: "mx.example.com", results: "spf=pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			var got []string
			for _, r := range h.Results {
				got = append(got, r.Method+"="+r.Value)
			}
			if h.AuthServID != tt.id || strings.Join(got, " ") != tt.results {
				t.Errorf("Parse(%q) = %s %q, want %s %q", tt.in, h.AuthServID, got, tt.id, tt.results)
			}
			for k, want := range tt.props {
				if !hasProp(h, k, want) {
					t.Errorf("Parse(%q): no property %s=%q in %+v", tt.in, k, want, h.Results)
				}
			}
		})
	}
}

func hasProp(h Header, k, v string) bool {
	for _, r := range h.Results {
		if r.Props[k] == v {
			return true
		}
	}
	return false
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"(only a comment)",
		"(unterminated sitrep-sandbox; auth=pass",
		`(\) sitrep-sandbox; auth=pass`, // the comment never closes
		`"unterminated; auth=pass`,
		"mx.example.com",
		"mx.example.com dkim=pass",
		"mx.example.com; dkim",
		"mx.example.com; dkim=",
		"mx.example.com; =pass",
		"mx.example.com; dkim=pass header.d",
		"mx.example.com; dkim=pass header.d=",
		"mx.example.com; dkim=pass headerd=example.net",
		"mx.example.com; dkim=pass header.d=a header.d=b",
		"mx.example.com 2; dkim=pass",
		"mx.example.com;\r\ndkim=pass", // a line break that is not a fold
		"mx.example.com;\rdkim=pass",
		"mx.example.com; dkim=pass\x00",
		"mx.example.com\x85; auth=pass",
		"\u017fitrep-sandbox; auth=pass", // "ſ" case-folds to "s"
		`"sitrep sandbox"; auth=pass`,
		`"\""; auth=pass`, // found by FuzzParse: an id Names could not see
		"mx.example.com; dkim=pass)",
		"\xff; auth=pass",
		strings.Repeat("(", maxCommentDepth+1) + strings.Repeat(")", maxCommentDepth+1) + " mx; none",
		"mx; none" + strings.Repeat(" ", MaxLen),
	} {
		if h, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, h)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"sitrep-sandbox; auth=pass", true},
		{"SITREP-Sandbox; auth=pass", true},
		{"(sitrep-sandbox) mx; none", true},
		{`"sitrep\-sandbox"; auth=pass`, true},
		{"mx.example.com; dkim=pass", false},
		{"sitrep-\r\n sandbox; auth=pass", false}, // not the id; Parse refuses it, so it is stripped anyway
	} {
		if got := Names(tt.in, "sitrep-sandbox"); got != tt.want {
			t.Errorf("Names(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEqualID(t *testing.T) {
	t.Parallel()
	if !EqualID("MX.Example.com", "mx.example.COM") {
		t.Error("ASCII case must not matter")
	}
	if EqualID("\u017fitrep", "sitrep") || EqualID("sitrep", "sitrep.") {
		t.Error("only the plain spelling may match")
	}
}

// fuzzDeadline is wall-clock time for one input. Parse is linear and takes
// microseconds; a second was too tight on a loaded 2-core machine (a 710-byte
// input that fails at its second byte once "took" a second while the fuzzer
// and a test suite shared the cores), and anything super-linear blows far
// past 3 s at a few kilobytes.
const fuzzDeadline = 3 * time.Second

// FuzzParse holds the promise the sandbox relies on when it removes
// look-alikes of its own results: whatever Parse reads as an id, Names
// finds in the raw value, so a field is never kept by the stripping side
// and then taken for the stripping side's own by the believing side. Each
// input must also finish within fuzzDeadline, so a super-linear input fails
// here rather than in production.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"mx.example.com; dkim=pass header.d=example.net",
		`(\() sitrep-sandbox; auth=pass smtp.auth=a`,
		`"sitrep\-sandbox"; auth=pass`,
		"mx.example.com;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.net",
		"mx; none",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			h, err := Parse(in)
			if err != nil {
				return
			}
			if !Names(in, h.AuthServID) {
				t.Errorf("Parse(%q) reads id %q, which Names does not find", in, h.AuthServID)
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline):
			t.Fatalf("Parse(%d bytes) took over %s", len(in), fuzzDeadline)
		}
	})
}
