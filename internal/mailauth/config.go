package mailauth

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Providers and grants Config names.
const (
	ProviderGoogle    = "google"
	ProviderMicrosoft = "microsoft"
	ProviderGeneric   = "oauth2"

	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// Config chooses and configures a provider; cmd/sitrep fills it from the
// mail.oauth block.
type Config struct {
	Provider string // ProviderGoogle, ProviderMicrosoft or ProviderGeneric
	// Grant is GrantClientCredentials (default) or GrantRefreshToken for
	// Microsoft and the generic endpoint; Google always uses its service
	// account (RFC 7523).
	Grant   string
	Mailbox string // the mailbox the hub signs in as

	ServiceAccountKey []byte // Google: the JSON key file

	Tenant, ClientID, ClientSecret string
	CertificatePEM, PrivateKeyPEM  []byte // Microsoft certificate credential
	RefreshToken                   string

	TokenURL   string
	Scopes     []string
	BasicAuth  bool // generic endpoint: client credentials in the Authorization header
	HTTPClient *http.Client
}

// MicrosoftDelegatedScopes are the delegated permissions a refresh token
// for Microsoft 365 carries (offline_access keeps the refresh token coming).
var MicrosoftDelegatedScopes = []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"}

// NewFetcher builds the provider c names, checking its keys and secrets.
func NewFetcher(c Config) (Fetcher, error) {
	switch c.Provider {
	case ProviderGoogle:
		return NewGoogle(GoogleConfig{ServiceAccountKey: c.ServiceAccountKey, Mailbox: c.Mailbox, TokenURL: c.TokenURL, Scopes: c.Scopes, HTTPClient: c.HTTPClient})
	case ProviderMicrosoft:
		if c.Grant == GrantRefreshToken {
			tokenURL := c.TokenURL
			if tokenURL == "" {
				tokenURL = MicrosoftLoginURL + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/token"
			}
			scopes := c.Scopes
			if len(scopes) == 0 {
				scopes = MicrosoftDelegatedScopes
			}
			if c.Tenant == "" {
				return nil, errs.InvalidField("tenant", "Microsoft 365 needs the Directory (tenant) ID")
			}
			return NewRefreshToken(RefreshTokenConfig{Name: "Microsoft 365 tenant " + c.Tenant, TokenURL: tokenURL, ClientID: c.ClientID,
				ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, Scopes: scopes, HTTPClient: c.HTTPClient})
		}
		return NewMicrosoft(MicrosoftConfig{Tenant: c.Tenant, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			CertificatePEM: c.CertificatePEM, PrivateKeyPEM: c.PrivateKeyPEM, TokenURL: c.TokenURL, Scopes: c.Scopes, HTTPClient: c.HTTPClient})
	case ProviderGeneric:
		if c.Grant == GrantRefreshToken {
			return NewRefreshToken(RefreshTokenConfig{TokenURL: c.TokenURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
				RefreshToken: c.RefreshToken, Scopes: c.Scopes, BasicAuth: c.BasicAuth, HTTPClient: c.HTTPClient})
		}
		return NewClientCredentials(ClientCredentialsConfig{TokenURL: c.TokenURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			Scopes: c.Scopes, BasicAuth: c.BasicAuth, HTTPClient: c.HTTPClient})
	}
	return nil, errs.InvalidField("provider", "want google, microsoft or oauth2, got %q", c.Provider)
}
