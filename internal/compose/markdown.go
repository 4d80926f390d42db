package compose

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Email clients ignore <style> blocks to different degrees (Gmail keeps
// some, Outlook's Word engine little), so every element carries its own
// inline style. Outlook does not always inherit fonts from the wrapping
// cell, hence the font on every text element.
const (
	fontStack = `-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif`
	monoStack = `Consolas,Menlo,'Liberation Mono',monospace`
	textStyle = "font-family:" + fontStack + ";font-size:15px;line-height:1.5;color:#1f2328;"
)

var nodeStyles = map[ast.NodeKind]string{
	ast.KindParagraph:     "margin:0 0 12px 0;" + textStyle,
	ast.KindList:          "margin:0 0 12px 0;padding-left:24px;" + textStyle,
	ast.KindListItem:      "margin:0 0 4px 0;" + textStyle,
	ast.KindBlockquote:    "margin:0 0 12px 0;padding:8px 12px;border-left:4px solid #d0d7de;background:#f6f8fa;color:#424a53;",
	ast.KindCodeSpan:      "font-family:" + monoStack + ";font-size:13px;background:#f6f8fa;padding:1px 4px;",
	ast.KindLink:          "color:#0969da;text-decoration:underline;",
	ast.KindImage:         "max-width:100%;height:auto;border:0;",
	ast.KindThematicBreak: "border:0;border-top:1px solid #d0d7de;margin:16px 0;",
	// A table takes the column's width and its cells break long words, so
	// that a timeline fits a phone (it was 435 px wide on a 390 px screen).
	east.KindTable: "width:100%;border-collapse:collapse;margin:0 0 12px 0;" + textStyle,
}

var headingStyles = [...]string{
	1: "margin:0 0 12px 0;font-size:22px;line-height:1.3;font-weight:600;",
	2: "margin:16px 0 8px 0;font-size:18px;line-height:1.3;font-weight:600;",
	3: "margin:16px 0 8px 0;font-size:16px;line-height:1.3;font-weight:600;",
	4: "margin:12px 0 6px 0;font-size:15px;line-height:1.3;font-weight:600;",
	5: "margin:12px 0 6px 0;font-size:14px;line-height:1.3;font-weight:600;",
	6: "margin:12px 0 6px 0;font-size:13px;line-height:1.3;font-weight:600;color:#59636e;",
}

const (
	cellStyle       = "border:1px solid #d0d7de;padding:6px 10px;vertical-align:top;text-align:left;font-size:14px;word-break:break-word;overflow-wrap:anywhere;"
	headerCellStyle = cellStyle + "background:#f6f8fa;font-weight:600;"
	preStyle        = "margin:0 0 12px 0;padding:10px 12px;background:#f6f8fa;border:1px solid #d0d7de;" +
		"font-family:" + monoStack + ";font-size:13px;line-height:1.4;white-space:pre-wrap;word-wrap:break-word;"
)

// styler is an AST transformer that puts the inline style on each node;
// goldmark's HTML renderer writes node attributes through its filters,
// which allow "style" on every element.
type styler struct{}

func (styler) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindHeading:
			n.SetAttributeString("style", "font-family:"+fontStack+";color:#1f2328;"+headingStyles[n.(*ast.Heading).Level])
		case east.KindTableCell:
			if n.Parent() != nil && n.Parent().Kind() == east.KindTableHeader {
				n.SetAttributeString("style", headerCellStyle)
			} else {
				n.SetAttributeString("style", cellStyle)
			}
		default:
			if s, ok := nodeStyles[n.Kind()]; ok {
				n.SetAttributeString("style", s)
			}
		}
		return ast.WalkContinue, nil
	})
}

// emailRenderer replaces the few goldmark renderers that either cannot
// carry a style (code blocks), make no sense in mail (task-list <input>s),
// or would drop what the writer typed (raw HTML). Raw HTML is written
// back as escaped text: a comms lead who types "<checkout-api>" sees it in
// the email, and nothing typed ever becomes markup. This is stricter than
// goldmark's safe mode, which replaces it with an HTML comment.
type emailRenderer struct{}

func (emailRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindCodeBlock, renderCodeBlock)
	reg.Register(ast.KindFencedCodeBlock, renderCodeBlock)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlockAsText)
	reg.Register(ast.KindRawHTML, renderRawHTMLAsText)
	reg.Register(east.KindTaskCheckBox, renderTaskCheckBox)
}

