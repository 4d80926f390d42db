package outbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// dkimRecord is the TXT record publishing key's public half (RFC 6376
// 3.6.1), split into 255-byte strings as a zone file must.
func dkimRecord(t *testing.T, name string, key *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	var parts []string
	for len(v) > 255 {
		parts, v = append(parts, `"`+v[:255]+`"`), v[255:]
	}
	parts = append(parts, `"`+v+`"`)
	return name + " 300 IN TXT " + strings.Join(parts, " ")
}

// TestDKIMSignedMailVerifiesAfterRealDelivery: with signing on, the
// heads-up and a threaded status update that went through real Postfix
// into real Dovecot verify with go-msgauth's verifier, which fetches the
// key from a DNS server on loopback; the signature covers the threading,
// reply and list headers, so a changed Reply-To fails it.
func TestDKIMSignedMailVerifiesAfterRealDelivery(t *testing.T) {
	t.Parallel()
	people := []string{"vp", "lead", "ana", "r1"}
	ms := testenv.StartMailStack(t, people...)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ns := testenv.StartDNS(t, dkimRecord(t, "s2026._domainkey.sitrep.test.", key))
	h := newHarness(t, ms.SMTPAddr, orgYAML("example.test", people, nil, map[string][]string{"exec": {"ana"}}, []string{"r1"}), false)
	signer, err := outbox.NewDKIMSender(h.outbox.Sender, "sitrep.test", "s2026", key)
	if err != nil {
		t.Fatal(err)
	}
	h.outbox.Sender = signer
	h.startWorker(t)
	ctx := context.Background()
	inc := h.declare(t, "checkout")
	for i := 0; i < 2; i++ {
		if _, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Failover in progress.", Next: "30m", Groups: []string{"exec"}}); err != nil {
			t.Fatal(err)
		}
		h.clock.Add(time.Minute)
	}
	h.waitDelivered(t, inc)

	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lookup := func(domain string) ([]string, error) { return ns.Resolver().LookupTXT(ctx, domain) }
	var arrived [][]byte
	for user, n := range map[string]int{"r1": 1, "ana": 2} {
		raws, err := ms.WaitForMessages(wait, user, n)
		if err != nil {
			t.Fatal(err)
		}
		arrived = append(arrived, raws...)
	}
	threaded := 0
	for _, raw := range arrived {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 {
			t.Fatalf("verify: %v (%d signatures)", err, len(vs))
		}
		v := vs[0]
		if v.Err != nil || v.Domain != "sitrep.test" {
			t.Fatalf("signature by %q: %v\n%s", v.Domain, v.Err, raw)
		}
		signed := strings.ToLower(strings.Join(v.HeaderKeys, ":"))
		for _, k := range []string{"from", "reply-to", "to", "subject", "date", "message-id", "in-reply-to", "references", "list-id", "auto-submitted", "mime-version", "content-type"} {
			if !strings.Contains(":"+signed+":", ":"+k+":") {
				t.Errorf("%s is not signed (h=%s)", k, signed)
			}
		}
		if bytes.Contains(raw, []byte("\nIn-Reply-To:")) {
			threaded++
		}
		if !bytes.Contains(raw, []byte("c=relaxed/relaxed")) {
			t.Errorf("want relaxed/relaxed canonicalization")
		}
		// A relay or attacker pointing replies elsewhere breaks the signature.
		tampered := bytes.Replace(raw, []byte("Reply-To: <status+"), []byte("Reply-To: <evil+"), 1)
		if bytes.Equal(tampered, raw) {
			t.Fatalf("no Reply-To to tamper with in\n%s", raw)
		}
		vs, _ = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup})
		if len(vs) != 1 || vs[0].Err == nil {
			t.Errorf("a changed Reply-To still verifies")
		}
	}
	if threaded == 0 {
		t.Errorf("no threaded update among the %d messages: In-Reply-To was not exercised", len(arrived))
	}

	// A key missing from DNS is a failure a verifier reports, not a pass.
	if err := ns.Set("s2026._domainkey.sitrep.test."); err != nil {
		t.Fatal(err)
	}
	vs, _ := dkim.VerifyWithOptions(bytes.NewReader(arrived[0]), &dkim.VerifyOptions{LookupTXT: lookup})
	if len(vs) != 1 || vs[0].Err == nil {
		t.Errorf("verified without a published key")
	}
}
