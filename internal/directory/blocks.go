package directory

import (
	"bytes"
	"slices"
)

// A groups.yaml of 100,000 people is a tree of about a million YAML nodes
// when parsed whole (~130 MB at 160 bytes a node): more than the whole
// hub needs otherwise. So the first reading of a file parses it a block
// of list items at a time, where the file's lines show that cutting
// between two items cannot change what either means; any file it cannot
// vouch for that way is parsed whole, as before, and any problem at all
// sends the file to the reading with positions (parseWithPositions), so
// that the result and every message are what parsing it whole gives.
// FuzzBlocksMatchWhole holds the two readings to the same directory.

// blockItems is how many list items one block parses: a few hundred KB
// of nodes.
const blockItems = 1000

// splitSections are the top-level keys whose list is read in blocks.
var splitSections = map[string]bool{"people": true, "groups": true, "escalations": true}

// readInBlocks reads data into d a block at a time. It returns false,
// with d half-filled, when the file is not of the plain shape it can cut
// safely, or when any block had a problem: the caller then reads it
// whole.
func (p *parser) readInBlocks(data []byte, d *Directory) bool {
	if len(data) == 0 || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return false
	}
	type section struct {
		key        string
		start, end int  // byte offsets of the section's lines, its key line first
		body       int  // byte offset of the line after the key line
		split      bool // a list to cut into blocks
		items      int  // its list's items, counted in the first pass
		itemIndent int
	}
	var sections []section
	seen := map[string]bool{}
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(data)
		}
		line := bytes.TrimRight(data[off:end], "\r")
		indent, kind := plainLine(line)
		switch {
		case kind == lineBad:
			return false
		case kind == lineBlank:
		case indent == 0 && kind != lineItem:
			key, inline, ok := topKey(line)
			if !ok || seen[key] {
				return false // a duplicate key is a problem: the whole reading reports it
			}
			seen[key] = true
			if len(sections) > 0 {
				sections[len(sections)-1].end = off
			}
			sections = append(sections, section{key: key, start: off, body: next, split: splitSections[key] && !inline, itemIndent: -1})
		case len(sections) == 0:
			return false
		case kind == lineItem:
			// The list's items are those at the first item's indentation.
			s := &sections[len(sections)-1]
			if s.itemIndent < 0 {
				s.itemIndent = indent
			}
			if indent == s.itemIndent {
				s.items++
			}
		}
		off = next
	}
	if len(sections) == 0 {
		return false
	}
	sections[len(sections)-1].end = len(data)

	for _, s := range sections {
		if s.key == "people" {
			// One array of the right size, not the garbage of growing it
			// a quarter at a time (five times its size for 100,000).
			d.People = slices.Grow(d.People, s.items)
		}
		if !s.split {
			if !p.readBlock(data[s.start:s.end], d) {
				return false
			}
			continue
		}
		// The key line, copied: appending to a slice of data would write
		// into the caller's file.
		head := append(bytes.Clone(bytes.TrimRight(data[s.start:s.body], "\r\n")), '\n')
		itemIndent := -1
		items, from := 0, s.body
		for off := s.body; off < s.end; {
			end := bytes.IndexByte(data[off:s.end], '\n')
			next := s.end
			if end >= 0 {
				next = off + end + 1
			} else {
				end = s.end - off
			}
			line := bytes.TrimRight(data[off:off+end], "\r")
			indent, kind := plainLine(line)
			if kind != lineBlank {
				if itemIndent < 0 {
					if kind != lineItem {
						return false
					}
					itemIndent = indent
				}
				switch {
				case indent < itemIndent:
					return false
				case indent == itemIndent && kind != lineItem:
					return false
				case indent == itemIndent:
					if items == blockItems {
						if !p.readBlock(append(head[:len(head):len(head)], data[from:off]...), d) {
							return false
						}
						items, from = 0, off
					}
					items++
				}
			}
			off = next
		}
		if !p.readBlock(append(head[:len(head):len(head)], data[from:s.end]...), d) {
			return false
		}
	}
	return true
}

// readBlock parses one block (a top-level key and some of its items) into
// d; false on any problem.
func (p *parser) readBlock(block []byte, d *Directory) bool {
	root, err := parseRoot(block, p.file)
	if err != nil {
		return false
	}
	p.directory(root, d)
	return len(p.problems) == 0
}

// Kinds of line for readInBlocks.
const (
	lineBad   = iota // something it does not cut around: read the file whole
	lineBlank        // empty or a comment
	lineItem         // "- ..." : a list item
	lineOther        // "key: ..." and plain values
)

