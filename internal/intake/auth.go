package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Authenticate checks one delivery against its source's secret. It
// accepts, in order: "Authorization: Bearer <secret>" (what Alertmanager's
// http_config.authorization sends, and Dynatrace's custom headers can);
// "X-Sitrep-Signature: sha256=<hex HMAC-SHA256 of the body>"; and, for
// monitors that can set nothing but the URL (Pingdom), "?token=<secret>"
// in the query. An empty secret accepts nothing: the endpoint is off.
func Authenticate(source, secret string, h http.Header, query url.Values, body []byte) error {
	if secret == "" {
		return errs.E(errs.Unauthorized, "the %s intake is off: no intake.%s.secret is configured", source, source)
	}
	equal := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && equal(strings.TrimSpace(tok), secret) {
		return nil
	}
	if v, ok := strings.CutPrefix(strings.TrimSpace(h.Get("X-Sitrep-Signature")), "sha256="); ok {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if got, err := hex.DecodeString(v); err == nil && hmac.Equal(got, mac.Sum(nil)) {
			return nil
		}
	}
	if tok := query.Get("token"); tok != "" && equal(tok, secret) {
		return nil
	}
	return errs.E(errs.Unauthorized, "missing or wrong %s secret (Authorization: Bearer <secret>, X-Sitrep-Signature: sha256=<hex HMAC-SHA256 of the body>, or ?token=<secret>)", source)
}
