// Package oauthfake is an in-process stand-in for the token endpoints
// sitrep's mail sign-in calls, for tests. It issues RS256 JWT access tokens
// that a real Dovecot checks (testenv's OAuth2 mail stack), so a token the
// fake would not have issued, or issued for another audience, fails at the
// mail server as it would at Gmail or Exchange Online.
//
// What it takes from the providers' published contracts, and so checks:
//   - Google's service account flow ("Using OAuth 2.0 for Server to Server
//     Applications", HTTP/REST): POST form with grant_type
//     urn:ietf:params:oauth:grant-type:jwt-bearer and assertion; the
//     assertion an RS256 JWT whose header names the key (kid) and whose
//     claims carry iss (the service account), scope, aud (the token URL),
//     iat, exp at most an hour after iat, and sub (the user impersonated);
//     the signature checked with the service account's key. Answers
//     {"access_token","expires_in","token_type":"Bearer"}; errors
//     invalid_grant ("Invalid JWT Signature.", "Invalid JWT: Token must be a
//     short-lived token (60 minutes) and in a reasonable timeframe...",
//     "Invalid email or User ID") and unauthorized_client for a scope not
//     delegated in the Admin console;
//   - Microsoft identity platform v2.0 (/{tenant}/oauth2/v2.0/token):
//     client_credentials with client_secret or with client_assertion_type
//     urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a
//     client_assertion (header x5t = the certificate's SHA-1 thumbprint;
//     aud the token endpoint, iss = sub = client_id, jti, exp), and
//     refresh_token; scope required, a .default scope for client
//     credentials. Errors in Microsoft's shape: error, error_description
//     starting "AADSTSnnnn:" and ending with Trace ID, Correlation ID and
//     Timestamp lines, error_codes, timestamp, trace_id, correlation_id,
//     error_uri; the codes sitrep explains (7000215, 700016, 65001, 700027,
//     700024, 70008, 90002);
//   - RFC 6749 for the generic endpoint (/token): client_credentials and
//     refresh_token with client_secret_post or client_secret_basic.
//
// What it does not know: the providers' exact wording beyond the error
// codes (modelled), rate limits, and what the access tokens look like
// inside (Google's are opaque, Microsoft's are JWTs for Exchange's own
// keys). Here every token is a JWT for Dovecot with the mailbox in its
// "email" claim, where Exchange would check the app's mailbox permission.
//
// A request it does not cover (an unknown path, grant or parameter) fails
// the test.
package oauthfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Server is the fake token endpoint on loopback.
type Server struct {
	*httptest.Server
	t      testing.TB
	key    *rsa.PrivateKey
	keyID  string
	Issuer string

	mu       sync.Mutex
	lifetime time.Duration
	now      func() time.Time
	google   map[string]*ServiceAccount // by client_email
	apps     map[string]*App            // by tenant + "/" + client_id
	clients  map[string]*Client         // generic endpoint, by client_id
	refresh  map[string]*grant          // refresh token -> grant
	issued   int
	failHTML int
}

// ServiceAccount is a Google service account and what the Workspace admin
// delegated to it.
type ServiceAccount struct {
	Email     string
	KeyID     string
	key       *rsa.PrivateKey
	Delegated []string // scopes granted under Domain-wide delegation
	Users     []string // the domain's users it may impersonate
}

// App is an Entra ID app registration.
type App struct {
	Tenant, ClientID string
	Secret           string
	Cert             *x509.Certificate // uploaded under Certificates & secrets
	Consent          bool              // admin consent granted for the mail permissions
	Mailbox          string            // the mailbox its permission covers
}

// Client is a client of the generic endpoint.
type Client struct {
	ID, Secret string
	Mailbox    string
}

type grant struct {
	clientID, secret, mailbox, tenant string
	revoked                           bool
}

// New starts a fake whose tokens live lifetime.
func New(t testing.TB, lifetime time.Duration) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, key: key, keyID: "fake-1", lifetime: lifetime, now: time.Now,
		google: map[string]*ServiceAccount{}, apps: map[string]*App{}, clients: map[string]*Client{}, refresh: map[string]*grant{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Issuer = s.URL
	t.Cleanup(s.Close)
	return s
}

// PublicKeyPEM is the key access tokens are signed with, for Dovecot.
func (s *Server) PublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		s.t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// KeyID is the kid of access tokens.
func (s *Server) KeyID() string { return s.keyID }

// SetLifetime changes the lifetime of tokens issued from now on.
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	s.lifetime = d
	s.mu.Unlock()
}

