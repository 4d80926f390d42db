package mailauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/google"
	jwtgrant "golang.org/x/oauth2/jwt"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/pemkey"
)

// Scopes and token endpoints of the two big providers.
const (
	GoogleMailScope   = "https://mail.google.com/"
	GoogleTokenURL    = "https://oauth2.googleapis.com/token"
	MicrosoftScope    = "https://outlook.office365.com/.default"
	MicrosoftLoginURL = "https://login.microsoftonline.com"
)

// withClient gives the oauth2 package the HTTP client to use (tests and
// proxies may supply one), wrapped so that an HTML page where a token
// should be is named as such rather than as a JSON syntax error.
func withClient(ctx context.Context, hc *http.Client) context.Context {
	c := http.Client{}
	if hc != nil {
		c = *hc
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = htmlGuard{base}
	return context.WithValue(ctx, oauth2.HTTPClient, &c)
}

// htmlGuard turns an HTML answer into an error: a login page, a proxy's
// block page or a wrong token_url, never a token.
type htmlGuard struct{ next http.RoundTripper }

func (g htmlGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/html" {
		resp.Body.Close()
		return nil, &htmlAnswer{url: r.URL.Redacted(), status: resp.StatusCode}
	}
	return resp, nil
}

type htmlAnswer struct {
	url    string
	status int
}

func (e *htmlAnswer) Error() string {
	return fmt.Sprintf("the token endpoint %s answered HTML (HTTP %d), not a token: check token_url; a login page, proxy or captive portal answered instead", e.url, e.status)
}

// Google is a Google Workspace service account with domain-wide
// delegation, impersonating the hub's mailbox: the JWT bearer grant of RFC
// 7523, through golang.org/x/oauth2/google.
type Google struct {
	conf *jwtgrant.Config
	hc   *http.Client
}

// GoogleConfig configures Google.
type GoogleConfig struct {
	// ServiceAccountKey is the JSON key file of the service account.
	ServiceAccountKey []byte
	// Mailbox is the address the service account acts as (the JWT's sub).
	Mailbox string
	// TokenURL overrides the key file's token_uri (tests).
	TokenURL   string
	Scopes     []string // default https://mail.google.com/
	HTTPClient *http.Client
}

// NewGoogle checks the key file and prepares the grant.
func NewGoogle(c GoogleConfig) (*Google, error) {
	if len(c.Scopes) == 0 {
		c.Scopes = []string{GoogleMailScope}
	}
	if c.Mailbox == "" {
		return nil, errs.InvalidField("mailbox", "Google Workspace needs the mailbox the service account acts as")
	}
	var kf struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(c.ServiceAccountKey, &kf); err != nil {
		return nil, errs.InvalidField("service_account_key", "not a service account JSON key file: %v", err)
	}
	if kf.Type != "service_account" || kf.ClientEmail == "" || kf.PrivateKey == "" {
		return nil, errs.InvalidField("service_account_key", "not a service account key file (need type service_account, client_email and private_key; create one under IAM & Admin > Service accounts > Keys > Add key > JSON)")
	}
	if _, err := parseRSAKey([]byte(kf.PrivateKey)); err != nil {
		return nil, errs.InvalidField("service_account_key", "private_key: %v", err)
	}
	conf, err := google.JWTConfigFromJSON(c.ServiceAccountKey, c.Scopes...)
	if err != nil {
		return nil, errs.InvalidField("service_account_key", "%v", err)
	}
	conf.Subject = c.Mailbox
	if c.TokenURL != "" {
		conf.TokenURL = c.TokenURL
	}
	return &Google{conf: conf, hc: c.HTTPClient}, nil
}

func (g *Google) Fetch(ctx context.Context) (*oauth2.Token, error) {
	// A new source each time: caching is Tokens' job.
	return g.conf.TokenSource(withClient(ctx, g.hc)).Token()
}

func (g *Google) Describe() string {
	return fmt.Sprintf("Google Workspace service account %s acting as %s", g.conf.Email, g.conf.Subject)
}

// Microsoft is Entra ID's client credentials grant for app-only IMAP and
// SMTP: the application authenticates with a client secret or with a
// certificate (a signed client assertion, RFC 7523 2.2).
type Microsoft struct {
	tenant, clientID string
	secret           string
	cert             *x509.Certificate
	key              *rsa.PrivateKey
	tokenURL         string
	scopes           []string
	hc               *http.Client
}

// MicrosoftConfig configures Microsoft.
type MicrosoftConfig struct {
	Tenant   string // Directory (tenant) ID or a verified domain
	ClientID string // Application (client) ID
	// ClientSecret, or CertificatePEM and PrivateKeyPEM (the certificate
	// uploaded to the app registration and its key).
	ClientSecret                  string
	CertificatePEM, PrivateKeyPEM []byte
	TokenURL                      string   // default https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
	Scopes                        []string // default https://outlook.office365.com/.default
	HTTPClient                    *http.Client
}

