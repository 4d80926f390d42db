package compose

import "time"

// KindPublicStatus is an update's public wording mailed to the customers
// who subscribed on the public status page, in the incident's thread of
// its own audience (Public). It is its own message with its own promise:
// it carries nothing of the internal update (title, severity, status,
// systems, people), only what the public page shows.
const KindPublicStatus Kind = "public_status"

// Public is the audience of the customers' thread of an incident.
const Public = "public"

// PublicStatusData is for KindPublicStatus. Every field is public: the
// template cannot show what it is not given.
type PublicStatusData struct {
	// Site is the public page's title ("Example Corp status").
	Site string
	// Ref names the incident as the public page does (its page is
	// incidents/INC-42.html).
	Ref string
	// Components are the public components it affects; none: the
	// template says "a service disruption".
	Components []string
	// Status is the public wording (Markdown from the comms lead).
	Status string
	// NextUpdateAt is the public promise.
	NextUpdateAt time.Time
	// URL is the incident's page on the public site; "" when the site's
	// address is not configured.
	URL  string
	Now  time.Time
	Zone *time.Location
}

func (d *PublicStatusData) address(c Copy) { d.Zone = c.Zone }
