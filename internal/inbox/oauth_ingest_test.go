package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// oauthHub is the hub on a mail stack whose Dovecot takes only tokens
// from the fake Microsoft endpoint for status@ (a delegated refresh token,
// as for a tenant that forbids app-only access).
func oauthHub(t *testing.T, lifetime time.Duration, mechanisms []string) (*hub, *oauthfake.Server, *mailauth.Tokens) {
	t.Helper()
	f := oauthfake.New(t, lifetime)
	h := newHubWith(t, testenv.MailStackOptions{OAuth2: &testenv.DovecotOAuth2{
		PublicKeyPEM: f.PublicKeyPEM(), KeyID: f.KeyID(), Issuer: f.Issuer, Audience: "https://outlook.office.com", Mechanisms: mechanisms,
	}})
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "sitrep-public", Consent: true})
	fetcher, err := mailauth.NewFetcher(mailauth.Config{Provider: "microsoft", Grant: "refresh_token", Tenant: "contoso", ClientID: "sitrep-public",
		RefreshToken: f.IssueRefreshToken("contoso", "sitrep-public", "status@example.test"), TokenURL: f.MicrosoftTokenURL("contoso")})
	if err != nil {
		t.Fatal(err)
	}
	return h, f, mailauth.NewTokens(fetcher, mailauth.TokensOptions{})
}

func plainMessage(i int) []byte {
	return []byte(fmt.Sprintf("From: ana@example.test\r\nTo: status@example.test\r\nSubject: question %d\r\nMessage-ID: <q%d-%d@example.test>\r\n\r\nIs checkout back? (%d)\r\n",
		i, i, time.Now().UnixNano(), i))
}

// TestIngestOverOAuth2AcrossExpiredTokens: the ingester reads status@
// with 2-second tokens while mail keeps arriving; its IMAP session is
// ended three times, each time after the token it signed in with has
// expired. It signs in again with a fresh token every time (Dovecot
// refuses none), and each of the 27 messages is stored exactly once.
// With OAUTHBEARER (offered beside XOAUTH2) and XOAUTH2 alone.
func TestIngestOverOAuth2AcrossExpiredTokens(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{mailauth.OAuthBearer, mailauth.XOAuth2} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			var offered []string
			if mech == mailauth.XOAuth2 {
				offered = []string{"xoauth2"}
			}
			h, f, tokens := oauthHub(t, 2*time.Second, offered)
			g := h.ingester("")
			g.IMAP.Password, g.IMAP.OAuth = "", tokens
			h.run(g)
			sent := 0
			for round := 0; round < 4; round++ {
				for i := 0; i < 3; i++ {
					h.send("ana", []string{"status@example.test"}, plainMessage(sent))
					sent++
				}
				h.eventually(30*time.Second, func() (bool, string) {
					n := h.count(`SELECT COUNT(*) FROM inbound_messages`)
					return n == sent, fmt.Sprintf("%d of %d stored", n, sent)
				})
				if round == 3 {
					break
				}
				// Outlive the token of this session, then end it.
				time.Sleep(2500 * time.Millisecond)
				for i := 0; i < 5; i++ {
					h.send("ana", []string{"status@example.test"}, plainMessage(sent))
					sent++
				}
				if err := h.ms.Kick("status"); err != nil {
					t.Fatal(err)
				}
			}
			if got := h.count(`SELECT COUNT(*) FROM inbound_messages`); got != sent {
				t.Fatalf("%d messages stored, want each of %d once", got, sent)
			}
			log, _ := os.ReadFile(filepath.Join(h.ms.Dir, "dovecot.log"))
			logins := bytes.Count(log, []byte("Login: user=<status@example.test>, method="+mech))
			t.Logf("%s: %d messages, %d sign-ins, %d tokens issued", mech, sent, logins, f.Issued())
			if logins < 4 || f.Issued() < 4 {
				t.Fatalf("want a sign-in with a new token after each of 3 kicks: %d sign-ins, %d tokens", logins, f.Issued())
			}
			if bytes.Contains(log, []byte("oauth2 failed")) {
				t.Errorf("Dovecot refused a token: an expired one was sent at reconnect\n%s", h.ms.LogTail())
			}
			if tokens.Health() != nil {
				t.Errorf("health: %v", tokens.Health())
			}
		})
	}
}

// TestIngestWithRevokedGrantReportsIt: the refresh token is revoked while
// the ingester runs; at the next sign-in mail turns unhealthy with a
// message that says to sign in again, and the ingester keeps trying
// rather than stopping.
func TestIngestWithRevokedGrantReportsIt(t *testing.T) {
	t.Parallel()
	h, f, tokens := oauthHub(t, 2*time.Second, nil)
	g := h.ingester("")
	g.IMAP.Password, g.IMAP.OAuth = "", tokens
	stop := h.run(g)
	h.send("ana", []string{"status@example.test"}, plainMessage(1))
	h.eventually(30*time.Second, func() (bool, string) {
		return h.count(`SELECT COUNT(*) FROM inbound_messages`) == 1, "first message"
	})
	f.RevokeRefreshTokens("sitrep-public")
	time.Sleep(2500 * time.Millisecond) // the token in hand expires
	if err := h.ms.Kick("status"); err != nil {
		t.Fatal(err)
	}
	h.eventually(30*time.Second, func() (bool, string) {
		err := tokens.Health()
		return err != nil && strings.Contains(err.Error(), "sign in again"), fmt.Sprintf("health %v", err)
	})
	issued := f.Issued()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	<-ctx.Done()
	stop() // returns: the ingester was still running, retrying
	if f.Issued() != issued {
		t.Errorf("a revoked grant issued tokens")
	}
}
