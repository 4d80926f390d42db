package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// OIDC signs people in with an OpenID Connect provider (Google Workspace,
// Okta, Keycloak): the authorization code flow with PKCE (RFC 7636) and a
// nonce, the ID token verified against the provider's published keys, and
// the person's verified email as the identity.
//
// The provider is discovered at first use, not at start: sitrep starts,
// and passwords work, while the provider is unreachable.
type OIDC struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	Scopes                                      []string // default openid, email, profile
	// HostedDomain, when set, must equal the ID token's hd claim: Google
	// puts the Workspace domain there, and only for Workspace accounts.
	HostedDomain string
	// AllowedDomains, when set, are the email domains that may sign in.
	AllowedDomains []string
	// Client talks to the provider; nil: a client with a 10 s timeout.
	Client *http.Client
	// RetryAfter: after a failed discovery, sign-ins fail at once for this
	// long instead of each waiting on the provider again. Default 5 s.
	RetryAfter time.Duration
	Now        func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	failedAt time.Time
	failure  error
}

// Identity is who the provider says signed in.
type Identity struct {
	Subject string
	Email   string // lower case, verified by the provider
	Name    string
}

// OIDCStart is one sign-in under way: the provider's URL to send the
// browser to, and what the callback must be checked against (kept by the
// browser in a short-lived cookie).
type OIDCStart struct {
	URL                    string
	State, Nonce, Verifier string
}

func (o *OIDC) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *OIDC) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// errUnavailable is what a person sees while the provider cannot be reached.
var errUnavailable = errs.E(errs.Unavailable, "Single sign-on is unavailable: the identity provider cannot be reached. Sign in with your password, or try again in a minute.")

// discover fetches the provider's configuration once. A failure is
// remembered for RetryAfter, so that a provider that hangs holds up one
// sign-in, not every one.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	retry := o.RetryAfter
	if retry <= 0 {
		retry = 5 * time.Second
	}
	if o.failure != nil && o.now().Sub(o.failedAt) < retry {
		return nil, o.failure
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client()), o.Issuer)
	if err != nil {
		o.failedAt, o.failure = o.now(), fmt.Errorf("auth: oidc: discover %s: %v: %w", o.Issuer, err, errUnavailable)
		return nil, o.failure
	}
	o.provider, o.failure = p, nil
	return p, nil
}

func (o *OIDC) config(p *oidc.Provider) *oauth2.Config {
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	return &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: scopes}
}

// Start begins a sign-in: a fresh state, nonce and PKCE verifier, and the
// provider's authorization URL with the S256 challenge.
func (o *OIDC) Start(ctx context.Context) (*OIDCStart, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	st := &OIDCStart{Verifier: oauth2.GenerateVerifier()}
	if st.State, err = randomToken(24); err != nil {
		return nil, err
	}
	if st.Nonce, err = randomToken(24); err != nil {
		return nil, err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if o.HostedDomain != "" {
		// A hint for Google's account chooser only; the hd claim is what is checked.
		opts = append(opts, oauth2.SetAuthURLParam("hd", o.HostedDomain))
	}
	st.URL = o.config(p).AuthCodeURL(st.State, opts...)
	return st, nil
}

// sameSecret compares a value sent back with the one made, in constant time.
func sameSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// idClaims are the ID token claims sitrep reads (OpenID Connect Core 1.0
// section 5.1; hd is Google's, xms_edov Microsoft's).
type idClaims struct {
	Email         string   `json:"email"`
	EmailVerified flexBool `json:"email_verified"`
	// DomainOwnerVerified is Microsoft Entra ID's optional claim xms_edov:
	// Entra sends no email_verified; xms_edov says the email's domain is
	// verified by its owner, which is what email_verified means elsewhere.
	DomainOwnerVerified flexBool `json:"xms_edov"`
	Name                string   `json:"name"`
	HostedDomain        string   `json:"hd"`
}

// flexBool reads true and "true": some providers send email_verified as a string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*b = flexBool(x)
	case string:
		*b = flexBool(strings.EqualFold(x, "true"))
	default:
		*b = false
	}
	return nil
}

