package ui

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"
)

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
