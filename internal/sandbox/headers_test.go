package sandbox

import (
	"bytes"
	"strings"
	"testing"
)

func TestNormalizeAddress(t *testing.T) {
	sb, err := New(Config{Domain: "Sitrep.Example.", Password: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"status@sitrep.example", "status@sitrep.example"},
		{"<Status+Tok-123@SITREP.example>", "status@sitrep.example"},
		{"postmaster", "postmaster@sitrep.example"},
		{"bob+x@elsewhere.example", "bob@elsewhere.example"},
		{"+only@sitrep.example", "+only@sitrep.example"}, // a leading + is the local part, not a detail
		{"", ""},
		{"@sitrep.example", ""},
		{"a b@sitrep.example", ""},
		{"../x@sitrep.example", ""},
		{"x@", ""},
		{"x@bad..domain", ""},
		{`"quoted"@sitrep.example`, ""},
	} {
		got, err := sb.normalizeAddress(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("normalizeAddress(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNewReportsEveryConfigProblem(t *testing.T) {
	_, err := New(Config{Domain: "not a domain", SMTPAddr: "nope", MaxMessageBytes: -1})
	if err == nil {
		t.Fatal("New accepted a broken config")
	}
	for _, field := range []string{"sandbox.password", "sandbox.domain", "sandbox.smtp_addr", "sandbox.max_message_bytes"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not mention %s", err, field)
		}
	}
}

func TestStripAuthResults(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"none", "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n"},
		{"ours dropped, folded", "Authentication-Results: sitrep-sandbox;\r\n auth=pass\r\nSubject: x\r\n\r\nb\r\n", "Subject: x\r\n\r\nb\r\n"},
		{"case and comment", "authentication-results: (forged) SITREP-SANDBOX; auth=pass\r\nSubject: x\r\n\r\n", "Subject: x\r\n\r\n"},
		{"quoted id", "Authentication-Results: \"sitrep-sandbox\"; auth=pass\r\n\r\n", "\r\n"},
		{"version", "Authentication-Results: sitrep-sandbox 1; auth=pass\r\n\r\n", "\r\n"},
		{"others kept", "Authentication-Results: mx.example; dkim=pass\r\nAuthentication-Results: sitrep-sandboxx; auth=pass\r\n\r\n", "Authentication-Results: mx.example; dkim=pass\r\nAuthentication-Results: sitrep-sandboxx; auth=pass\r\n\r\n"},
		{"body untouched", "Subject: x\r\n\r\nAuthentication-Results: sitrep-sandbox; auth=pass\r\n", "Subject: x\r\n\r\nAuthentication-Results: sitrep-sandbox; auth=pass\r\n"},
		{"no body", "Authentication-Results: sitrep-sandbox; auth=pass", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(stripAuthResults([]byte(tc.in), AuthServID)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzStripAuthResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: sitrep-sandbox; auth=pass\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("A: b\r\n c\r\n\r\n"))
	f.Add([]byte("Authentication-Results: (a (nested) comment) sitrep-sandbox\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = toCRLF(raw)
		out := stripAuthResults(raw, AuthServID)
		// Only whole header fields are removed: the body is untouched and
		// the output is no longer than the input.
		if len(out) > len(raw) {
			t.Fatalf("output grew: %q -> %q", raw, out)
		}
		if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 && !bytes.HasSuffix(out, raw[i:]) {
			t.Fatalf("body changed: %q -> %q", raw, out)
		}
		// Nothing left claims our authserv-id.
		again := stripAuthResults(out, AuthServID)
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, out, again)
		}
	})
}

func TestToCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\n":     "a\r\nb\r\n",
		"a\r\nb\n":   "a\r\nb\r\n",
		"a\r\nb\r\n": "a\r\nb\r\n",
		"\n":         "\r\n",
		"":           "",
	} {
		if got := string(toCRLF([]byte(in))); got != want {
			t.Errorf("toCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}
