package graphfake

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// GraphAudiences are the audiences Graph takes in an access token: its
// resource URI (what a client credentials request for
// https://graph.microsoft.com/.default yields) and its application ID.
var GraphAudiences = []string{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}

// JWT is a Verifier for tokens signed with the RS256 key whose public half
// is publicKeyPEM, from issuer, for Graph's audience, and not expired: what
// oauthfake's Microsoft endpoint issues (oauthfake.Server.PublicKeyPEM and
// Issuer). A token for another resource (a mail token for
// https://outlook.office365.com) is refused, as Graph refuses it. The
// messages follow Graph's 401 InvalidAuthenticationToken answers.
func JWT(publicKeyPEM []byte, issuer string) Verifier {
	block, _ := pem.Decode(publicKeyPEM)
	var key *rsa.PublicKey
	if block != nil {
		if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
			key, _ = k.(*rsa.PublicKey)
		}
	}
	return func(token string) error {
		if key == nil {
			return errors.New("graphfake: JWT verifier has no RSA public key")
		}
		if strings.Count(token, ".") != 2 {
			return errors.New("IDX14100: JWT is not well formed, there are no dots (.).")
		}
		parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			return fmt.Errorf("Access token validation failure. %v", err)
		}
		var c jwt.Claims
		if err := parsed.Claims(key, &c); err != nil {
			return errors.New("Access token validation failure. Invalid signature.")
		}
		if c.Issuer != issuer {
			return errors.New("Access token validation failure. Invalid issuer.")
		}
		audOK := false
		for _, a := range GraphAudiences {
			audOK = audOK || c.Audience.Contains(a)
		}
		if !audOK {
			return errors.New("Access token validation failure. Invalid audience.")
		}
		if err := c.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, 5*time.Minute); err != nil {
			if errors.Is(err, jwt.ErrExpired) {
				return errors.New("Lifetime validation failed, the token is expired.")
			}
			return fmt.Errorf("Access token validation failure. %v", err)
		}
		return nil
	}
}
