package blameless

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Person is someone whose name must not appear in the summary. It is this
// package's own type so that the lint does not depend on the directory;
// the caller copies people in.
type Person struct {
	Name    string
	Email   string
	Handles []string // chat or forge handles, with or without the @
}

// NameSet is what the lint looks for: every name part, full name, email
// address, email local part and handle of a list of people. The zero value
// holds no one.
type NameSet struct {
	people []Person
	parts  map[string][]int     // exact case: "Will" → people
	full   map[string][]fullRef // lower-case first word → full names
	idents []ident              // emails, handles, local parts: case-insensitive
}

type fullRef struct {
	words  []string // as in the directory; compared case-insensitively
	person int
}

type ident struct {
	text   string // ASCII lower case
	kind   string // "email", "handle", "local part"
	person int
	// bare idents are words without an @ ("wturner"); they are skipped when
	// they are common words, which only the rules know.
	bare bool
}

// NewNameSet indexes people for the lint. A name part counts when it starts
// with a capital and has two letters or more, so particles ("van", "de")
// and initials are left to the full name.
func NewNameSet(people []Person) NameSet {
	ns := NameSet{people: people, parts: map[string][]int{}, full: map[string][]fullRef{}}
	for i, p := range people {
		words := strings.Fields(p.Name)
		for _, w := range words {
			w = strings.Trim(w, ".,()\"")
			r, _ := utf8.DecodeRuneInString(w)
			if utf8.RuneCountInString(w) >= 2 && unicode.IsUpper(r) {
				ns.parts[w] = appendOnce(ns.parts[w], i)
			}
		}
		if len(words) >= 2 {
			ns.full[strings.ToLower(words[0])] = append(ns.full[strings.ToLower(words[0])], fullRef{words: words, person: i})
		}
		if email := strings.TrimSpace(p.Email); strings.Contains(email, "@") {
			ns.idents = append(ns.idents, ident{text: lowerASCII(email), kind: "email", person: i})
			local := email[:strings.LastIndex(email, "@")]
			if len(local) >= 3 && !isNamePart(ns, local) {
				ns.idents = append(ns.idents, ident{text: lowerASCII(local), kind: "local part", person: i, bare: true})
			}
		}
		for _, h := range p.Handles {
			h = strings.TrimPrefix(strings.TrimSpace(h), "@")
			if h == "" {
				continue
			}
			ns.idents = append(ns.idents, ident{text: "@" + lowerASCII(h), kind: "handle", person: i})
			if len(h) >= 3 && !isNamePart(ns, h) {
				ns.idents = append(ns.idents, ident{text: lowerASCII(h), kind: "handle", person: i, bare: true})
			}
		}
	}
	// Longer idents first, so that "will.turner" wins over "will.t".
	sortIdents(ns.idents)
	return ns
}

func appendOnce(list []int, i int) []int {
	for _, v := range list {
		if v == i {
			return list
		}
	}
	return append(list, i)
}

// isNamePart reports whether s is, ignoring case, one of the name parts:
// those are matched with the capitalisation rules, not as identifiers.
func isNamePart(ns NameSet, s string) bool {
	for p := range ns.parts {
		if strings.EqualFold(p, s) {
			return true
		}
	}
	return false
}

func sortIdents(ids []ident) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && len(ids[j].text) > len(ids[j-1].text); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// lowerASCII lowers ASCII letters only, so that byte offsets in the result
// are those of s.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

