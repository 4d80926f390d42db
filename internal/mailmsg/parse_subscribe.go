package mailmsg

import (
	"regexp"
	"strings"
)

// SubscribeCommand is a reply that asks to follow (or stop following)
// incidents: "subscribe" (this incident), "subscribe all", "subscribe
// system checkout", and the same with "unsubscribe".
type SubscribeCommand struct {
	Unsubscribe bool
	// Kind is "incident" (the one the reply answers), "all" or "system".
	Kind   string
	Target string // the system for Kind "system"; "" otherwise
}

// maxSubscribeLine bounds the line read as a subscription command; a
// longer first line is prose.
const maxSubscribeLine = 200

var subscribeRE = regexp.MustCompile(`(?i)^(un)?subscribe(?:\s+(all|system\s+([a-z0-9][a-z0-9._-]{0,63})))?\s*[.!]?$`)

// ParseSubscribe reads a reply's new text (see ExtractReply) as a
// subscription command. It is one only when that is all the reply says:
// the command alone on its line, and nothing after it but a signature
// ("-- " and what follows), so that "Subscribe me, and when is it fixed?"
// stays a question for the comms lead. Case and surrounding space do not
// matter.
func ParseSubscribe(newText string) (SubscribeCommand, bool) {
	text := strings.ReplaceAll(newText, "\r\n", "\n")
	if sig := strings.Index(text, "\n-- \n"); sig >= 0 {
		text = text[:sig] // RFC 3676 4.3: the signature separator
	}
	text = strings.TrimSpace(text)
	if text == "" || len(text) > maxSubscribeLine || strings.Contains(text, "\n") {
		return SubscribeCommand{}, false
	}
	line := strings.Join(strings.Fields(spaceFolder.Replace(text)), " ")
	mm := subscribeRE.FindStringSubmatch(line)
	if mm == nil {
		return SubscribeCommand{}, false
	}
	c := SubscribeCommand{Unsubscribe: mm[1] != "", Kind: "incident"}
	switch {
	case mm[3] != "":
		c.Kind, c.Target = "system", strings.ToLower(mm[3])
	case mm[2] != "":
		c.Kind = "all"
	}
	return c, true
}
