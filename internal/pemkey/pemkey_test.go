package pemkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func TestPrivate(t *testing.T) {
	t.Parallel()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ek)
	for name, p := range map[string][]byte{
		"pkcs1 rsa":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
		"pkcs8 ed25519": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	} {
		if _, err := Private(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for p, says := range map[string]string{
		"": "no -----BEGIN",
		"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n": `"CERTIFICATE" block is not a private key`,
		"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n": "malformed private key (PRIVATE KEY)",
	} {
		if _, err := Private([]byte(p)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("Private(%q) = %v, want an error saying %q", p, err, says)
		}
	}
}
