package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CommsPolicy is the communication policy, one per severity: how soon the
// first status update goes out, how often the next ones do, and how soon a
// stakeholder's question is answered (docs/policy.md).
type CommsPolicy struct {
	SEV1 SeverityPolicy `yaml:"sev1"`
	SEV2 SeverityPolicy `yaml:"sev2"`
	SEV3 SeverityPolicy `yaml:"sev3"`
	SEV4 SeverityPolicy `yaml:"sev4"`
}

// SeverityPolicy is one severity's policy. Every applies for the first
// For of the incident (from its declaration), ThenEvery after that: the
// "long incident" cadence. For 0 is one cadence throughout.
type SeverityPolicy struct {
	// FirstUpdateWithin: the first status update is due this long after
	// the declaration; 0: no first-update reminder.
	FirstUpdateWithin time.Duration `yaml:"first_update_within"`
	Every             time.Duration `yaml:"every"`
	For               time.Duration `yaml:"for"`
	ThenEvery         time.Duration `yaml:"then_every"`
	// AnswerWithin: a stakeholder's question not answered this long after
	// it arrived is reminded to the comms lead, once; 0: no reminder.
	AnswerWithin time.Duration `yaml:"answer_within"`
}

// DefaultPolicy is the policy without configuration. SEV1 is issue 21's,
// from published practice (the first update within 5 minutes, then every
// 20 for the first two hours, then hourly; questions answered within 15
// minutes); SEV2 to SEV4 keep the intervals sitrep used before the policy
// for the long run and scale the rest (docs/policy.md says where from).
func DefaultPolicy() CommsPolicy {
	return CommsPolicy{
		SEV1: SeverityPolicy{FirstUpdateWithin: 5 * time.Minute, Every: 20 * time.Minute, For: 2 * time.Hour, ThenEvery: time.Hour, AnswerWithin: 15 * time.Minute},
		SEV2: SeverityPolicy{FirstUpdateWithin: 15 * time.Minute, Every: 30 * time.Minute, For: 4 * time.Hour, ThenEvery: time.Hour, AnswerWithin: 30 * time.Minute},
		SEV3: SeverityPolicy{FirstUpdateWithin: time.Hour, Every: 4 * time.Hour, AnswerWithin: 2 * time.Hour},
		SEV4: SeverityPolicy{FirstUpdateWithin: 4 * time.Hour, Every: 24 * time.Hour, AnswerWithin: 8 * time.Hour},
	}
}

// severity is one severity's part of the cadence section.
type severity struct {
	key    string // sev1
	legacy time.Duration
	policy *SeverityPolicy
	def    SeverityPolicy
}

// severities lists the severities in order, each with its keys.
func (c *Cadence) severities() []severity {
	d := DefaultPolicy()
	return []severity{
		{"sev1", c.SEV1, &c.Policy.SEV1, d.SEV1},
		{"sev2", c.SEV2, &c.Policy.SEV2, d.SEV2},
		{"sev3", c.SEV3, &c.Policy.SEV3, d.SEV3},
		{"sev4", c.SEV4, &c.Policy.SEV4, d.SEV4},
	}
}

// PolicyFor is the policy of severity ("SEV1" or "sev1") in effect: the
// policy's, with the older cadence.sevN, when set, as one interval for
// the whole incident. An unknown severity gets SEV4's.
func (c *Config) PolicyFor(severity string) SeverityPolicy {
	all := c.Cadence.severities()
	for _, s := range all {
		if strings.EqualFold(s.key, severity) {
			return s.effective()
		}
	}
	return all[len(all)-1].effective()
}

func (s severity) effective() SeverityPolicy {
	p := *s.policy
	if s.legacy > 0 {
		p.Every, p.For, p.ThenEvery = s.legacy, 0, 0
	}
	return p
}

