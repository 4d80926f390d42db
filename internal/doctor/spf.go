package doctor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// SPF results (RFC 7208 2.6).
const (
	spfPass      = "pass"
	spfFail      = "fail"
	spfSoftFail  = "softfail"
	spfNeutral   = "neutral"
	spfNone      = "none"
	spfPermError = "permerror"
	spfTempError = "temperror"
)

// spfMaxLookups is RFC 7208 4.6.4's limit on the terms that cause DNS
// lookups (include, a, mx, ptr, exists, redirect) in one evaluation.
const spfMaxLookups = 10

// spfCheck evaluates check_host() (RFC 7208 4) for ip and domain: the
// mechanisms ip4, ip6, a, mx, include, exists (without macros) and all,
// and the redirect modifier. ptr (deprecated, 5.5) never matches; a
// domain-spec with macros cannot be expanded here and does not match.
type spfCheck struct {
	res     Resolver
	lookups int
	why     string // for permerror and temperror: what went wrong
}

func (e *spfCheck) errorf(result, why string) string {
	if e.why == "" {
		e.why = why
	}
	return result
}

// spfRecord returns the domain's SPF record; "" with spfNone when it has
// none, and permerror when it has several (RFC 7208 4.5).
func spfRecord(ctx context.Context, res Resolver, domain string) (string, string, error) {
	txts, err := res.LookupTXT(ctx, fqdn(domain))
	if err != nil {
		if notFound(err) {
			return "", spfNone, nil
		}
		return "", spfTempError, err
	}
	var recs []string
	for _, t := range txts {
		if l := strings.ToLower(t); l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return "", spfNone, nil
	case 1:
		return recs[0], "", nil
	}
	return "", spfPermError, errors.New(domain + " publishes " + strconv.Itoa(len(recs)) + " SPF records; RFC 7208 4.5 allows one")
}

func (e *spfCheck) check(ctx context.Context, ip netip.Addr, domain string) string {
	rec, result, err := spfRecord(ctx, e.res, domain)
	if err != nil {
		return e.errorf(result, err.Error())
	}
	if rec == "" {
		return result
	}
	var redirect string
	for _, term := range strings.Fields(rec)[1:] {
		name, value, isMod := strings.Cut(term, "=")
		if isMod && !strings.ContainsAny(name, ":/") {
			if strings.EqualFold(name, "redirect") {
				redirect = value
			}
			continue // exp= and unknown modifiers are ignored (6)
		}
		qual := spfPass
		switch term[0] {
		case '+':
			term = term[1:]
		case '-':
			qual, term = spfFail, term[1:]
		case '~':
			qual, term = spfSoftFail, term[1:]
		case '?':
			qual, term = spfNeutral, term[1:]
		}
		match, result := e.mechanism(ctx, ip, domain, term)
		if result != "" {
			return result
		}
		if match {
			return qual
		}
	}
	if redirect != "" {
		if e.lookups++; e.lookups > spfMaxLookups {
			return e.errorf(spfPermError, "more than 10 DNS-querying terms (RFC 7208 4.6.4)")
		}
		r := e.check(ctx, ip, redirect)
		if r == spfNone {
			return e.errorf(spfPermError, "redirect="+redirect+" has no SPF record")
		}
		return r
	}
	return spfNeutral
}

// mechanism reports whether one mechanism matches; a non-empty result
// ends the evaluation (an error).
func (e *spfCheck) mechanism(ctx context.Context, ip netip.Addr, domain, term string) (bool, string) {
	name, arg, _ := strings.Cut(term, ":")
	name = strings.ToLower(name)
	if name != "ip4" && name != "ip6" && name != "all" {
		// a/24 and mx//64 carry their prefix lengths after the name.
		base, _, _ := strings.Cut(name, "/")
		if base == "a" || base == "mx" || base == "include" || base == "exists" || base == "ptr" {
			if e.lookups++; e.lookups > spfMaxLookups {
				return false, e.errorf(spfPermError, "more than 10 DNS-querying terms (RFC 7208 4.6.4)")
			}
		}
	}
	switch {
	case name == "all":
		return true, ""
	case name == "ip4" || name == "ip6":
		p, err := parseSPFPrefix(arg)
		if err != nil {
			return false, e.errorf(spfPermError, "bad "+term+": "+err.Error())
		}
		return p.Contains(ip), ""
	case name == "include":
		if arg == "" {
			return false, e.errorf(spfPermError, "include without a domain")
		}
		if strings.Contains(arg, "%{") {
			return false, ""
		}
		switch r := e.check(ctx, ip, arg); r {
		case spfPass:
			return true, ""
		case spfFail, spfSoftFail, spfNeutral:
			return false, ""
		case spfNone:
			return false, e.errorf(spfPermError, "include:"+arg+" has no SPF record")
		default:
			return false, r
		}
	case name == "exists":
		if arg == "" || strings.Contains(arg, "%{") {
			return false, ""
		}
		addrs, err := e.res.LookupNetIP(ctx, "ip4", fqdn(arg))
		if err != nil && !notFound(err) {
			return false, e.errorf(spfTempError, err.Error())
		}
		return len(addrs) > 0, ""
	case strings.HasPrefix(name, "ptr"):
		return false, "" // deprecated (RFC 7208 5.5); never counted on
	}
	// a and mx, with optional domain and /cidr4 //cidr6.
	base, cidr, _ := strings.Cut(term, "/")
	kind, target, _ := strings.Cut(strings.ToLower(base), ":")
	if target == "" {
		target = domain
	}
	if kind != "a" && kind != "mx" {
		return false, e.errorf(spfPermError, "unknown mechanism "+term)
	}
	if strings.Contains(target, "%{") {
		return false, ""
	}
	bits4, bits6 := 32, 128
	if cidr != "" {
		c4, c6, has6 := strings.Cut(cidr, "//")
		if strings.HasPrefix(cidr, "/") { // a//64: only the IPv6 length
			c4, c6, has6 = "", strings.TrimPrefix(cidr, "/"), true
		}
		if c4 != "" {
			n, err := strconv.Atoi(c4)
			if err != nil || n < 0 || n > 32 {
				return false, e.errorf(spfPermError, "bad prefix length in "+term)
			}
			bits4 = n
		}
		if has6 && c6 != "" {
			n, err := strconv.Atoi(c6)
			if err != nil || n < 0 || n > 128 {
				return false, e.errorf(spfPermError, "bad prefix length in "+term)
			}
			bits6 = n
		}
	}
	hosts := []string{target}
	if kind == "mx" {
		mxs, err := e.res.LookupMX(ctx, fqdn(target))
		if err != nil && !notFound(err) {
			return false, e.errorf(spfTempError, err.Error())
		}
		hosts = hosts[:0]
		for i, mx := range mxs {
			if i == 10 { // RFC 7208 4.6.4: at most 10 MX names looked up
				return false, e.errorf(spfPermError, "mx: more than 10 MX records")
			}
			hosts = append(hosts, mx.Host)
		}
	}
	for _, h := range hosts {
		addrs, err := e.res.LookupNetIP(ctx, "ip", fqdn(h))
		if err != nil && !notFound(err) {
			return false, e.errorf(spfTempError, err.Error())
		}
		for _, a := range addrs {
			a = a.Unmap()
			bits := bits4
			if a.Is6() {
				bits = bits6
			}
			if a.Is4() != ip.Is4() {
				continue
			}
			if p, err := a.Prefix(bits); err == nil && p.Contains(ip) {
				return true, ""
			}
		}
	}
	return false, ""
}

func parseSPFPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// notFound: the name or the record type does not exist, which is an
// answer, not a failure.
func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
