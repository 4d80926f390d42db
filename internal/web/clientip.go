package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the address of the client, for the sign-in rate limit and the
// logs. It is the peer, unless the peer is one of TrustedProxies: then it
// is the right-most X-Forwarded-For address that is not a trusted proxy.
// Each proxy appends the address it was reached from, so everything left
// of that address was written by the client and could be anything; a
// forged header from a peer that is not trusted is never read.
func (s *Server) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer.Unmap()) {
		return host
	}
	client := peer.Unmap()
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // not written by a trusted proxy: stop at the last address that was
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	return client.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor splits X-Forwarded-For header lines into hops, in order:
// several lines are one list (RFC 9110 section 5.3).
func forwardedFor(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for _, h := range strings.Split(l, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with
// a port ("192.0.2.1:4711", "[2001:db8::1]:4711") as some proxies write.
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
