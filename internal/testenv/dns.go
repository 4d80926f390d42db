package testenv

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNSServer is an authoritative DNS server on loopback (UDP and TCP on one
// port) answering from zone lines the test sets: the DNS side of mail
// checks (MX, SPF, DMARC, DKIM) without the Internet.
type DNSServer struct {
	Addr string // 127.0.0.1:port, UDP and TCP

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
	servers []*dns.Server
}

// StartDNS starts a DNS server on loopback serving the zone lines (RFC
// 1035 master-file syntax, one record a line, e.g. `example.test. 300 IN
// MX 10 mx.example.test.`) and stops it on cleanup.
func StartDNS(t testing.TB, lines ...string) *DNSServer {
	t.Helper()
	s := &DNSServer{records: map[string][]dns.RR{}}
	if err := s.Set(lines...); err != nil {
		t.Fatal(err)
	}
	// The UDP port is free for UDP only: a test running alongside (in this
	// binary or another) may hold the same port number over TCP. Take
	// another pair then.
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 1; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: dns: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 10 {
			t.Fatalf("testenv: dns: %v", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	udp := &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: func() { started <- struct{}{} }}
	tcp := &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: func() { started <- struct{}{} }}
	s.servers = []*dns.Server{udp, tcp}
	for _, srv := range s.servers {
		go func() { _ = srv.ActivateAndServe() }()
	}
	<-started
	<-started
	t.Cleanup(func() {
		for _, srv := range s.servers {
			_ = srv.Shutdown()
		}
	})
	return s
}

// Set replaces the records of every name the lines mention with the lines'
// records; a line "NAME" alone (no type) removes the name.
func (s *DNSServer) Set(lines ...string) error {
	fresh := map[string][]dns.RR{}
	var removed []string
	for _, line := range lines {
		if f := strings.Fields(line); len(f) == 1 {
			removed = append(removed, strings.ToLower(dns.Fqdn(f[0])))
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("testenv: dns: %q: %w", line, err)
		}
		name := strings.ToLower(rr.Header().Name)
		fresh[name] = append(fresh[name], rr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range removed {
		delete(s.records, name)
	}
	for name, rrs := range fresh {
		s.records[name] = rrs
	}
	return nil
}

// ServeDNS answers from the records: NXDOMAIN for an unknown name, an
// empty answer for a known name without records of the type (RFC 2308).
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		s.mu.Lock()
		rrs, ok := s.records[strings.ToLower(q.Name)]
		s.mu.Unlock()
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY {
				c := dns.Copy(rr)
				c.Header().Name = q.Name
				m.Answer = append(m.Answer, c)
			}
		}
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size) // the client retries over TCP
	}
	_ = w.WriteMsg(m)
}

// Resolver is a Go resolver that asks this server only.
func (s *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr)
	}}
}
