package errs

// The one check for text that people write into sitrep: titles, names,
// group display names, status updates. Every entry point (the API, the
// web UI, groups.yaml, the CLI through the API) runs the same rules, so
// that what is accepted once is accepted again later: a title taken at
// declare must not be refused when the first update puts it into an email
// subject. It lives beside the error type because its refusals are the
// Invalid errors people meet most, and so that it adds no import level
// under every package that takes text.

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckLine checks one line of text: a title, a name, a display name. It must
// be valid UTF-8, at most maxBytes long, and hold no control character
// (C0, DEL or C1, such as U+0085 NEXT LINE, which some mail clients and
// terminals take for a line break) and no Unicode line or paragraph
// separator: such text ends up in email headers, where a line break is
// header injection and the rest is refused by RFC 5322 2.2.
func CheckLine(field, s string, maxBytes int, required bool) error {
	if err := common(field, s, maxBytes, required); err != nil {
		return err
	}
	if i, r := firstBad(s, badInLine); i >= 0 {
		return InvalidField(field, "contains %s (%s) at character %d; it must be one line of printable text", CodePoint(r), kind(r), runeIndex(s, i)+1)
	}
	return nil
}

// CheckBlock checks text that may run over several lines: a status update, a
// description. Line breaks and tabs are allowed; other control characters
// are not, for the same reasons as in CheckLine.
func CheckBlock(field, s string, maxBytes int, required bool) error {
	if err := common(field, s, maxBytes, required); err != nil {
		return err
	}
	if i, r := firstBad(s, badInBlock); i >= 0 {
		return InvalidField(field, "contains %s (%s) at character %d; only printable text, line breaks and tabs are allowed", CodePoint(r), kind(r), runeIndex(s, i)+1)
	}
	return nil
}

// CodePoint names r as Unicode does, "U+0085", for messages: printing the
// character itself would show nothing, or garble the message.
func CodePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

// FirstControl returns the byte index and the rune of the first character
// CheckLine refuses in s, or -1 when there is none; for checks on text that was
// stored before these rules (an old title reaching an email subject).
func FirstControl(s string) (int, rune) { return firstBad(s, badInLine) }

// InLine reports whether r may appear in one line of text (CheckLine); for
// code that cleans machine-written text, such as a monitoring alert's
// title, into something CheckLine accepts.
func InLine(r rune) bool { return !badInLine(r) }

func common(field, s string, maxBytes int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return InvalidField(field, "must not be empty")
	}
	if len(s) > maxBytes {
		return InvalidField(field, "is %d bytes long; at most %d", len(s), maxBytes)
	}
	if !utf8.ValidString(s) {
		return InvalidField(field, "is not valid UTF-8 (byte %d)", firstInvalid(s))
	}
	return nil
}

func badInLine(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

func badInBlock(r rune) bool {
	if r == '\n' || r == '\r' || r == '\t' {
		return false
	}
	return badInLine(r)
}

func firstBad(s string, bad func(rune) bool) (int, rune) {
	for i, r := range s {
		if bad(r) {
			return i, r
		}
	}
	return -1, 0
}

func kind(r rune) string {
	switch {
	case r == '\r' || r == '\n' || r == '\u2028' || r == '\u2029' || r == '\u0085':
		return "a line break"
	case r == '\t':
		return "a tab"
	default:
		return "a control character"
	}
}

func runeIndex(s string, byteIndex int) int { return utf8.RuneCountInString(s[:byteIndex]) }

func firstInvalid(s string) int {
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w <= 1 {
			return i
		}
		i += w
	}
	return -1
}
