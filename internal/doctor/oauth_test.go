package doctor

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// TestRealStackOAuth2SignIn: with mail.oauth the doctor signs in to SMTP
// submission and IMAP as the hub does, with tokens Dovecot really checks,
// and the loop runs over those sessions; when the tenant's consent is
// withdrawn, both AUTH checks fail with the token endpoint's reason.
func TestRealStackOAuth2SignIn(t *testing.T) {
	t.Parallel()
	f := oauthfake.New(t, time.Hour)
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{OAuth2: &testenv.DovecotOAuth2{
		PublicKeyPEM: f.PublicKeyPEM(), KeyID: f.KeyID(), Issuer: f.Issuer, Audience: "https://outlook.office365.com",
		Mechanisms: []string{"oauthbearer", "xoauth2"},
	}}, "status", "ana")
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "sitrep", Secret: "s3cret", Consent: true, Mailbox: ms.Address("status")})
	fetcher, err := mailauth.NewFetcher(mailauth.Config{Provider: "microsoft", Tenant: "contoso", ClientID: "sitrep", ClientSecret: "s3cret",
		TokenURL: f.MicrosoftTokenURL("contoso"), Scopes: []string{"https://outlook.office365.com/.default"}, Mailbox: ms.Address("status")})
	if err != nil {
		t.Fatal(err)
	}
	tokens := mailauth.NewTokens(fetcher, mailauth.TokensOptions{})

	d := stackDoctor(t, ms, nil)
	d.Mail.SMTP = Server{Host: "127.0.0.1", Port: portOf(t, ms.SubmissionAddr), TLS: "none", Username: ms.Address("status"), OAuth: tokens}
	d.Mail.IMAP.OAuth, d.Mail.IMAP.Password = tokens, ""
	r := d.Run(context.Background())
	for _, res := range r.Results {
		t.Logf("%-4s %-14s %s", res.Status, res.Name, res.Detail)
	}
	want(t, r, "SMTP AUTH", OK, "OAuth2 token")
	want(t, r, "IMAP AUTH", OK, "OAuth2 token")
	want(t, r, "loop", OK, "recognised as a probe")

	f.SetConsent("contoso", "sitrep", false)
	d.Mail.SMTP.OAuth = mailauth.NewTokens(fetcher, mailauth.TokensOptions{})
	d.Mail.IMAP.OAuth = d.Mail.SMTP.OAuth
	r = d.Run(context.Background())
	want(t, r, "SMTP AUTH", Fail, "consent")
	want(t, r, "IMAP AUTH", Fail, "consent")
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
