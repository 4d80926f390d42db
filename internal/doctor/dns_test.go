package doctor

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// goodZone: replies to example.test reach mx.example.test; the relay
// relay.provider.test (198.51.100.25) is covered by the provider's include;
// DMARC rejects; sitrep's DKIM key s1 is published.
func goodZone(key ed25519.PrivateKey) []string {
	return []string{
		"example.test. 300 IN MX 10 mx.example.test.",
		"mx.example.test. 300 IN A 203.0.113.10",
		"relay.provider.test. 300 IN A 198.51.100.25",
		`example.test. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 include:_spf.provider.test -all"`,
		`example.test. 300 IN TXT "google-site-verification=abc"`,
		`_spf.provider.test. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"`,
		`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.test"`,
		`s1._domainkey.example.test. 300 IN TXT "` + DKIMRecord(key) + `"`,
	}
}

func dnsDoctor(ns *testenv.DNSServer, key ed25519.PrivateKey) *Doctor {
	return &Doctor{Resolver: ns.Resolver(), Mail: Mail{Domain: "example.test", From: "status@example.test", EnvelopeFrom: "status+b-0-doctorcheck@example.test", ReplyLocalPart: "status",
		SMTP: Server{Host: "relay.provider.test", Port: 587, TLS: "starttls"},
		DKIM: DKIM{Domain: "example.test", Selector: "s1", Key: key}}}
}

// TestDNSGoodAndBrokenZones runs the DNS checks against a DNS server on
// loopback: a good zone passes; each way a zone breaks is named, as a
// failure when mail will not pass, as a warning when sitrep cannot know.
func TestDNSGoodAndBrokenZones(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	chain := []string{`example.test. 300 IN TXT "v=spf1 include:s0.example.test -all"`}
	for i := 0; i < 11; i++ {
		chain = append(chain, fmt.Sprintf(`s%d.example.test. 300 IN TXT "v=spf1 include:s%d.example.test -all"`, i, i+1))
	}
	chain = append(chain, `s11.example.test. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"`)
	tests := []struct {
		name   string
		zone   []string        // applied over the good zone
		adjust func(d *Doctor) // nil: none
		check  string
		status Status
		detail []string
	}{
		{name: "good MX", check: "DNS MX", status: OK, detail: []string{"mx.example.test (10)"}},
		{name: "good SPF through include", check: "DNS SPF", status: OK, detail: []string{"passes for the relay relay.provider.test", "198.51.100.25: pass"}},
		{name: "good DKIM", check: "DNS DKIM", status: OK},
		{name: "good DMARC", check: "DNS DMARC", status: OK, detail: []string{"p=reject", "aligns"}},
		{name: "no MX", zone: []string{"example.test. 300 IN TXT \"v=spf1 -all\""}, adjust: func(d *Doctor) { d.Mail.Domain = "replies.example.test" },
			check: "DNS MX", status: Fail, detail: []string{"no MX and no address", "status@replies.example.test"}},
		{name: "null MX", zone: []string{"example.test. 300 IN MX 0 ."}, check: "DNS MX", status: Fail, detail: []string{"null MX"}},
		{name: "two SPF records", zone: []string{`example.test. 300 IN TXT "v=spf1 -all"`, `example.test. 300 IN TXT "v=spf1 include:_spf.provider.test -all"`},
			check: "DNS SPF", status: Fail, detail: []string{"2 SPF records"}},
		{name: "SPF over ten lookups", zone: chain, check: "DNS SPF", status: Fail, detail: []string{"permerror", "more than 10"}},
		{name: "SPF misses the relay", zone: []string{`example.test. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"`},
			check: "DNS SPF", status: Warn, detail: []string{"does not cover the relay", "198.51.100.25: fail", "include:"}},
		{name: "SPF include without record", zone: []string{`example.test. 300 IN TXT "v=spf1 include:nothing.example.test -all"`},
			check: "DNS SPF", status: Fail, detail: []string{"permerror", "nothing.example.test has no SPF record"}},
		{name: "no SPF", zone: []string{`example.test. 300 IN TXT "google-site-verification=abc"`}, check: "DNS SPF", status: Warn, detail: []string{"no SPF record"}},
		{name: "DKIM key missing", zone: []string{"s1._domainkey.example.test."}, check: "DNS DKIM", status: Fail, detail: []string{"has no key", "v=DKIM1; k=ed25519; p="}},
		{name: "DKIM key of another", zone: []string{`s1._domainkey.example.test. 300 IN TXT "` + DKIMRecord(otherKey) + `"`},
			check: "DNS DKIM", status: Fail, detail: []string{"not the public half"}},
		{name: "DKIM revoked", zone: []string{`s1._domainkey.example.test. 300 IN TXT "v=DKIM1; p="`}, check: "DNS DKIM", status: Fail, detail: []string{"revoked"}},
		{name: "no signing: relay's DKIM unknown", adjust: func(d *Doctor) { d.Mail.DKIM = DKIM{} }, check: "DNS DKIM", status: Warn, detail: []string{"cannot be seen from here"}},
		{name: "no DMARC", zone: []string{"_dmarc.example.test."}, check: "DNS DMARC", status: Warn, detail: []string{"no DMARC policy", "v=DMARC1; p=none"}},
		{name: "DMARC bad policy", zone: []string{`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=block"`}, check: "DNS DMARC", status: Fail, detail: []string{"no valid policy"}},
		{name: "DMARC reject, SPF misses, no signing", zone: []string{`example.test. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"`},
			adjust: func(d *Doctor) { d.Mail.DKIM = DKIM{} }, check: "DNS DMARC", status: Warn, detail: []string{"p=reject", "unless the relay signs with d=example.test"}},
		{name: "DKIM not aligned under adkim=s", zone: []string{`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=quarantine; adkim=s"`, `s1._domainkey.mail.example.test. 300 IN TXT "` + DKIMRecord(key) + `"`},
			adjust: func(d *Doctor) { d.Mail.DKIM.Domain = "mail.example.test" }, check: "DNS DMARC", status: Fail, detail: []string{"does not align"}},
		{name: "DKIM aligned relaxed", zone: []string{`s1._domainkey.mail.example.test. 300 IN TXT "` + DKIMRecord(key) + `"`},
			adjust: func(d *Doctor) { d.Mail.DKIM.Domain = "mail.example.test" }, check: "DNS DMARC", status: OK, detail: []string{"aligns"}},
		{name: "DMARC from the organizational domain", adjust: func(d *Doctor) { d.Mail.From = "status@alerts.example.test"; d.Mail.DKIM = DKIM{} },
			zone:  []string{`alerts.example.test. 300 IN TXT "v=spf1 include:_spf.provider.test -all"`},
			check: "DNS DMARC", status: OK, detail: []string{"at _dmarc.example.test", "SPF pass", "envelope domain example.test, which aligns"}},
		{name: "SPF passes but not aligned under aspf=s", adjust: func(d *Doctor) { d.Mail.From = "status@alerts.example.test"; d.Mail.DKIM = DKIM{} },
			zone:  []string{`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject; aspf=s"`},
			check: "DNS DMARC", status: Warn, detail: []string{"SPF pass", "does not align with alerts.example.test"}},
		{name: "SPF is the envelope domain's", adjust: func(d *Doctor) { d.Mail.From = "status@other.test" },
			zone:  []string{`other.test. 300 IN TXT "v=spf1 -all"`},
			check: "DNS SPF", status: OK, detail: []string{"SPF of example.test passes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := testenv.StartDNS(t, goodZone(key)...)
			if err := ns.Set(tt.zone...); err != nil {
				t.Fatal(err)
			}
			d := dnsDoctor(ns, key)
			if tt.adjust != nil {
				tt.adjust(d)
			}
			r := &Report{}
			d.checkDNS(context.Background(), r)
			want(t, r, tt.check, tt.status, tt.detail...)
		})
	}
}

