package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
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
		if got := s.clientIP(r); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

// TestLoginLimitBehindAProxy: the sign-in limit is per client. A forged
// X-Forwarded-For from a peer that is not a trusted proxy does not get a
// fresh bucket; through a trusted proxy, two clients have a bucket each.
func TestLoginLimitBehindAProxy(t *testing.T) {
	t.Parallel()
	attempt := func(e *uiEnv, b *browser, i int, xff string) int {
		b.get("/login")
		emails := []string{"admin@x.test", "lead@x.test", "viewer@x.test"} // the per-account limit is not what is tested
		resp := b.post("/login", url.Values{"csrf": {b.csrf}, "email": {emails[i%3]}, "password": {"wrong password here"}}, "X-Forwarded-For", xff)
		resp.Body.Close()
		return resp.StatusCode
	}
	// No trusted proxy: eleven attempts, each with a different forged address, share one bucket of ten.
	e := newUIEnv(t)
	b := e.browser()
	var last int
	for i := 0; i < 11; i++ {
		last = attempt(e, b, i, "203.0.113."+strconv.Itoa(i+1))
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("11th attempt with forged X-Forwarded-For: %d, want 429", last)
	}

	// Behind a trusted proxy (the test's loopback peer): a bucket per client.
	e = newUIEnvWith(t, func(s *Server, _ string) {
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	a, c := e.browser(), e.browser()
	for i := 0; i < 11; i++ {
		// The client puts a fresh address of its own in front each time; the proxy's entry is what counts.
		last = attempt(e, a, i, "198.51.100."+strconv.Itoa(i+1)+", 203.0.113.1")
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("client A's 11th attempt: %d, want 429", last)
	}
	if got := attempt(e, c, 2, "203.0.113.2"); got != http.StatusUnauthorized {
		t.Fatalf("client B behind the same proxy: %d, want 401 (its own bucket)", got)
	}
}
