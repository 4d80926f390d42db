// Package directory holds the organisation as sitrep sees it: the people,
// the distribution groups that status emails go to, the escalation list of
// responders per subsystem, and which groups hear about which kind of
// message. The source of truth is a declarative groups.yaml kept in git by
// the operator (see config/groups.yaml); ParseYAML reads it and reports every
// mistake in it at once, with line and column, so that a broken edit is
// caught before an outage rather than during one.
package directory

import (
	"slices"
	"strings"
)

// Roles a person can hold. The file may only use these, so that a typo such
// as "comms_lead" is an error instead of a comms lead who silently lacks the
// right to send status emails.
const (
	RoleAdmin        = "admin"         // manages sitrep itself
	RoleCommsLead    = "comms-lead"    // tells the company what is going on
	RoleIncidentLead = "incident-lead" // runs the investigation
	RoleFacilitator  = "facilitator"   // books and runs the post-mortem
)

// KnownRoles lists every role the file may give a person.
var KnownRoles = []string{RoleAdmin, RoleCommsLead, RoleIncidentLead, RoleFacilitator}

// Message kinds that have an audience. The audiences block of the file may
// only name these, so that a misspelt kind is an error instead of a default
// quietly taking its place.
const (
	KindHeadsUp    = "headsup"    // "we may need you": goes to the responders
	KindStatus     = "status"     // the status email on a cadence
	KindResolved   = "resolved"   // the quick "it is fixed" email
	KindSummary    = "summary"    // the blameless summary
	KindPostmortem = "postmortem" // the post-mortem invitation and its results
)

// AudienceKinds lists every message kind the audiences block may name.
var AudienceKinds = []string{KindHeadsUp, KindStatus, KindResolved, KindSummary, KindPostmortem}

// Person is someone sitrep may email, who may hold roles in an incident.
type Person struct {
	Email    string   `json:"email"`     // lower case once normalised; the identity of a person
	Name     string   `json:"name"`      // for greetings and the From/To display names
	TimeZone string   `json:"time_zone"` // IANA zone, e.g. "Europe/London"; "" means the group's
	Language string   `json:"language"`  // BCP 47 tag, e.g. "de" or "en-US"; "" means the group's, else the organisation's
	Roles    []string `json:"roles"`     // from KnownRoles
	Handles  []string `json:"handles"`   // chat handles such as "@alice", which the blameless lint removes
	Team     string   `json:"team"`      // free text, e.g. "sre"
	// GitHub is the person's GitHub login ("octocat", no @): the backlog
	// assigns the issues of the improvements they own to it.
	GitHub string `json:"github,omitempty"`
}

// HasRole reports whether p holds role.
func (p Person) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// Group is a distribution group: people and other groups.
type Group struct {
	Name        string   `json:"name"`         // slug: lower-case letters, digits and hyphens
	DisplayName string   `json:"display_name"` // for people: "Customer Service"
	Description string   `json:"description"`  // what the group is for
	TimeZone    string   `json:"time_zone"`    // default zone for members who have none
	Language    string   `json:"language"`     // default language (BCP 47) for members who have none
	Members     []string `json:"members"`      // emails of people in this file
	Groups      []string `json:"groups"`       // names of nested groups
}

// Escalation says who to call, in order, when a system is suspected.
type Escalation struct {
	System     string   `json:"system"`     // e.g. "checkout", "payments-db"
	Team       string   `json:"team"`       // the team that owns the system
	Responders []string `json:"responders"` // emails, in escalation order
	Backup     string   `json:"backup"`     // email of whom to call when no responder answers
	// Notify names the groups told of planned maintenance on the system;
	// empty: the status audience (Audience(KindStatus)).
	Notify []string `json:"notify,omitempty"`
}

// Directory is the whole organisation as read from groups.yaml.
type Directory struct {
	Organization string `json:"organization"`
	// Language is the organisation's default language (BCP 47), for
	// people whose entry and groups say none; "" means English.
	Language    string       `json:"language"`
	Example     bool         `json:"example"` // true for the shipped example, which must be replaced
	People      []Person     `json:"people"`
	Groups      []Group      `json:"groups"`
	Escalations []Escalation `json:"escalations"`
	// Audiences maps a message kind (AudienceKinds) to group names. A kind
	// missing here falls back to the defaults of Audience.
	Audiences map[string][]string `json:"audiences"`
}

