package mailauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// tokenErrorBody is an RFC 6749 5.2 error answer, with the fields
// Microsoft's identity platform adds (error_codes, trace_id, ...).
type tokenErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	CorrelationID    string `json:"correlation_id"`
}

var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// aadFixes says what each Entra ID error needs from an administrator.
// Codes from Microsoft's "Microsoft Entra authentication and authorization
// error codes" list.
var aadFixes = map[string]string{
	"65001":   "admin consent is not granted: in the Microsoft Entra admin center, App registrations > the app > API permissions, grant admin consent for the application permissions sitrep uses: IMAP.AccessAsApp and SMTP.SendAsApp (Office 365 Exchange Online) for mail, Calendars.ReadWrite and Place.Read.All (Microsoft Graph) for the post-mortem calendar",
	"7000215": "the client secret is wrong: copy the secret's Value (not its ID) from App registrations > the app > Certificates & secrets into the configured client_secret",
	"7000222": "the client secret has expired: create a new one under App registrations > the app > Certificates & secrets and configure it",
	"700016":  "no application with this client_id in the tenant: check client_id (the Application (client) ID on the app's Overview page) and tenant",
	"90002":   "the tenant does not exist: check tenant (the Directory (tenant) ID or a verified domain)",
	"700024":  "the client assertion is outside its valid time range: this host's clock is wrong; synchronise it (NTP)",
	"700027":  "the client assertion's signature does not match a certificate of the app: upload the certificate under App registrations > the app > Certificates & secrets",
	"70011":   "the scope is invalid: app-only access uses https://outlook.office365.com/.default for mail and https://graph.microsoft.com/.default for the calendar",
	"700082":  "the refresh token has expired: sign in again to get a new refresh token",
	"70008":   "the refresh token has expired or was revoked: sign in again to get a new refresh token",
	"50173":   "the refresh token was revoked (password change or admin action): sign in again to get a new refresh token",
	"50076":   "multi-factor authentication is required for this user: use app-only access (client credentials) instead",
	"53003":   "a Conditional Access policy blocks the sign-in: exclude the app or its service principal from the policy",
	"7000112": "the application is disabled in the tenant: enable it under Enterprise applications > the app > Properties",
}

// explain turns a token endpoint failure into an error that says what to
// fix. The endpoint's own words are kept at the end.
func explain(grant string, err error) error {
	var html *htmlAnswer
	if errors.As(err, &html) {
		return errs.E(errs.Unavailable, "%s: %s", grant, html.Error())
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ne net.Error
		if errors.As(err, &ne) {
			return errs.E(errs.Unavailable, "%s: cannot reach the token endpoint: %v", grant, err)
		}
		var ee *errs.Error
		if errors.As(err, &ee) {
			return err
		}
		return errs.E(errs.Unavailable, "%s: token request failed: %v", grant, err)
	}
	status := 0
	ctype := ""
	if re.Response != nil {
		status = re.Response.StatusCode
		ctype, _, _ = mime.ParseMediaType(re.Response.Header.Get("Content-Type"))
	}
	body := bytes.TrimSpace(re.Body)
	if ctype == "text/html" || bytes.HasPrefix(body, []byte("<")) {
		return errs.E(errs.Unavailable, "%s: the token endpoint answered HTML (HTTP %d), not a token: check token_url; a login page, proxy or captive portal answered instead", grant, status)
	}
	var eb tokenErrorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
		eb.Error, eb.ErrorDescription = re.ErrorCode, re.ErrorDescription
	}
	if eb.Error == "" {
		if status >= 500 || status == 429 {
			return errs.E(errs.Unavailable, "%s: the token endpoint failed (HTTP %d); trying again later", grant, status)
		}
		return errs.E(errs.Unavailable, "%s: the token endpoint answered HTTP %d without an OAuth error", grant, status)
	}
	said := eb.Error
	if eb.ErrorDescription != "" {
		said += ": " + firstLine(eb.ErrorDescription)
	}
	if m := aadsts.FindStringSubmatch(eb.ErrorDescription); m != nil {
		if fix, ok := aadFixes[m[1]]; ok {
			return errs.E(errs.Unauthorized, "%s: %s (Microsoft said %s)", grant, fix, said)
		}
	}
	desc := strings.ToLower(eb.ErrorDescription)
	switch eb.Error {
	case "unauthorized_client":
		if strings.Contains(grant, "Google") {
			return errs.E(errs.Unauthorized, "%s: the service account lacks domain-wide delegation for the scope https://mail.google.com/: in the Google Admin console, Security > Access and data control > API controls > Domain-wide delegation, add its client ID with that scope (Google said %s)", grant, said)
		}
		return errs.E(errs.Unauthorized, "%s: the client may not use this grant: allow it at the provider (it said %s)", grant, said)
	case "invalid_grant":
		switch {
		case strings.Contains(desc, "iat") || strings.Contains(desc, "exp") && strings.Contains(desc, "jwt") || strings.Contains(desc, "short-lived"):
			return errs.E(errs.Unauthorized, "%s: the token endpoint finds the signed assertion's time wrong: this host's clock is off; synchronise it (NTP) (it said %s)", grant, said)
		case strings.Contains(desc, "invalid email or user id") || strings.Contains(desc, "subject"):
			return errs.E(errs.Unauthorized, "%s: the mailbox to impersonate does not exist or is not in the domain: check the configured mailbox (it said %s)", grant, said)
		}
		return errs.E(errs.Unauthorized, "%s: the grant was refused: it was revoked, has expired or was never given; give it again at the provider (it said %s)", grant, said)
	case "invalid_client":
		return errs.E(errs.Unauthorized, "%s: the client credentials are wrong: check client_id and the secret or key (it said %s)", grant, said)
	case "invalid_scope":
		return errs.E(errs.Unauthorized, "%s: the scope is not allowed for this client (it said %s)", grant, said)
	case "temporarily_unavailable", "server_error":
		return errs.E(errs.Unavailable, "%s: the token endpoint is failing; trying again later (it said %s)", grant, said)
	}
	return errs.E(errs.Unauthorized, "%s: the token endpoint refused: %s", grant, said)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// maxSkew is how far the token's own times may be from this host's clock
// before the difference is called out.
const maxSkew = 5 * time.Minute

// checkClock reads the times inside an access token when it is a JWT (those
// of Microsoft are; Google's are opaque) and refuses a token that this
// host's clock already sees as expired or as issued far in the future: the
// servers would agree with the token, and every sign-in would fail with a
// message that hides the cause.
func checkClock(grant, token string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c struct {
		Exp *json.Number `json:"exp"`
		Iat *json.Number `json:"iat"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return nil
	}
	if c.Exp != nil {
		if exp, err := c.Exp.Int64(); err == nil && !now.Before(time.Unix(exp, 0)) {
			return errs.E(errs.Unavailable, "%s: the new token expired at %s, before now by this host's clock (%s): the clocks disagree; synchronise this host's clock (NTP)",
				grant, time.Unix(exp, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if c.Iat != nil {
		if iat, err := c.Iat.Int64(); err == nil && time.Unix(iat, 0).After(now.Add(maxSkew)) {
			return errs.E(errs.Unavailable, "%s: the new token was issued at %s, after now by this host's clock (%s): the clocks disagree; synchronise this host's clock (NTP)",
				grant, time.Unix(iat, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
