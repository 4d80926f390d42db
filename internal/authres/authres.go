// Package authres reads Authentication-Results header fields (RFC 8601).
//
// It is the one parser of these fields in sitrep: the mail sandbox uses it
// to remove look-alikes of its own results from incoming mail (RFC 8601 5),
// and the inbox uses it to decide whether to believe a message's From. Two
// parsers that read the same bytes differently are how a forged header
// slips past the side that strips it and is believed by the side that
// trusts it (`(\() sitrep-sandbox; auth=pass` did exactly that), so both
// sides must read with this package, and it is strict: anything outside the
// grammar is an error, never a best guess.
//
// github.com/emersion/go-msgauth/authres (v0.7.0) was considered; it splits
// the value at every ";" and leaves comments unparsed (a TODO in its
// parseResult), so a ";" inside a comment or quoted string changes what it
// reads.
package authres

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds the field value this package reads: real fields are a few
// hundred bytes, and a bound keeps the cost of hostile input linear and
// small.
const MaxLen = 16 << 10

// maxCommentDepth bounds comment nesting (RFC 5322 allows any depth).
const maxCommentDepth = 32

// Header is one parsed Authentication-Results field.
type Header struct {
	// AuthServID is the authserv-id, the name of the server that wrote the
	// field (RFC 8601 2.2), ASCII lower-cased.
	AuthServID string
	Results    []Result // empty for "none"
}

// Result is one resinfo: a method's result and what it was about.
type Result struct {
	Method string            // "dkim", "dmarc", "auth", ..., lower-cased, version dropped
	Value  string            // "pass", "fail", "none", ..., lower-cased
	Reason string            // the reason= text, if any
	Props  map[string]string // "header.from" → "example.com"; keys lower-cased
}

// Parse reads one Authentication-Results field value (RFC 8601 2.2):
//
//	authres-header-field = [CFWS] authserv-id [ CFWS authres-version ]
//	                       ( no-result / 1*resinfo ) [CFWS]
//	no-result  = [CFWS] ";" [CFWS] "none"
//	resinfo    = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//	methodspec = [CFWS] method [CFWS] "=" [CFWS] result
//	reasonspec = "reason" [CFWS] "=" [CFWS] value
//	propspec   = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//
// with RFC 5322 comments (nested, with quoted-pairs) and quoted strings.
// It is strict: an unterminated comment or quoted string, a control
// character, a missing "=" or an unknown shape is an error.
func Parse(value string) (Header, error) {
	if len(value) > MaxLen {
		return Header{}, fmt.Errorf("authres: field of %d bytes is over the limit of %d", len(value), MaxLen)
	}
	toks, err := lex(value)
	if err != nil {
		return Header{}, err
	}
	p := parser{toks: toks}
	return p.header()
}

// AuthServID returns the authserv-id Parse would read, or an error when the
// field does not parse.
func AuthServID(value string) (string, error) {
	h, err := Parse(value)
	return h.AuthServID, err
}

