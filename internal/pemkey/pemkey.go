// Package pemkey reads the private keys operators hand sitrep in PEM files
// (DKIM signing keys, OAuth2 client certificates' keys), with errors that
// say what the file should hold.
package pemkey

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Private reads the first PEM block of p as a private key: PKCS #8
// ("PRIVATE KEY", any algorithm) or PKCS #1 ("RSA PRIVATE KEY").
func Private(p []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("not a PEM private key: no -----BEGIN PRIVATE KEY----- block")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM %q block is not a private key (want PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("malformed private key (%s): %w", block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T key cannot sign", key)
	}
	return signer, nil
}
