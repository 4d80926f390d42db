package mailmsg

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// nestedMultipart is the message of issue 14: depth levels of
// multipart/mixed, each opened and never closed, around one line of text.
// At 27 levels it is about 1.6 KB, and enmime never finishes it. junk,
// when set, goes before each delimiter, where enmime still finds it.
func nestedMultipart(depth int, junk string) []byte {
	var b strings.Builder
	b.WriteString("From: Mallory <mallory@attacker.example>\r\nTo: status@example.test\r\nSubject: nested\r\n" +
		"Message-ID: <nested-" + fmt.Sprint(depth) + "@attacker.example>\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%02d\r\n\r\n%s--b%02d\r\n", i, junk, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
	return []byte(b.String())
}

// siblingChains is a multipart/mixed of n parts, each a chain of depth
// unclosed levels: within MaxDepth, and yet enmime's time adds up over
// the chains.
func siblingChains(n, depth int) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.test\r\nSubject: chains\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"top\"\r\n\r\n")
	for c := range n {
		b.WriteString("--top\r\n")
		for i := range depth {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"c%db%d\"\r\n\r\n--c%db%d\r\n", c, i, c, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nhi\r\n")
	}
	b.WriteString("--top--\r\n")
	return []byte(b.String())
}

func TestIssue14NestedMessageIsRefusedBeforeParsing(t *testing.T) {
	t.Parallel()
	for _, junk := range []string{"", "x", "\r"} {
		raw := nestedMultipart(27, junk)
		if junk == "" && (len(raw) < 1400 || len(raw) > 1800) {
			t.Fatalf("the message is %d bytes; the issue's is about 1,600", len(raw))
		}
		// Would hang for hours were it handed to enmime: that it returns
		// at all is half the test.
		m, err := Parse(raw, 0)
		if m != nil || errs.CodeOf(err) != errs.TooLarge || !strings.Contains(err.Error(), "nest") {
			t.Fatalf("junk %q: got %v, %v; want a too_large error about nesting", junk, m, err)
		}
	}
}

func TestEachLimitRefusesWhatIsOverIt(t *testing.T) {
	t.Parallel()
	header := "From: a@example.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
	manyParts := header + "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n", 6) + "--b--\r\n"
	manyFields := header + strings.Repeat("X-Filler: y\r\n", 20) + "\r\nbody\r\n"
	partFields := header + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + strings.Repeat("X-Filler: y\r\n", 20) + "\r\nbody\r\n--b--\r\n"
	bigHeader := header + "X-Long: " + strings.Repeat("y", 2000) + "\r\n\r\nbody\r\n"
	bigBody := header + "Content-Type: text/plain\r\n\r\n" + strings.Repeat("z", 5000) + "\r\n"
	for _, tc := range []struct {
		name, raw string
		lim       Limits
		reason    string
	}{
		{"depth", string(nestedMultipart(4, "")), Limits{MaxDepth: 3}, "nest more than 3 levels"},
		{"nesting work", string(siblingChains(10, 12)), Limits{}, "nest too deeply or too often"},
		{"parts", manyParts, Limits{MaxParts: 5}, "more than 5 MIME parts"},
		{"header fields", manyFields, Limits{MaxHeaderFields: 10}, "fields; the limit is 10"},
		{"header fields of a part", partFields, Limits{MaxHeaderFields: 10}, "fields; the limit is 10"},
		{"header bytes", bigHeader, Limits{MaxHeaderBytes: 1000}, "bytes; the limit is 1000"},
		{"decoded bytes", bigBody, Limits{MaxDecodedBytes: 1000}, "decoded parts come to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseLimited([]byte(tc.raw), 0, tc.lim)
			if m != nil || errs.CodeOf(err) != errs.TooLarge || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, %v; want too_large %q", m, err, tc.reason)
			}
			if tc.name == "nesting work" {
				return // over the default: that is the point
			}
			// The same message under the default limits parses: it is the
			// limit that refuses it, not something else.
			if _, err := Parse([]byte(tc.raw), 0); err != nil {
				t.Fatalf("under the default limits: %v", err)
			}
		})
	}
}

// Real mail is far from every limit.
func TestRealMailIsWithinTheDefaultLimits(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*/*.eml")
	if len(files) < 20 {
		t.Fatalf("only %d sample messages", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := CheckStructure(raw, DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if s.Depth > 4 {
			t.Errorf("%s: %v", f, &s)
		}
	}
}

// CheckStructure's figures bound enmime's tree, including where the two
// read a boundary differently (the fuzzer looks for more such inputs).
func TestStructureBoundsEnmimesTree(t *testing.T) {
	t.Parallel()
	raws := [][]byte{nestedMultipart(5, ""), nestedMultipart(5, "x"), nestedMultipart(5, "ab"), nestedMultipart(5, "\r"), siblingChains(3, 3)}
	files, _ := filepath.Glob("testdata/*/*.eml")
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		raws = append(raws, raw)
	}
	for i, raw := range raws {
		if err := checkBound(raw); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
}
