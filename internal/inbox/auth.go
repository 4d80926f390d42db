package inbox

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// AuthVerdict says whether a message's From can be believed, and why.
type AuthVerdict struct {
	Pass   bool
	Reason string // for the audit log and for people debugging a rejected command
}

// CheckAuthentication decides from the Authentication-Results headers
// (RFC 8601) whether the From address is authentic. Only a header whose
// authserv-id is in trustedAuthServIDs counts: anyone can write an
// Authentication-Results header into the mail they send, and only our own
// receiving server's is worth anything (RFC 8601 5: such a server removes
// or ignores headers claiming its own authserv-id). Of several trusted
// headers, the topmost wins: each server prepends its own, so the topmost
// is the one added by the last hop, the receiving server. This is only
// safe if every server listed as trusted adds its header to every message
// (and, per RFC 8601 5, removes incoming ones that claim its authserv-id):
// a trusted id whose server added nothing lets a sender's forged header
// be the topmost trusted one.
//
// The message passes when that header reports dmarc=pass (for the From
// domain, when it names one), dkim=pass with a signing domain (header.d)
// aligned to the From domain (RFC 7489 3.1.1 relaxed alignment: the same
// organizational domain), or auth=pass (the sender authenticated to the
// server, RFC 8601 2.7.4: how the embedded sandbox vouches for local
// submissions).
func CheckAuthentication(m *Message, trustedAuthServIDs []string) AuthVerdict {
	values := m.HeaderValues("Authentication-Results")
	if len(values) == 0 {
		return AuthVerdict{Reason: "no Authentication-Results header"}
	}
	var untrusted []string
	for _, v := range values {
		ar, ok := parseAuthResults(v)
		if !ok {
			continue
		}
		if !slices.ContainsFunc(trustedAuthServIDs, func(id string) bool { return strings.EqualFold(id, ar.authServID) }) {
			untrusted = append(untrusted, ar.authServID)
			continue
		}
		v := judge(ar, m.From.Domain())
		if len(untrusted) > 0 {
			v.Reason += fmt.Sprintf("; ignored Authentication-Results from untrusted %s", strings.Join(untrusted, ", "))
		}
		return v
	}
	if len(untrusted) == 0 {
		return AuthVerdict{Reason: "no readable Authentication-Results header"}
	}
	return AuthVerdict{Reason: fmt.Sprintf("no Authentication-Results from a trusted server; ignored untrusted %s", strings.Join(untrusted, ", "))}
}

func judge(ar authResults, fromDomain string) AuthVerdict {
	var seen []string
	for _, r := range ar.results {
		seen = append(seen, r.method+"="+r.result)
	}
	summary := fmt.Sprintf("%s says %s", ar.authServID, strings.Join(seen, " "))
	if len(seen) == 0 {
		summary = ar.authServID + " reports no results"
	}

	for _, r := range ar.results {
		if r.method == "auth" && r.result == "pass" {
			return AuthVerdict{Pass: true, Reason: fmt.Sprintf("authenticated submission (%s)", summary)}
		}
	}
	if fromDomain == "" {
		return AuthVerdict{Reason: "no From domain to align with; " + summary}
	}
	for _, r := range ar.results {
		if r.method == "dmarc" && r.result == "fail" {
			// The From domain's owner says this mail is not theirs; an
			// aligned dkim=pass cannot outvote that.
			return AuthVerdict{Reason: "dmarc=fail; " + summary}
		}
		if r.method == "dmarc" && r.result == "pass" {
			if hf := r.props["header.from"]; hf != "" && !strings.EqualFold(hf, fromDomain) {
				return AuthVerdict{Reason: fmt.Sprintf("dmarc=pass is for %s, not the From domain %s; %s", hf, fromDomain, summary)}
			}
			return AuthVerdict{Pass: true, Reason: "dmarc=pass; " + summary}
		}
	}
	var unaligned []string
	for _, r := range ar.results {
		if r.method != "dkim" || r.result != "pass" {
			continue
		}
		d := r.props["header.d"]
		if d == "" {
			// header.i is the AUID, "@sub.example.com" or "user@example.com".
			if i := r.props["header.i"]; i != "" {
				d = i[strings.LastIndexByte(i, '@')+1:]
			}
		}
		if d == "" {
			continue
		}
		if aligned(d, fromDomain) {
			return AuthVerdict{Pass: true, Reason: fmt.Sprintf("dkim=pass for %s, aligned with From; %s", d, summary)}
		}
		unaligned = append(unaligned, d)
	}
	if len(unaligned) > 0 {
		return AuthVerdict{Reason: fmt.Sprintf("dkim=pass for %s, not aligned with From domain %s; %s", strings.Join(unaligned, ", "), fromDomain, summary)}
	}
	return AuthVerdict{Reason: summary}
}

