package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
)

const uiTimeFormat = "2006-01-02 15:04"

// Template helpers.
var uiFuncs = template.FuncMap{
	"utc": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format(uiTimeFormat) + " UTC"
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format(uiTimeFormat) + " UTC"
		}
		return ""
	},
	"at":    func(t any) template.HTML { return timeElement(t, uiTimeFormat) },
	"clock": func(t any) template.HTML { return timeElement(t, "15:04") },
	"iso": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format(time.RFC3339)
		case *time.Time:
			if v != nil {
				return v.UTC().Format(time.RFC3339)
			}
		}
		return ""
	},
	"dur":         humanDuration,
	"countdown":   countdownText,
	"join":        func(l []string) string { return strings.Join(l, ", ") },
	"reportsCard": func(p *page, v reportsView) reportsCard { return reportsCard{P: p, V: v} },
	"lower":       strings.ToLower,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		s = strings.ReplaceAll(s, "_", " ")
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"pct": func(n, total int) int {
		if total <= 0 {
			return 0
		}
		return n * 100 / total
	},
	"has": func(l []string, s string) bool {
		for _, x := range l {
			if strings.EqualFold(x, s) {
				return true
			}
		}
		return false
	},
	"seconds": func(d time.Duration) int { return int(d.Seconds()) },
	"sum": func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	},
	"pathesc":     url.PathEscape,
	"changeTitle": changeTitle,
	"before":      beforeText,
	"span": func(d string) string {
		v, err := time.ParseDuration(d)
		if err != nil {
			return d
		}
		return humanDuration(v)
	},
	"add": func(a, b int) int { return a + b },
	// sanitize cleans email HTML for a sandboxed srcdoc iframe.
	"sanitize": func(html string) string { return mailPolicy.Sanitize(html) },
}

// timeElement is a time as the page shows it: in UTC, labelled, and with
// the full UTC time in its title; app.js rewrites the text into the
// viewer's zone (their directory entry's, else the browser's), labelled
// with that zone and keeping the UTC title, so that every time on a page is
// in one zone and says which (issue 17). Layout "15:04" is the clock
// of a timeline row. The text is digits and letters of a format: nothing
// to escape.
func timeElement(t any, layout string) template.HTML {
	var v time.Time
	switch x := t.(type) {
	case time.Time:
		v = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		v = *x
	default:
		return ""
	}
	if v.IsZero() {
		return "—"
	}
	v = v.UTC()
	clock := ""
	if layout == "15:04" {
		clock = ` data-clock`
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s UTC"%s>%s UTC</time>`,
		v.Format(time.RFC3339), v.Format(uiTimeFormat), clock, v.Format(layout)))
}

// humanDuration says a duration the way a person would: 45s, 12m, 3h 05m, 2d 4h.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// intervalText says an interval to the next update as a menu would: "30 min",
// "1 hour", "1 h 30 min".
func intervalText(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0 && h == 1:
		return "1 hour"
	case m == 0:
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// countdownText is the server's rendering of a countdown; app.js keeps it ticking.
func countdownText(next *time.Time, now time.Time) string {
	if next == nil {
		return "no update promised"
	}
	d := next.Sub(now)
	if d < 0 {
		return "overdue by " + humanDuration(-d)
	}
	return "due in " + humanDuration(d)
}

// changeTitle is what a change is, in a few words.
func changeTitle(c changes.Change) string {
	what := c.Service
	if what == "" {
		what = c.Summary
	}
	if c.Version != "" {
		what += " " + c.Version
	}
	if c.Environment != "" {
		what += " to " + c.Environment
	}
	return what
}

// beforeText turns the changes view's Go duration ("3h0m0s") into words.
func beforeText(d string) string {
	v, err := time.ParseDuration(d)
	if err != nil {
		return d
	}
	if v < 0 {
		return humanDuration(v) + " after"
	}
	return humanDuration(v) + " before"
}
