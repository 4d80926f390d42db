package blameless

import (
	"regexp"
	"strings"
)

// mdScanner walks Markdown source line by line and blanks out what the lint
// must not read: fenced code blocks, code spans, HTML comments, link
// destinations, autolinks and bare URLs. Blanking replaces bytes with
// spaces, so byte offsets (and so columns) stay those of the source.
//
// It follows CommonMark (https://spec.commonmark.org/0.31.2/) where that is
// cheap: fences per 4.5, code spans per 6.1, comments per 6.6, link
// destinations per 6.3. Code spans and link destinations that span lines,
// and indented code blocks (4.4), are not recognised: the lint then reads
// them as prose, which errs on the side of flagging.
type mdScanner struct {
	fence     string // the open fence ("```", "~~~~"), "" outside code
	inComment bool
}

// mdLine is one source line as the lint sees it.
type mdLine struct {
	text       string // masked
	code       bool   // inside a fenced block: nothing to read
	blank      bool
	heading    bool
	blockStart bool // list item, quote, heading or table row: a sentence starts
}

var (
	bareURL     = regexp.MustCompile(`(?i)\b(?:https?|ftp|mailto)://[^\s<>]*[^\s<>.,;:!?)'"\]]|\bwww\.[^\s<>]*[^\s<>.,;:!?)'"\]]`)
	autolink    = regexp.MustCompile(`^<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>`)
	refDef      = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*`)
	listMarker  = regexp.MustCompile(`^(?:[-*+]|\d{1,9}[.)])(?:\s+\[[ xX]\])?(?:\s+|$)`)
	headingMark = regexp.MustCompile(`^#{1,6}(?:\s+|$)`)
)

func (m *mdScanner) line(src string) mdLine {
	b := []byte(src)
	blankOut := func(from, to int) {
		for k := from; k < to && k < len(b); k++ {
			b[k] = ' '
		}
	}
	indent := len(src) - len(strings.TrimLeft(src, " "))
	trimmed := strings.TrimLeft(src, " ")

	if m.fence != "" {
		if indent <= 3 && strings.HasPrefix(trimmed, m.fence) &&
			strings.TrimSpace(strings.TrimLeft(trimmed, m.fence[:1])) == "" {
			m.fence = ""
		}
		return mdLine{text: strings.Repeat(" ", len(src)), code: true}
	}
	if !m.inComment && indent <= 3 {
		if f := fenceOpen(trimmed); f != "" {
			m.fence = f
			return mdLine{text: strings.Repeat(" ", len(src)), code: true}
		}
	}
	if strings.TrimSpace(src) == "" {
		return mdLine{text: src, blank: true}
	}

	var out mdLine
	// Block markers: quotes, list items and headings start a sentence and
	// are not words.
	pos := 0
	for {
		rest := src[pos:]
		sp := len(rest) - len(strings.TrimLeft(rest, " \t"))
		rest = rest[sp:]
		switch {
		case strings.HasPrefix(rest, ">"):
			out.blockStart = true
			blankOut(pos, pos+sp+1)
			pos += sp + 1
			continue
		case headingMark.MatchString(rest) && !m.inComment:
			l := len(headingMark.FindString(rest))
			out.blockStart, out.heading = true, true
			blankOut(pos, pos+sp+l)
			pos += sp + l
		case listMarker.MatchString(rest) && !m.inComment:
			l := len(listMarker.FindString(rest))
			out.blockStart = true
			blankOut(pos, pos+sp+l)
			pos += sp + l
			continue
		case strings.HasPrefix(rest, "|"):
			out.blockStart = true
		}
		break
	}
	if loc := refDef.FindStringIndex(src); loc != nil && !m.inComment {
		// [id]: destination "title": the destination is a URL.
		end := loc[1]
		for end < len(src) && src[end] != ' ' && src[end] != '\t' {
			end++
		}
		blankOut(loc[1], end)
	}

	// Inline pass: comments, code spans, link destinations.
	noCloser := map[int]bool{}
	i := 0
	for i < len(src) {
		if m.inComment {
			e := strings.Index(src[i:], "-->")
			if e < 0 {
				blankOut(i, len(src))
				break
			}
			blankOut(i, i+e+3)
			i += e + 3
			m.inComment = false
			continue
		}
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src) && isASCIIPunct(src[i+1]):
			// an escaped character is literal text (CommonMark 2.4)
			i += 2
			continue
		case strings.HasPrefix(src[i:], "<!--"):
			m.inComment = true
			blankOut(i, i+4)
			i += 4
			continue
		case c == '`':
			n := 0
			for i+n < len(src) && src[i+n] == '`' {
				n++
			}
			close := -1
			if !noCloser[n] {
				close = closingBackticks(src, i+n, n)
			}
			if close >= 0 {
				blankOut(i, close+n)
				i = close + n
			} else {
				// An unmatched run is literal backticks; no later run of
				// this length can be matched either, so do not look again
				// (that would be quadratic on a line of stray backticks).
				noCloser[n] = true
				i += n
			}
			continue
		case c == ']' && i+1 < len(src) && src[i+1] == '(':
			if end := linkDestEnd(src, i+2); end > 0 {
				blankOut(i+1, end)
				i = end
				continue
			}
		case c == '<':
			if loc := autolink.FindStringIndex(src[i:]); loc != nil {
				blankOut(i, i+loc[1])
				i += loc[1]
				continue
			}
		}
		i++
	}
	masked := string(b)
	for _, loc := range bareURL.FindAllStringIndex(masked, -1) {
		blankOut(loc[0], loc[1])
	}
	out.text = string(b)
	return out
}

// fenceOpen returns the fence a line opens (CommonMark 4.5: three or more
// backticks or tildes; a backtick fence's info string has no backtick).
func fenceOpen(s string) string {
	for _, ch := range []byte{'`', '~'} {
		n := 0
		for n < len(s) && s[n] == ch {
			n++
		}
		if n >= 3 {
			if ch == '`' && strings.Contains(s[n:], "`") {
				return ""
			}
			return s[:n]
		}
	}
	return ""
}

// closingBackticks finds a run of exactly n backticks at or after from
// (CommonMark 6.1), returning its start or -1.
func closingBackticks(s string, from, n int) int {
	for j := from; j < len(s); {
		if s[j] != '`' {
			j++
			continue
		}
		k := j
		for k < len(s) && s[k] == '`' {
			k++
		}
		if k-j == n {
			return j
		}
		j = k
	}
	return -1
}

// maxLinkDest bounds the search for a link's closing parenthesis, so that a
// line of unclosed "](" costs linear time; real destinations are shorter.
const maxLinkDest = 4096

// linkDestEnd returns the index after the ")" closing an inline link's
// destination and title that start at from, or -1 (CommonMark 6.3:
// parentheses in a destination must balance).
func linkDestEnd(s string, from int) int {
	depth := 1
	for j := from; j < len(s) && j < from+maxLinkDest; j++ {
		switch s[j] {
		case '\\':
			j++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}
