package mailmsg

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CommandKind is what an incident lead asked for by replying.
type CommandKind string

const (
	CommandNone    CommandKind = "none"    // nothing was written
	CommandUpdate  CommandKind = "update"  // post Text as the next status update
	CommandHold    CommandKind = "hold"    // no news yet: push the next update back
	CommandResolve CommandKind = "resolve" // the incident is over; Text is the root cause, if given
)

// Command is a lead's reply read as an instruction.
type Command struct {
	Kind CommandKind
	// Text is the update text (the whole reply minus the first line for
	// hold and resolve, and minus the "next:" line), or for resolve the
	// root cause given after "resolve:" followed by any further lines.
	Text string
	// Next is when the next update is due, from "hold 30m", "next: 45m" or
	// "next update in 45 minutes"; 0 means the incident's default cadence.
	Next time.Duration
	// NextAt is a clock time "15:30" from "next: 15:30" or "next update at
	// 15:30", 24-hour, zero-padded; "" if none. The caller knows the time
	// zone.
	NextAt string
	// Audiences is an update's wording for single groups, by group name,
	// from sections that start with a line "for customer-service:" (de
	// "für", fr "pour", es "para"); Public the public page's, from a
	// section "public:" (in a resolve too: what customers read of the
	// end). Each section runs to the next one or the end and is taken out
	// of Text. Only groups the caller names open a section, so "For now:
	// ..." stays part of the update.
	Audiences map[string]string
	Public    string
}

// sectionRE is a line that may open an audience's section: "for
// customer-service:" with the rest of the line its first words, or
// "public:".
var sectionRE = regexp.MustCompile(`(?i)^(?:(?:for|für|fuer|pour|para)\s+([a-z0-9][a-z0-9-]*)|(public|öffentlich|oeffentlich|público|publico|公開))\s*:\s*(.*)$`)

// takeSections takes the audiences' sections out of lines (see
// Command.Audiences): only a group in groups opens one.
func takeSections(lines, groups []string) (rest []string, audiences map[string]string, public string) {
	key := "" // the open section: "" none, "\x00public" the public page's, else a group
	var text []string
	flush := func() {
		body := strings.TrimSpace(strings.Join(text, "\n"))
		switch {
		case key == "" || body == "":
		case key == "\x00public":
			public = body
		default:
			if audiences == nil {
				audiences = map[string]string{}
			}
			audiences[key] = body
		}
		text = nil
	}
	for _, l := range lines {
		if mm := sectionRE.FindStringSubmatch(strings.TrimSpace(spaceFolder.Replace(l))); mm != nil {
			group := strings.ToLower(mm[1])
			if mm[2] != "" || slices.Contains(groups, group) {
				flush()
				key = group
				if mm[2] != "" {
					key = "\x00public"
				}
				text = append(text, mm[3])
				continue
			}
		}
		if key != "" {
			text = append(text, l)
		} else {
			rest = append(rest, l)
		}
	}
	flush()
	return rest, audiences, public
}

// durationUnits are the units of a duration in English, German, French,
// Spanish and Japanese ("30 Minuten", "1 heure", "2 horas", "1時間30分").
// Longest unit names first: Go's regexp prefers the leftmost alternative.
// A unit starting with "h", "s" (Stunde, Std) or "時" is hours.
const durationUnits = `hours|hour|hrs|hr|heures|heure|horas|hora|h|stunden|stunde|std|時間|minutes|minute|minuten|minutos|minuto|mins|min|m|分`

// durationPattern matches "30m", "30 min", "1h30m", "1 hour 30 minutes",
// "1.5h", "2 hrs", "1 Stunde und 30 Minuten", "1 heure et 30 minutes",
// "1 hora y 30 minutos", "1時間30分".
const durationPattern = `(?:\d+(?:\.\d+)?\s*(?:` + durationUnits + `)\s*(?:(?:and|und|et|y)\s+)?)+`

