package errs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func TestLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // "" accepts; else a part of the message
	}{
		{"Checkout down in EU", ""},
		{"Zahlungen fallen aus – Störung ✓ 支付故障", ""},
		{"RTL: فشل الدفع", ""},
		{"Checkout\u0085down", "contains U+0085 (a line break) at character 9"},
		{"a\rb", "U+000D (a line break)"},
		{"a\nb", "U+000A"},
		{"a\tb", "U+0009 (a tab)"},
		{"a\x00b", "U+0000 (a control character)"},
		{"a\x7fb", "U+007F"},
		{"a\u009bb", "U+009B"},
		{"a\u2028b", "U+2028 (a line break)"},
		{"ok\xffbad", "not valid UTF-8 (byte 2)"},
		{"   ", "must not be empty"},
		{strings.Repeat("x", 201), "at most 200"},
	} {
		err := errs.CheckLine("title", tc.in, 200, true)
		if tc.want == "" {
			if err != nil {
				t.Errorf("Line(%q) = %v, want accepted", tc.in, err)
			}
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "title" {
			t.Errorf("Line(%q) = %v, want an invalid error on field title", tc.in, err)
			continue
		}
		if !strings.Contains(e.Message, tc.want) {
			t.Errorf("Line(%q) message %q, want it to contain %q", tc.in, e.Message, tc.want)
		}
		if !utf8Printable(e.Message) {
			t.Errorf("Line(%q) message %q carries a control character itself", tc.in, e.Message)
		}
	}
}

func TestBlock(t *testing.T) {
	t.Parallel()
	if err := errs.CheckBlock("status", "Line one\r\nLine two\n\tindented", 1000, true); err != nil {
		t.Errorf("Block refused line breaks and tabs: %v", err)
	}
	for in, want := range map[string]string{
		"a\u0085b": "U+0085",
		"a\x1bb":   "U+001B",
		"a\xc3":    "not valid UTF-8",
	} {
		err := errs.CheckBlock("status", in, 1000, true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Block(%q) = %v, want %q", in, err, want)
		}
	}
	if err := errs.CheckBlock("status", "", 10, false); err != nil {
		t.Errorf("Block of an optional empty field: %v", err)
	}
}

func utf8Printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}
