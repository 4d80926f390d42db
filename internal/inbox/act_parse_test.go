package inbox

import (
	"strings"
	"testing"
)

// An attempt whose parse ran out of time leaves it running (enmime cannot
// be stopped); until it ends, another attempt at the same message fails at
// once instead of parsing beside it.
func TestNoSecondParseBesideARunningOne(t *testing.T) {
	t.Parallel()
	a := &Actor{}
	raw := []byte("From: a@example.test\r\nSubject: s\r\n\r\nhello\r\n")
	a.parsing.Store(int64(7), struct{}{}) // attempt 1 of message 7 still parsing
	if _, err := a.parse(t.Context(), 7, raw); err == nil || !strings.Contains(err.Error(), "still parsing") {
		t.Fatalf("second parse of message 7: %v", err)
	}
	if m, err := a.parse(t.Context(), 8, raw); err != nil || strings.TrimSpace(m.Text) != "hello" {
		t.Fatalf("another message parses: %v, %+v", err, m)
	}
	a.parsing.Delete(int64(7))
	if _, err := a.parse(t.Context(), 7, raw); err != nil {
		t.Fatalf("message 7 once its parse ended: %v", err)
	}
}
