package resolution_test

import (
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// The incident's scorecard reads the requests to confirm and their
// answers from the timeline by these kinds: renaming one here must rename
// it there.
func TestScorecardReadsTheConfirmationKinds(t *testing.T) {
	if incident.EventConfirmationAsked != resolution.EventConfirmationAsked || incident.EventConfirmation != resolution.EventConfirmation {
		t.Fatalf("incident reads %q and %q; resolution writes %q and %q", incident.EventConfirmationAsked, incident.EventConfirmation,
			resolution.EventConfirmationAsked, resolution.EventConfirmation)
	}
}