func renderCodeBlock(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		_, _ = w.WriteString(`<pre style="` + preStyle + `"><code>`)
		lines := n.Lines()
		for i := range lines.Len() {
			seg := lines.At(i)
			_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
		}
	} else {
		_, _ = w.WriteString("</code></pre>\n")
	}
	return ast.WalkContinue, nil
}

func renderHTMLBlockAsText(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.HTMLBlock)
	if !entering {
		return ast.WalkContinue, nil
	}
	var buf bytes.Buffer
	lines := n.Lines()
	for i := range lines.Len() {
		seg := lines.At(i)
		buf.Write(seg.Value(source))
	}
	if n.HasClosure() {
		buf.Write(n.ClosureLine.Value(source))
	}
	_, _ = w.WriteString(`<p style="` + nodeStyles[ast.KindParagraph] + `">`)
	escaped := util.EscapeHTML(bytes.TrimRight(buf.Bytes(), "\n"))
	_, _ = w.Write(bytes.ReplaceAll(escaped, []byte("\n"), []byte("<br>\n")))
	_, _ = w.WriteString("</p>\n")
	return ast.WalkContinue, nil
}

func renderRawHTMLAsText(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.RawHTML)
	for i := range n.Segments.Len() {
		seg := n.Segments.At(i)
		_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
	}
	return ast.WalkSkipChildren, nil
}

func renderTaskCheckBox(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		if node.(*east.TaskCheckBox).IsChecked {
			_, _ = w.WriteString("&#9745; ")
		} else {
			_, _ = w.WriteString("&#9744; ")
		}
	}
	return ast.WalkContinue, nil
}

// newMarkdown builds the one goldmark instance compose uses. It is safe
// for concurrent use. html.WithUnsafe is deliberately absent: user text
// never becomes HTML, and dangerous link schemes (javascript:) are dropped.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.Linkify,
			extension.TaskList,
		),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(styler{}, 100))),
		goldmark.WithRendererOptions(
			ghtml.WithHardWraps(), // people write status updates line by line, as in an email
			renderer.WithNodeRenderers(util.Prioritized(emailRenderer{}, 100)),
		),
	)
}

var md = newMarkdown()

// renderPiece renders one piece of Markdown to the styled HTML fragment
// that goes inside the wrapper, and to plain text, from one parse.
func renderPiece(src string) (htmlBody, plain string, err error) {
	source := []byte(src)
	doc := md.Parser().Parse(text.NewReader(source))
	var buf bytes.Buffer
	if err := md.Renderer().Render(&buf, source, doc); err != nil {
		return "", "", fmt.Errorf("compose: markdown: %w", err)
	}
	return buf.String(), plainText(doc, source), nil
}

// wrap puts a body fragment into the table-based layout that Gmail,
// Outlook (Word engine: no max-width, hence the MSO-only fixed table) and
// Apple Mail all lay out the same: a centred column of at most 640px.
//
// lang is the reader's BCP 47 tag: screen readers pick their voice by it,
// and browsers and mail clients their fonts (Japanese text set in a
// Chinese font reads wrong).
func wrap(title, body, lang string) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="` + html.EscapeString(cmp.Or(lang, "en")) + `"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="x-apple-disable-message-reformatting"><title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</title></head>
<body style="margin:0;padding:0;background:#f6f8fa;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f6f8fa;"><tr><td align="center" style="padding:16px 8px;">
<!--[if mso]><table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:640px;background:#ffffff;border:1px solid #d0d7de;">
<tr><td style="padding:20px 24px;`)
	b.WriteString(textStyle)
	b.WriteString(`">
`)
	b.WriteString(body)
	b.WriteString(`</td></tr></table>
<!--[if mso]></td></tr></table><![endif]-->
</td></tr></table>
</body></html>
`)
	return b.String()
}

// RenderMarkdown renders Markdown written by people (the blameless
// summary, a post-mortem page) to the same styled HTML document and
// plain-text alternative as the templates. Raw HTML in it shows as text.
func RenderMarkdown(src string) (htmlDoc, plain string, err error) {
	body, plain, err := renderPiece(src)
	if err != nil {
		return "", "", err
	}
	return wrap("", body, ""), plain + "\n", nil
}
