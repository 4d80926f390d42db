package directory

// Who holds which role, and the lists other packages read off the
// directory. The Store's methods read the directory in force, so that a
// package holding the Store sees every sync without being told; each
// package declares the small interface it needs of them.

// IsLead reports whether email is a comms lead or an incident lead: the
// people who may act for sitrep by mail, such as declaring or dismissing a
// monitoring draft by replying to its note.
func (d *Directory) IsLead(email string) bool {
	p, ok := d.Person(email)
	return ok && (p.HasRole(RoleCommsLead) || p.HasRole(RoleIncidentLead))
}

// DefaultCommsLead is the comms lead of an incident declared without one:
// the declarer when they are a comms lead, else the directory's first comms
// lead; "" when the directory has none.
func (d *Directory) DefaultCommsLead(declarer string) string {
	if p, ok := d.Person(declarer); ok && p.HasRole(RoleCommsLead) {
		return p.Email
	}
	if leads := d.PeopleWithRole(RoleCommsLead); len(leads) > 0 {
		return leads[0].Email
	}
	return ""
}

// CommsLeads lists the comms leads' addresses, in file order.
func (d *Directory) CommsLeads() []string {
	var out []string
	for _, p := range d.PeopleWithRole(RoleCommsLead) {
		out = append(out, p.Email)
	}
	return out
}

// Systems lists the systems that have an escalation list, in file order.
func (d *Directory) Systems() []string {
	var out []string
	for _, e := range d.Escalations {
		out = append(out, e.System)
	}
	return out
}

// Person is the person with the given email in the directory in force.
func (s *Store) Person(email string) (Person, bool) { return s.Current().Person(email) }

// IsLead is IsLead of the directory in force.
func (s *Store) IsLead(email string) bool { return s.Current().IsLead(email) }

// DefaultCommsLead is DefaultCommsLead of the directory in force.
func (s *Store) DefaultCommsLead(declarer string) string {
	return s.Current().DefaultCommsLead(declarer)
}

// CommsLeads is CommsLeads of the directory in force.
func (s *Store) CommsLeads() []string { return s.Current().CommsLeads() }

// Systems is Systems of the directory in force.
func (s *Store) Systems() []string { return s.Current().Systems() }

// GitHubLogin is the GitHub login of the person with email, "" when they
// have none: the backlog assigns the issues of the improvements they own.
func (s *Store) GitHubLogin(email string) string {
	p, _ := s.Current().Person(email)
	return p.GitHub
}
