package blameless

import (
	"fmt"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Blocked is the error of a text refused for its findings: a summary not
// sent, or a post-mortem Issue not recorded, until it is rewritten or sent
// with an explicit override.
type Blocked struct{ Findings []Finding }

func (e *Blocked) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the blameless lint found %d problem(s); fix them, or send with an explicit override (recorded on the timeline):", len(e.Findings))
	for _, f := range e.Findings {
		b.WriteString("\n  " + f.String())
	}
	return b.String()
}

// As lets the API map it to a 409 with the error shape.
func (e *Blocked) As(target any) bool {
	if t, ok := target.(**errs.Error); ok {
		*t = &errs.Error{Code: errs.Conflict, Field: "markdown", Message: e.Error()}
		return true
	}
	return false
}
