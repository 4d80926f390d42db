package compose

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"
)

// The plain-text alternative is rendered from the same Markdown AST as the
// HTML, not converted back from the HTML: it keeps list numbers, backticks
// around commands ("reply `hold 30m`") and pipe tables, and it does not
// insert stray spaces before punctuation as an HTML-to-text pass does. It
// reads like the Markdown a person would have typed, minus the escapes.

// plainText renders a parsed Markdown document as plain text.
func plainText(doc ast.Node, source []byte) string {
	t := textRenderer{src: source}
	return strings.Join(t.block(doc), "\n")
}

type textRenderer struct{ src []byte }

// block renders a block node as lines, without trailing blank lines.
func (t textRenderer) block(n ast.Node) []string {
	switch n := n.(type) {
	case *ast.Document, *ast.ListItem:
		return t.children(n, !isTightItem(n))
	case *ast.Paragraph, *ast.TextBlock:
		return strings.Split(t.inline(n), "\n")
	case *ast.Heading:
		line := t.inline(n)
		switch n.Level {
		case 1:
			return []string{line, strings.Repeat("=", width(line))}
		case 2:
			return []string{line, strings.Repeat("-", width(line))}
		}
		return []string{line}
	case *ast.ThematicBreak:
		return []string{"----------"}
	case *ast.CodeBlock, *ast.FencedCodeBlock, *ast.HTMLBlock:
		var lines []string
		indent := "    "
		if n.Kind() == ast.KindHTMLBlock {
			indent = "" // what the writer typed; it is text to us
		}
		segs := n.Lines()
		for i := range segs.Len() {
			seg := segs.At(i)
			lines = append(lines, indent+strings.TrimRight(string(seg.Value(t.src)), "\r\n"))
		}
		if hb, ok := n.(*ast.HTMLBlock); ok && hb.HasClosure() {
			lines = append(lines, strings.TrimRight(string(hb.ClosureLine.Value(t.src)), "\r\n"))
		}
		return lines
	case *ast.Blockquote:
		inner := t.children(n, true)
		for i, l := range inner {
			inner[i] = strings.TrimRight("> "+l, " ")
		}
		return inner
	case *ast.List:
		var lines []string
		num := n.Start
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			marker := "- "
			if n.IsOrdered() {
				marker = fmt.Sprintf("%d. ", num)
				num++
			}
			pad := strings.Repeat(" ", len(marker))
			if !n.IsTight && len(lines) > 0 {
				lines = append(lines, "")
			}
			for i, l := range t.block(item) {
				switch {
				case i == 0:
					lines = append(lines, marker+l)
				case l == "":
					lines = append(lines, "")
				default:
					lines = append(lines, pad+l)
				}
			}
		}
		return lines
	case *east.Table:
		return t.table(n)
	}
	// Anything else that is a block (an extension we do not know): its text.
	if n.Type() == ast.TypeBlock {
		return t.children(n, true)
	}
	return []string{t.inline(n)}
}

func isTightItem(n ast.Node) bool {
	if l, ok := n.Parent().(*ast.List); ok && n.Kind() == ast.KindListItem {
		return l.IsTight
	}
	return false
}

// children renders block children one after the other, with a blank line
// between them unless the container is a tight list item.
func (t textRenderer) children(n ast.Node, blank bool) []string {
	var lines []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		b := t.block(c)
		if len(b) == 0 {
			continue
		}
		if blank && len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, b...)
	}
	return lines
}

// inline renders the inline children of n as one string; line breaks
// (hard, or soft ones since we render with hard wraps) become "\n".
func (t textRenderer) inline(n ast.Node) string {
	var b strings.Builder
	t.inlineTo(&b, n)
	return strings.TrimRight(b.String(), " \n")
}

func (t textRenderer) inlineTo(b *strings.Builder, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.WriteString(t.resolve(c.Segment.Value(t.src), c.IsRaw()))
			if c.HardLineBreak() || c.SoftLineBreak() {
				b.WriteByte('\n')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			b.WriteByte('`')
			for cc := c.FirstChild(); cc != nil; cc = cc.NextSibling() {
				if tx, ok := cc.(*ast.Text); ok {
					b.WriteString(strings.ReplaceAll(string(tx.Segment.Value(t.src)), "\n", " "))
				}
			}
			b.WriteByte('`')
		case *ast.Emphasis:
			mark := "_"
			if c.Level >= 2 {
				mark = "*"
			}
			b.WriteString(mark)
			t.inlineTo(b, c)
			b.WriteString(mark)
		case *ast.Link:
			var label strings.Builder
			t.inlineTo(&label, c)
			b.WriteString(label.String())
			if dest := string(c.Destination); dest != "" && dest != label.String() && !ghtml.IsDangerousURL(c.Destination) {
				b.WriteString(" <" + dest + ">")
			}
		case *ast.AutoLink:
			b.Write(c.URL(t.src))
		case *ast.Image:
			var alt strings.Builder
			t.inlineTo(&alt, c)
			if alt.Len() > 0 {
				b.WriteString("[" + alt.String() + "]")
			}
		case *ast.RawHTML:
			for i := range c.Segments.Len() {
				seg := c.Segments.At(i)
				b.Write(seg.Value(t.src))
			}
		case *east.Strikethrough:
			b.WriteString("~~")
			t.inlineTo(b, c)
			b.WriteString("~~")
		case *east.TaskCheckBox:
			if c.IsChecked {
				b.WriteString("[x] ")
			} else {
				b.WriteString("[ ] ")
			}
		default:
			t.inlineTo(b, c)
		}
	}
}

// resolve turns Markdown text into what it means: backslash escapes and
// entity references resolved, exactly as goldmark's HTML writer does (we
// let it write HTML and unescape that, rather than copy its rules).
func (t textRenderer) resolve(v []byte, raw bool) string {
	if raw {
		return string(v)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	ghtml.DefaultWriter.Write(w, v)
	_ = w.Flush()
	return html.UnescapeString(buf.String())
}

// table renders a GFM table as a pipe table with padded columns.
func (t textRenderer) table(n *east.Table) []string {
	var rows [][]string
	for r := n.FirstChild(); r != nil; r = r.NextSibling() {
		var row []string
		for c := r.FirstChild(); c != nil; c = c.NextSibling() {
			row = append(row, strings.ReplaceAll(t.inline(c), "\n", " "))
		}
		rows = append(rows, row)
	}
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], width(cell), 3)
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		b.WriteString("|")
		for i, w := range widths {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			b.WriteString(" " + cell + strings.Repeat(" ", w-width(cell)) + " |")
		}
		return b.String()
	}
	var lines []string
	for i, row := range rows {
		lines = append(lines, line(row))
		if i == 0 && n.FirstChild().Kind() == east.KindTableHeader {
			seps := make([]string, len(widths))
			for j, w := range widths {
				seps[j] = strings.Repeat("-", w)
			}
			lines = append(lines, line(seps))
		}
	}
	return lines
}

func width(s string) int { return utf8.RuneCountInString(s) }
