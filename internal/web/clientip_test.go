package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, c := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"192.0.2.7:5000", nil, "192.0.2.7"},
		// A peer that is not a trusted proxy: its X-Forwarded-For is not read.
		{"192.0.2.7:5000", []string{"203.0.113.1"}, "192.0.2.7"},
		// Through the proxy: the address it saw.
		{"10.0.0.2:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		// The client's own X-Forwarded-For is left of what the proxy appended.
		{"10.0.0.2:5000", []string{"198.51.100.9, 203.0.113.1"}, "203.0.113.1"},
		// Two proxies: the right-most address that is not one of them.
		{"10.0.0.2:5000", []string{"203.0.113.1, 10.1.1.1"}, "203.0.113.1"},
		{"10.0.0.2:5000", []string{"203.0.113.1", "10.1.1.1"}, "203.0.113.1"},
		// Only proxies, or nothing forwarded: the left-most proxy.
		{"10.0.0.2:5000", []string{"10.1.1.1"}, "10.1.1.1"},
		{"10.0.0.2:5000", nil, "10.0.0.2"},
		// Garbage where a proxy's entry should be: the last address a proxy vouched for.
		{"10.0.0.2:5000", []string{"203.0.113.1, nonsense"}, "10.0.0.2"},
		{"10.0.0.2:5000", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"[::1]:5000", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.ClientIP(r); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}
