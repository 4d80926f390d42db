package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// checkDNS checks what receiving servers look up about the hub's mail:
// the MX of the reply domain, SPF of the envelope sender's domain, DKIM,
// and DMARC of the From domain.
func (d *Doctor) checkDNS(ctx context.Context, r *Report) {
	names := []string{"DNS MX", "DNS SPF", "DNS DKIM", "DNS DMARC"}
	if d.Mail.SMTP.Sandbox {
		for _, n := range names {
			r.add(Result{Area: "dns", Name: n, Status: Skip, Detail: "the built-in sandbox delivers on this machine; DNS matters once mail.smtp points at a real relay"})
		}
		return
	}
	if d.Resolver == nil {
		for _, n := range names {
			r.add(Result{Area: "dns", Name: n, Status: Skip, Detail: "no resolver"})
		}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 4*d.timeout())
	defer cancel()
	d.checkMX(ctx, r)
	spf := d.checkSPF(ctx, r)
	signs := d.checkDKIM(ctx, r)
	d.checkDMARC(ctx, r, spf, signs)
}

func (d *Doctor) fromDomain() string {
	if at := strings.LastIndexByte(d.Mail.From, '@'); at >= 0 {
		return strings.ToLower(d.Mail.From[at+1:])
	}
	return strings.ToLower(d.Mail.Domain)
}

// envelopeDomain is the domain of the envelope sender, which SPF checks.
func (d *Doctor) envelopeDomain() string {
	e := d.envelopeFrom()
	if at := strings.LastIndexByte(e, '@'); at >= 0 {
		return strings.ToLower(e[at+1:])
	}
	return strings.ToLower(d.Mail.Domain)
}

func (d *Doctor) checkMX(ctx context.Context, r *Report) {
	dom := d.Mail.Domain
	reply := d.Mail.ReplyLocalPart + "@" + dom
	mxs, err := d.Resolver.LookupMX(ctx, fqdn(dom))
	if err != nil && !notFound(err) {
		r.add(Result{Area: "dns", Name: "DNS MX", Status: Fail, Detail: "looking up the MX of " + dom + ": " + oneLine(err.Error()), Fix: "check doctor.resolver, or this machine's DNS"})
		return
	}
	if len(mxs) == 0 {
		// RFC 5321 5.1: without MX, the domain's own address is used.
		if addrs, _ := d.Resolver.LookupNetIP(ctx, "ip", fqdn(dom)); len(addrs) > 0 {
			r.add(Result{Area: "dns", Name: "DNS MX", Status: Warn, Detail: dom + " has no MX; senders fall back to its address " + addrs[0].String() + " (RFC 5321 5.1)",
				Fix: "publish an MX for " + dom + " naming the server that holds " + reply})
			return
		}
		r.add(Result{Area: "dns", Name: "DNS MX", Status: Fail, Detail: dom + " has no MX and no address: replies to " + reply + " cannot be delivered from outside",
			Fix: "publish an MX record for " + dom + " (your provider's: Google ASPMX/SMTP.GOOGLE.COM, Microsoft <tenant>.mail.protection.outlook.com)"})
		return
	}
	var hosts []string
	for _, mx := range mxs {
		hosts = append(hosts, strings.TrimSuffix(mx.Host, ".")+" ("+itoa(int(mx.Pref))+")")
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		r.add(Result{Area: "dns", Name: "DNS MX", Status: Fail, Detail: dom + " publishes a null MX (RFC 7505): it accepts no mail, so replies to " + reply + " bounce",
			Fix: "replace the null MX of " + dom + " with your mail server, or set mail.domain to a domain that receives mail"})
		return
	}
	r.add(Result{Area: "dns", Name: "DNS MX", Status: OK, Detail: "replies to " + dom + " go to " + joinMax(hosts, ", ", 4)})
}

