package mailmsg

import (
	"strings"
	"testing"
)

func TestCheckAuthentication(t *testing.T) {
	t.Parallel()
	trusted := []string{"mx.example.com", "sandbox.sitrep.local"}
	tests := []struct {
		name    string
		from    string
		headers []string // Authentication-Results, topmost first
		pass    bool
		reason  string // a substring of Reason
	}{
		{
			name: "dmarc pass", from: "alice@example.net",
			headers: []string{"mx.example.com; spf=pass smtp.mailfrom=example.net; dkim=pass header.d=example.net; dmarc=pass (p=reject) header.from=example.net"},
			pass:    true, reason: "dmarc=pass",
		},
		{
			name: "dmarc fail", from: "ceo@example.net",
			headers: []string{"mx.example.com; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail (p=none dis=none) header.from=example.net"},
			pass:    false, reason: "dmarc=fail",
		},
		{
			name: "dmarc fail vetoes aligned dkim", from: "ceo@example.net",
			headers: []string{"mx.example.com; dkim=pass header.d=example.net; dmarc=fail header.from=example.net"},
			pass:    false, reason: "dmarc=fail",
		},
		{
			name: "forged header from untrusted host", from: "ceo@example.net",
			headers: []string{"evil.example; dkim=pass header.d=example.net; dmarc=pass header.from=example.net"},
			pass:    false, reason: "untrusted evil.example",
		},
		{
			name: "forged header below the trusted one", from: "ceo@example.net",
			headers: []string{
				"mx.example.com; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=example.net",
				"mx.example.com; dmarc=pass header.from=example.net",
			},
			pass: false, reason: "more than one",
		},
		{
			// Trace fields are prepended on the way in: a trusted header
			// below an untrusted one may have come from outside.
			name: "trusted header below an untrusted one", from: "alice@example.net",
			headers: []string{
				"relay.other.example; dmarc=fail",
				"mx.example.com; dmarc=pass header.from=example.net",
			},
			pass: false, reason: "below Authentication-Results from untrusted relay.other.example",
		},
		{
			name: "trusted header below an unreadable one", from: "lead@localhost",
			headers: []string{
				"(unterminated sandbox.sitrep.local; auth=pass smtp.auth=lead",
				"sandbox.sitrep.local; auth=pass smtp.auth=lead",
			},
			pass: false, reason: "below an unreadable",
		},
		{
			name: "two headers from the trusted id", from: "ceo@example.net",
			headers: []string{
				"mx.example.com; dmarc=pass header.from=example.net",
				"mx.example.com; dmarc=pass header.from=example.net",
			},
			pass: false, reason: "more than one",
		},
		{
			name: "two trusted ids, the top one only relayed", from: "alice@example.net",
			headers: []string{
				"sandbox.sitrep.local; spf=none smtp.mailfrom=example.net",
				"mx.example.com; dmarc=pass header.from=example.net",
			},
			pass: true, reason: "dmarc=pass",
		},
		{
			name: "dmarc pass without header.from", from: "alice@example.net",
			headers: []string{"mx.example.com; dmarc=pass"},
			pass:    false, reason: "dmarc=pass",
		},
		{
			name: "auth pass for another account", from: "ceo@localhost",
			headers: []string{"sandbox.sitrep.local; auth=pass smtp.auth=intern@localhost"},
			pass:    false, reason: "authenticated as intern@localhost, not as the From address",
		},
		{
			name: "auth pass without smtp.auth", from: "ceo@localhost",
			headers: []string{"sandbox.sitrep.local; auth=pass smtp.mailfrom=ceo@localhost"},
			pass:    false, reason: "no smtp.auth",
		},
		{
			name: "auth none", from: "ceo@localhost",
			headers: []string{"sandbox.sitrep.local; auth=none smtp.mailfrom=x@attacker.example"},
			pass:    false, reason: "auth=none",
		},
		{
			// U+017F folds to "s" under Unicode case folding.
			name: "look-alike id by Unicode case folding", from: "lead@localhost",
			headers: []string{"\u017fandbox.sitrep.local; auth=pass smtp.auth=lead"},
			pass:    false, reason: "not a plain name",
		},
		{name: "no header", from: "alice@example.net", pass: false, reason: "no Authentication-Results"},
		{
			name: "unaligned dkim", from: "ceo@example.net",
			headers: []string{"mx.example.com; spf=pass smtp.mailfrom=mailer.example; dkim=pass header.d=mailer.example header.s=s1; dmarc=none"},
			pass:    false, reason: "not aligned",
		},
		{
			name: "aligned dkim on a subdomain", from: "alice@example.net",
			headers: []string{"mx.example.com; dkim=pass header.d=mail.example.net; dmarc=none"},
			pass:    true, reason: "aligned",
		},
		{
			name: "public suffix is not an organizational domain", from: "alice@example.co.uk",
			headers: []string{"mx.example.com; dkim=pass header.d=other.co.uk"},
			pass:    false, reason: "not aligned",
		},
		{
			name: "dkim fail", from: "alice@example.net",
			headers: []string{"mx.example.com; dkim=fail (bad signature) header.d=example.net"},
			pass:    false, reason: "dkim=fail",
		},
		{
			name: "dmarc pass for another domain", from: "alice@example.net",
			headers: []string{"mx.example.com; dmarc=pass header.from=evil.example"},
			pass:    false, reason: "not the From domain",
		},
		{
			name: "sandbox auth pass", from: "lead@localhost",
			headers: []string{"sandbox.sitrep.local; auth=pass smtp.auth=lead"},
			pass:    true, reason: "authenticated submission",
		},
		{
			name: "auth pass from untrusted id", from: "lead@localhost",
			headers: []string{"sandbox.attacker.example; auth=pass smtp.auth=lead"},
			pass:    false, reason: "untrusted",
		},
		{
			name: "version, comments, quoting and case", from: "alice@Example.NET",
			headers: []string{"MX.Example.COM 1; (checked at 14:02) DKIM=pass (2048-bit key) header.d=\"example.net\" header.i=@example.net; DMARC = pass header.from=example.net"},
			pass:    true, reason: "",
		},
		{
			name: "no result", from: "alice@example.net",
			headers: []string{"mx.example.com; none"},
			pass:    false, reason: "no results",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: " + tt.from + "\r\n"
			for _, h := range tt.headers {
				raw += "Authentication-Results: " + h + "\r\n"
			}
			raw += "Subject: x\r\n\r\nbody\r\n"
			m, err := Parse([]byte(raw), 0)
			if err != nil {
				t.Fatal(err)
			}
			v := CheckAuthentication(m, trusted)
			if v.Pass != tt.pass || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("CheckAuthentication = %+v, want Pass %v with reason containing %q", v, tt.pass, tt.reason)
			}
		})
	}
}

func TestParseAuthResultsFolded(t *testing.T) {
	t.Parallel()
	// A folded header as Postfix/OpenDMARC write it.
	raw := "Authentication-Results: mx.example.com;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.net\r\n\theader.i=@example.net header.b=\"AbCdEf12\";\r\n\tdkim-atps=neutral\r\nFrom: a@example.net\r\n\r\nx\r\n"
	m, err := Parse([]byte(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	if v := CheckAuthentication(m, []string{"mx.example.com"}); !v.Pass {
		t.Errorf("CheckAuthentication = %+v, want pass", v)
	}
}