// NewMicrosoft checks the credentials and prepares the grant.
func NewMicrosoft(c MicrosoftConfig) (*Microsoft, error) {
	var bad []error
	if c.Tenant == "" {
		bad = append(bad, errs.InvalidField("tenant", "Microsoft 365 needs the Directory (tenant) ID"))
	}
	if c.ClientID == "" {
		bad = append(bad, errs.InvalidField("client_id", "Microsoft 365 needs the Application (client) ID"))
	}
	m := &Microsoft{tenant: c.Tenant, clientID: c.ClientID, secret: c.ClientSecret, tokenURL: c.TokenURL, scopes: c.Scopes, hc: c.HTTPClient}
	switch {
	case c.ClientSecret != "" && len(c.CertificatePEM) > 0:
		bad = append(bad, errs.InvalidField("client_secret", "give a client secret or a certificate, not both"))
	case c.ClientSecret != "":
	case len(c.CertificatePEM) > 0 || len(c.PrivateKeyPEM) > 0:
		var err error
		if m.cert, err = parseCert(c.CertificatePEM); err != nil {
			bad = append(bad, errs.InvalidField("certificate", "%v", err))
		}
		if m.key, err = parseRSAKey(c.PrivateKeyPEM); err != nil {
			bad = append(bad, errs.InvalidField("private_key", "%v", err))
		}
		if m.cert != nil && m.key != nil && !m.key.PublicKey.Equal(m.cert.PublicKey) {
			bad = append(bad, errs.InvalidField("private_key", "the private key does not belong to the certificate"))
		}
	default:
		bad = append(bad, errs.InvalidField("client_secret", "Microsoft 365 app-only access needs a client secret or a certificate and its private key"))
	}
	if len(bad) > 0 {
		return nil, joinInvalid(bad)
	}
	if m.tokenURL == "" {
		m.tokenURL = MicrosoftLoginURL + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/token"
	}
	if len(m.scopes) == 0 {
		m.scopes = []string{MicrosoftScope}
	}
	return m, nil
}

func (m *Microsoft) Fetch(ctx context.Context) (*oauth2.Token, error) {
	cc := clientcredentials.Config{ClientID: m.clientID, ClientSecret: m.secret, TokenURL: m.tokenURL, Scopes: m.scopes, AuthStyle: oauth2.AuthStyleInParams}
	if m.cert != nil {
		assertion, err := m.assertion()
		if err != nil {
			return nil, err
		}
		cc.EndpointParams = url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		}
	}
	return cc.Token(withClient(ctx, m.hc))
}

// assertion is the certificate credential Microsoft's identity platform
// asks for: a JWT with the certificate's SHA-1 thumbprint as x5t, aud the
// token endpoint, iss and sub the client ID, and a fresh jti.
func (m *Microsoft) assertion() (string, error) {
	thumb := sha1.Sum(m.cert.Raw)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: m.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", base64.RawURLEncoding.EncodeToString(thumb[:])))
	if err != nil {
		return "", fmt.Errorf("mailauth: client assertion: %w", err)
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	now := time.Now()
	return jwt.Signed(sig).Claims(jwt.Claims{
		Issuer: m.clientID, Subject: m.clientID, Audience: jwt.Audience{m.tokenURL}, ID: hex.EncodeToString(jti[:]),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)),
	}).Serialize()
}

func (m *Microsoft) Describe() string {
	how := "client secret"
	if m.cert != nil {
		how = "certificate"
	}
	return fmt.Sprintf("Microsoft 365 app %s in tenant %s (%s)", m.clientID, m.tenant, how)
}

// RefreshToken is the refresh token grant (RFC 6749 6): Microsoft 365's
// delegated access for tenants that forbid app-only access, or any other
// provider. A rotated refresh token replaces the one in hand.
type RefreshToken struct {
	name     string
	clientID string
	secret   string
	tokenURL string
	scopes   []string
	basic    bool
	hc       *http.Client
	mu       sync.Mutex
	refresh  string
}

// RefreshTokenConfig configures RefreshToken.
type RefreshTokenConfig struct {
	Name         string // who issues it, for messages ("Microsoft 365", "the token endpoint")
	TokenURL     string
	ClientID     string
	ClientSecret string // none for a public client
	RefreshToken string
	Scopes       []string
	// BasicAuth sends the client credentials in an Authorization header
	// (RFC 6749 2.3.1) rather than in the form.
	BasicAuth  bool
	HTTPClient *http.Client
}

