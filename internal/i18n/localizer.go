package i18n

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-playground/locales"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// Localizer writes catalog text, dates and durations for one reader's
// language tag.
type Localizer struct {
	cat  *Catalog
	tag  string // as the directory has it: "de-AT"
	lang string // the catalog language serving it: "de"
	loc  *goi18n.Localizer
	cldr locales.Translator // nil: sitrep's own English conventions
}

// Lang is the catalog language this localizer writes in.
func (l *Localizer) Lang() string { return l.lang }

// Tag is the reader's tag, as given.
func (l *Localizer) Tag() string { return l.tag }

// T is the catalog text of id with the named arguments args ("Time",
// "15:30", ...). An argument named Count chooses the plural form. A key
// the catalog lacks is a programming error caught by the tests; at run
// time it is written as the key itself, so an email still goes out.
func (l *Localizer) T(id string, args ...any) string {
	data := map[string]any{}
	var count any
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		data[k] = args[i+1]
		if k == "Count" {
			count = args[i+1]
		}
	}
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil && s == "" {
		// go-i18n returns the English text with an error when only the
		// reader's catalog lacks id; "" means English lacks it too.
		slog.Error("i18n: catalog text", "id", id, "lang", l.lang, "err", err)
		return id
	}
	return s
}

// Has reports whether the English catalog defines id.
func (l *Localizer) Has(id string) bool {
	_, ok := l.cat.fields[id]
	return ok
}

// Clock is a time as the reader reads it, with the zone's abbreviation and
// UTC beside it: "15:30 CET (14:30 UTC)", "3:30 PM EST (20:30 UTC)"; the
// day is added when t is not on now's day in the reader's zone ("Di.,
// 3. März 09:00 MEZ ..."). A zero t is the catalog's "unknown".
func (l *Localizer) Clock(t time.Time, zone *time.Location, now time.Time) string {
	if t.IsZero() {
		return l.T("time.unknown")
	}
	z := zoneOr(zone)
	lt := t.In(z)
	local := l.time(lt) + " " + zoneLabel(lt)
	if !now.IsZero() && !sameDay(lt, now.In(z)) {
		local = l.T("date.day_time", "Day", l.Day(lt), "Time", local)
	}
	return l.withUTC(local, t, z, lt)
}

// When is a date and time with the year: "Tue 3 Mar 2026 15:30 CET (14:30 UTC)".
func (l *Localizer) When(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return l.T("time.unknown")
	}
	z := zoneOr(zone)
	lt := t.In(z)
	local := l.T("date.day_time", "Day", l.Date(lt), "Time", l.time(lt)+" "+zoneLabel(lt))
	return l.withUTC(local, t, z, lt)
}

func (l *Localizer) withUTC(local string, t time.Time, z *time.Location, lt time.Time) string {
	if isUTC(z, lt) {
		return local
	}
	return fmt.Sprintf("%s (%s UTC)", local, t.UTC().Format("15:04"))
}

// Day is the short day of t: "Tue 3 Mar", "Di., 3. März", "3月3日(火)".
func (l *Localizer) Day(t time.Time) string {
	wd, mon := l.names(t)
	return l.T("date.day", "Weekday", wd, "Day", t.Day(), "Month", mon, "MonthNumber", int(t.Month()))
}

// Date is the day with its year: "Tue 3 Mar 2026".
func (l *Localizer) Date(t time.Time) string {
	wd, mon := l.names(t)
	return l.T("date.date", "Weekday", wd, "Day", t.Day(), "Month", mon, "MonthNumber", int(t.Month()), "Year", t.Year())
}

// names are CLDR's abbreviated weekday and month for the reader's tag.
func (l *Localizer) names(t time.Time) (weekday, month string) {
	if l.cldr == nil {
		return t.Format("Mon"), t.Format("Jan")
	}
	return l.cldr.WeekdayAbbreviated(t.Weekday()), l.cldr.MonthAbbreviated(t.Month())
}

