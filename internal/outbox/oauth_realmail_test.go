package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// oauthStack is the real mail stack taking OAuth2 on its submission port,
// checking tokens from the fake Microsoft endpoint.
func oauthStack(t *testing.T, lifetime time.Duration, mechanisms []string, users ...string) (*testenv.MailStack, *oauthfake.Server) {
	t.Helper()
	f := oauthfake.New(t, lifetime)
	ms := testenv.StartMailStackWith(t, testenv.MailStackOptions{OAuth2: &testenv.DovecotOAuth2{
		PublicKeyPEM: f.PublicKeyPEM(), KeyID: f.KeyID(), Issuer: f.Issuer, Audience: "https://outlook.office365.com", Mechanisms: mechanisms,
	}}, users...)
	f.AddApp(oauthfake.App{Tenant: "contoso", ClientID: "sitrep", Secret: "s3cret", Consent: true, Mailbox: "vp@example.test"})
	return ms, f
}

func tokensFor(t *testing.T, f *oauthfake.Server, scope string) *mailauth.Tokens {
	t.Helper()
	fetcher, err := mailauth.NewFetcher(mailauth.Config{Provider: "microsoft", Tenant: "contoso", ClientID: "sitrep", ClientSecret: "s3cret",
		TokenURL: f.MicrosoftTokenURL("contoso"), Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return mailauth.NewTokens(fetcher, mailauth.TokensOptions{})
}

// cuttingProxy forwards SMTP to addr and ends each connection after every
// `every` accepted messages, as providers do to long sessions: the next
// message needs a new connection, and so a token that is still valid.
type cuttingProxy struct {
	ln       net.Listener
	accepted atomic.Int64
	cuts     atomic.Int64
	conns    atomic.Int64
}

func startCuttingProxy(t *testing.T, addr string, every int) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			go p.serve(c, addr, every)
		}
	}()
	return p
}

func (p *cuttingProxy) serve(client net.Conn, addr string, every int) {
	defer client.Close()
	server, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { io.Copy(server, client); server.Close() }()
	r := bufio.NewReader(server)
	n := 0
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := client.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
		// Postfix's reply to the end of DATA: "250 2.0.0 Ok: queued as ...".
		if bytes.HasPrefix(line, []byte("250 2.0.0 Ok: queued")) {
			p.accepted.Add(1)
			if n++; n == every {
				p.cuts.Add(1)
				return
			}
		}
	}
}

func (p *cuttingProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// TestFanOutOf2000OverOAuth2RefreshesTokens: an update to 2,000 people
// through Postfix's submission port, where Dovecot checks every sign-in's
// token. Tokens live 2 s and connections are cut every few messages, so
// new connections sign in throughout with refreshed tokens. Every
// recipient gets exactly one copy; none is lost. With OAUTHBEARER (the
// server offers both) and XOAUTH2 (the server offers only it; 400
// recipients).
func TestFanOutOf2000OverOAuth2RefreshesTokens(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short")
	}
	for _, mech := range []string{mailauth.OAuthBearer, mailauth.XOAuth2} {
		t.Run(mech, func(t *testing.T) {
			// 2,000 with OAUTHBEARER; XOAUTH2 takes the same path after the
			// exchange, and 400 recipients give it a dozen refreshed sign-ins
			// at a fifth of the cost on a shared machine.
			n := 2000
			if mech == mailauth.XOAuth2 {
				n = 400
			}
			users := make([]string, n)
			for i := range users {
				users[i] = fmt.Sprintf("p%04d", i)
			}
			var offered []string
			if mech == mailauth.XOAuth2 {
				offered = []string{"xoauth2"}
			}
			ms, f := oauthStack(t, 2*time.Second, offered, append(users, "vp", "lead", "backup")...)
			proxy := startCuttingProxy(t, ms.SubmissionAddr, 5)
			tokens := tokensFor(t, f, mailauth.MicrosoftScope)
			org := orgYAML("example.test", append(users, "vp", "lead", "backup"), nil, map[string][]string{"everyone": users}, nil)
			h := newHarness(t, "127.0.0.1:"+strconv.Itoa(proxy.port()), org, true, func(c *outbox.SMTPConfig) {
				c.OAuth, c.Username = tokens, "vp@example.test"
				// At most n/6 recipients a second: the fan-out lasts at
				// least 6 s, three lifetimes of a token, however fast the
				// machine.
				c.RatePerSecond = float64(n) / 6
			})
			h.outbox.BatchSize = 10
			start := time.Now()
			inc := h.declare(t)
			res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Payments are failing over.", Next: "30m", Groups: []string{"everyone"}})
			if err != nil {
				t.Fatal(err)
			}
			msgs := h.waitDeliveredWithin(t, inc, 5*time.Minute)
			sent, failed := 0, 0
			for _, m := range msgs {
				sent += m.Counts[outbox.StateSent]
				failed += m.Counts[outbox.StateFailed]
			}
			t.Logf("%s: %d recipients sent in %s over %d connections (%d cut), %d tokens issued", mech, res.Recipients, time.Since(start).Round(time.Millisecond), proxy.conns.Load(), proxy.cuts.Load(), f.Issued())
			if failed != 0 {
				t.Fatalf("%d deliveries failed", failed)
			}
			if f.Issued() < 3 || proxy.cuts.Load() < int64(n/10/5/2) {
				t.Fatalf("the test did not exercise refresh: %d tokens, %d cut connections", f.Issued(), proxy.cuts.Load())
			}
			// Every mailbox, from the files Dovecot wrote.
			missing, extra := 0, 0
			for wait := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
				missing, extra = 0, 0
				for _, u := range users {
					var files []string
					for _, sub := range []string{"new", "cur"} {
						m, _ := filepath.Glob(filepath.Join(ms.Dir, "mail", "example.test", u, "Maildir", sub, "*"))
						files = append(files, m...)
					}
					if len(files) == 0 {
						missing++
					}
					extra += max(0, len(files)-1)
				}
				if missing == 0 || time.Now().After(wait) {
					break
				}
			}
			if missing != 0 || extra != 0 {
				t.Fatalf("%d recipients without the update, %d extra copies", missing, extra)
			}
			if log, _ := os.ReadFile(filepath.Join(ms.Dir, "postfix.log")); !bytes.Contains(log, []byte("sasl_method="+mech)) {
				t.Errorf("Postfix logged no sign-in with %s", mech)
			}
			// Dovecot refused no token for its signature, issuer or
			// audience. A token can expire between its fetch and Dovecot's
			// check when the machine is very busy (they live 2 s and are
			// refreshed 0.5 s early here); such a refusal is fetched again
			// and counted, not hidden.
			log, _ := os.ReadFile(filepath.Join(ms.Dir, "dovecot.log"))
			expired := bytes.Count(log, []byte("Local validation failed: Token has expired"))
			if bytes.Count(log, []byte("oauth2 failed")) != expired {
				t.Errorf("Dovecot refused a token for another reason than expiry:\n%s", ms.LogTail())
			}
			t.Logf("%s: %d sign-ins refused for an expired token and retried", mech, expired)
		})
	}
}

