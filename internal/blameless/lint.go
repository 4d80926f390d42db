package blameless

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Finding kinds.
const (
	KindName  = "name"
	KindBlame = "blame"
)

// Finding is one problem the blameless lint found in the summary.
type Finding struct {
	Line       int    // 1-based line in the Markdown source
	Col        int    // 1-based column, in runes
	End        int    // column after the match, in runes
	Words      string // the matched text, as written
	Kind       string // KindName or KindBlame
	Rule       string // "name", "email", "handle", or the blame pattern
	Message    string
	Suggestion string // a neutral rewrite or advice
}

func (f Finding) String() string {
	return fmt.Sprintf("%d:%d: %s: %s", f.Line, f.Col, f.Kind, f.Message)
}

const nameSuggestion = `Refer to the role or team instead, e.g. "the on-call engineer", "the payments team" or "a responder".`

// Lint checks a Markdown summary for people's names and blame language.
// It reads the source line by line and skips fenced code, code spans, link
// destinations, URLs and HTML comments. A nil rules means the embedded
// defaults. Findings come in source order.
func Lint(markdown string, names NameSet, rules *Rules) []Finding {
	if rules == nil {
		rules = mustDefaultRules()
	}
	var out []Finding
	var md mdScanner
	sentenceOpen := false // the previous line ended mid-sentence
	for n, src := range strings.Split(markdown, "\n") {
		src = strings.TrimSuffix(src, "\r")
		ml := md.line(src)
		if ml.code || ml.blank {
			sentenceOpen = false
			continue
		}
		toks := tokenize(ml.text, names.identSpans(ml.text, rules.commonWords))
		markSentenceStarts(toks, ml.blockStart || !sentenceOpen)
		titleCtx := ml.heading || isTitleCase(toks)
		hits := findNames(toks, names, rules, titleCtx)
		cols := &colIndex{src: src}
		var found []Finding
		for _, h := range hits {
			found = append(found, nameFinding(cols, n+1, toks, h, names))
		}
		found = append(found, findBlame(cols, n+1, toks, rules)...)
		found = dropAllowed(found, cols, toks, rules)
		out = append(out, found...)
		sentenceOpen = len(toks) > 0 && toks[len(toks)-1].kind != tokBreak && !ml.heading && !strings.HasPrefix(strings.TrimSpace(src), "|")
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	return out
}

func markSentenceStarts(toks []token, lineStarts bool) {
	start := lineStarts
	for i := range toks {
		switch toks[i].kind {
		case tokBreak:
			start = true
		case tokWord, tokIdent:
			toks[i].sentStart = start
			start = false
		}
	}
}

// isTitleCase: in a line where most longer words are capitalised,
// capitals say nothing about names.
func isTitleCase(toks []token) bool {
	long, upper := 0, 0
	for _, t := range toks {
		if t.kind != tokWord || utf8.RuneCountInString(t.text) < 4 {
			continue
		}
		long++
		if r, _ := utf8.DecodeRuneInString(t.text); unicode.IsUpper(r) {
			upper++
		}
	}
	return long >= 3 && upper*4 >= long*3
}

// nameHit is a run of tokens [from, to) naming person.
type nameHit struct {
	from, to int
	person   int
	rule     string
}

func findNames(toks []token, ns NameSet, rules *Rules, titleCtx bool) []nameHit {
	var hits []nameHit
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tokIdent {
			if t.person >= 0 {
				hits = append(hits, nameHit{from: i, to: i + 1, person: t.person, rule: "contact"})
				toks[i].nameEnd = i + 1
			}
			continue
		}
		if t.kind != tokWord {
			continue
		}
		if to, p := matchFull(toks, i, ns); to > 0 {
			hits = append(hits, nameHit{from: i, to: to, person: p, rule: "full name"})
			for k := i; k < to; k++ {
				toks[k].person = p
			}
			toks[i].nameEnd = to
			i = to - 1
			continue
		}
		ps, ok := ns.parts[t.text]
		if !ok {
			continue
		}
		if rules.commonWords[t.norm] && !isPersonUse(toks, i, ns, titleCtx) {
			continue
		}
		hits = append(hits, nameHit{from: i, to: i + 1, person: ps[0], rule: "name"})
		toks[i].person = ps[0]
		toks[i].nameEnd = i + 1
	}
	return hits
}

// matchFull matches the longest full name starting at token i, ignoring
// case: "will turner" is as much a name as "Will Turner".
func matchFull(toks []token, i int, ns NameSet) (int, int) {
	best, who := 0, -1
	for _, f := range ns.full[toks[i].norm] {
		if i+len(f.words) > len(toks) || i+len(f.words) <= best {
			continue
		}
		ok := true
		for k, w := range f.words {
			if t := toks[i+k]; t.kind != tokWord || !strings.EqualFold(t.text, w) {
				ok = false
				break
			}
		}
		if ok {
			best, who = i+len(f.words), f.person
		}
	}
	return best, who
}

func nameFinding(cols *colIndex, line int, toks []token, h nameHit, ns NameSet) Finding {
	words := cols.src[toks[h.from].start:toks[h.to-1].end]
	p := ns.people[h.person]
	msg := fmt.Sprintf("%q names %s; the summary goes to the whole organisation", words, p.Name)
	rule := h.rule
	if h.rule == "contact" {
		msg = fmt.Sprintf("%q is a contact of %s; the summary goes to the whole organisation", words, p.Name)
	}
	return Finding{
		Line: line, Col: cols.col(toks[h.from].start), End: cols.col(toks[h.to-1].end),
		Words: words, Kind: KindName, Rule: rule, Message: msg, Suggestion: nameSuggestion,
	}
}