// Normalize lower-cases and trims every email address, so that lookups and
// de-duplication treat Alice@Example and alice@example as the one address
// they are in practice. (RFC 5321 2.4 lets the local part be case-sensitive,
// but no mail system people use today makes it so, and two spellings of one
// person in a distribution list would mean two emails to them.)
//
// Language tags take their canonical form ("de-at" → "de-AT"); a tag that
// does not parse is left as written, for Validate to report.
func (d *Directory) Normalize() {
	d.Language = normalizeLanguage(d.Language)
	langs := newInterner() // a canonical tag is a new string: one per tag, not per person
	for i := range d.People {
		d.People[i].Email = normalizeEmail(d.People[i].Email)
		d.People[i].Language = langs.str(normalizeLanguage(d.People[i].Language))
	}
	for i := range d.Groups {
		d.Groups[i].Language = normalizeLanguage(d.Groups[i].Language)
		for j, m := range d.Groups[i].Members {
			d.Groups[i].Members[j] = normalizeEmail(m)
		}
	}
	for i := range d.Escalations {
		e := &d.Escalations[i]
		for j, r := range e.Responders {
			e.Responders[j] = normalizeEmail(r)
		}
		e.Backup = normalizeEmail(e.Backup)
	}
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Person returns the person with the given email, compared case-insensitively.
func (d *Directory) Person(email string) (Person, bool) {
	email = normalizeEmail(email)
	for _, p := range d.People {
		if normalizeEmail(p.Email) == email {
			return p, true
		}
	}
	return Person{}, false
}

// Group returns the group with the given name.
func (d *Directory) Group(name string) (Group, bool) {
	for _, g := range d.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// GroupNames lists the groups' names, in file order: what an error about
// an unknown group offers instead.
func (d *Directory) GroupNames() []string {
	out := make([]string, 0, len(d.Groups))
	for _, g := range d.Groups {
		out = append(out, g.Name)
	}
	return out
}

// PeopleWithRole returns the people holding role, in file order.
func (d *Directory) PeopleWithRole(role string) []Person {
	var out []Person
	for _, p := range d.People {
		if p.HasRole(role) {
			out = append(out, p)
		}
	}
	return out
}

// Escalation returns the escalation list for system, compared
// case-insensitively because people type "Checkout" when declaring.
func (d *Directory) Escalation(system string) (Escalation, bool) {
	system = strings.TrimSpace(system)
	for _, e := range d.Escalations {
		if strings.EqualFold(e.System, system) {
			return e, true
		}
	}
	return Escalation{}, false
}

// Responders returns the responders of the suspected systems for the
// heads-up: each system's responders in escalation order, systems in the
// order given, each person once. Backups are not included: they are called
// when a responder does not answer, which is the caller's decision (see
// Escalation). Unknown systems are skipped, so that a heads-up still reaches
// the known ones; callers that must know use Escalation. A responder who is
// not in People (possible only in an unvalidated directory) is returned with
// the email alone, since the address is still worth calling.
func (d *Directory) Responders(systems ...string) []Person {
	var out []Person
	seen := map[string]bool{}
	for _, s := range systems {
		e, ok := d.Escalation(s)
		if !ok {
			continue
		}
		for _, email := range e.Responders {
			email = normalizeEmail(email)
			if email == "" || seen[email] {
				continue
			}
			seen[email] = true
			p, ok := d.Person(email)
			if !ok {
				p = Person{Email: email}
			}
			out = append(out, p)
		}
	}
	return out
}

// defaultAudiences are the groups each kind goes to when the file does not
// say. The heads-up goes to the responders of the suspected systems, which
// the caller knows and this package does not; resolved and summary go to the
// status audience, and the caller adds the responders.
var defaultAudiences = map[string][]string{
	KindHeadsUp:    nil,
	KindStatus:     {"exec", "customer-service", "product", "marketing", "legal", "engineering"},
	KindResolved:   {"exec", "customer-service", "product", "marketing", "legal", "engineering"},
	KindSummary:    {"exec", "customer-service", "product", "marketing", "legal", "engineering"},
	KindPostmortem: {"product", "customer-service"},
}

// MaintenanceGroups are the groups told of planned maintenance on
// systems: each known system's notify list, or the status audience for a
// system without one (and for none known), in first-seen order.
func (d *Directory) MaintenanceGroups(systems ...string) []string {
	var out []string
	add := func(names []string) {
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	fallback := len(systems) == 0
	for _, s := range systems {
		if e, ok := d.Escalation(s); ok && len(e.Notify) > 0 {
			add(e.Notify)
		} else {
			fallback = true
		}
	}
	if fallback {
		add(d.Audience(KindStatus))
	}
	return out
}

// Audience returns the group names a message of the given kind goes to. What
// the file says wins, even an empty list. Otherwise the defaults apply, less
// any default group this directory does not have: an organisation without a
// legal group should still get its status emails out, not fail to expand
// during an outage. A kind with neither returns nil.
func (d *Directory) Audience(kind string) []string {
	if names, ok := d.Audiences[kind]; ok {
		return slices.Clone(names)
	}
	var out []string
	for _, name := range defaultAudiences[kind] {
		if _, ok := d.Group(name); ok {
			out = append(out, name)
		}
	}
	return out
}