// The commands and their aliases in German, French, Spanish and Japanese
// (docs/replies.md lists them). An alias is a translation of the English
// word, and like it is a command only as the whole line (optionally with
// a duration, a clock time, or ": text"), so that a sentence that starts
// with the same word ("Warten wir ab", "En attente du fournisseur",
// "Prochaine étape : ...") stays an update. No alias is an everyday word
// on its own: "fixed" is not a command in English, so "behoben", "réparé",
// "arreglado" and "直りました" are not either.
var (
	// hold: de "warten", fr "en attente", es "en espera", ja "保留".
	holdRE = regexp.MustCompile(`(?i)^(?:hold|warten|en attente|en espera|保留)(?:\s*(?:(?:for|für|pendant|durante)\s+)?(` + durationPattern + `))?\s*(?:[:\-–—]\s*(.*))?$`)
	// resolve: de "gelöst", fr "résolu", es "resuelto", ja "解決",
	// "解決済み".
	resolveRE = regexp.MustCompile(`(?i)^(?:resolved?|gelöst|geloest|résolue?|resolue?|resuelt[oa]|解決済み|解決済|解決)\s*[.!。]?\s*(?:[:\-–—]\s*(.*))?$`)
	// "next: 45m", "next update: 45 minutes", "next update in 45 minutes",
	// "next: 15:30", "next update at 15:30"; de "nächstes Update in 45
	// Minuten", "nächstes: 15:30", "nächstes Update um 15:30"; fr
	// "prochain : 45 min", "prochaine mise à jour dans 45 minutes", "... à
	// 15h30"; es "próxima: 45 min", "próxima actualización en 45 minutos",
	// "... a las 15:30"; ja "次回: 30分", "次回更新: 15:30", "次の更新: 30分後".
	nextRE = regexp.MustCompile(`(?i)^(?:` +
		`next(?:\s+update)?\s*(?::|\s+in|\s+at|:\s*in|:\s*at)` +
		`|n(?:ä|ae|a)chste[sr]?(?:\s+(?:update|aktualisierung))?\s*(?::|\s+in|\s+um|:\s*in|:\s*um)` +
		`|prochaine?(?:\s+mise\s+(?:à|a)\s+jour)?\s*(?::|\s+dans|\s+(?:à|a)|:\s*dans|:\s*(?:à|a))` +
		`|pr(?:ó|o)xima(?:\s+actualizaci(?:ó|o)n)?\s*(?::|\s+en|\s+a\s+las|:\s*en|:\s*a\s+las)` +
		`|(?:次回更新|次回|次の更新)\s*:` +
		`)\s*(?:(` + durationPattern + `)(?:後)?|(\d{1,2})[:.h](\d{2}))\s*[.!。]?$`)
	durationPartRE = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*(` + durationUnits + `)`)
)

// ParseCommand reads a lead's reply (its new text, see ExtractReply). Only
// the first non-empty line decides between hold and resolve; anything else
// non-empty is an update. Matching is case-insensitive and tolerant of
// white space (no-break and full-width spaces and colons included), and
// the commands have aliases in German, French, Spanish and Japanese (see
// holdRE, resolveRE, nextRE).
//
// groups are the names of the groups the update goes to: a section "for
// <group>:" gives that group its own wording (see Command.Audiences).
func ParseCommand(newText string, groups ...string) Command {
	lines := strings.Split(strings.ReplaceAll(newText, "\r\n", "\n"), "\n")
	lines, audiences, public := takeSections(lines, groups)

	// The next-update line may be anywhere; it is taken out of the text.
	var c Command
	nextLine := -1
	for i, l := range lines {
		mm := nextRE.FindStringSubmatch(strings.TrimSpace(spaceFolder.Replace(l)))
		if mm == nil {
			continue
		}
		if mm[1] != "" {
			c.Next = parseDuration(mm[1])
		} else {
			c.NextAt = clock(mm[2], mm[3])
		}
		if c.Next > 0 || c.NextAt != "" {
			nextLine = i
			break
		}
	}
	var rest []string
	for i, l := range lines {
		if i != nextLine {
			rest = append(rest, l)
		}
	}

	first := -1
	for i, l := range rest {
		if strings.TrimSpace(l) != "" {
			first = i
			break
		}
	}
	if first < 0 {
		if c.Next > 0 || c.NextAt != "" {
			// Only "next: 45m": the lead moves the next update without news.
			c.Kind = CommandHold
			return c
		}
		return Command{Kind: CommandNone}
	}

	head := strings.Join(strings.Fields(spaceFolder.Replace(rest[first])), " ")
	after := strings.TrimSpace(strings.Join(rest[first+1:], "\n"))
	if mm := holdRE.FindStringSubmatch(head); mm != nil {
		c.Kind = CommandHold
		if mm[1] != "" {
			c.Next = parseDuration(mm[1])
			c.NextAt = ""
		}
		c.Text = joinNonEmpty(strings.TrimSpace(mm[2]), after)
		return c
	}
	if mm := resolveRE.FindStringSubmatch(head); mm != nil {
		c.Kind = CommandResolve
		c.Text = joinNonEmpty(strings.TrimSpace(mm[1]), after)
		c.Public = public
		return c
	}
	c.Kind = CommandUpdate
	c.Text = strings.TrimSpace(strings.Join(rest, "\n"))
	c.Audiences, c.Public = audiences, public
	return c
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// parseDuration adds up "1h 30m", "1 hour and 30 minutes", "1.5h". It
// returns 0 for anything over a week, which is a typo, not a cadence.
func parseDuration(s string) time.Duration {
	var d time.Duration
	for _, mm := range durationPartRE.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseFloat(mm[1], 64)
		if err != nil || n > 7*24*60 {
			return 0
		}
		unit := time.Minute
		if u := strings.ToLower(mm[2]); strings.HasPrefix(u, "h") || strings.HasPrefix(u, "s") || strings.HasPrefix(u, "時") {
			unit = time.Hour
		}
		d += time.Duration(n * float64(unit))
	}
	if d > 7*24*time.Hour {
		return 0
	}
	return d.Round(time.Minute)
}

// clock normalises "9", "05" to "09:05"; "" if not a valid 24-hour time.
func clock(h, m string) string {
	hh, err1 := strconv.Atoi(h)
	mi, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh > 23 || mi > 59 {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", hh, mi)
}
