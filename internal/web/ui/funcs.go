package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/web"
)

const uiTimeFormat = "2006-01-02 15:04"

// Template helpers.
var uiFuncs = template.FuncMap{
	"hasPrefix": strings.HasPrefix,
	// at, clock and when write dates; each page is run with the viewer's
	// (viewer.go). These, for English in UTC, serve parsing.
	"at":    viewer{}.funcs()["at"],
	"clock": viewer{}.funcs()["clock"],
	"when":  viewer{}.funcs()["when"],
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
	"dur":         web.HumanDuration,
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
	"pathesc":  url.PathEscape,
	"langName": langName,
	// previewGroups counts the groups of a preview list, which has one
	// preview per group and language its members read (and the
	// followers' and the public page's copies, which are no group's).
	"previewGroups": func(ps []compose.Preview) int {
		seen := map[string]bool{}
		for _, p := range ps {
			if p.For == "" {
				seen[p.Group] = true
			}
		}
		return len(seen)
	},
	// previewEmails counts the groups' previews, one per group and language.
	"previewEmails": func(ps []compose.Preview) int {
		n := 0
		for _, p := range ps {
			if p.For == "" {
				n++
			}
		}
		return n
	},
	// previewName is whose copy a preview is, as its heading says.
	"previewName": func(p compose.Preview) string {
		switch p.For {
		case compose.PreviewFollowers:
			return "Followers"
		case compose.PreviewPublic:
			return "Public status page subscribers (the public email)"
		}
		return p.Group
	},
	// previewLanguages says whether the previews are labelled with their
	// language: when one of them is in a language other than the default
	// (an organisation that reads English alone sees no label).
	"previewLanguages": func(ps []compose.Preview) bool {
		for _, p := range ps {
			if p.Language != "" && p.Language != i18n.Default {
				return true
			}
		}
		return false
	},
	"changeTitle": changeTitle,
	"before":      beforeText,
	"span": func(d string) string {
		v, err := time.ParseDuration(d)
		if err != nil {
			return d
		}
		return web.HumanDuration(v)
	},
	"add": func(a, b int) int { return a + b },
	// sanitize cleans email HTML for a sandboxed srcdoc iframe.
	"sanitize": func(html string) string { return mailPolicy.Sanitize(html) },
}

// timeElement is a time as the page shows it: written by text (the
// viewer's When or Clock: their language's conventions, their zone,
// labelled, with UTC beside it) and with the UTC time in its title and
// datetime. clock marks a time of day (a timeline row).
func timeElement(t any, text func(time.Time) string, clock bool) template.HTML {
	v, ok := timeOf(t)
	if !ok {
		switch t.(type) {
		case time.Time, *time.Time:
			return "—" // not set
		}
		return ""
	}
	v = v.UTC()
	attr := ""
	if clock {
		attr = ` data-clock`
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s UTC"%s>%s</time>`,
		v.Format(time.RFC3339), v.Format(uiTimeFormat), attr, template.HTMLEscapeString(text(v))))
}

// timeOf is t as a time: a time.Time or a non-nil *time.Time, not zero.
func timeOf(t any) (time.Time, bool) {
	var v time.Time
	switch x := t.(type) {
	case time.Time:
		v = x
	case *time.Time:
		if x == nil {
			return time.Time{}, false
		}
		v = *x
	default:
		return time.Time{}, false
	}
	return v, !v.IsZero()
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
	return web.Countdown(*next, now)
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
		return web.HumanDuration(v) + " after"
	}
	return web.HumanDuration(v) + " before"
}
