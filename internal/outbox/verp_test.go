package outbox

import (
	"strconv"
	"strings"
	"testing"
)

func TestBounceAddressRoundTrip(t *testing.T) {
	t.Parallel()
	o := &Outbox{ReplyPart: "status", Domain: "example.com"}
	token := newBounceToken()
	addr := o.bounceAddress(42, token)
	local, domain, _ := strings.Cut(addr, "@")
	plus, ok := strings.CutPrefix(local, "status+")
	if !ok || domain != "example.com" {
		t.Fatalf("bounce address %q", addr)
	}
	for _, p := range []string{plus, strings.ToUpper(plus)} { // a relay may fold the case
		row, got, ok := ParseBounceTag(p)
		if !ok || row != 42 || got != token {
			t.Errorf("ParseBounceTag(%q) = %d %q %v", p, row, got, ok)
		}
	}
	for _, bad := range []string{"", "b-", "b-42", "b-42-", "b--" + token, "b-0-" + token, "b--1-" + token, "b-x-" + token,
		"b-42-" + token[1:], "b-42-" + token + "a", "b-42-" + strings.Repeat("1", len(token)), token, "report-" + token} {
		if _, _, ok := ParseBounceTag(bad); ok {
			t.Errorf("ParseBounceTag(%q) accepted", bad)
		}
	}
}

// FuzzParseBounceTag: whatever the plus part of an inbound address holds,
// the parser does not panic, and what it accepts it reads back the same.
func FuzzParseBounceTag(f *testing.F) {
	f.Add("b-42-" + newBounceToken())
	f.Add("b-1-aaaaaaaaaaaaaaaa")
	f.Add("B-9223372036854775807-AAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, plus string) {
		row, token, ok := ParseBounceTag(plus)
		if !ok {
			return
		}
		again, token2, ok2 := ParseBounceTag(BounceTag + strconv.FormatInt(row, 10) + "-" + token)
		if !ok2 || again != row || token2 != token || row <= 0 || token != strings.ToLower(token) {
			t.Fatalf("%q: read %d %q, again %d %q %v", plus, row, token, again, token2, ok2)
		}
	})
}
