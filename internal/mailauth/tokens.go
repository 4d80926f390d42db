// Package mailauth signs the hub in to IMAP and SMTP servers that want
// OAuth2 rather than a password: it fetches access tokens from Google
// Workspace (a service account with domain-wide delegation), Microsoft 365
// (Entra ID client credentials or a delegated refresh token) or any token
// endpoint, keeps them until shortly before they expire, and speaks the two
// SASL mechanisms that carry them, XOAUTH2 and OAUTHBEARER (RFC 7628).
//
// The mail adapters use it in three calls: Tokens.Do around a dial and
// login, ChooseMechanism on what the server offers, and NewSASL for the
// exchange. Tokens.Health says whether mail can sign in at all.
package mailauth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Fetcher gets a new access token from one provider's token endpoint.
// Each provider in this package is one.
type Fetcher interface {
	Fetch(ctx context.Context) (*oauth2.Token, error)
	// Describe names the grant for people ("Microsoft 365 app 1234 in
	// tenant contoso.onmicrosoft.com"); it never includes a secret.
	Describe() string
}

// Tokens caches one mailbox's access token: it is fetched on first use,
// fetched again once most of its lifetime has passed, and dropped when a
// server refuses it. When a refresh fails, the token in hand is used until
// it expires. Token values are never logged.
type Tokens struct {
	fetch  Fetcher
	logger *slog.Logger
	now    func() time.Time
	// refreshBefore is how long before expiry a new token is fetched, at
	// most a quarter of the token's lifetime.
	refreshBefore time.Duration
	// timeout bounds one request to the token endpoint.
	timeout time.Duration

	mu        sync.Mutex
	cur       *oauth2.Token
	refreshAt time.Time
	refused   string // the last token a server refused
	health    error  // why mail cannot sign in now; nil: it can
}

// TokensOptions tunes a Tokens; the zero value is fine.
type TokensOptions struct {
	Logger        *slog.Logger
	Now           func() time.Time
	RefreshBefore time.Duration // default 5 minutes
	Timeout       time.Duration // default 30 seconds
}

// NewTokens caches the tokens f fetches.
func NewTokens(f Fetcher, o TokensOptions) *Tokens {
	t := &Tokens{fetch: f, logger: o.Logger, now: o.Now, refreshBefore: o.RefreshBefore, timeout: o.Timeout}
	if t.logger == nil {
		t.logger = slog.Default()
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.refreshBefore <= 0 {
		t.refreshBefore = 5 * time.Minute
	}
	if t.timeout <= 0 {
		t.timeout = 30 * time.Second
	}
	return t
}

// Describe names the grant the tokens come from.
func (t *Tokens) Describe() string { return t.fetch.Describe() }

// Token returns a token that has not expired, fetching one when there is
// none or the one in hand is due for refresh. A failed refresh returns the
// token in hand while it lasts; the failure is logged.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock() // one fetch at a time: concurrent callers wait for it
	now := t.now()
	if t.cur != nil && now.Before(t.refreshAt) {
		return t.cur.AccessToken, nil
	}
	tok, err := t.fetchLocked(ctx)
	if err != nil {
		if t.cur != nil && now.Before(t.cur.Expiry) {
			t.logger.Warn("mail token refresh failed; using the current token until it expires",
				"grant", t.fetch.Describe(), "expires", t.cur.Expiry.UTC().Format(time.RFC3339), "err", err)
			return t.cur.AccessToken, nil
		}
		t.cur = nil
		t.health = err
		return "", err
	}
	t.cur = tok
	lifetime := tok.Expiry.Sub(now)
	t.refreshAt = tok.Expiry.Add(-min(t.refreshBefore, lifetime/4))
	t.health = nil
	return tok.AccessToken, nil
}

func (t *Tokens) fetchLocked(ctx context.Context) (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	tok, err := t.fetch.Fetch(ctx)
	if err != nil {
		return nil, explain(t.fetch.Describe(), err)
	}
	if tok.AccessToken == "" {
		return nil, errs.E(errs.Unavailable, "%s: the token endpoint answered without an access_token", t.fetch.Describe())
	}
	if tok.Expiry.IsZero() {
		// RFC 6749 5.1: expires_in is only recommended; assume an hour,
		// and a refusal by the server drops the token sooner.
		tok.Expiry = t.now().Add(time.Hour)
	}
	if err := checkClock(t.fetch.Describe(), tok.AccessToken, t.now()); err != nil {
		return nil, err
	}
	return tok, nil
}

// refuse drops tok after a server refused it, so that the next Token
// fetches a new one.
func (t *Tokens) refuse(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refused = tok
	if t.cur != nil && t.cur.AccessToken == tok {
		t.cur = nil
	}
}

func (t *Tokens) setHealth(err error) {
	t.mu.Lock()
	t.health = err
	t.mu.Unlock()
}

// Health is nil while the last sign-in or token fetch worked, and the
// error that stops mail from signing in otherwise.
func (t *Tokens) Health() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.health
}

// ErrRefused marks an error where the server refused the token (SMTP 535,
// IMAP NO to AUTHENTICATE), as opposed to a network failure.
var ErrRefused = errors.New("the server refused the access token")

// Refused wraps a server's refusal of a token so that Do can tell it from
// other failures.
func Refused(err error) error { return &refusedError{err} }

type refusedError struct{ err error }

func (e *refusedError) Error() string   { return e.err.Error() }
func (e *refusedError) Unwrap() []error { return []error{ErrRefused, e.err} }

// Do runs login with a token. When the server refuses it (login returns
// an error wrapped with Refused), the token is dropped and login runs once
// more with a freshly fetched one; a second refusal is the answer, and
// makes Health report it. login should dial anew each time: SMTP servers
// close the connection after a failed AUTH.
func (t *Tokens) Do(ctx context.Context, server string, login func(token string) error) error {
	for attempt := 1; ; attempt++ {
		tok, err := t.Token(ctx)
		if err != nil {
			return err
		}
		err = login(tok)
		if err == nil {
			t.setHealth(nil)
			return nil
		}
		if !errors.Is(err, ErrRefused) {
			return err
		}
		t.refuse(tok)
		if attempt == 2 {
			err = errs.E(errs.Unauthorized, "%s refused a fresh token from %s: %v (check that the mailbox exists, the app may use it, and the token's audience and scope are the server's)",
				server, t.fetch.Describe(), err)
			t.setHealth(err)
			return err
		}
		t.logger.Info("the mail server refused the token; fetching a new one", "server", server, "grant", t.fetch.Describe())
	}
}

// Static is a Fetcher for a token given as is (tests, or a token another
// program keeps fresh); it never changes.
type Static struct {
	AccessToken string
	Expiry      time.Time
}

func (s Static) Fetch(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: s.AccessToken, Expiry: s.Expiry}, nil
}

func (s Static) Describe() string { return "a static token" }

var _ Fetcher = Static{}