// validatePolicy checks each severity's policy, naming the key at fault
// and what to write instead.
func (c *Cadence) validatePolicy() []string {
	var out []string
	bad := func(key, format string, args ...any) { out = append(out, key+": "+fmt.Sprintf(format, args...)) }
	for _, s := range c.severities() {
		key, p := "cadence.policy."+s.key, *s.policy
		if s.legacy != 0 {
			if s.legacy < time.Minute {
				bad("cadence."+s.key, "want at least 1m, got %s (or remove it and set cadence.policy.%s.every)", s.legacy, s.key)
			}
			if p.Every != s.def.Every || p.For != s.def.For || p.ThenEvery != s.def.ThenEvery {
				bad("cadence."+s.key, "set together with %s.every, for or then_every: cadence.%s is the older form of %s {every: %s, for: 0s}; keep one of them (remove cadence.%s)",
					key, s.key, key, s.legacy, s.key)
			}
			continue
		}
		if p.Every < time.Minute || p.Every > 7*24*time.Hour {
			bad(key+".every", "want an interval between 1m and 168h (such as 20m), got %s", p.Every)
		}
		switch {
		case p.For < 0:
			bad(key+".for", "must not be negative (0s: one cadence throughout), got %s", p.For)
		case p.For == 0 && p.ThenEvery != 0:
			bad(key+".then_every", "set without %s.for: say how long every (%s) lasts, such as for: 2h, or remove then_every", key, p.Every)
		case p.For > 0 && p.ThenEvery == 0:
			bad(key+".then_every", "required with %s.for (%s): the long-incident interval after it, such as then_every: 1h; or set for: 0s for one cadence throughout", key, p.For)
		case p.For > 0 && (p.ThenEvery < time.Minute || p.ThenEvery > 7*24*time.Hour):
			bad(key+".then_every", "want an interval between 1m and 168h (such as 1h), got %s", p.ThenEvery)
		case p.For > 0 && p.ThenEvery < p.Every:
			bad(key+".then_every", "is %s, shorter than every (%s): the long-incident cadence is the longer one; swap them, or set for: 0s for one cadence throughout", p.ThenEvery, p.Every)
		}
	}
	for _, s := range c.severities() {
		key, p := "cadence.policy."+s.key, *s.policy
		if d := p.FirstUpdateWithin; d != 0 && (d < time.Minute || d > 7*24*time.Hour) {
			bad(key+".first_update_within", "want 0s (no first-update reminder) or between 1m and 168h (such as 5m), got %s", d)
		}
		if d := p.AnswerWithin; d != 0 && (d < time.Minute || d > 7*24*time.Hour) {
			bad(key+".answer_within", "want 0s (no question reminder) or between 1m and 168h (such as 15m), got %s", d)
		}
	}
	return out
}

// UnmarshalYAML reads the cadence section, saying for a value that is
// not a duration which key holds it and what to write ("20 mins" is not
// a duration; yaml would say only "cannot unmarshal !!str into
// time.Duration" and a line). Unknown keys are refused, as everywhere.
func (c *Cadence) UnmarshalYAML(n *yaml.Node) error {
	if problems := checkDurations(n, "cadence", reflect.TypeOf(*c)); len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	type plain Cadence
	return n.Decode((*plain)(c))
}

// checkDurations walks a mapping node against the struct type t: every
// key must be one of t's yaml keys, and every value of a duration field
// a duration with its unit.
func checkDurations(n *yaml.Node, path string, t reflect.Type) []string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return []string{fmt.Sprintf("line %d: %s: want a mapping of keys (such as every: 20m)", n.Line, path)}
	}
	fields := map[string]reflect.StructField{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name != "" && name != "-" {
			fields[name] = f
			names = append(names, name)
		}
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := path + "." + k.Value
		f, ok := fields[k.Value]
		if !ok {
			out = append(out, fmt.Sprintf("line %d: %s: unknown key; %s takes %s", k.Line, key, path, strings.Join(names, ", ")))
			continue
		}
		switch {
		case f.Type == durationType:
			if v.Kind != yaml.ScalarNode {
				out = append(out, fmt.Sprintf("line %d: %s: want a duration such as 20m or 1h30m", v.Line, key))
				break
			}
			if _, err := time.ParseDuration(v.Value); err != nil {
				hint := ""
				if v.Tag == "!!int" || v.Tag == "!!float" {
					hint = fmt.Sprintf(" (a bare number has no unit: write %sm for minutes)", v.Value)
				}
				out = append(out, fmt.Sprintf("line %d: %s: want a duration such as 20m or 1h30m, got %q%s", v.Line, key, v.Value, hint))
			}
		case f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() && f.Type != reflect.TypeOf(Secret("")):
			out = append(out, checkDurations(v, key, f.Type)...)
		}
	}
	return out
}
