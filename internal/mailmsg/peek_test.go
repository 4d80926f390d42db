package mailmsg

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// PeekHeader and PeekMessageID read the top-level header block alone,
// whatever follows it, and never fail.
func TestPeekHeader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 600) // 1,200 bytes
	for _, tc := range []struct {
		name, raw string
		maxBytes  int
		want      Peeked
		wantID    string
	}{
		{"plain", "From: Ana Ortiz <Ana@Example.test>\r\nSubject: =?utf-8?q?Caf=C3=A9?= down\r\nMessage-ID: <a1@example.test>\r\n\r\n--b\r\nSubject: not this\r\n",
			1000, Peeked{Sender: "ana@example.test", SenderName: "Ana Ortiz", Subject: "Café down"}, "a1@example.test"},
		{"bare LF and a broken From", "From: <ben@example.test> (unclosed\nSubject: hi\nMessage-Id: b2@example.test\n\nbody\n",
			1000, Peeked{Sender: "ben@example.test", Subject: "hi"}, "b2@example.test"},
		{"no body", "Subject: only a header\r\n", 1000, Peeked{Subject: "only a header"}, ""},
		{"cut at maxBytes", "Subject: s\r\nFrom: late@example.test\r\n\r\n", 14, Peeked{Subject: "s"}, ""},
		{"long subject", "Subject: " + long + "\r\n\r\n", 4000, Peeked{Subject: long[:maxSubject] + "…"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := PeekHeader([]byte(tc.raw), tc.maxBytes); got != tc.want {
				t.Errorf("PeekHeader = %+v, want %+v", got, tc.want)
			}
			if got := PeekMessageID([]byte(tc.raw)); got != tc.wantID {
				t.Errorf("PeekMessageID = %q, want %q", got, tc.wantID)
			}
		})
	}
	if s := PeekHeader([]byte("Subject: x"+long+"\r\n"), 4000).Subject; !utf8.ValidString(s) || len(s) > maxSubject+len("…") {
		t.Errorf("a subject cut inside a rune: %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
	}
}