// checkSPF evaluates the SPF record of the envelope sender's domain (RFC
// 7208 2.4: MAIL FROM is what SPF checks) for the relay's addresses and
// returns the result (pass, fail, ...).
func (d *Doctor) checkSPF(ctx context.Context, r *Report) string {
	dom := d.envelopeDomain()
	rec, result, err := spfRecord(ctx, d.Resolver, dom)
	switch {
	case result == spfPermError:
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Fail, Detail: oneLine(err.Error()) + ": receivers treat that as a permanent error",
			Fix: "merge them into one TXT record starting v=spf1"})
		return result
	case err != nil:
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Fail, Detail: "looking up SPF of " + dom + ": " + oneLine(err.Error()), Fix: "check doctor.resolver, or this machine's DNS"})
		return result
	case rec == "":
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Warn, Detail: dom + " publishes no SPF record: Gmail and Outlook rate its mail as suspect",
			Fix: "publish TXT \"v=spf1 include:<your provider> -all\" on " + dom + " (Google: include:_spf.google.com; Microsoft 365: include:spf.protection.outlook.com)"})
		return spfNone
	}
	host := d.Mail.SMTP.Host
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = d.Resolver.LookupNetIP(ctx, "ip", fqdn(host)); err != nil || len(addrs) == 0 {
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Warn, Detail: "SPF of " + dom + " is \"" + oneLine(rec) + "\", but the relay " + host + " does not resolve here, so it cannot be evaluated",
			Fix: "check mail.smtp.host"})
		return spfNone
	}
	var public []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() {
			public = append(public, a)
		}
	}
	if len(public) == 0 {
		// A relay inside the network: what receivers check is the address
		// it sends out from, which cannot be seen from here. The record is
		// still evaluated for its errors.
		e := &spfCheck{res: d.Resolver}
		res := e.check(ctx, addrs[0], dom)
		if res == spfPermError || res == spfTempError {
			r.add(Result{Area: "dns", Name: "DNS SPF", Status: Fail, Detail: "SPF of " + dom + ": " + res + ": " + e.why, Fix: spfFix(dom, res)})
			return res
		}
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Warn, Detail: "the relay " + host + " is at a private address (" + addrs[0].String() + "); receivers check the address it sends out from, which sitrep cannot see",
			Fix: "make sure \"" + oneLine(rec) + "\" covers your outbound mail servers' public addresses"})
		return spfNone
	}
	var lines []string
	worst := spfPass
	for _, a := range public {
		e := &spfCheck{res: d.Resolver}
		res := e.check(ctx, a, dom)
		line := a.String() + ": " + res
		if e.why != "" {
			line += " (" + e.why + ")"
		}
		lines = append(lines, line)
		if res != spfPass && worst == spfPass || res == spfPermError || res == spfTempError {
			worst = res
		}
	}
	switch worst {
	case spfPass:
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: OK, Detail: "SPF of " + dom + " passes for the relay " + host + " (" + strings.Join(lines, "; ") + ")"})
	case spfPermError, spfTempError:
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Fail, Detail: "SPF of " + dom + " for the relay " + host + ": " + strings.Join(lines, "; "), Fix: spfFix(dom, worst)})
	default:
		// A submission server's address is not always one its provider sends
		// out from, so this is a warning, not a failure.
		r.add(Result{Area: "dns", Name: "DNS SPF", Status: Warn, Detail: "SPF of " + dom + " does not cover the relay " + host + " (" + strings.Join(lines, "; ") + ")",
			Fix: "add the relay to \"" + oneLine(rec) + "\": ip4:/ip6: for your own server, or your provider's include (Google: include:_spf.google.com; Microsoft 365: include:spf.protection.outlook.com)"})
	}
	return worst
}

func spfFix(dom, result string) string {
	if result == spfTempError {
		return "a DNS server did not answer; try again, or check doctor.resolver"
	}
	return "correct the SPF record of " + dom + " (RFC 7208): one v=spf1 record, at most 10 include/a/mx/exists/redirect terms in all (flatten nested includes)"
}

