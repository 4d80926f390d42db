package jira

import (
	"strings"
)

// ADF turns the Markdown sitrep writes in an issue's description (plain
// paragraphs, **bold**, [text](url) links, one line per fact) into an
// Atlassian Document Format document, which REST API v3 wants for the
// description field: a doc of paragraphs of text nodes, with strong and
// link marks, and hardBreaks between the lines of a paragraph. Anything
// else is kept as the text it is.
func ADF(markdown string) map[string]any {
	var blocks []any
	for _, para := range strings.Split(strings.ReplaceAll(markdown, "\r\n", "\n"), "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		var inline []any
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				inline = append(inline, map[string]any{"type": "hardBreak"})
			}
			inline = append(inline, inlineNodes(line)...)
		}
		if len(inline) == 0 {
			continue
		}
		blocks = append(blocks, map[string]any{"type": "paragraph", "content": inline})
	}
	if blocks == nil {
		blocks = []any{}
	}
	return map[string]any{"type": "doc", "version": 1, "content": blocks}
}

// inlineNodes reads one line: **bold** spans and [text](url) links
// become marks; the rest is text. A text node is never empty (ADF
// refuses one).
func inlineNodes(line string) []any {
	var out []any
	bold := false
	var buf strings.Builder
	flush := func(link string) {
		if buf.Len() == 0 {
			return
		}
		node := map[string]any{"type": "text", "text": buf.String()}
		var marks []any
		if bold {
			marks = append(marks, map[string]any{"type": "strong"})
		}
		if link != "" {
			marks = append(marks, map[string]any{"type": "link", "attrs": map[string]any{"href": link}})
		}
		if marks != nil {
			node["marks"] = marks
		}
		out = append(out, node)
		buf.Reset()
	}
	for i := 0; i < len(line); {
		if strings.HasPrefix(line[i:], "**") {
			flush("")
			bold = !bold
			i += 2
			continue
		}
		if line[i] == '[' {
			if text, href, n, ok := link(line[i:]); ok {
				flush("")
				buf.WriteString(text)
				flush(href)
				i += n
				continue
			}
		}
		buf.WriteByte(line[i])
		i++
	}
	flush("")
	return out
}

// link reads "[text](http...)" at the start of s.
func link(s string) (text, href string, n int, ok bool) {
	end := strings.Index(s, "](")
	if end < 2 || strings.ContainsAny(s[1:end], "[]") {
		return "", "", 0, false
	}
	close := strings.IndexByte(s[end+2:], ')')
	if close < 0 {
		return "", "", 0, false
	}
	href = s[end+2 : end+2+close]
	if !strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "http://") || strings.ContainsAny(href, " \t") {
		return "", "", 0, false
	}
	return s[1:end], href, end + 3 + close, true
}
