package incident

import (
	"strings"

	"github.com/sitrep-dev/sitrep/internal/directory"
)

// teamNames are the incident's teams as people know them: a team that is
// a group of the directory goes by its display name ("sre" is "Site
// Reliability"), any other as typed.
func teamNames(d *directory.Directory, teams []string) []string {
	out := make([]string, len(teams))
	for i, t := range teams {
		out[i] = t
		if g, ok := d.Group(strings.ToLower(strings.TrimSpace(t))); ok && g.DisplayName != "" {
			out[i] = g.DisplayName
		}
	}
	return out
}
