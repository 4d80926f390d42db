package mailmsg

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// FuzzInbound runs the whole pure inbound path on raw bytes, as the inbox
// and the reply use case run it: structure check, parse, reply extraction,
// classification, authentication, commands. It must not panic (it calls
// parse, not ParseLimited, which recovers from panics and would hide
// them), each input must finish within inboundDeadline (so that the next
// super-linear input fails here rather than in production), and what
// CheckStructure reports must bound the tree enmime builds.
func FuzzInbound(f *testing.F) {
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
	// Replies in the five languages, one per language and client, and
	// leads' commands in each, so that the fuzzer starts inside the
	// patterns of every language.
	for _, r := range labelledSeeds(f) {
		f.Add(r.rfc5322())
	}
	for _, cmd := range []string{"nächstes Update in 45 Minuten", "prochain : 1 heure et 30 minutes", "próxima actualización a las 15:30", "次回更新：1時間30分後", "保留 30分", "Gelöst: Zertifikat", "résolu", "解決済み。"} {
		f.Add([]byte("From: lead@example.org\r\nSubject: Re: [INC-1] x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRollback.\r\n" + cmd + "\r\n"))
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\r\nAction: failed\r\n--x--\r\n"))
	f.Add([]byte("From: a@b\r\nMessage-ID: <\xff\xfe@x>\r\nIn-Reply-To: <a\x00b@x>\r\nReferences: <\xc3\x28@x> <ok@x>\r\n\r\nbody\r\n"))
	f.Add(nestedMultipart(27, ""))
	f.Add(nestedMultipart(12, "x"))
	f.Add(nestedMultipart(12, "\r"))
	f.Add(siblingChains(4, 10))
	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, raw []byte) {
		done := make(chan struct{})
		var failure string
		go func() {
			defer close(done)
			failure = inbound(raw, lim)
		}()
		select {
		case <-done:
		case <-time.After(inboundDeadline):
			t.Fatalf("the inbound path took longer than %s on %d bytes", inboundDeadline, len(raw))
		}
		if failure != "" {
			t.Fatal(failure)
		}
	})
}

// inboundDeadline is what one input may take, in wall time: the worst
// input within the limits takes about 0.1 s, and a super-linear one hours,
// but on the shared, loaded machine a trivial input can wait a second for
// a core (as authres and sandbox found). The race detector slows
// everything about tenfold.
var inboundDeadline = map[bool]time.Duration{false: 3 * time.Second, true: 30 * time.Second}[raceEnabled]

// inbound runs the inbound path on raw; it returns what went wrong, or "".
func inbound(raw []byte, lim Limits) string {
	if _, err := CheckStructure(raw, lim); err != nil {
		if errs.CodeOf(err) != errs.TooLarge {
			return fmt.Sprintf("CheckStructure: error of code %s: %v", errs.CodeOf(err), err)
		}
		return "" // refused before parsing, as the act worker does
	}
	if err := checkBound(raw); err != nil {
		return err.Error()
	}
	m, err := parse(raw, lim)
	if err == nil && m == nil {
		return "parse returned neither a message nor an error"
	}
	if m != nil {
		// What is stored and looked up must be text every database takes.
		for _, id := range append([]string{m.MessageID, m.InReplyTo, PeekMessageID(raw)}, m.References...) {
			if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
				return fmt.Sprintf("message id %q is not storable text", id)
			}
		}
		Classify(m)
		CheckAuthentication(m, []string{"mx.example.com"})
		ParseCommand(m.NewText, "exec", "customer-service")
		ParseSubscribe(m.NewText)
		ClassifyConfirmation(m.NewText)
		m.ReplyTokens("status")
	}
	return ""
}

// checkBound parses raw with enmime and checks that CheckStructure's
// depth and part count are at least those of enmime's tree: the limits
// hold only if the pre-scan never sees less than enmime does.
func checkBound(raw []byte) error {
	s, err := CheckStructure(raw, DefaultLimits())
	if err != nil {
		return nil
	}
	env, err := mimeParser.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	depth, parts := 0, 0
	type node struct {
		p     *enmime.Part
		level int
	}
	for stack := []node{{env.Root, 0}}; len(stack) > 0; {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		depth = max(depth, n.level)
		if n.level > 0 {
			parts++
		}
		for c := n.p.FirstChild; c != nil; c = c.NextSibling {
			stack = append(stack, node{c, n.level + 1})
		}
	}
	if depth > s.Depth || parts > s.Parts {
		return fmt.Errorf("enmime's tree has depth %d and %d parts; CheckStructure saw %v", depth, parts, &s)
	}
	return nil
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
	for _, r := range labelledSeeds(f) {
		f.Add(r.Text)
	}
	f.Add("a\n> b\nOn x wrote:\nc\n-- \nd\n> e\nf")
	f.Add("a\n2026年3月3日(火) 15:30 x <\ny@z>:\nb\n差出人: x\n送信日時: y\n")
	f.Add("From: x\nSent: y\n")
	f.Fuzz(func(t *testing.T, text string) {
		var out string
		done := make(chan struct{})
		go func() { defer close(done); out = ExtractReply(text) }()
		select {
		case <-done:
		case <-time.After(inboundDeadline):
			t.Fatalf("ExtractReply took longer than %s on %d bytes", inboundDeadline, len(text))
		}
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

// labelledSeeds: the first labelled reply of each language and client.
func labelledSeeds(f *testing.F) []labelledReply {
	seen := map[string]bool{}
	var out []labelledReply
	for _, r := range loadLabelled(f) {
		if k := r.Lang + "/" + r.Client; !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func mustRead(f *testing.F, path string) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return raw
}
