package mailmsg

import (
	"fmt"
	"regexp"
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
}

// durationPattern matches "30m", "30 min", "1h30m", "1 hour 30 minutes", "1.5h", "2 hrs".
// Longest unit names first: Go's regexp prefers the leftmost alternative.
const durationPattern = `(?:\d+(?:\.\d+)?\s*(?:hours|hour|hrs|hr|h|minutes|minute|mins|min|m)\s*(?:and\s+)?)+`

var (
	holdRE    = regexp.MustCompile(`(?i)^hold(?:\s+(?:for\s+)?(` + durationPattern + `))?\s*(?:[:\-–—]\s*(.*))?$`)
	resolveRE = regexp.MustCompile(`(?i)^resolved?\s*[.!]?\s*(?:[:\-–—]\s*(.*))?$`)
	// "next: 45m", "next update: 45 minutes", "next update in 45 minutes",
	// "next: 15:30", "next update at 15:30".
	nextRE         = regexp.MustCompile(`(?i)^next(?:\s+update)?\s*(?::|\s+in|\s+at|:\s*in|:\s*at)\s*(?:(` + durationPattern + `)|(\d{1,2})[:.h](\d{2}))\s*[.!]?$`)
	durationPartRE = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*(hours|hour|hrs|hr|h|minutes|minute|mins|min|m)`)
)

// ParseCommand reads a lead's reply (its new text, see ExtractReply). Only
// the first non-empty line decides between hold and resolve; anything else
// non-empty is an update. Matching is case-insensitive and tolerant of
// white space.
func ParseCommand(newText string) Command {
	lines := strings.Split(strings.ReplaceAll(newText, "\r\n", "\n"), "\n")

	// The next-update line may be anywhere; it is taken out of the text.
	var c Command
	nextLine := -1
	for i, l := range lines {
		mm := nextRE.FindStringSubmatch(strings.TrimSpace(l))
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

	head := strings.Join(strings.Fields(rest[first]), " ")
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
		return c
	}
	c.Kind = CommandUpdate
	c.Text = strings.TrimSpace(strings.Join(rest, "\n"))
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
		if strings.HasPrefix(strings.ToLower(mm[2]), "h") {
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