// Refused tokens: nothing is sent, and the error says why.
func TestSMTPOAuth2FailuresSendNothing(t *testing.T) {
	t.Parallel()
	ms, f := oauthStack(t, time.Hour, nil, "vp", "ana")
	host, port, _ := net.SplitHostPort(ms.SubmissionAddr)
	p, _ := strconv.Atoi(port)
	send := func(tokens *mailauth.Tokens, port int) error {
		pool, err := outbox.NewPool(outbox.SMTPConfig{Host: host, Port: port, TLS: "none", Username: "vp@example.test", OAuth: tokens, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		perRcpt, err := pool.Send(context.Background(), "vp@example.test", []string{"ana@example.test"}, []byte("Subject: x\r\n\r\nx\r\n"))
		if err == nil && perRcpt[0] != nil {
			return perRcpt[0]
		}
		return err
	}
	// A token for Microsoft Graph, not Exchange: Dovecot finds the wrong
	// audience, twice (the second time with a fresh token).
	wrongAud := tokensFor(t, f, "https://graph.microsoft.com/.default")
	err := send(wrongAud, p)
	if err == nil || !strings.Contains(err.Error(), "refused a fresh token") || errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("wrong audience: %v", err)
	}
	if wrongAud.Health() == nil {
		t.Error("wrong audience: mail must be unhealthy")
	}
	if f.Issued() != 2 {
		t.Errorf("a refused token is fetched again once: %d issued, want 2", f.Issued())
	}
	// Consent withdrawn: the token endpoint's answer names the fix.
	f.SetConsent("contoso", "sitrep", false)
	err = send(tokensFor(t, f, mailauth.MicrosoftScope), p)
	if err == nil || !strings.Contains(err.Error(), "admin consent") {
		t.Errorf("no consent: %v", err)
	}
	f.SetConsent("contoso", "sitrep", true)
	// Postfix's plain port offers no AUTH at all.
	_, plainPort, _ := net.SplitHostPort(ms.SMTPAddr)
	pp, _ := strconv.Atoi(plainPort)
	err = send(tokensFor(t, f, mailauth.MicrosoftScope), pp)
	if err == nil || !strings.Contains(err.Error(), "offers no AUTH mechanisms at all, not OAUTHBEARER or XOAUTH2") {
		t.Errorf("no OAuth mechanism: %v", err)
	}
	// And with a good token it goes through.
	if err := send(tokensFor(t, f, mailauth.MicrosoftScope), p); err != nil {
		t.Fatalf("good token: %v\n%s", err, ms.LogTail())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := ms.WaitForMessages(ctx, "ana", 1)
	if err != nil {
		t.Fatalf("%v\n%s", err, ms.LogTail())
	}
	time.Sleep(300 * time.Millisecond)
	if got, _ = ms.Messages(ctx, "ana"); len(got) != 1 {
		t.Fatalf("ana has %d messages; only the one sent with a good token should have arrived", len(got))
	}
}
