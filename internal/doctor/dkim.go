package doctor

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
)

// DKIMRecord is the TXT record that publishes key's public half (RFC 6376
// 3.6.1; Ed25519 per RFC 8463, whose p= is the raw 32-byte key).
func DKIMRecord(key crypto.Signer) string {
	if ed, ok := key.Public().(ed25519.PublicKey); ok {
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(ed)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return ""
	}
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
}

func dkimEd25519(k DKIM) ([]byte, bool) {
	ed, ok := k.Key.Public().(ed25519.PublicKey)
	return ed, ok
}
