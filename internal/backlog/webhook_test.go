package backlog

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The shared check refuses in the order the clients relied on: no secret,
// then too large (before hashing), then a missing or wrong signature.
func TestWebhookSignatureCheck(t *testing.T) {
	w := WebhookSignature{Tracker: "Acme", Setting: "backlog.acme.webhook_secret", Header: "X-Acme-Sig", Prefix: "v1=", MaxBytes: 8}
	body := []byte("{}")
	if err := w.Check("s", w.Sign("s", body), body); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for _, c := range []struct {
		secret, got string
		body        []byte
		kind        errs.Code
		msg         string
	}{
		{"", w.Sign("s", body), body, errs.Unauthorized, "the Acme webhook is off: set backlog.acme.webhook_secret"},
		{"s", w.Sign("s", []byte("123456789")), []byte("123456789"), errs.TooLarge, "a Acme webhook delivery over 8 bytes"},
		{"s", "", body, errs.Unauthorized, "X-Acme-Sig is missing or does not match the body"},
		{"s", HMACSHA256Hex("s", body), body, errs.Unauthorized, "X-Acme-Sig is missing or does not match the body"},
	} {
		err := w.Check(c.secret, c.got, c.body)
		if !errs.Is(err, c.kind) || err.Error() != c.msg {
			t.Errorf("Check(%q, %q): %v, want %v %q", c.secret, c.got, err, c.kind, c.msg)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{" 30 ", 30 * time.Second, true},
		{"7200", time.Hour, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), 0, true},
	} {
		got, ok := RetryAfterHeader(c.v, time.Hour)
		if got != c.want || ok != c.ok {
			t.Errorf("RetryAfterHeader(%q) = %s, %v; want %s, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestRefusal(t *testing.T) {
	err := error(Refusal(http.StatusForbidden, "acme: POST /x: 403 Forbidden", "the token lacks a scope"))
	var r *RefusedError
	if !errors.As(err, &r) || r.Status != http.StatusForbidden || err.Error() != "acme: POST /x: 403 Forbidden (the token lacks a scope)" {
		t.Errorf("Refusal: %#v %q", r, err)
	}
	if got := Refusal(http.StatusBadRequest, "m", "").Error(); got != "m" {
		t.Errorf("Refusal without a fix: %q", got)
	}
}
