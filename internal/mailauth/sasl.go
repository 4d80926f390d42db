package mailauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The SASL mechanisms that carry a bearer token.
const (
	// OAuthBearer is RFC 7628's mechanism.
	OAuthBearer = sasl.OAuthBearer
	// XOAuth2 is Google's older mechanism, which Microsoft also offers:
	// base64("user=" user ^A "auth=Bearer " token ^A ^A).
	XOAuth2 = "XOAUTH2"
)

// ChooseMechanism picks the mechanism to use from those a server offers:
// OAUTHBEARER, the standard, before XOAUTH2. A server that offers neither
// is an error that names it and what it offers.
func ChooseMechanism(server string, offered []string) (string, error) {
	up := make([]string, len(offered))
	for i, m := range offered {
		up[i] = strings.ToUpper(strings.TrimSpace(m))
	}
	for _, m := range []string{OAuthBearer, XOAuth2} {
		if slices.Contains(up, m) {
			return m, nil
		}
	}
	what := "no AUTH mechanisms at all"
	if len(offered) > 0 {
		what = "only " + strings.Join(up, ", ")
	}
	return "", errs.E(errs.Invalid, "%s offers %s, not OAUTHBEARER or XOAUTH2: it does not take OAuth2 tokens (check host and port; some servers offer AUTH only after STARTTLS)", server, what)
}

// ServerRefusal is what a server sent back when it refused the token
// inside the SASL exchange (RFC 7628 3.2.2: a JSON status).
type ServerRefusal struct {
	Mechanism string
	Status    string // e.g. "invalid_token", "400"
	Scope     string
}

func (e *ServerRefusal) Error() string {
	s := fmt.Sprintf("%s refused the token", e.Mechanism)
	if e.Status != "" {
		s += " (status " + e.Status + ")"
	}
	return s
}

// Client is a SASL client for one token. After a refused exchange its
// Refusal says what the server answered.
type Client struct {
	mech, user, token string
	host              string
	port              int
	refusal           *ServerRefusal
}

// NewSASL returns the client for mech (OAuthBearer or XOAuth2), user the
// mailbox and token the access token. host and port go into OAUTHBEARER's
// message (RFC 7628 3.1), which servers may check.
func NewSASL(mech, user, token, host string, port int) *Client {
	return &Client{mech: mech, user: user, token: token, host: host, port: port}
}

// Start returns the initial response. The token travels in it: callers
// must not log it.
func (c *Client) Start() (string, []byte, error) {
	if c.mech == XOAuth2 {
		return XOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
	}
	return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: c.user, Token: c.token, Host: c.host, Port: c.port}).Start()
}

// Next answers a challenge, which for these mechanisms is always the
// server's refusal. For OAUTHBEARER the answer is a single ^A, which lets
// the server end the exchange with its failure reply (RFC 7628 3.2.3).
// For XOAUTH2 Next returns the refusal as its error: the SMTP adapter then
// sends the empty response Google's protocol asks for, and an IMAP client
// gives up on the connection (go-imap cannot send an empty continuation).
func (c *Client) Next(challenge []byte) ([]byte, error) {
	var body struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
	}
	_ = json.Unmarshal(challenge, &body) // a server may send anything; the status is a courtesy
	c.refusal = &ServerRefusal{Mechanism: c.mech, Status: body.Status, Scope: body.Scope}
	if c.mech == XOAuth2 {
		return nil, c.refusal
	}
	return []byte{0x01}, nil
}

// Refusal is the server's answer to a refused exchange, or nil.
func (c *Client) Refusal() *ServerRefusal { return c.refusal }

var _ sasl.Client = (*Client)(nil)