// EqualID compares authserv-ids. They are domain names in practice and
// compared ASCII case-insensitively; Unicode case folding (where "ſ" folds
// to "s") is deliberately not applied, so that no spelling but the plain one
// matches a trusted id.
func EqualID(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// Names reports whether a raw field value mentions id in any spelling:
// in any case, inside a comment or a quoted string, or broken up by
// quoted-pairs (`sitrep\-sandbox`). A server removing look-alikes of its
// own results removes every field for which Names is true or Parse fails,
// which is always at least what a reader using Parse could take for its
// own.
func Names(value, id string) bool {
	var b strings.Builder
	b.Grow(len(value))
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c == '\\' || c == '"' || c == '\r' || c == '\n' {
			continue
		}
		b.WriteByte(lowerASCII(c))
	}
	return strings.Contains(b.String(), strings.ToLower(id))
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// token kinds
const (
	tWord    = iota // an atom-like run of characters
	tQuoted         // a quoted string, unquoted
	tSpecial        // one of ; = / .
)

type token struct {
	kind int
	text string
	// spaceBefore is true when white space or a comment separated this
	// token from the previous one.
	spaceBefore bool
}

// specials end a word. "." is not one: it belongs to domain names and is
// split off only where the grammar wants it (ptype "." property).
const specials = ";=/"

var (
	errUnterminatedComment = errors.New("authres: unterminated comment")
	errUnterminatedQuote   = errors.New("authres: unterminated quoted string")
)

// lex turns the value into words, quoted strings and specials, dropping
// CFWS (RFC 5322 3.2.2): comments nest, and a backslash quotes the next
// character inside comments and quoted strings.
func lex(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("authres: not valid UTF-8")
	}
	var toks []token
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if c == '\r' || c == '\n' {
				// Only a fold (CRLF followed by white space) may appear.
				j := i
				if c == '\r' {
					if j+1 >= len(s) || s[j+1] != '\n' {
						return nil, errors.New("authres: bare CR")
					}
					j++
				}
				if j+1 >= len(s) || (s[j+1] != ' ' && s[j+1] != '\t') {
					return nil, errors.New("authres: line break that is not a fold")
				}
				i = j + 1
			} else {
				i++
			}
			space = true
		case c == '(':
			end, err := skipComment(s, i)
			if err != nil {
				return nil, err
			}
			i = end
			space = true
		case c == '"':
			text, end, err := readQuoted(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tQuoted, text: text, spaceBefore: space})
			i, space = end, false
		case strings.IndexByte(specials, c) >= 0:
			toks = append(toks, token{kind: tSpecial, text: string(c), spaceBefore: space})
			i++
			space = false
		case c == ')' || c == '\\' || c < 0x20 || c == 0x7f:
			return nil, fmt.Errorf("authres: unexpected character %q", c)
		default:
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, text: s[i:j], spaceBefore: space})
			i, space = j, false
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	switch {
	case c <= ' ' || c == 0x7f:
		return false
	case strings.IndexByte(specials, c) >= 0, c == '(', c == ')', c == '"', c == '\\':
		return false
	}
	return true
}

// skipComment returns the index just past the comment opening at s[i].
func skipComment(s string, i int) (int, error) {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // quoted-pair: the next character is literal
			if i >= len(s) {
				return 0, errUnterminatedComment
			}
		case '(':
			depth++
			if depth > maxCommentDepth {
				return 0, fmt.Errorf("authres: comments nested deeper than %d", maxCommentDepth)
			}
		case ')':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		default:
			if s[i] < 0x20 && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' || s[i] == 0x7f {
				return 0, fmt.Errorf("authres: control character %q in a comment", s[i])
			}
		}
	}
	return 0, errUnterminatedComment
}

// readQuoted reads the quoted string opening at s[i], returning its
// content with quoted-pairs resolved and the index just past it.
func readQuoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
			if i >= len(s) {
				return "", 0, errUnterminatedQuote
			}
			b.WriteByte(s[i])
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\r' || c == '\n':
			// A fold inside a quoted string is white space (RFC 5322 3.2.4).
			continue
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", 0, fmt.Errorf("authres: control character %q in a quoted string", c)
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errUnterminatedQuote
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.pos++
	}
	return t, ok
}

func (p *parser) special(c string) bool {
	if t, ok := p.peek(); ok && t.kind == tSpecial && t.text == c {
		p.pos++
		return true
	}
	return false
}

// value is RFC 2045's token or quoted-string.
func (p *parser) value(what string) (string, error) {
	t, ok := p.next()
	if !ok || (t.kind != tWord && t.kind != tQuoted) {
		return "", fmt.Errorf("authres: %s missing", what)
	}
	return t.text, nil
}

