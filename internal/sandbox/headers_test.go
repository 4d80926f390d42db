package sandbox

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/authres"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

func TestNormalizeAddress(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"none", "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n"},
		{"ours dropped, folded", "Authentication-Results: sitrep-sandbox;\r\n auth=pass\r\nSubject: x\r\n\r\nb\r\n", "Subject: x\r\n\r\nb\r\n"},
		{"case and comment", "authentication-results: (forged) SITREP-SANDBOX; auth=pass\r\nSubject: x\r\n\r\n", "Subject: x\r\n\r\n"},
		{"quoted id", "Authentication-Results: \"sitrep-sandbox\"; auth=pass\r\n\r\n", "\r\n"},
		{"version", "Authentication-Results: sitrep-sandbox 1; auth=pass\r\n\r\n", "\r\n"},
		{"others kept", "Authentication-Results: mx.example; dkim=pass\r\n\r\n", "Authentication-Results: mx.example; dkim=pass\r\n\r\n"},
		{"look-alike id dropped", "Authentication-Results: mx.example; dkim=pass\r\nAuthentication-Results: sitrep-sandboxx; auth=pass\r\n\r\n", "Authentication-Results: mx.example; dkim=pass\r\n\r\n"},
		// The two escape forms a hand-written comment skipper once missed:
		// the reader honours the quoted-pair and sees sitrep-sandbox.
		{"escaped ( in a comment", "Authentication-Results: (\\() sitrep-sandbox; auth=pass\r\nSubject: x\r\n\r\n", "Subject: x\r\n\r\n"},
		{"escaped ) in a comment", "Authentication-Results: (\\)) sitrep-sandbox; auth=pass\r\nSubject: x\r\n\r\n", "Subject: x\r\n\r\n"},
		{"nested comments", "Authentication-Results: (a (b) c) sitrep-sandbox; auth=pass\r\n\r\n", "\r\n"},
		{"quoted-pair in a quoted id", "Authentication-Results: \"sitrep\\-sandbox\"; auth=pass\r\n\r\n", "\r\n"},
		{"folded before the id", "Authentication-Results:\r\n (x)\r\n sitrep-sandbox; auth=pass\r\n\r\n", "\r\n"},
		{"unreadable dropped", "Authentication-Results: (never closed mx.example; dkim=pass\r\n\r\n", "\r\n"},
		{"space before the colon", "Authentication-Results : sitrep-sandbox; auth=pass\r\n\r\n", "\r\n"},
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

// FuzzStripAuthResults checks the sandbox's removal of look-alike
// Authentication-Results against the side that believes them: after
// stripping, the inbox's parser (the one the hub trusts mail with) finds no
// field with the sandbox's id and believes no From. Each input must finish
// within 3 s, so a super-linear input fails here, not in production.
func FuzzStripAuthResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: sitrep-sandbox; auth=pass\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("A: b\r\n c\r\n\r\n"))
	f.Add([]byte("Authentication-Results: (a (nested) comment) sitrep-sandbox\r\n"))
	f.Add([]byte("From: lead@sitrep.example\r\nAuthentication-Results: (\\() sitrep-sandbox; auth=pass smtp.auth=lead\r\n\r\nx"))
	f.Add([]byte("From: lead@sitrep.example\r\nAuthentication-Results: (\\)) sitrep-sandbox; auth=pass smtp.auth=lead\r\n\r\nx"))
	f.Add([]byte("From: lead@sitrep.example\nauthentication-results:\n \"sitrep\\-sandbox\"; auth=pass smtp.auth=lead\n\nx"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkStripped(t, raw)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("stripping and parsing %d bytes took over 3 s", len(raw))
		}
	})
}

func checkStripped(t *testing.T, raw []byte) {
	raw = toCRLF(raw)
	out := stripAuthResults(raw, AuthServID)
	// Only whole header fields are removed: the body is untouched and
	// the output is no longer than the input.
	if len(out) > len(raw) {
		t.Errorf("output grew: %q -> %q", raw, out)
	}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 && !bytes.HasSuffix(out, raw[i+2:]) { // the empty line and the body
		t.Errorf("body changed: %q -> %q", raw, out)
	}
	if again := stripAuthResults(out, AuthServID); !bytes.Equal(again, out) {
		t.Errorf("not idempotent: %q -> %q -> %q", raw, out, again)
	}
	m, err := mailmsg.Parse(out, 0)
	if err != nil {
		return
	}
	for _, v := range m.HeaderValues("Authentication-Results") {
		if id, err := authres.AuthServID(v); err == nil && authres.EqualID(id, AuthServID) {
			t.Errorf("kept %q, which the inbox reads as the sandbox's own\ninput: %q", v, raw)
		}
	}
	if v := mailmsg.CheckAuthentication(m, []string{AuthServID}); v.Pass {
		t.Errorf("the inbox believes %q after stripping: %s", raw, v.Reason)
	}
}

func TestToCRLF(t *testing.T) {
	t.Parallel()
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