var (
	emailRe  = regexp.MustCompile(`[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)
	handleRe = regexp.MustCompile(`@[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?`)
)

// identSpans finds email addresses, @handles and bare handles or local
// parts in a masked line. Every email address and @handle becomes a span,
// known or not, so that its pieces are never read as words.
func (ns NameSet) identSpans(s string, common map[string]bool) []span {
	low := lowerASCII(s)
	var spans []span
	used := make([]bool, len(s)) // bytes inside a span already found
	taken := func(a, b int) bool {
		for k := a; k < b; k++ {
			if used[k] {
				return true
			}
		}
		return false
	}
	add := func(sp span) {
		for k := sp.start; k < sp.end; k++ {
			used[k] = true
		}
		spans = append(spans, sp)
	}
	for _, loc := range emailRe.FindAllStringIndex(s, -1) {
		sp := span{start: loc[0], end: loc[1], person: -1, kind: "email"}
		addr := low[loc[0]:loc[1]]
		local := addr[:strings.LastIndex(addr, "@")]
		for _, id := range ns.idents {
			if (id.kind == "email" && id.text == addr) || (id.bare && id.text == local) {
				sp.person = id.person
				break
			}
		}
		add(sp)
	}
	for _, loc := range handleRe.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && isIdentByte(s[loc[0]-1]) || taken(loc[0], loc[1]) {
			continue
		}
		sp := span{start: loc[0], end: loc[1], person: -1, kind: "handle"}
		for _, id := range ns.idents {
			if !id.bare && id.kind == "handle" && id.text == low[loc[0]:loc[1]] {
				sp.person = id.person
				break
			}
		}
		add(sp)
	}
	for _, id := range ns.idents {
		if !id.bare || common[id.text] {
			continue
		}
		for from := 0; from < len(low); {
			k := strings.Index(low[from:], id.text)
			if k < 0 {
				break
			}
			a, b := from+k, from+k+len(id.text)
			from = a + 1
			if a > 0 && (isIdentByte(low[a-1]) || low[a-1] == '@') || b < len(low) && isIdentContinue(low, b) || taken(a, b) {
				continue
			}
			add(span{start: a, end: b, person: id.person, kind: id.kind})
		}
	}
	sortSpans(spans)
	return spans
}

func isIdentByte(c byte) bool {
	return c >= 0x80 || c == '_' || c == '.' || c == '-' || c == '+' ||
		'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isIdentContinue: the identifier at s[:b] goes on (a trailing "." or "-"
// only continues it when a letter or digit follows: "ping wturner." ends).
func isIdentContinue(s string, b int) bool {
	c := s[b]
	if c == '.' || c == '-' {
		return b+1 < len(s) && isIdentByte(s[b+1]) && s[b+1] != '.' && s[b+1] != '-'
	}
	return isIdentByte(c) || c == '@'
}

func sortSpans(sp []span) {
	sort.Slice(sp, func(i, j int) bool { return sp[i].start < sp[j].start })
}

// Heuristics for names that are also words. See isPersonUse.
var (
	// cueWords before a name say a person is meant: "by Will", "thanks to
	// Will", "asked Will".
	cueWords = setOf("by", "to", "thanks", "thank", "asked", "ask", "told", "tell", "pinged", "ping", "paged", "page",
		"called", "call", "cc", "with", "from", "and", "contacted", "contact", "emailed", "messaged", "dear", "hi", "hello", "per")
	// monthCues before a month name make it a date: "in May", "since April".
	monthCues = setOf("in", "during", "since", "until", "till", "by", "early", "late", "mid", "of", "last", "next", "this",
		"end", "before", "after", "from", "through", "between", "and", "to", "each", "every")
	months = setOf("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
		"november", "december")
	// pastVerbs after a sentence-initial name say a person did something:
	// "Will forgot", "Mark was". A modal "Will" or an imperative "Mark"
	// is followed by a base form or an object, never by these.
	pastVerbs = setOf("forgot", "was", "is", "has", "had", "did", "made", "took", "ran", "broke", "went", "saw", "said",
		"told", "wrote", "knew", "thought", "left", "sent", "put", "got", "kept", "found", "began", "brought", "built",
		"chose", "drove", "felt", "gave", "heard", "held", "hit", "let", "lost", "meant", "met", "paid", "read", "rang",
		"sat", "shut", "spoke", "spent", "stood", "struck", "taught", "threw", "understood", "woke", "won", "forgets",
		"didn't", "wasn't", "hasn't", "hadn't", "isn't", "says", "thinks", "knows", "needs", "wants")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// isPersonUse decides whether a capitalised name that is also a common word
// ("Will", "Mark", "May") means a person at token i. The heuristic, in
// order:
//
//   - a month name after a date cue ("in May", "since April") or before a
//     number ("May 3") is a date;
//   - before a possessive ("Bob's") it is a person, months excepted;
//   - after a person cue ("by Will", "thanks to Will", "asked Mark") it is
//     a person;
//   - capitalised mid-sentence it is a person, except in a heading or a
//     Title Case line, where every word is capitalised;
//   - at the start of a sentence, where capitals say nothing, it is a
//     person only before a past-tense or third-person verb ("Will forgot",
//     "Mark was") or before "and" and another name ("Will and Mark"): a
//     modal "Will we" or an imperative "Mark the release" never is; or
//     before a comma ("Will, the on-call engineer, ..."). Months
//     at a sentence start are never flagged ("May was busy").
//
// A full name ("Will Turner") is matched before any of this and always
// counts.
func isPersonUse(toks []token, i int, ns NameSet, titleCtx bool) bool {
	t := toks[i]
	month := months[t.norm]
	var prev, next *token
	if i > 0 {
		prev = &toks[i-1]
	}
	if i+1 < len(toks) {
		next = &toks[i+1]
	}
	if month {
		if prev != nil && prev.kind == tokWord && monthCues[prev.norm] {
			return false
		}
		if next != nil && next.kind == tokWord && next.norm[0] >= '0' && next.norm[0] <= '9' {
			return false
		}
	}
	if next != nil && next.kind == tokPoss {
		return !month
	}
	if prev != nil && prev.kind == tokWord && cueWords[prev.norm] && !t.sentStart {
		return true
	}
	if !t.sentStart {
		return !titleCtx
	}
	if month || next == nil {
		return false
	}
	if next.kind == tokComma {
		return true // "Will, the on-call engineer, ...": a modal or an imperative takes no comma
	}
	if next.kind != tokWord {
		return false
	}
	if pastVerbs[next.norm] || (len(next.norm) > 4 && strings.HasSuffix(next.norm, "ed")) {
		return true
	}
	if next.norm == "and" && i+2 < len(toks) {
		if other := toks[i+2]; other.kind == tokIdent {
			return other.person >= 0 // "Will and @gliu"
		}
		_, ok := ns.parts[toks[i+2].text] // "Will and Mark"
		return ok
	}
	return false
}