// checkDKIM checks the hub's own signing key in DNS; it reports whether
// the hub signs.
func (d *Doctor) checkDKIM(ctx context.Context, r *Report) bool {
	k := d.Mail.DKIM
	from := d.fromDomain()
	if k.Key == nil {
		r.add(Result{Area: "dns", Name: "DNS DKIM", Status: Warn, Detail: "sitrep does not sign (mail.dkim is off); whether the relay signs for " + from + " cannot be seen from here",
			Fix: "turn DKIM on for " + from + " at your provider (Google Admin console → Apps → Google Workspace → Gmail → Authenticate email; Microsoft Defender portal → Email authentication settings → DKIM), or set mail.dkim; a received email's Authentication-Results must say dkim=pass header.d=" + from})
		return false
	}
	name := k.Selector + "._domainkey." + k.Domain
	want := DKIMRecord(k.Key)
	txts, err := d.Resolver.LookupTXT(ctx, fqdn(name))
	if err != nil && !notFound(err) {
		r.add(Result{Area: "dns", Name: "DNS DKIM", Status: Fail, Detail: "looking up " + name + ": " + oneLine(err.Error()), Fix: "check doctor.resolver, or this machine's DNS"})
		return true
	}
	var rec string
	for _, t := range txts {
		if strings.Contains(t, "p=") {
			rec = t
		}
	}
	if rec == "" {
		r.add(Result{Area: "dns", Name: "DNS DKIM", Status: Fail, Detail: "sitrep signs with d=" + k.Domain + " s=" + k.Selector + " but " + name + " has no key: every signature fails",
			Fix: "publish TXT at " + name + ": \"" + want + "\""})
		return true
	}
	pub := dkimTag(rec, "p")
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(pub), ""))
	mine, _ := x509.MarshalPKIXPublicKey(k.Key.Public())
	ed, isEd := dkimEd25519(k)
	switch {
	case pub == "":
		r.add(Result{Area: "dns", Name: "DNS DKIM", Status: Fail, Detail: "the key at " + name + " is revoked (empty p=)", Fix: "publish TXT at " + name + ": \"" + want + "\""})
	case err != nil || !(bytes.Equal(der, mine) || isEd && bytes.Equal(der, ed)):
		r.add(Result{Area: "dns", Name: "DNS DKIM", Status: Fail, Detail: "the key published at " + name + " is not the public half of mail.dkim.private_key: every signature fails",
			Fix: "publish TXT at " + name + ": \"" + want + "\" (or configure the key that belongs to the record)"})
	default:
		r.add(Result{Area: "dns", Name: "DNS DKIM", Status: OK, Detail: name + " publishes the public half of mail.dkim.private_key"})
	}
	return true
}

// dkimTag returns a tag's value from a DKIM or DMARC tag list.
func dkimTag(rec, tag string) string {
	for _, part := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), tag) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// checkDMARC reads the From domain's DMARC policy (RFC 7489) and says