// SetClock changes the fake's clock (a provider whose clock disagrees).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Issued counts the access tokens issued.
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// AnswerHTMLNext makes the next n requests answer an HTML page, as a
// proxy or a login portal in the way would.
func (s *Server) AnswerHTMLNext(n int) {
	s.mu.Lock()
	s.failHTML = n
	s.mu.Unlock()
}

// GoogleTokenURL is the Google endpoint.
func (s *Server) GoogleTokenURL() string { return s.URL + "/google/token" }

// MicrosoftTokenURL is the v2.0 endpoint of tenant.
func (s *Server) MicrosoftTokenURL(tenant string) string {
	return s.URL + "/" + tenant + "/oauth2/v2.0/token"
}

// GenericTokenURL is the RFC 6749 endpoint.
func (s *Server) GenericTokenURL() string { return s.URL + "/token" }

// AddServiceAccount creates a service account and returns its JSON key
// file, as IAM & Admin > Service accounts > Keys > Add key > JSON does.
func (s *Server) AddServiceAccount(email string, users ...string) (*ServiceAccount, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		s.t.Fatal(err)
	}
	var kid [20]byte
	_, _ = rand.Read(kid[:])
	sa := &ServiceAccount{Email: email, KeyID: hex.EncodeToString(kid[:]), key: key, Users: users}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "sitrep-test", "private_key_id": sa.KeyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
		"token_uri": s.GoogleTokenURL(),
	})
	s.mu.Lock()
	s.google[email] = sa
	s.mu.Unlock()
	return sa, file
}

// Delegate grants scopes to a service account (Domain-wide delegation).
func (s *Server) Delegate(email string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.google[email].Delegated = append(s.google[email].Delegated, scopes...)
}

// AddApp registers an Entra ID app.
func (s *Server) AddApp(a App) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.Tenant+"/"+a.ClientID] = &a
	return &a
}

// SetConsent grants or withdraws admin consent.
func (s *Server) SetConsent(tenant, clientID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[tenant+"/"+clientID].Consent = ok
}

// AddClient registers a client of the generic endpoint.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = &c
}

// IssueRefreshToken returns a refresh token for a delegated grant: for
// Microsoft when tenant is set, else for the generic endpoint.
func (s *Server) IssueRefreshToken(tenant, clientID, mailbox string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := "rt-" + randHex(16)
	s.refresh[rt] = &grant{clientID: clientID, mailbox: mailbox, tenant: tenant}
	return rt
}

// RevokeRefreshTokens revokes every refresh token of clientID (a password
// reset, or an admin revoking sessions).
func (s *Server) RevokeRefreshTokens(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.refresh {
		if g.clientID == clientID {
			g.revoked = true
		}
	}
}

// RevokeDelegation removes a service account's delegated scopes.
func (s *Server) RevokeDelegation(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.google[email].Delegated = nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.failHTML > 0 {
		s.failHTML--
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "<!DOCTYPE html><html><body>Sign in to continue</body></html>")
		return
	}
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		s.uncovered(w, "method %s %s", r.Method, r.URL.Path)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.uncovered(w, "content type %q (RFC 6749 3.2: application/x-www-form-urlencoded)", ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.uncovered(w, "form: %v", err)
		return
	}
	if len(r.URL.Query()) > 0 {
		s.uncovered(w, "query parameters on the token endpoint: %s", r.URL.RawQuery)
		return
	}
	switch p := r.URL.Path; {
	case p == "/google/token":
		s.googleToken(w, r.PostForm)
	case p == "/token":
		s.genericToken(w, r)
	case strings.HasSuffix(p, "/oauth2/v2.0/token") && strings.Count(p, "/") == 4:
		s.microsoftToken(w, r, strings.Split(p, "/")[1])
	default:
		s.uncovered(w, "path %s", p)
	}
}

// uncovered fails the test: the hub sent something the fake does not
// model, so the test could not tell whether a real endpoint would take it.
func (s *Server) uncovered(w http.ResponseWriter, format string, args ...any) {
	s.t.Errorf("oauthfake: request not covered: "+format, args...)
	http.Error(w, "oauthfake: not covered", http.StatusNotImplemented)
}