// aligned is DMARC relaxed alignment (RFC 7489 3.1.1): both domains have
// the same organizational domain, found with the public suffix list.
func aligned(d, from string) bool {
	d, from = strings.ToLower(strings.TrimSuffix(d, ".")), strings.ToLower(strings.TrimSuffix(from, "."))
	if d == from {
		return true
	}
	od, err1 := publicsuffix.EffectiveTLDPlusOne(d)
	of, err2 := publicsuffix.EffectiveTLDPlusOne(from)
	return err1 == nil && err2 == nil && od == of
}

type authResults struct {
	authServID string
	results    []authResult
}

type authResult struct {
	method, result string
	props          map[string]string // "header.d" → "example.com", lower-cased keys
}

// parseAuthResults reads one Authentication-Results value (RFC 8601 2.2):
//
//	authserv-id [ version ] ( no-result / 1*resinfo )
//	resinfo = ";" methodspec [ reasonspec ] [ 1*propspec ]
//
// Comments (RFC 5322 CFWS) are dropped, quoted strings unquoted. It is
// lenient: an unreadable resinfo is skipped, not fatal.
func parseAuthResults(v string) (authResults, bool) {
	parts := splitUnquoted(stripComments(v), ';')
	head := strings.Fields(parts[0])
	if len(head) == 0 {
		return authResults{}, false
	}
	ar := authResults{authServID: strings.ToLower(unquote(head[0]))}
	for _, p := range parts[1:] {
		words := fieldsUnquoted(p)
		if len(words) == 0 {
			continue
		}
		method, result, ok := strings.Cut(words[0], "=")
		if !ok {
			continue // "none" (no-result) or junk
		}
		method, _, _ = strings.Cut(method, "/") // method version, "dkim/1"
		r := authResult{
			method: strings.ToLower(strings.TrimSpace(method)),
			result: strings.ToLower(unquote(strings.TrimSpace(result))),
			props:  map[string]string{},
		}
		for _, w := range words[1:] {
			k, val, ok := strings.Cut(w, "=")
			if !ok {
				continue
			}
			r.props[strings.ToLower(k)] = unquote(val)
		}
		ar.results = append(ar.results, r)
	}
	return ar, true
}

// stripComments removes RFC 5322 comments, which may nest, outside quoted
// strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for _, c := range s {
		switch {
		case depth > 0:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '(':
				depth++
			case c == ')':
				depth--
			}
			continue
		case quoted:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				quoted = false
			}
		case c == '(':
			depth++
			b.WriteByte(' ') // a comment separates tokens like white space
			continue
		case c == '"':
			quoted = true
		}
		b.WriteRune(c)
	}
	return b.String()
}

// splitUnquoted splits s at sep outside quoted strings.
func splitUnquoted(s string, sep rune) []string {
	var parts []string
	var b strings.Builder
	quoted := false
	for _, c := range s {
		if c == '"' {
			quoted = !quoted
		}
		if c == sep && !quoted {
			parts = append(parts, b.String())
			b.Reset()
			continue
		}
		b.WriteRune(c)
	}
	return append(parts, b.String())
}

// fieldsUnquoted splits at white space outside quoted strings, and also
// around a "=" padded with spaces ("dkim = pass" is legal CFWS).
func fieldsUnquoted(s string) []string {
	var words []string
	var b strings.Builder
	quoted := false
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
			b.WriteRune(c)
		case !quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			if b.Len() > 0 {
				words = append(words, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(c)
		}
	}
	if b.Len() > 0 {
		words = append(words, b.String())
	}
	// Rejoin "a", "=", "b" and "a=", "b" and "a", "=b".
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		for i+1 < len(words) && (strings.HasSuffix(w, "=") || strings.HasPrefix(words[i+1], "=")) {
			w += words[i+1]
			i++
		}
		out = append(out, w)
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.ReplaceAll(s, `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
	}
	return s
}
