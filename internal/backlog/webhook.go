package backlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// HMACSHA256Hex is the hex HMAC-SHA256 of body under secret, the digest
// every tracker here signs its webhook deliveries with (each puts its own
// prefix, if any, in front).
func HMACSHA256Hex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// WebhookSignature is how one tracker signs its webhook deliveries: the
// names that go in its messages, the header that carries the signature
// and the prefix before the hex digest. The checks are the same for all,
// so that none can forget one: a webhook without a secret is off, a
// delivery over MaxBytes is refused before it is hashed, and the
// signature is compared in constant time before anything is read.
type WebhookSignature struct {
	Tracker  string // as the messages name it: "GitHub"
	Setting  string // the secret's setting: "backlog.github.webhook_secret"
	Header   string // the signature's header: "X-Hub-Signature-256"
	Prefix   string // before the hex digest: "sha256=", or none
	MaxBytes int
}

// Sign is the header's value for body under secret.
func (w WebhookSignature) Sign(secret string, body []byte) string {
	return w.Prefix + HMACSHA256Hex(secret, body)
}

// Check refuses a delivery whose signature got (the header's value, as
// the tracker's reader takes it) is missing or is not body's under
// secret, or that is too large to hash.
func (w WebhookSignature) Check(secret, got string, body []byte) error {
	if secret == "" {
		return errs.E(errs.Unauthorized, "the %s webhook is off: set %s", w.Tracker, w.Setting)
	}
	if len(body) > w.MaxBytes {
		return errs.E(errs.TooLarge, "a %s webhook delivery over %d bytes", w.Tracker, w.MaxBytes)
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(w.Sign(secret, body))) {
		return errs.E(errs.Unauthorized, "%s is missing or does not match the body", w.Header)
	}
	return nil
}

// RetryAfterHeader reads a Retry-After value in either of HTTP's forms,
// delay-seconds or an HTTP-date, capped at most; ok is false when v says
// neither. Trackers that document only seconds read it themselves.
func RetryAfterHeader(v string, most time.Duration) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, most), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), most), true
	}
	return 0, false
}
