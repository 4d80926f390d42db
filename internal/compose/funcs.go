package compose

import (
	"net/url"
	"strings"
	"time"
	"unicode"
)

// EscapeInline makes plain text safe to put anywhere in a line of
// Markdown: every ASCII punctuation character gets a backslash (CommonMark
// 2.4 allows escaping any of them, and an escaped character has no
// meaning), runs of whitespace including line breaks become one space, so
// a title like "# Checkout *down*\n---" stays one line of literal text, and
// control and bidi-override characters are dropped.
func EscapeInline(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), isBidiControl(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if r < 0x80 && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// quoteText renders plain text from an email (a stakeholder's question) as
// a Markdown block quote that keeps its line breaks and means nothing else.
func quoteText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var b strings.Builder
	for i, line := range lines {
		line = EscapeInline(line)
		b.WriteString("> ")
		b.WriteString(line)
		if i < len(lines)-1 {
			if line != "" && i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				b.WriteString("\\") // CommonMark 6.7: backslash at end of line is a hard break
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// between is b - a, or 0 when either is unknown.
func between(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

// minutesUntil rounds up, so "due in 1 minute" is never "due in 0".
func minutesUntil(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Minute - 1) / time.Minute)
}

func minutesSince(t, now time.Time) int {
	d := now.Sub(t)
	if d <= 0 {
		return 0
	}
	return int(d / time.Minute)
}

// firstKnown returns the first non-zero time.
func firstKnown(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func escapeList(items []string) string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s = EscapeInline(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// oneLine collapses whitespace and drops control characters without
// Markdown escaping, for subjects built from text that came in by email.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || isBidiControl(r)
	}), " ")
}

// link writes a Markdown link to an http(s) URL, or just the escaped text
// when the URL is anything else: a template never links to javascript:
// or to something it cannot show.
func link(label, raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return EscapeInline(label)
	}
	// CommonMark 6.3: a destination in <...> may contain anything but
	// line breaks and unescaped < >; String() percent-encodes those.
	dest := strings.NewReplacer("<", "%3C", ">", "%3E").Replace(u.String())
	return "[" + EscapeInline(label) + "](<" + dest + ">)"
}

// clause is text that a template ends with its own full stop: without
// the one it may already have ("mailbox full." would end "..").
func clause(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), ". ")
}

// displayName is the name part of "Jane Doe <jane@example.com>", or the
// address when there is no name: how a first line names a person.
func displayName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "<"); i > 0 && strings.HasSuffix(s, ">") {
		if n := strings.Trim(strings.TrimSpace(s[:i]), `"`); n != "" {
			return n
		}
	}
	return strings.Trim(s, "<>")
}
