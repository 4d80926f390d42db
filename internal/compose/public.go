package compose

import "time"

// KindPublicStatus is an update's public wording mailed to the customers
// who subscribed on the public status page, in the incident's thread of
// its own audience (Public). It is its own message with its own promise:
// it carries nothing of the internal update (title, severity, status,
// systems, people), only what the public page shows.
const KindPublicStatus Kind = "public_status"

// KindPublicResolved tells the same customers, in the same thread, that
// the incident is over: the public wording the comms lead gave with the
// resolution, else sitrep's own words (PublicStatusData.Status empty).
// Never the internal root cause or impact.
const KindPublicResolved Kind = "public_resolved"

// KindPublicReminder and KindPublicOverdue keep the public promise (the
// next public update customers were told to expect) as KindReminder and
// KindOverdue keep the stakeholders': to the comms lead before it is due
// and when due, to the incident lead and the backup once overdue, in the
// leads' thread. They say it is the customers' update that is due.
const (
	KindPublicReminder Kind = "public_reminder"
	KindPublicOverdue  Kind = "public_overdue"
)

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
	// NextUpdateAt is the public promise (zero in KindPublicResolved).
	NextUpdateAt time.Time
	// Monitoring (KindPublicResolved): a fix is in place, the cause is not
	// known yet and the incident is watched; sitrep's own words say so
	// when the lead gave none.
	Monitoring bool `json:",omitempty"`
	// URL is the incident's page on the public site; "" when the site's
	// address is not configured.
	URL  string
	Now  time.Time
	Zone *time.Location
}

func (d *PublicStatusData) address(c Copy) { d.Zone = c.Zone }
