package mailmsg

import (
	"slices"
	"strings"
)

// AddressToken reads the reply token from a plus-address: for localPart
// "status", "status+Ab3x@example.com" gives "Ab3x". The local part is
// compared case-insensitively (most servers treat it so, though RFC 5321
// 2.4 allows otherwise); the token is returned as written, since tokens
// may be case-sensitive. addr may be bare or "Name <addr>". The domain is
// not checked: the caller matches it if it must.
func AddressToken(addr, localPart string) (token string, ok bool) {
	a := bareAddress(addr)
	if a == "" {
		a = strings.Trim(strings.TrimSpace(addr), "<>")
	}
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return "", false
	}
	local := a[:at]
	prefix := localPart + "+"
	if len(local) <= len(prefix) || !strings.EqualFold(local[:len(prefix)], prefix) {
		return "", false
	}
	return local[len(prefix):], true
}

// ReplyTokens returns the reply tokens found in the addresses this message
// was sent to: To, Cc, then Delivered-To and X-Original-To (which keep the
// token when the visible headers lost it, as with Bcc or a forward), in
// that order, without duplicates.
func (m *Message) ReplyTokens(localPart string) []string {
	var addrs []string
	for _, a := range m.To {
		addrs = append(addrs, a.Email)
	}
	for _, a := range m.Cc {
		addrs = append(addrs, a.Email)
	}
	addrs = append(addrs, m.DeliveredTo...)

	var tokens []string
	for _, a := range addrs {
		if t, ok := AddressToken(a, localPart); ok && !slices.Contains(tokens, t) {
			tokens = append(tokens, t)
		}
	}
	return tokens
}