// whether the hub's mail aligns with it: SPF when it passes for the
// envelope domain (mail.domain, the bounce addresses') and that domain
// aligns with the From domain; DKIM when the hub signs with an aligned d=. The relay's own DKIM cannot be seen from here.
func (d *Doctor) checkDMARC(ctx context.Context, r *Report, spf string, signs bool) {
	from := d.fromDomain()
	rec, at, err := d.dmarcRecord(ctx, from)
	if err != nil {
		r.add(Result{Area: "dns", Name: "DNS DMARC", Status: Fail, Detail: "looking up _dmarc." + from + ": " + oneLine(err.Error()), Fix: "check doctor.resolver, or this machine's DNS"})
		return
	}
	if rec == "" {
		r.add(Result{Area: "dns", Name: "DNS DMARC", Status: Warn, Detail: from + " publishes no DMARC policy: Gmail, Yahoo and Outlook.com expect one from domains that send in bulk",
			Fix: "publish TXT at _dmarc." + from + ": \"v=DMARC1; p=none; rua=mailto:dmarc-reports@" + from + "\", then move to quarantine once the reports are clean"})
		return
	}
	policy := strings.ToLower(dkimTag(rec, "p"))
	if at != from {
		if sp := strings.ToLower(dkimTag(rec, "sp")); sp != "" {
			policy = sp
		}
	}
	if !slices.Contains([]string{"none", "quarantine", "reject"}, policy) {
		r.add(Result{Area: "dns", Name: "DNS DMARC", Status: Fail, Detail: "the DMARC record of " + at + " has no valid policy (p=" + policy + "): \"" + oneLine(rec) + "\"",
			Fix: "p= must be none, quarantine or reject (RFC 7489 6.3)"})
		return
	}
	where := "_dmarc." + at
	dkimAligned := false
	dkimNote := ""
	if signs {
		dkimAligned = aligned(d.Mail.DKIM.Domain, from, strings.ToLower(dkimTag(rec, "adkim")) == "s")
		if !dkimAligned {
			r.add(Result{Area: "dns", Name: "DNS DMARC", Status: Fail, Detail: "p=" + policy + " at " + where + ", but sitrep signs with d=" + d.Mail.DKIM.Domain + ", which does not align with the From domain " + from,
				Fix: "set mail.dkim.domain to " + from + " (or a parent of it, with relaxed adkim)"})
			return
		}
		dkimNote = "; sitrep's DKIM signature (d=" + d.Mail.DKIM.Domain + ") aligns"
	}
	env := d.envelopeDomain()
	spfAligned := aligned(env, from, strings.ToLower(dkimTag(rec, "aspf")) == "s")
	spfNote := "; SPF " + spf + " for the relay, for the envelope domain " + env
	if spfAligned {
		spfNote += ", which aligns with " + from
	} else {
		spfNote += ", which does not align with " + from + " (aspf)"
	}
	switch {
	case dkimAligned || spf == spfPass && spfAligned:
		r.add(Result{Area: "dns", Name: "DNS DMARC", Status: OK, Detail: "p=" + policy + " at " + where + dkimNote + spfNote})
	case policy == "none":
		r.add(Result{Area: "dns", Name: "DNS DMARC", Status: Warn, Detail: "p=none at " + where + ": nothing is refused yet" + spfNote + "; the relay's own DKIM cannot be seen from here",
			Fix: "before tightening the policy, make sure a received email's Authentication-Results says dmarc=pass (the relay signs with d=" + from + ", or mail.dkim is set)"})
	default:
		r.add(Result{Area: "dns", Name: "DNS DMARC", Status: Warn, Detail: "p=" + policy + " at " + where + spfNote + "; unless the relay signs with d=" + from + " (not visible from here), receivers will " + policy + " the hub's mail",
			Fix: "turn DKIM on for " + from + " at your provider, or set mail.dkim; then check a received email's Authentication-Results for dmarc=pass"})
	}
}

// dmarcRecord finds the policy: at _dmarc.<from>, else at the
// organizational domain's (RFC 7489 6.6.3).
func (d *Doctor) dmarcRecord(ctx context.Context, from string) (rec, at string, err error) {
	for _, dom := range []string{from, orgDomain(from)} {
		txts, err := d.Resolver.LookupTXT(ctx, fqdn("_dmarc."+dom))
		if err != nil && !notFound(err) {
			return "", "", err
		}
		for _, t := range txts {
			if l := strings.ToLower(strings.TrimSpace(t)); strings.HasPrefix(l, "v=dmarc1") {
				return t, dom, nil
			}
		}
		if dom == orgDomain(from) {
			break
		}
	}
	return "", "", nil
}

// orgDomain is RFC 7489 3.2's organizational domain, found with the
// public suffix list (example.co.uk, not co.uk), as the inbox's alignment
// check finds it.
func orgDomain(dom string) string {
	dom = strings.ToLower(strings.TrimSuffix(dom, "."))
	if od, err := publicsuffix.EffectiveTLDPlusOne(dom); err == nil {
		return od
	}
	return dom
}

// aligned is RFC 7489 3.1's identifier alignment: equal domains (strict),
// or the same organizational domain (relaxed).
func aligned(a, b string, strict bool) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	return !strict && orgDomain(a) == orgDomain(b)
}
