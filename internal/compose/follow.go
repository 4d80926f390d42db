package compose

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// Followers' copies. A follower (a subscription, not a group) gets a copy
// of their own: its To: names what they follow ("Followers of checkout"),
// and its last line says why they got it and links to their one-click
// unsubscribe, in their language. What they follow comes with the
// addresses from whoever decides the audience (the subscriptions), and is
// kept with each delivery, so that a retry tomorrow writes the same.

// Followed is one thing a follower follows that sent them the message.
type Followed struct {
	Kind   string `json:"kind"`             // FollowsAll, FollowsSystem, ...
	Target string `json:"target,omitempty"` // the system, the incident's ref, the component; "" for all
}

// Kinds of Followed: the subscriptions' kinds.
const (
	FollowsAll       = "all"       // every incident and every maintenance window
	FollowsSystem    = "system"    // one system's incidents and maintenance (Target "checkout")
	FollowsIncident  = "incident"  // one incident (Target "INC-42")
	FollowsPublic    = "public"    // the public status page, every component
	FollowsComponent = "component" // one component of the public page (Target "Online shop")
)

// FollowerSet is who follows a message's subject beside its groups: the
// addresses, each one's one-click unsubscribe link, and what of theirs
// sent it, by lower-case address.
type FollowerSet struct {
	Emails      []string
	Unsubscribe map[string]string
	Follows     map[string][]Followed
}

// SetFollowers makes f the message's followers.
func (o *Outgoing) SetFollowers(f FollowerSet) {
	o.Followers, o.Unsubscribe, o.Follows = f.Emails, f.Unsubscribe, f.Follows
}

// FollowerCopy is one follower's own copy: their one-click link and what
// sent it to them.
type FollowerCopy struct {
	Unsubscribe string
	Follows     []Followed
}

// EncodeFollows is follows as a delivery row keeps it ("" for none).
func EncodeFollows(follows []Followed) string {
	if len(follows) == 0 {
		return ""
	}
	b, err := json.Marshal(follows)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeFollows reads EncodeFollows back; anything else is none.
func DecodeFollows(s string) []Followed {
	if s == "" {
		return nil
	}
	var out []Followed
	if json.Unmarshal([]byte(s), &out) != nil {
		return nil
	}
	return out
}

// followOrder puts the most specific first: one incident, one system,
// one component, then everything; the To: names the first.
func followOrder(f Followed) int {
	switch f.Kind {
	case FollowsIncident:
		return 0
	case FollowsSystem:
		return 1
	case FollowsComponent:
		return 2
	case FollowsPublic:
		return 3
	}
	return 4
}

// sortedFollows is follows, most specific first, each once.
func sortedFollows(follows []Followed) []Followed {
	out := slices.Clone(follows)
	slices.SortStableFunc(out, func(a, b Followed) int {
		return cmp.Or(cmp.Compare(followOrder(a), followOrder(b)), strings.Compare(a.Target, b.Target))
	})
	return slices.CompactFunc(out, func(a, b Followed) bool { return a == b })
}

// FollowerTo is the To: of a follower's copy in the reader's language tag
// ("Followers of checkout"), naming the most specific of what they follow;
// fallback when follows says nothing (a row queued before follows were
// kept, or a customer's copy, whose To: is the public page's title).
func (r *Renderer) FollowerTo(tag string, follows []Followed, fallback string) string {
	l := r.Catalog().Localizer(cmp.Or(tag, i18n.Default))
	for _, f := range sortedFollows(follows) {
		switch f.Kind {
		case FollowsIncident:
			return l.T("follower.to_incident", "ID", f.Target)
		case FollowsSystem:
			return l.T("follower.to_system", "System", f.Target)
		case FollowsAll:
			return l.T("follower.to_all")
		}
	}
	return fallback
}

// followerFooter is the last line of a follower's copy, in l's language:
// why they received it (what they follow), and the link that stops it for
// them alone.
func followerFooter(l *i18n.Localizer, f FollowerCopy) string {
	unsubscribe := link(l.T("follower.unsubscribe"), f.Unsubscribe)
	var what, components []string
	customer, everyComponent := false, false
	for _, fo := range sortedFollows(f.Follows) {
		switch fo.Kind {
		case FollowsIncident:
			what = append(what, l.T("follower.what_incident", "ID", EscapeInline(fo.Target)))
		case FollowsSystem:
			what = append(what, l.T("follower.what_system", "System", EscapeInline(fo.Target)))
		case FollowsAll:
			what = append(what, l.T("follower.what_all"))
		case FollowsComponent:
			customer, components = true, append(components, fo.Target)
		case FollowsPublic:
			customer, everyComponent = true, true
		}
	}
	switch {
	case len(what) > 0:
		return l.T("follower.because", "What", l.List(what), "Link", unsubscribe)
	case customer:
		// A customer: the public page's email updates, of every component
		// or of some; never an incident or a system, which customers do
		// not know.
		if everyComponent {
			components = nil
		}
		return l.T("follower.because_public", "Components", joinWords(l, components), "Link", unsubscribe)
	}
	// A copy queued before what sent it was kept.
	return l.T("follower.footer", "Link", unsubscribe)
}
