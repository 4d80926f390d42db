package incident

import (
	"fmt"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Who an overdue update escalates to, and the warning when that is nobody
// but the comms lead who missed it (issue 17: an incident without an
// incident lead, with no backup configured, escalated to no one else).

// overdueTo is who hears that an update is overdue: the incident lead,
// the backup and the comms lead. When that reaches nobody but the comms
// lead who missed it, the fallback group (escalation.fallback_group) is
// added.
func (c *Comms) overdueTo(d *directory.Directory, inc *Incident) []string {
	to := []string{inc.Roles.IncidentLead, c.Backup}
	if !c.escalatesBeyondCommsLead(inc) {
		to = append(to, c.fallbackMembers(d, inc)...)
	}
	return append(to, inc.Roles.CommsLead)
}

// escalatesBeyondCommsLead reports whether an overdue update reaches
// someone besides the comms lead without the fallback group: an incident
// lead or a backup who is another person.
func (c *Comms) escalatesBeyondCommsLead(inc *Incident) bool {
	comms := compact([]string{inc.Roles.CommsLead})
	for _, p := range compact([]string{inc.Roles.IncidentLead, c.Backup}) {
		if len(comms) == 0 || p != comms[0] {
			return true
		}
	}
	return false
}

// fallbackMembers are the fallback group's people; none when no group is
// configured or the directory has lost it since start-up (logged: the
// escalation still goes to whoever else there is).
func (c *Comms) fallbackMembers(d *directory.Directory, inc *Incident) []string {
	if c.FallbackGroup == "" {
		return nil
	}
	rs, err := d.Expand(c.FallbackGroup)
	if err != nil {
		c.logger().Error("overdue escalation: the fallback group is not in the directory", "incident", inc.Ref, "group", c.FallbackGroup, "err", err)
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Email
	}
	return out
}

// Warnings are what the declaring lead must know about the incident as it
// stands: for now, that an overdue update would escalate to nobody but the
// comms lead who missed it. Shown in the declare output, the API's
// incident and the incident page.
func (c *Comms) Warnings(inc *Incident) []string {
	if !inc.State.Active() || c.escalatesBeyondCommsLead(inc) {
		return nil
	}
	if c.FallbackGroup != "" {
		name := c.FallbackGroup
		if g, ok := c.Directory.Current().Group(c.FallbackGroup); ok && g.DisplayName != "" {
			name = g.DisplayName
		}
		return []string{fmt.Sprintf("No incident lead and no backup: an overdue update escalates to the comms lead and the %s group (escalation.fallback_group). Name an incident lead.", name)}
	}
	return []string{"No incident lead and no backup: an overdue update would escalate to nobody but the comms lead who missed it. Name an incident lead, or configure escalation.fallback_group."}
}

// CheckConfig checks the escalation settings against the directory in
// force, so that a fallback group that does not exist stops sitrep at
// start rather than leaving an overdue update unescalated.
func (c *Comms) CheckConfig() error {
	if c.FallbackGroup == "" {
		return nil
	}
	d := c.Directory.Current()
	if _, ok := d.Group(c.FallbackGroup); !ok {
		return errs.InvalidField("escalation.fallback_group", "no group %q in the directory (groups.yaml)%s", c.FallbackGroup, nearestGroup(d, c.FallbackGroup))
	}
	if rs, err := d.Expand(c.FallbackGroup); err != nil || len(rs) == 0 {
		return errs.InvalidField("escalation.fallback_group", "group %q has nobody in it: an overdue update would reach no one", c.FallbackGroup)
	}
	return nil
}

func nearestGroup(d *directory.Directory, name string) string {
	names := make([]string, len(d.Groups))
	for i, g := range d.Groups {
		names[i] = g.Name
	}
	return didYouMean(name, names)
}