// Finish completes a sign-in from the callback's code: it exchanges the code
// with the PKCE verifier, verifies the ID token (signature, issuer, audience
// = our client id, expiry), checks the nonce, and requires a verified email
// of an allowed domain. The error's message is for the person signing in;
// the wrapped text has the details for the log.
func (o *OIDC) Finish(ctx context.Context, code, verifier, nonce string) (*Identity, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, o.client())
	tok, err := o.config(p).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			// RFC 6749 section 5.2: invalid_grant and the like; a 5xx is the provider's outage.
			return nil, fmt.Errorf("auth: oidc: code exchange: %v: %w", err,
				errs.E(errs.Unauthorized, "The identity provider did not accept this sign-in (it may have taken too long). Start again."))
		}
		return nil, fmt.Errorf("auth: oidc: code exchange: %v: %w", err, errUnavailable)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, fmt.Errorf("auth: oidc: the token response has no id_token: %w",
			errs.E(errs.Unauthorized, "The identity provider sent no ID token; check that the scopes include openid."))
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.ClientID, Now: o.now}).Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, fmt.Errorf("auth: oidc: %v: %w", err, errs.E(errs.Unauthorized, "The sign-in expired before it reached sitrep. Start again."))
		}
		return nil, fmt.Errorf("auth: oidc: verify ID token: %v: %w", err,
			errs.E(errs.Unauthorized, "The identity provider's answer could not be verified, so you are not signed in. Start again; if it keeps happening, tell an admin."))
	}
	// OpenID Connect Core 1.0 section 3.1.3.7, step 11: the nonce must be the one sent.
	if !sameSecret(idt.Nonce, nonce) {
		return nil, fmt.Errorf("auth: oidc: nonce mismatch: %w",
			errs.E(errs.Unauthorized, "The identity provider's answer does not belong to this sign-in. Start again."))
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("auth: oidc: claims: %v: %w", err,
			errs.E(errs.Unauthorized, "The identity provider's answer could not be read, so you are not signed in. Tell an admin."))
	}
	id := &Identity{Subject: idt.Subject, Name: c.Name}
	if c.Email == "" {
		return nil, fmt.Errorf("auth: oidc: no email claim (subject %s): %w", id.Subject,
			errs.E(errs.Forbidden, "The identity provider did not say your email address; check that the scopes include email."))
	}
	if id.Email, err = cleanEmail(c.Email); err != nil {
		return nil, fmt.Errorf("auth: oidc: email claim %q: %w", c.Email,
			errs.E(errs.Forbidden, "The identity provider sent an email address sitrep cannot use."))
	}
	if !c.EmailVerified && !c.DomainOwnerVerified {
		return nil, fmt.Errorf("auth: oidc: %s: email_verified is not true: %w", id.Email,
			errs.E(errs.Forbidden, "Your email address is not verified at the identity provider, so it cannot sign you in here."))
	}
	if !o.allowed(id.Email, c.HostedDomain) {
		return nil, fmt.Errorf("auth: oidc: %s (hd %q) is outside the allowed domains: %w", id.Email, c.HostedDomain,
			errs.E(errs.Forbidden, "This account is not allowed to sign in here."))
	}
	return id, nil
}

// allowed checks the hosted domain (Google's hd claim, which only Workspace
// accounts carry) and the email's domain.
func (o *OIDC) allowed(email, hd string) bool {
	if o.HostedDomain != "" && !strings.EqualFold(hd, o.HostedDomain) {
		return false
	}
	if len(o.AllowedDomains) == 0 {
		return true
	}
	at := strings.LastIndex(email, "@")
	if at < 0 {
		return false
	}
	domain := email[at+1:]
	return slices.ContainsFunc(o.AllowedDomains, func(d string) bool { return strings.EqualFold(d, domain) })
}