func only(s *Server, w http.ResponseWriter, form url.Values, allowed ...string) bool {
	for k := range form {
		if !slices.Contains(allowed, k) {
			s.uncovered(w, "parameter %q", k)
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// audience maps a requested scope to the resource a token is for, as the
// providers do: Microsoft's "<resource>/.default" names the resource.
func audience(scope string) string {
	return strings.TrimSuffix(scope, "/.default")
}

// issue signs an access token for mailbox and answers RFC 6749 5.1.
func (s *Server) issue(w http.ResponseWriter, sub, mailbox, aud string, extra map[string]any) {
	s.mu.Lock()
	now, life := s.now(), s.lifetime
	s.issued++
	s.mu.Unlock()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.keyID))
	if err != nil {
		s.t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(map[string]any{
		"iss": s.Issuer, "sub": sub, "aud": aud, "email": mailbox, "jti": randHex(8),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
	}).Serialize()
	if err != nil {
		s.t.Fatal(err)
	}
	body := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(life.Seconds())}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) googleError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) googleToken(w http.ResponseWriter, form url.Values) {
	if !only(s, w, form, "grant_type", "assertion") {
		return
	}
	if gt := form.Get("grant_type"); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		s.uncovered(w, "Google grant_type %q", gt)
		return
	}
	raw := form.Get("assertion")
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(parsed.Headers) != 1 {
		s.googleError(w, 400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	var c struct {
		jwt.Claims
		Scope string `json:"scope"`
	}
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
		s.googleError(w, 400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	s.mu.Lock()
	sa := s.google[c.Issuer]
	now := s.now()
	var delegated, users []string
	if sa != nil {
		delegated, users = slices.Clone(sa.Delegated), slices.Clone(sa.Users)
	}
	s.mu.Unlock()
	if sa == nil {
		s.googleError(w, 400, "invalid_grant", "Invalid grant: account not found")
		return
	}
	if parsed.Headers[0].KeyID != sa.KeyID {
		s.googleError(w, 400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if err := parsed.Claims(&sa.key.PublicKey, &c); err != nil {
		s.googleError(w, 400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if len(c.Audience) != 1 || c.Audience[0] != s.GoogleTokenURL() {
		s.googleError(w, 400, "invalid_grant", "Invalid JWT: aud must be "+s.GoogleTokenURL())
		return
	}
	// Google allows a little skew, and an hour at most between iat and exp.
	if c.IssuedAt == nil || c.Expiry == nil || c.Expiry.Time().Sub(c.IssuedAt.Time()) > time.Hour ||
		c.IssuedAt.Time().After(now.Add(5*time.Minute)) || !c.Expiry.Time().After(now) {
		s.googleError(w, 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	}
	if c.Subject == "" || !slices.Contains(users, c.Subject) {
		s.googleError(w, 400, "invalid_grant", "Invalid email or User ID")
		return
	}
	scopes := strings.Fields(c.Scope)
	if len(scopes) == 0 {
		s.googleError(w, 400, "invalid_scope", "Empty or missing scope not allowed.")
		return
	}
	for _, sc := range scopes {
		if !slices.Contains(delegated, sc) {
			s.googleError(w, 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
	}
	s.issue(w, c.Subject, c.Subject, scopes[0], nil)
}

// aadError answers in Microsoft's error shape.
func (s *Server) aadError(w http.ResponseWriter, status int, code string, aad int, msg string) {
	trace, corr := uuid(), uuid()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			aad, msg, trace, corr, ts),
		"error_codes": []int{aad}, "timestamp": ts, "trace_id": trace, "correlation_id": corr,
		"error_uri": fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aad),
	})
}

func (s *Server) microsoftToken(w http.ResponseWriter, r *http.Request, tenant string) {
	form := r.PostForm
	if !only(s, w, form, "grant_type", "client_id", "client_secret", "client_assertion_type", "client_assertion", "scope", "refresh_token") {
		return
	}
	if r.Header.Get("Authorization") != "" {
		s.uncovered(w, "client credentials in an Authorization header (Microsoft takes them in the body)")
		return
	}
	clientID := form.Get("client_id")
	scope := form.Get("scope")
	if clientID == "" || scope == "" {
		s.aadError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id' and 'scope'.")
		return
	}
	s.mu.Lock()
	app, known := s.apps[tenant+"/"+clientID]
	var a App
	if known {
		a = *app
	}
	tenantKnown := false
	for k := range s.apps {
		tenantKnown = tenantKnown || strings.HasPrefix(k, tenant+"/")
	}
	s.mu.Unlock()
	if !tenantKnown {
		s.aadError(w, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if !known {
		s.aadError(w, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant))
		return
	}
	if ok := s.microsoftClientAuth(w, r, a); !ok {
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
		if !strings.HasSuffix(scope, "/.default") || len(strings.Fields(scope)) != 1 {
			s.aadError(w, 400, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
			return
		}
		if !a.Consent {
			s.aadError(w, 400, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource.", clientID))
			return
		}
		s.issue(w, clientID, a.Mailbox, audience(scope), map[string]any{"ext_expires_in": int(s.lifetime.Seconds())})
	case "refresh_token":
		s.refreshGrant(w, form, tenant, clientID, scope, true)
	default:
		s.uncovered(w, "Microsoft grant_type %q", gt)
	}
}

// microsoftClientAuth checks the client secret or the certificate
// assertion; a public client (refresh token, no secret) passes.
func (s *Server) microsoftClientAuth(w http.ResponseWriter, r *http.Request, a App) bool {
	form := r.PostForm
	if secret := form.Get("client_secret"); secret != "" {
		if secret != a.Secret {
			s.aadError(w, 401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.ClientID))
			return false
		}
		return true
	}
	assertion := form.Get("client_assertion")
	if assertion == "" {
		if form.Get("grant_type") == "refresh_token" && a.Secret == "" && a.Cert == nil {
			return true // a public client
		}
		s.aadError(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return false
	}
	if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		s.uncovered(w, "client_assertion_type %q", form.Get("client_assertion_type"))
		return false
	}
	parsed, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
	if err != nil || len(parsed.Headers) != 1 || a.Cert == nil {
		s.aadError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
		return false
	}
	thumb := sha1.Sum(a.Cert.Raw)
	if x5t, _ := parsed.Headers[0].ExtraHeaders["x5t"].(string); x5t != base64.RawURLEncoding.EncodeToString(thumb[:]) {
		s.aadError(w, 401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key was not found.]")
		return false
	}
	var c jwt.Claims
	if err := parsed.Claims(a.Cert.PublicKey, &c); err != nil {
		s.aadError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
		return false
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	if c.Issuer != a.ClientID || c.Subject != a.ClientID || c.ID == "" {
		s.aadError(w, 401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer, or iss and sub are not the client ID.")
		return false
	}
	if err := c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{s.MicrosoftTokenURL(a.Tenant)}, Time: now}, 5*time.Minute); err != nil {
		if err == jwt.ErrInvalidAudience {
			s.aadError(w, 401, "invalid_client", 700021, "Client assertion audience claim does not match Realm issuer.")
		} else {
			s.aadError(w, 401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
		}
		return false
	}
	return true
}

func (s *Server) refreshGrant(w http.ResponseWriter, form url.Values, tenant, clientID, scope string, microsoft bool) {
	rt := form.Get("refresh_token")
	s.mu.Lock()
	g := s.refresh[rt]
	var gg grant
	if g != nil {
		gg = *g
	}
	s.mu.Unlock()
	bad := g == nil || gg.revoked || gg.clientID != clientID || gg.tenant != tenant
	if bad {
		if microsoft {
			s.aadError(w, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity or was revoked.")
		} else {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "refresh token is invalid, expired or revoked"})
		}
		return
	}
	// Rotate: a new refresh token replaces the one used (RFC 6749 6).
	next := "rt-" + randHex(16)
	s.mu.Lock()
	s.refresh[next] = &grant{clientID: gg.clientID, mailbox: gg.mailbox, tenant: gg.tenant}
	delete(s.refresh, rt)
	s.mu.Unlock()
	aud := ""
	if f := strings.Fields(scope); len(f) > 0 {
		aud = audience(f[0])
	}
	if microsoft {
		aud = "https://outlook.office.com"
		for _, sc := range strings.Fields(scope) {
			if strings.HasPrefix(sc, "https://") {
				aud = sc[:strings.Index(sc[len("https://"):], "/")+len("https://")]
				break
			}
		}
	}
	s.issue(w, gg.mailbox, gg.mailbox, aud, map[string]any{"refresh_token": next, "scope": scope})
}

func (s *Server) genericToken(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	if !only(s, w, form, "grant_type", "client_id", "client_secret", "scope", "refresh_token") {
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: the form-encoded id and secret.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if form.Has("client_secret") {
			s.uncovered(w, "client credentials both in the header and in the body (RFC 6749 2.3: one method only)")
			return
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || c.Secret != secret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "client authentication failed"})
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
		s.issue(w, id, c.Mailbox, audience(form.Get("scope")), nil)
	case "refresh_token":
		s.refreshGrant(w, form, "", id, form.Get("scope"), false)
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type", "error_description": gt})
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewCertificate makes a self-signed certificate and its key, as an admin
// would with openssl before uploading the certificate to the app
// registration.
func NewCertificate(t testing.TB, name string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}