// time is the clock time alone, 12- or 24-hour as the tag's region
// writes it.
func (l *Localizer) time(t time.Time) string {
	if l.cldr == nil {
		return t.Format("15:04")
	}
	s := l.cldr.FmtTimeShort(t)
	// go-playground/locales writes midnight on a 12-hour clock as "0:05
	// AM"; CLDR's pattern (h) says 12.
	if t.Hour() == 0 && twelveHour(l.cldr) && strings.HasPrefix(s, "0") {
		s = "12" + s[1:]
	}
	// Its English data has "am"/"pm"; American usage (and CLDR's en) is
	// "AM"/"PM".
	if l.lang == Default {
		if base, ok := strings.CutSuffix(s, " am"); ok {
			s = base + " AM"
		} else if base, ok := strings.CutSuffix(s, " pm"); ok {
			s = base + " PM"
		}
	}
	return s
}

func twelveHour(tr locales.Translator) bool {
	return !strings.Contains(tr.FmtTimeShort(time.Date(2000, 1, 1, 13, 0, 0, 0, time.UTC)), "13")
}

// Duration reads like a person wrote it: "45 min", "1 h 25 min", "2 days
// 3 h"; under a minute is the catalog's "under a minute".
func (l *Localizer) Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Minute {
		return l.T("duration.under_minute")
	}
	mins := int(d / time.Minute)
	days, hours, m := mins/(24*60), (mins/60)%24, mins%60
	var parts []string
	if days > 0 {
		parts = append(parts, l.T("duration.days", "Count", days))
	}
	if hours > 0 {
		parts = append(parts, l.T("duration.hours", "Count", hours))
	}
	if m > 0 && days == 0 {
		parts = append(parts, l.T("duration.minutes", "Count", m))
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out = l.T("duration.join", "A", out, "B", p)
	}
	return out
}

// List joins items as the language writes a list: "a, b and c", "a, b und
// c", "a、b、c". Empty items are dropped.
func (l *Localizer) List(items []string) string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s != "" {
			out = append(out, s)
		}
	}
	switch len(out) {
	case 0:
		return ""
	case 1:
		return out[0]
	}
	return strings.Join(out[:len(out)-1], l.T("list.separator")) + l.T("list.last_separator") + out[len(out)-1]
}

func zoneOr(z *time.Location) *time.Location {
	if z == nil {
		return time.UTC
	}
	return z
}

// zoneLabel is the zone's abbreviation from the zone database ("CET",
// "JST", "EST"), understood across languages; where the database has only
// an offset ("+03"), it is written "UTC+03".
func zoneLabel(t time.Time) string {
	name, _ := t.Zone()
	if name != "" && (name[0] == '+' || name[0] == '-') {
		return "UTC" + name
	}
	return name
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func isUTC(z *time.Location, lt time.Time) bool {
	name, _ := lt.Zone()
	return z == time.UTC || name == "UTC"
}

// Section is a localizer for one group of keys ("summary_draft"), so that
// a package writing one document says t("title") for its own keys.
type Section struct {
	l      *Localizer
	prefix string
}

// SectionIn is the section prefix of the embedded catalogs in language
// tag. With a broken catalog (the tests catch it) it writes the keys.
func SectionIn(tag, prefix string) Section {
	c, err := Embedded()
	if err != nil {
		return Section{prefix: prefix}
	}
	return Section{l: c.Localizer(tag), prefix: prefix}
}

// T is the text of prefix.id (see Localizer.T).
func (s Section) T(id string, args ...any) string {
	if s.l == nil {
		return s.prefix + "." + id
	}
	return s.l.T(s.prefix+"."+id, args...)
}

// English reports whether the section writes English.
func (s Section) English() bool { return s.l == nil || s.l.Lang() == Default }

// Localizer is the section's localizer (nil with a broken catalog).
func (s Section) Localizer() *Localizer { return s.l }