// NewRefreshToken prepares the grant.
func NewRefreshToken(c RefreshTokenConfig) (*RefreshToken, error) {
	var bad []error
	if c.TokenURL == "" {
		bad = append(bad, errs.InvalidField("token_url", "needed for the refresh token grant"))
	} else if u, err := url.Parse(c.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad = append(bad, errs.InvalidField("token_url", "not an http(s) URL: %q", c.TokenURL))
	}
	if c.RefreshToken == "" {
		bad = append(bad, errs.InvalidField("refresh_token", "empty"))
	}
	if c.ClientID == "" {
		bad = append(bad, errs.InvalidField("client_id", "needed for the refresh token grant"))
	}
	if len(bad) > 0 {
		return nil, joinInvalid(bad)
	}
	if c.Name == "" {
		c.Name = "token endpoint " + c.TokenURL
	}
	return &RefreshToken{name: c.Name, clientID: c.ClientID, secret: c.ClientSecret, tokenURL: c.TokenURL, scopes: c.Scopes,
		basic: c.BasicAuth, hc: c.HTTPClient, refresh: c.RefreshToken}, nil
}

func (r *RefreshToken) Fetch(ctx context.Context) (*oauth2.Token, error) {
	r.mu.Lock()
	rt := r.refresh
	r.mu.Unlock()
	// clientcredentials lets grant_type be overridden; it sends scope,
	// which Microsoft's v2 endpoint expects on a refresh.
	cc := clientcredentials.Config{ClientID: r.clientID, ClientSecret: r.secret, TokenURL: r.tokenURL, Scopes: r.scopes,
		AuthStyle: authStyle(r.basic), EndpointParams: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}}
	tok, err := cc.Token(withClient(ctx, r.hc))
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		// RFC 6749 6: the server may issue a new refresh token and revoke
		// the old one.
		r.mu.Lock()
		r.refresh = tok.RefreshToken
		r.mu.Unlock()
	}
	return tok, nil
}

func (r *RefreshToken) Describe() string {
	return fmt.Sprintf("%s (refresh token of client %s)", r.name, r.clientID)
}

// ClientCredentials is the client credentials grant (RFC 6749 4.4) at any
// token endpoint.
type ClientCredentials struct {
	conf clientcredentials.Config
	hc   *http.Client
}

// ClientCredentialsConfig configures ClientCredentials.
type ClientCredentialsConfig struct {
	TokenURL, ClientID, ClientSecret string
	Scopes                           []string
	BasicAuth                        bool
	HTTPClient                       *http.Client
}

// NewClientCredentials prepares the grant.
func NewClientCredentials(c ClientCredentialsConfig) (*ClientCredentials, error) {
	var bad []error
	if c.TokenURL == "" {
		bad = append(bad, errs.InvalidField("token_url", "needed for the client credentials grant"))
	} else if u, err := url.Parse(c.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad = append(bad, errs.InvalidField("token_url", "not an http(s) URL: %q", c.TokenURL))
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		bad = append(bad, errs.InvalidField("client_secret", "the client credentials grant needs client_id and client_secret"))
	}
	if len(bad) > 0 {
		return nil, joinInvalid(bad)
	}
	return &ClientCredentials{conf: clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL,
		Scopes: c.Scopes, AuthStyle: authStyle(c.BasicAuth)}, hc: c.HTTPClient}, nil
}

func (c *ClientCredentials) Fetch(ctx context.Context) (*oauth2.Token, error) {
	return c.conf.Token(withClient(ctx, c.hc))
}

func (c *ClientCredentials) Describe() string {
	return fmt.Sprintf("token endpoint %s (client %s)", c.conf.TokenURL, c.conf.ClientID)
}

var (
	_ Fetcher = (*Google)(nil)
	_ Fetcher = (*Microsoft)(nil)
	_ Fetcher = (*RefreshToken)(nil)
	_ Fetcher = (*ClientCredentials)(nil)
)

func authStyle(basic bool) oauth2.AuthStyle {
	if basic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

func joinInvalid(bad []error) error {
	msgs := make([]string, len(bad))
	for i, e := range bad {
		msgs[i] = e.Error()
	}
	return errs.E(errs.Invalid, "%s", strings.Join(msgs, "; "))
}

func parseRSAKey(p []byte) (*rsa.PrivateKey, error) {
	key, err := pemkey.Private(p)
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key (RS256 needs one)")
	}
	return rk, nil
}

func parseCert(p []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, p = pem.Decode(p)
		if block == nil {
			return nil, fmt.Errorf("no PEM CERTIFICATE block")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("malformed certificate: %v", err)
		}
		return c, nil
	}
}
