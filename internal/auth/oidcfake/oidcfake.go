// Package oidcfake is an in-process OpenID Connect provider for tests: the
// discovery document, a JWKS with an RSA key made at start, an authorization
// endpoint that signs in a chosen person at once (no login form), and a
// token endpoint that checks what a real provider checks (client
// credentials, the one-time code, the redirect URI, the PKCE verifier) and
// answers with an RS256-signed ID token.
//
// What it follows: OpenID Connect Discovery 1.0 section 4 (the
// configuration document), Core 1.0 sections 3.1.2 and 3.1.3 (the
// authorization code flow, the ID token's claims), RFC 6749 sections 2.3.1
// and 5.2 (client authentication, error answers) and RFC 7636 section 4.6
// (S256). Its URL is loopback http, which sitrep accepts only for loopback.
package oidcfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// User is who the authorization endpoint signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	HostedDomain  string // Google's hd claim; empty: none
}

// Provider is the fake provider. Set ClientID and ClientSecret before use
// (New sets "sitrep-test" and "fake-secret").
type Provider struct {
	URL                    string
	ClientID, ClientSecret string

	srv  *httptest.Server
	key  *rsa.PrivateKey
	down atomic.Bool

	mu    sync.Mutex
	user  User
	tweak func(claims map[string]any)
	codes map[string]grant
	// Exchanges counts token requests that got an ID token.
	exchanges int
}

type grant struct {
	redirectURI, challenge, nonce string
	user                          User
	tweak                         func(map[string]any)
	expires                       time.Time
}

const keyID = "oidcfake-1"

// New starts a provider; it stops when the test ends.
func New(t interface {
	Helper()
	Fatal(...any)
	Cleanup(func())
}) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: "sitrep-test", ClientSecret: "fake-secret", key: key, codes: map[string]grant{},
		user: User{Subject: "1001", Email: "ann@x.test", EmailVerified: true, Name: "Ann"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SetDown makes every endpoint answer 503, as a provider in an outage.
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// SignIn sets who the next authorizations sign in, and a change to the
// claims of their ID token (nil: none), for tokens a real provider would
// not send: another audience, an old expiry, a wrong nonce.
func (p *Provider) SignIn(u User, tweak func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user, p.tweak = u, tweak
}

// Exchanges is the number of codes exchanged for an ID token.
func (p *Provider) Exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"sub", "email", "email_verified", "name", "hd", "nonce"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: keyID, Algorithm: string(jose.RS256), Use: "sig"}}})
}

// authorize is Core 1.0 section 3.1.2.1: a code request with PKCE. A bad
// request is answered here (400), as a provider does when it cannot trust
// the redirect URI.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case !strings.HasPrefix(redirect, "http://") && !strings.HasPrefix(redirect, "https://"):
		http.Error(w, "redirect_uri missing", http.StatusBadRequest)
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		http.Error(w, "scope must include openid", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	case q.Get("state") == "" || q.Get("nonce") == "":
		http.Error(w, "state and nonce are required", http.StatusBadRequest)
		return
	}
	code := random()
	p.mu.Lock()
	p.codes[code] = grant{redirectURI: redirect, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		user: p.user, tweak: p.tweak, expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	u, _ := url.Parse(redirect)
	back := u.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// token is Core 1.0 section 3.1.3: the code, once, for the client that
// asked for it, with the verifier of its challenge.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		// RFC 6749 section 2.3.1: form-encoded before Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidcfake"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	p.mu.Lock()
	g, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // one use, right or wrong
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if !found || time.Now().After(g.expires) || g.redirectURI != r.PostForm.Get("redirect_uri") || challenge != g.challenge {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": p.URL, "sub": g.user.Subject, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"nonce": g.nonce, "email": g.user.Email, "email_verified": g.user.EmailVerified, "name": g.user.Name,
	}
	if g.user.HostedDomain != "" {
		claims["hd"] = g.user.HostedDomain
	}
	if g.tweak != nil {
		g.tweak(claims)
	}
	idToken, err := p.sign(claims)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error")
		return
	}
	p.mu.Lock()
	p.exchanges++
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": random(), "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
}

func (p *Provider) sign(claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
