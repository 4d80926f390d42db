package intake

import "github.com/sitrep-dev/sitrep/internal/directory"

// What intake needs of the directory; the directory store satisfies each.

// Systems lists the systems of the escalation lists.
type Systems interface {
	Systems() []string
}

// CommsLeads lists the comms leads' addresses.
type CommsLeads interface {
	CommsLeads() []string
}

var (
	_ Systems    = (*directory.Store)(nil)
	_ CommsLeads = (*directory.Store)(nil)
)