// colIndex turns byte offsets of one line into 1-based rune columns. It is
// built once per line with findings: counting runes per finding would be
// quadratic on a long line full of names.
type colIndex struct {
	src  string
	cols []int32
}

func (c *colIndex) col(off int) int {
	if c.cols == nil {
		// Offsets given here are rune starts or the line's end.
		c.cols = make([]int32, len(c.src)+1)
		n := int32(1)
		for i := range c.src {
			c.cols[i] = n
			n++
		}
		c.cols[len(c.src)] = n
	}
	return int(c.cols[off])
}

func findBlame(cols *colIndex, line int, toks []token, rules *Rules) []Finding {
	type match struct {
		from, to int
		rule     *blameRule
	}
	var ms []match
	for ri := range rules.blame {
		r := &rules.blame[ri]
		for i := 0; i < len(toks); i++ {
			if end, ok := matchAt(r.pat, 0, toks, i, rules); ok {
				ms = append(ms, match{i, end, r})
				i = end - 1
			}
		}
	}
	// One finding per stretch of blame: "Will ignored the alert" matches
	// two rules but is one thing to rewrite.
	sort.SliceStable(ms, func(a, b int) bool {
		if ms[a].from != ms[b].from {
			return ms[a].from < ms[b].from
		}
		return ms[a].to > ms[b].to
	})
	var out []Finding
	lastEnd := -1
	for _, m := range ms {
		if m.from < lastEnd {
			continue
		}
		lastEnd = m.to
		words := cols.src[toks[m.from].start:toks[m.to-1].end]
		out = append(out, Finding{
			Line: line, Col: cols.col(toks[m.from].start), End: cols.col(toks[m.to-1].end),
			Words: words, Kind: KindBlame, Rule: m.rule.text,
			Message:    fmt.Sprintf("%q assigns blame (rule %q, %s)", words, m.rule.text, m.rule.source),
			Suggestion: m.rule.suggestion,
		})
	}
	return out
}

// adverbs may sit between a {person} and the rest: "he simply forgot to".
var adverbs = setOf("just", "also", "then", "again", "still", "never", "even", "simply", "actually", "apparently", "once")

func isAdverb(t token) bool {
	return t.kind == tokWord && (adverbs[t.norm] || len(t.norm) > 4 && strings.HasSuffix(t.norm, "ly"))
}

// someone-phrases stand for a person: "someone from payments", "somebody
// on the platform team".
var (
	someone     = setOf("someone", "somebody", "anyone", "nobody")
	someoneLink = setOf("from", "on", "in", "at", "of")
)

// matchAt matches p[pi:] against toks[ti:], backtracking over the ways a
// {person} can be written, and returns the index after the match.
func matchAt(p pattern, pi int, toks []token, ti int, rules *Rules) (int, bool) {
	if pi == len(p) {
		return ti, true
	}
	if ti >= len(toks) {
		return 0, false
	}
	t := toks[ti]
	switch pt := p[pi]; pt.kind {
	case patWord:
		if t.kind == tokWord && t.norm == pt.word {
			return matchAt(p, pi+1, toks, ti+1, rules)
		}
	case patPrefix:
		if t.kind == tokWord && strings.HasPrefix(t.norm, pt.word) {
			return matchAt(p, pi+1, toks, ti+1, rules)
		}
	case patAny:
		if t.kind == tokWord || t.kind == tokIdent {
			return matchAt(p, pi+1, toks, ti+1, rules)
		}
	case patPoss:
		if t.kind == tokPoss {
			return matchAt(p, pi+1, toks, ti+1, rules)
		}
	case patName, patPerson:
		var ends []int
		if t.nameEnd > ti {
			ends = append(ends, t.nameEnd)
		}
		if pt.kind == patPerson && t.kind == tokWord {
			if rules.personWords[t.norm] {
				ends = append(ends, ti+1)
			}
			if someone[t.norm] && ti+1 < len(toks) && toks[ti+1].kind == tokWord && someoneLink[toks[ti+1].norm] {
				for k := ti + 2; k < len(toks) && k < ti+6 && toks[k].kind == tokWord; k++ {
					ends = append(ends, k+1)
				}
			}
		}
		for _, e := range ends {
			for skip := 0; skip <= 2; skip++ {
				if skip > 0 && (e+skip-1 >= len(toks) || !isAdverb(toks[e+skip-1])) {
					break
				}
				if end, ok := matchAt(p, pi+1, toks, e+skip, rules); ok {
					return end, true
				}
			}
		}
	}
	return 0, false
}

// dropAllowed removes findings inside a phrase of the allow lists.
func dropAllowed(fs []Finding, cols *colIndex, toks []token, rules *Rules) []Finding {
	if len(fs) == 0 || len(rules.allow) == 0 {
		return fs
	}
	type colSpan struct{ a, b int }
	var allowed []colSpan
	for _, p := range rules.allow {
		for i := 0; i < len(toks); i++ {
			if end, ok := matchAt(p, 0, toks, i, rules); ok {
				allowed = append(allowed, colSpan{cols.col(toks[i].start), cols.col(toks[end-1].end)})
			}
		}
	}
	// Sorted by start with a running maximum of ends, a finding is inside
	// some allowed span when the widest span starting at or before it
	// reaches its end: linear-logarithmic, however many spans a line has.
	sort.Slice(allowed, func(i, j int) bool { return allowed[i].a < allowed[j].a })
	reach := make([]int, len(allowed))
	for i, a := range allowed {
		reach[i] = a.b
		if i > 0 && reach[i-1] > a.b {
			reach[i] = reach[i-1]
		}
	}
	out := fs[:0]
	for _, f := range fs {
		k := sort.Search(len(allowed), func(i int) bool { return allowed[i].a > f.Col }) - 1
		if k < 0 || reach[k] < f.End {
			out = append(out, f)
		}
	}
	return out
}
