package incident

import (
	"fmt"
	"strings"
	"time"
)

// Policy is one severity's communication policy (config cadence.policy,
// docs/policy.md): the first status update within FirstUpdateWithin of the
// declaration; then one every Every for the first For of the incident,
// then every ThenEvery (the long-incident cadence); a stakeholder's
// question answered within AnswerWithin. A zero FirstUpdateWithin or
// AnswerWithin sends no reminder of it; a zero For is one cadence
// throughout.
type Policy struct {
	FirstUpdateWithin, Every, For, ThenEvery, AnswerWithin time.Duration
}

// long reports whether elapsed (since the declaration) is in the
// long-incident phase.
func (p Policy) long(elapsed time.Duration) bool {
	return p.For > 0 && p.ThenEvery > 0 && elapsed >= p.For
}

// IntervalAt is the interval to the next update that an update sent
// elapsed after the declaration promises by default: Every in the first
// phase, ThenEvery from For on. At minute 30 of a SEV1 under the default
// policy that is 20 minutes; at hour 3, an hour.
func (p Policy) IntervalAt(elapsed time.Duration) time.Duration {
	if p.long(elapsed) {
		return p.ThenEvery
	}
	return p.Every
}

// PolicyOf is the policy of severity sev: Policy's when it names one,
// else one interval for the whole incident (Cadence's, or DefaultCadence)
// with no first-update or question target.
func (c *Comms) PolicyOf(sev Severity) Policy {
	if p, ok := c.Policy[sev]; ok && p.Every > 0 {
		return p
	}
	if v, ok := c.Cadence[sev]; ok && v > 0 {
		return Policy{Every: v}
	}
	return Policy{Every: DefaultCadence}
}

// NextInterval is the interval to the next update that an update of inc
// sent at now promises when the lead asks for none: the policy's at the
// incident's phase. What "Default for SEV1" means on the compose form.
func (c *Comms) NextInterval(inc *Incident, now time.Time) time.Duration {
	return c.PolicyOf(inc.Severity).IntervalAt(now.Sub(inc.DeclaredAt))
}

// PolicyPhase says in words which phase of its policy inc is in at now,
// for the compose form: "first 2 h: every 20 min" or "after 2 h: every
// 1 h".
func (c *Comms) PolicyPhase(inc *Incident, now time.Time) string {
	p := c.PolicyOf(inc.Severity)
	switch {
	case p.For <= 0 || p.ThenEvery <= 0:
		return "every " + shortDuration(p.Every)
	case p.long(now.Sub(inc.DeclaredAt)):
		return "after " + shortDuration(p.For) + ": every " + shortDuration(p.ThenEvery)
	}
	return "first " + shortDuration(p.For) + ": every " + shortDuration(p.Every)
}

// PolicyWarning is what the lead is told when next, an update's promised
// time, is further away than the policy asks at now: such an update may
// be sent (the lead may know that nothing will change for an hour), but
// not without a word. "" when next is within the policy. promiseAt
// rounds up to the minute, so a minute over is still the policy's.
func (c *Comms) PolicyWarning(inc *Incident, next, now time.Time) string {
	want := c.NextInterval(inc, now)
	got := next.Sub(now)
	if got <= want+time.Minute {
		return ""
	}
	return fmt.Sprintf("The next update in %s is later than the %s policy asks (%s). It can be sent; stakeholders may ask before then.",
		shortDuration(got.Truncate(time.Minute)), inc.Severity, c.PolicyPhase(inc, now))
}

// shortDuration writes 20 min, 2 h, 1 h 30 min.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
	}
	if m > 0 || h == 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	return strings.Join(parts, " ")
}