// plainLine classifies a line and gives its indentation. A line is bad
// when it holds anything that can span lines or tie lines together:
// quoted scalars or flow collections not closed on the line, block
// scalars (| and >), anchors, aliases and tags, directives and document
// markers, explicit keys, tabs, nested "- -".
func plainLine(line []byte) (indent, kind int) {
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	c := bytes.TrimRight(line[indent:], " ")
	if len(c) == 0 || c[0] == '#' {
		return indent, lineBlank
	}
	if bytes.IndexByte(c, '\t') >= 0 {
		return indent, lineBad
	}
	if indent == 0 && (bytes.HasPrefix(c, []byte("---")) || bytes.HasPrefix(c, []byte("...")) || c[0] == '%') {
		return indent, lineBad
	}
	kind = lineOther
	if c[0] == '-' && (len(c) == 1 || c[1] == ' ') {
		kind = lineItem
		c = bytes.TrimLeft(c[1:], " ")
		if len(c) == 0 {
			return indent, kind
		}
		if c[0] == '-' && (len(c) == 1 || c[1] == ' ') {
			return indent, lineBad
		}
	}
	// "key:" or "key: value": only a plain word as the key.
	k := 0
	for k < len(c) && isKeyByte(c[k]) {
		k++
	}
	if k > 0 && k < len(c) && c[k] == ':' && (k+1 == len(c) || c[k+1] == ' ') {
		c = bytes.TrimLeft(c[k+1:], " ")
		if len(c) == 0 || c[0] == '#' {
			return indent, kind
		}
	}
	if !plainValue(c) {
		return indent, lineBad
	}
	return indent, kind
}

func isKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
}

// plainValue reports whether v, a value at the start of its token, ends on
// this line and refers to nothing elsewhere.
func plainValue(v []byte) bool {
	switch v[0] {
	case '|', '>', '&', '*', '!', '%', '@', '`', '?':
		return false
	case '"':
		return closedQuote(v, '"')
	case '\'':
		return closedQuote(v, '\'')
	case '[', '{':
		return closedFlow(v)
	}
	// A plain scalar: quotes and brackets inside it are literal. One with
	// ": " in it would be a second key on the line, a problem anyway.
	return !bytes.Contains(v, []byte(": "))
}

// closedFlow reports whether the flow collection starting v closes on
// the line with at most a comment after it. Quoted scalars in it must
// start a token and close on the line; a quote anywhere else, and
// anchors, aliases and tags, make it false.
func closedFlow(v []byte) bool {
	depth := 0
	tokenStart := true
	for i := 0; i < len(v); i++ {
		b := v[i]
		switch {
		case b == ' ':
			continue // a token still starts after spaces
		case b == '"' || b == '\'':
			if !tokenStart {
				return false
			}
			n := quotedLen(v[i:], b)
			if n < 0 {
				return false
			}
			i += n - 1
			tokenStart = false
			continue
		case b == '[' || b == '{':
			depth++
		case b == ']' || b == '}':
			depth--
			if depth == 0 {
				return restIsComment(v[i+1:])
			}
			if depth < 0 {
				return false
			}
		case b == '#' && i > 0 && v[i-1] == ' ':
			return false // a comment inside an open collection
		case b == '&' || b == '*' || b == '!' || b == '|' || b == '>':
			return false
		}
		tokenStart = b == '[' || b == '{' || b == ',' || b == ':'
	}
	return false
}

// quotedLen is the length of the quoted scalar starting v, closing quote
// included; -1 when it does not close on the line.
func quotedLen(v []byte, q byte) int {
	for i := 1; i < len(v); i++ {
		switch {
		case q == '"' && v[i] == '\\':
			i++
		case v[i] == q && q == '\'' && i+1 < len(v) && v[i+1] == '\'':
			i++
		case v[i] == q:
			return i + 1
		}
	}
	return -1
}

// closedQuote reports whether the quoted scalar starting v closes on the
// line with at most a comment after it.
func closedQuote(v []byte, q byte) bool {
	n := quotedLen(v, q)
	return n > 0 && restIsComment(v[n:])
}

func restIsComment(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#'
}

// topKey reads a top-level "key:" line: the key and whether a value
// follows on the line.
func topKey(line []byte) (key string, inline, ok bool) {
	k := 0
	for k < len(line) && isKeyByte(line[k]) {
		k++
	}
	if k == 0 || k == len(line) || line[k] != ':' || k+1 < len(line) && line[k+1] != ' ' {
		return "", false, false
	}
	rest := bytes.TrimLeft(line[k+1:], " ")
	return string(line[:k]), len(rest) > 0 && rest[0] != '#', true
}
