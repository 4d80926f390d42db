package intake

import (
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// A monitoring alert's title becomes a draft's title, which is declared
// as it is: whatever errs.CheckLine refuses (DEL, C1 controls, Unicode line
// separators, not only C0) is made a space, or the declaration would fail.
func TestAlertTitlesBecomeDeclarableTitles(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Checkout\x7fdown":         "Checkout down",
		"Checkout\u009b31m down":   "Checkout 31m down",
		"Checkout\u2028down\r\nEU": "Checkout down EU",
		"Zahlung – 支付 🚨":           "Zahlung – 支付 🚨",
	} {
		got := oneLine(in, 200)
		if got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
		if err := errs.CheckLine("title", got, 200, true); err != nil {
			t.Errorf("oneLine(%q) = %q, which a declaration refuses: %v", in, got, err)
		}
	}
}