// TestSPFMechanisms evaluates check_host() term by term (RFC 7208 5).
func TestSPFMechanisms(t *testing.T) {
	t.Parallel()
	ns := testenv.StartDNS(t,
		"a.test. 300 IN A 192.0.2.10",
		"a.test. 300 IN AAAA 2001:db8::10",
		"a.test. 300 IN MX 10 mx.a.test.",
		"mx.a.test. 300 IN A 192.0.2.20",
		"flag.a.test. 300 IN A 127.0.0.2",
		`t-a.test. 300 IN TXT "v=spf1 a:a.test/24 -all"`,
		`t-mx.test. 300 IN TXT "v=spf1 mx:a.test -all"`,
		`t-six.test. 300 IN TXT "v=spf1 ip6:2001:db8::/32 -all"`,
		`t-a6.test. 300 IN TXT "v=spf1 a:a.test//64 -all"`,
		`t-redirect.test. 300 IN TXT "v=spf1 redirect=t-mx.test"`,
		`t-soft.test. 300 IN TXT "v=spf1 ?ip4:192.0.2.99 ~all"`,
		`t-exists.test. 300 IN TXT "v=spf1 exists:flag.a.test -all"`,
		`t-neutral.test. 300 IN TXT "v=spf1 ip4:192.0.2.1"`,
		`t-bad.test. 300 IN TXT "v=spf1 ip4:not-an-ip -all"`,
		`t-unknown.test. 300 IN TXT "v=spf1 frobnicate -all"`,
	)
	tests := []struct{ domain, ip, want string }{
		{"t-a.test", "192.0.2.200", spfPass},
		{"t-a.test", "192.0.3.1", spfFail},
		{"t-mx.test", "192.0.2.20", spfPass},
		{"t-mx.test", "192.0.2.10", spfFail},
		{"t-six.test", "2001:db8:1::1", spfPass},
		{"t-a6.test", "2001:db8::ffff", spfPass},
		{"t-a6.test", "2001:db9::1", spfFail},
		{"t-redirect.test", "192.0.2.20", spfPass},
		{"t-soft.test", "192.0.2.99", spfNeutral},
		{"t-soft.test", "192.0.2.98", spfSoftFail},
		{"t-exists.test", "198.51.100.1", spfPass},
		{"t-neutral.test", "198.51.100.1", spfNeutral},
		{"t-bad.test", "192.0.2.1", spfPermError},
		{"t-unknown.test", "192.0.2.1", spfPermError},
		{"none.test", "192.0.2.1", spfNone},
	}
	for _, tt := range tests {
		e := &spfCheck{res: ns.Resolver()}
		if got := e.check(context.Background(), netip.MustParseAddr(tt.ip), tt.domain); got != tt.want {
			t.Errorf("%s for %s: %s (%s), want %s", tt.domain, tt.ip, got, e.why, tt.want)
		}
	}
}

// TestDoctorResolverIsTheConfiguredServer: the DNS checks ask the server
// they are pointed at, not the system's resolver (example.test exists
// nowhere else).
func TestDoctorResolverIsTheConfiguredServer(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	ns := testenv.StartDNS(t, goodZone(key)...)
	r := &Report{}
	dnsDoctor(ns, key).checkDNS(context.Background(), r)
	if r.Failed() || !strings.Contains(r.Results[0].Detail, "mx.example.test") {
		t.Errorf("%+v", r.Results)
	}
}
