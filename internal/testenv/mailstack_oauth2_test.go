package testenv_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// xoauth2 is the XOAUTH2 initial response, written out here so that this
// test checks Dovecot and not the hub's SASL code.
type xoauth2 struct{ user, token string }

func (x xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}
func (x xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }

type smtpXOAUTH2 struct{ xoauth2 }

func (x smtpXOAUTH2) Start(*smtp.ServerInfo) (string, []byte, error) { return x.xoauth2.Start() }
func (x smtpXOAUTH2) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil
	}
	return nil, nil
}

func TestMailStackOAuth2ChecksTokens(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	const issuer = "https://tokens.example.test"
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{OAuth2: &testenv.DovecotOAuth2{
		PublicKeyPEM: pubPEM, KeyID: "k1", Issuer: issuer, Audience: "https://mail.example.test",
	}}, "hub", "alice")

	sign := func(k *rsa.PrivateKey, kid string, c map[string]any) string {
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(sig).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": issuer, "sub": "svc", "aud": "https://mail.example.test", "email": "hub@example.test",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", sign(key, "k1", claims(nil)), true},
		{"expired", sign(key, "k1", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), false},
		{"wrong issuer", sign(key, "k1", claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), false},
		{"wrong audience", sign(key, "k1", claims(func(c map[string]any) { c["aud"] = "https://graph.example.test" })), false},
		{"other key", sign(other, "k1", claims(nil)), false},
		{"another user's token", sign(key, "k1", claims(func(c map[string]any) { c["email"] = "alice@example.test" })), false},
	}
	for _, tc := range cases {
		for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
			c, err := imapclient.DialInsecure(ms.IMAPAddr, nil)
			if err != nil {
				t.Fatal(err)
			}
			var cl sasl.Client = xoauth2{"hub@example.test", tc.token}
			if mech == "OAUTHBEARER" {
				cl = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "hub@example.test", Token: tc.token})
			}
			err = c.Authenticate(cl)
			c.Close()
			if (err == nil) != tc.ok {
				t.Errorf("IMAP %s %s: err = %v, want ok=%v\n%s", mech, tc.name, err, tc.ok, ms.LogTail())
			}
		}
		err := smtp.SendMail(ms.SubmissionAddr, smtpXOAUTH2{xoauth2{"hub@example.test", tc.token}}, "hub@example.test",
			[]string{"alice@example.test"}, []byte(fmt.Sprintf("Subject: %s\r\n\r\nhi\r\n", tc.name)))
		if (err == nil) != tc.ok {
			t.Errorf("submission XOAUTH2 %s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "535") {
			t.Errorf("submission %s: want a 535 refusal, got %v", tc.name, err)
		}
	}
}
