package blameless

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tokWord  tokKind = iota // letters and digits, with inner ' - _ ("didn't", "on-call")
	tokPoss                 // the possessive 's, split off its word
	tokBreak                // sentence end: . ! ? : ; and a table's |
	tokComma                // clause break: a blame pattern never spans it
	tokIdent                // an email address or @handle, one opaque word
)

// token is one word or break of a source line. Offsets are bytes into the
// line, so that findings can be turned into rune columns of the original.
type token struct {
	kind       tokKind
	text       string // as written
	norm       string // lower case, ’ → '
	start, end int
	sentStart  bool // first word of a sentence, where capitals say nothing
	person     int  // index of the person this token names, -1 if none
	nameEnd    int  // for the first token of a name: index after its last token
}

// span is a byte range of a line; person is -1 for ranges that name no one
// (an unknown email address is still one opaque word).
type span struct {
	start, end int
	person     int
	kind       string
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func normWord(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "’", "'"))
}

// tokenizeWords splits plain text, without identifiers; the rule loader
// uses it to check that a pattern's words are words the lint can see.
func tokenizeWords(s string) []token { return tokenize(s, nil) }

// tokenize splits a masked line into tokens. idents are byte ranges
// (sorted, disjoint) that become one tokIdent each.
func tokenize(s string, idents []span) []token {
	var toks []token
	next := 0 // next ident
	i := 0
	for i < len(s) {
		if next < len(idents) && i >= idents[next].start {
			id := idents[next]
			if i == id.start {
				toks = append(toks, token{kind: tokIdent, text: s[id.start:id.end], norm: strings.ToLower(s[id.start:id.end]),
					start: id.start, end: id.end, person: id.person})
				i = id.end
			}
			next++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if isWordRune(r) {
			j := i + w
			for j < len(s) {
				if next < len(idents) && j >= idents[next].start {
					break
				}
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if isWordRune(r2) {
					j += w2
					continue
				}
				if r2 == '\'' || r2 == '’' || r2 == '-' || r2 == '_' {
					if isPossessive(s[j:]) {
						break
					}
					r3, _ := utf8.DecodeRuneInString(s[j+w2:])
					if j+w2 < len(s) && isWordRune(r3) {
						j += w2
						continue
					}
				}
				break
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j], norm: normWord(s[i:j]), start: i, end: j, person: -1})
			if n := possessiveLen(s[j:]); n > 0 {
				toks = append(toks, token{kind: tokPoss, text: s[j : j+n], norm: "'s", start: j, end: j + n, person: -1})
				j += n
			}
			i = j
			continue
		}
		switch r {
		case '.', '!', '?', ':', ';':
			// "config.yaml", "e.g.", "14:02" are not sentence ends: only a
			// mark followed by something other than a letter or digit is.
			r2, _ := utf8.DecodeRuneInString(s[i+w:])
			if i+w >= len(s) || !isWordRune(r2) {
				toks = append(toks, token{kind: tokBreak, text: s[i : i+w], start: i, end: i + w, person: -1})
			}
		case '|':
			toks = append(toks, token{kind: tokBreak, text: "|", start: i, end: i + w, person: -1})
		case ',':
			toks = append(toks, token{kind: tokComma, text: ",", start: i, end: i + w, person: -1})
		}
		i += w
	}
	return toks
}

// possessiveLen is the byte length of a possessive 's at the start of s
// ("'s" or "’s" not followed by a letter), 0 if there is none.
func possessiveLen(s string) int {
	n := 0
	switch {
	case strings.HasPrefix(s, "'"):
		n = 1
	case strings.HasPrefix(s, "’"):
		n = len("’")
	default:
		return 0
	}
	if n >= len(s) || (s[n] != 's' && s[n] != 'S') {
		return 0
	}
	if r, _ := utf8.DecodeRuneInString(s[n+1:]); n+1 < len(s) && isWordRune(r) {
		return 0
	}
	return n + 1
}

func isPossessive(s string) bool { return possessiveLen(s) > 0 }
