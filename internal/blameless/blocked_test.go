package blameless

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// A refused text is a conflict on the markdown field, however deep it is
// wrapped: the API answers 409 with the findings in the message.
func TestBlockedIsAConflict(t *testing.T) {
	fs := Lint("Will forgot to renew the certificate.", testNames(), nil)
	err := fmt.Errorf("send summary: %w", &Blocked{Findings: fs})
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Conflict || e.Field != "markdown" || errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("errs.Error = %+v, want a conflict on markdown", e)
	}
	if !strings.Contains(e.Message, "found 2 problem(s)") || !strings.Contains(e.Message, "1:1: name:") {
		t.Errorf("message %q lacks the count or the findings", e.Message)
	}
	var blocked *Blocked
	if !errors.As(err, &blocked) || len(blocked.Findings) != 2 {
		t.Errorf("errors.As(*Blocked) = %v", blocked)
	}
}
