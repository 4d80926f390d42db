package mailmsg

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/sitrep-dev/sitrep/internal/authres"
)

// AuthVerdict says whether a message's From can be believed, and why.
type AuthVerdict struct {
	Pass   bool
	Reason string // for the audit log and for people debugging a rejected command
}

// CheckAuthentication decides from the Authentication-Results headers
// (RFC 8601) whether the From address is authentic. Anyone can write an
// Authentication-Results header into the mail they send; only the
// receiving servers' own are worth anything, and only where they sit:
// each server prepends its field (and, per RFC 8601 5, removes incoming
// ones that claim its authserv-id), so the receiving side's results are the
// topmost ones, above anything that came from outside. So a header is
// believed only when
//
//   - it is among the topmost Authentication-Results, above the first one
//     that is unreadable or from an id not in trustedAuthServIDs (a trusted
//     header below an untrusted one may have come from outside);
//   - no trusted id appears twice anywhere in the message (one of the two is
//     a look-alike its server failed to remove);
//   - it states a result for this From: dmarc with header.from the From
//     domain, dkim with a signing domain (header.d) aligned to it (RFC 7489
//     3.1.1 relaxed alignment), or auth=pass with smtp.auth naming the From
//     address (RFC 8601 2.7.4: how the embedded sandbox vouches for local
//     submissions).
//
// Of the trusted block, the topmost header that states such a result
// decides. Every field is read with package authres, the parser the
// sandbox uses to remove look-alikes of its own, so the two cannot read
// different ids from the same bytes.
func CheckAuthentication(m *Message, trustedAuthServIDs []string) AuthVerdict {
	values := m.HeaderValues("Authentication-Results")
	if len(values) == 0 {
		return AuthVerdict{Reason: "no Authentication-Results header"}
	}
	isTrusted := func(id string) bool {
		return slices.ContainsFunc(trustedAuthServIDs, func(t string) bool { return authres.EqualID(t, id) })
	}
	seen := map[string]bool{}
	for _, v := range values {
		id, err := authres.AuthServID(v)
		if err != nil || !isTrusted(id) {
			continue
		}
		if seen[id] {
			return AuthVerdict{Reason: fmt.Sprintf("%s wrote more than one Authentication-Results: one of them came from outside "+
				"(the server should remove look-alikes of its own, RFC 8601 5); not believing either", id)}
		}
		seen[id] = true
	}

	var block []authres.Header
	stop := ""
	for _, v := range values {
		h, err := authres.Parse(v)
		if err != nil {
			stop = fmt.Sprintf("an unreadable Authentication-Results (%v)", err)
			break
		}
		if !isTrusted(h.AuthServID) {
			stop = "Authentication-Results from untrusted " + h.AuthServID
			break
		}
		block = append(block, h)
	}
	if len(block) == 0 {
		if len(seen) > 0 {
			return AuthVerdict{Reason: fmt.Sprintf("the trusted Authentication-Results sit below %s, so they may have come from outside", stop)}
		}
		return AuthVerdict{Reason: fmt.Sprintf("no Authentication-Results from a trusted server; the topmost is %s", stop)}
	}
	if len(seen) > len(block) {
		return AuthVerdict{Reason: fmt.Sprintf("a trusted Authentication-Results sits below %s, so it may have come from outside", stop)}
	}
	var first AuthVerdict
	for i, h := range block {
		v, decided := judge(h, m.From)
		if decided {
			return v
		}
		if i == 0 {
			first = v
		}
	}
	return first
}

// judge reads one trusted header for what it says about from. decided is
// false when the header states no result about this From (a hop that only
// relayed), so that the next trusted header may.
func judge(h authres.Header, from Address) (v AuthVerdict, decided bool) {
	var seen []string
	for _, r := range h.Results {
		seen = append(seen, r.Method+"="+r.Value)
	}
	summary := fmt.Sprintf("%s says %s", h.AuthServID, strings.Join(seen, " "))
	if len(seen) == 0 {
		summary = h.AuthServID + " reports no results"
	}
	fromDomain := from.Domain()

	for _, r := range h.Results {
		if r.Method != "auth" {
			continue
		}
		if r.Value != "pass" {
			return AuthVerdict{Reason: fmt.Sprintf("auth=%s; %s", r.Value, summary)}, true
		}
		who := r.Props["smtp.auth"]
		switch {
		case who == "":
			return AuthVerdict{Reason: "auth=pass does not say who authenticated (no smtp.auth); " + summary}, true
		case !sameMailbox(who, from.Email):
			return AuthVerdict{Reason: fmt.Sprintf("authenticated as %s, not as the From address %s; %s", who, from.Email, summary)}, true
		}
		return AuthVerdict{Pass: true, Reason: fmt.Sprintf("authenticated submission as %s (%s)", who, summary)}, true
	}
	if fromDomain == "" {
		return AuthVerdict{Reason: "no From domain to align with; " + summary}, false
	}
	for _, r := range h.Results {
		if r.Method != "dmarc" {
			continue
		}
		hf := r.Props["header.from"]
		if !strings.EqualFold(hf, fromDomain) {
			// A DMARC result is about the header.from it names; one for
			// another domain, or for none, says nothing about this From.
			continue
		}
		switch r.Value {
		case "pass":
			return AuthVerdict{Pass: true, Reason: "dmarc=pass; " + summary}, true
		case "fail":
			// The From domain's owner says this mail is not theirs; an
			// aligned dkim=pass cannot outvote that.
			return AuthVerdict{Reason: "dmarc=fail; " + summary}, true
		}
	}
	var unaligned []string
	for _, r := range h.Results {
		if r.Method != "dkim" || r.Value != "pass" {
			continue
		}
		d := r.Props["header.d"]
		if d == "" {
			// header.i is the AUID, "@sub.example.com" or "user@example.com".
			if i := r.Props["header.i"]; i != "" {
				d = i[strings.LastIndexByte(i, '@')+1:]
			}
		}
		if d == "" {
			continue
		}
		if aligned(d, fromDomain) {
			return AuthVerdict{Pass: true, Reason: fmt.Sprintf("dkim=pass for %s, aligned with From; %s", d, summary)}, true
		}
		unaligned = append(unaligned, d)
	}
	if len(unaligned) > 0 {
		return AuthVerdict{Reason: fmt.Sprintf("dkim=pass for %s, not aligned with From domain %s; %s", strings.Join(unaligned, ", "), fromDomain, summary)}, true
	}
	for _, r := range h.Results {
		if r.Method == "dmarc" && r.Props["header.from"] != "" && !strings.EqualFold(r.Props["header.from"], fromDomain) {
			return AuthVerdict{Reason: fmt.Sprintf("dmarc=%s is for %s, not the From domain %s; %s", r.Value, r.Props["header.from"], fromDomain, summary)}, false
		}
	}
	return AuthVerdict{Reason: summary}, false
}

// sameMailbox compares smtp.auth with the From address. A server names the
// authenticated user either by address or by bare user name; a bare name
// must match the From's local part (the domain is then the server's own).
func sameMailbox(authUser, from string) bool {
	if strings.Contains(authUser, "@") {
		return strings.EqualFold(authUser, from)
	}
	local, _, ok := strings.Cut(from, "@")
	return ok && strings.EqualFold(authUser, local)
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