// keyword is RFC 8601's Keyword (RFC 5321 Ldh-str): letters, digits and
// hyphens.
func keyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (p *parser) header() (Header, error) {
	t, ok := p.next()
	if !ok {
		return Header{}, errors.New("authres: empty field")
	}
	if t.kind != tWord && t.kind != tQuoted || t.text == "" {
		return Header{}, errors.New("authres: authserv-id missing")
	}
	id := t.text
	for i := 0; i < len(id); i++ {
		// authserv-ids are host names in practice; anything else (a
		// control character, non-ASCII, a quote or a backslash that only
		// a quoted-pair could carry) is no id we could trust. Keeping ids
		// to characters that stand for themselves in the raw field is also
		// what lets Names find every id Parse reads.
		if c := id[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"\()<>,;:[]`, c) >= 0 {
			return Header{}, fmt.Errorf("authres: authserv-id %q is not a plain name", id)
		}
	}
	h := Header{AuthServID: strings.ToLower(id)}
	// authres-version: digits after white space.
	if t, ok := p.peek(); ok && t.kind == tWord && t.spaceBefore && isDigits(t.text) {
		if t.text != "1" {
			return Header{}, fmt.Errorf("authres: unsupported version %s", t.text)
		}
		p.pos++
	}
	if !p.special(";") {
		return Header{}, errors.New(`authres: ";" expected after the authserv-id`)
	}
	if t, ok := p.peek(); ok && t.kind == tWord && strings.EqualFold(t.text, "none") {
		if next := p.pos + 1; next == len(p.toks) {
			return h, nil
		}
	}
	for {
		r, err := p.resinfo()
		if err != nil {
			return Header{}, err
		}
		h.Results = append(h.Results, r)
		if _, ok := p.peek(); !ok {
			return h, nil
		}
		if !p.special(";") {
			return Header{}, errors.New(`authres: ";" expected between results`)
		}
		if _, ok := p.peek(); !ok {
			return h, nil // a trailing ";" is common and harmless
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (p *parser) resinfo() (Result, error) {
	t, ok := p.next()
	if !ok || t.kind != tWord || !keyword(t.text) {
		return Result{}, errors.New("authres: method expected")
	}
	r := Result{Method: strings.ToLower(t.text), Props: map[string]string{}}
	if p.special("/") {
		v, ok := p.next()
		if !ok || v.kind != tWord || !isDigits(v.text) {
			return Result{}, errors.New("authres: method version expected")
		}
	}
	if !p.special("=") {
		return Result{}, fmt.Errorf(`authres: "=" expected after %s`, r.Method)
	}
	t, ok = p.next()
	if !ok || t.kind != tWord || !keyword(t.text) {
		return Result{}, fmt.Errorf("authres: result of %s expected", r.Method)
	}
	r.Value = strings.ToLower(t.text)
	for {
		t, ok := p.peek()
		if !ok || t.kind == tSpecial && t.text == ";" {
			return r, nil
		}
		if t.kind != tWord {
			return Result{}, fmt.Errorf("authres: property expected in %s", r.Method)
		}
		p.pos++
		if strings.EqualFold(t.text, "reason") {
			if !p.special("=") {
				return Result{}, errors.New(`authres: "=" expected after reason`)
			}
			v, err := p.value("reason")
			if err != nil {
				return Result{}, err
			}
			r.Reason = v
			continue
		}
		ptype, property, ok := strings.Cut(t.text, ".")
		if !ok || !keyword(ptype) || property == "" {
			return Result{}, fmt.Errorf("authres: property %q is not ptype.property", t.text)
		}
		if !p.special("=") {
			return Result{}, fmt.Errorf(`authres: "=" expected after %s`, t.text)
		}
		v, err := p.pvalue()
		if err != nil {
			return Result{}, fmt.Errorf("authres: %s: %w", t.text, err)
		}
		key := strings.ToLower(t.text)
		if _, dup := r.Props[key]; dup {
			// Two values for one property: which one a reader takes is
			// exactly the kind of ambiguity a forger wants.
			return Result{}, fmt.Errorf("authres: %s given twice in %s", key, r.Method)
		}
		r.Props[key] = v
	}
}

// pvalue is a value, or an address with an optional local part
// ("@example.com", "user@example.com", `"a b"@example.com`). The lexer
// keeps "@" inside words, so an address is a word, or a quoted local part
// directly followed by "@domain". Servers also write base64 unquoted
// (Gmail's `header.b=Ab/cD+1=`), so "/" and "=" that touch the value on both
// sides belong to it: the value runs to the next white space, comment or
// ";".
func (p *parser) pvalue() (string, error) {
	t, ok := p.next()
	if !ok || (t.kind != tWord && t.kind != tQuoted) {
		return "", errors.New("value missing")
	}
	var b strings.Builder
	b.WriteString(t.text)
	for {
		n, ok := p.peek()
		if !ok || n.spaceBefore || n.kind == tQuoted || n.kind == tSpecial && n.text == ";" {
			return b.String(), nil
		}
		b.WriteString(n.text)
		p.pos++
	}
}
