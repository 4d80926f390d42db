package ui

import (
	"strings"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/web/statuspage"
)

// Wording per audience on the internal status page: an update may carry,
// beside the status, a text for one group (incident.UpdateInput.Audiences:
// what customer service tells customers, the executives' summary), which
// that group's members were emailed instead of the status. A signed-in
// viewer who is a member of such a group (directly, or through a group
// nested in it) reads that wording on the page too, labelled with the
// group, with the general status a click away; everyone else (another
// group's member, a reader on an open network, a feed) reads the general
// status.

// viewerWording is an update's wording for a group the viewer is in.
type viewerWording struct {
	Label string // "For Customer service"
	Text  string
}

// viewerGroups says which groups the viewer is a member of, expanding
// each group asked once per request.
type viewerGroups struct {
	dir   *directory.Directory // nil: the viewer is in no group (not signed in)
	email string
	memo  map[string]bool
}

// viewerGroupsOf is the groups of the signed-in reader of rd; a reader
// who is not signed in is in none.
func (s *Server) viewerGroupsOf(rd statusReader) *viewerGroups {
	g := &viewerGroups{memo: map[string]bool{}}
	if rd.sess != nil && s.Directory != nil {
		g.dir, g.email = s.Directory.Current(), strings.ToLower(rd.sess.Account.Email)
	}
	return g
}

// in reports whether the viewer is a member of group.
func (g *viewerGroups) in(group string) bool {
	if g.dir == nil {
		return false
	}
	if in, ok := g.memo[group]; ok {
		return in
	}
	in := false
	if members, err := g.dir.Expand(group); err == nil { // a group no longer in the directory has no members
		for _, m := range members {
			if m.Email == g.email {
				in = true
				break
			}
		}
	}
	g.memo[group] = in
	return in
}

// label is the group as people read it: "For Customer service".
func (g *viewerGroups) label(group string) string {
	name := group
	if gr, ok := g.dir.Group(group); ok && gr.DisplayName != "" {
		name = gr.DisplayName
	}
	return "For " + name
}

// wordings is, for each update of inc that carried wording for a group
// the viewer is in, that wording (each of them, for a viewer in several
// such groups, in the order the update named its groups), by update id;
// nil when there is none.
func (g *viewerGroups) wordings(inc *statuspage.Incident) map[int64][]viewerWording {
	var out map[int64][]viewerWording
	for _, u := range inc.Updates {
		for _, a := range u.Audiences {
			if !g.in(a.Group) {
				continue
			}
			if out == nil {
				out = map[int64][]viewerWording{}
			}
			out[u.ID] = append(out[u.ID], viewerWording{Label: g.label(a.Group), Text: a.Text})
		}
	}
	return out
}

// statusText is what the page shows of one update's text: the viewer's
// groups' wording, if any, and the general status.
type statusText struct {
	Wordings []viewerWording
	General  string
}

// TextOf is the text of the update id (its status: general) as the
// viewer of the card reads it.
func (c statusCard) TextOf(id int64, general string) statusText {
	return statusText{Wordings: c.Wordings[id], General: general}
}
