package doctor

import (
	"strconv"
	"strings"
)

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// joinMax joins at most n items, saying how many more there were.
func joinMax(items []string, sep string, n int) string {
	if len(items) <= n {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:n], sep) + sep + "and " + itoa(len(items)-n) + " more"
}

// oneLine squeezes a server's (possibly multi-line) answer onto one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
