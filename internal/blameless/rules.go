package blameless

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The default word lists ship inside the binary so that the lint works with
// nothing configured; LoadRules adds an organisation's own lists on top.
//
//go:embed lintdata/*.txt
var lintdata embed.FS

// Rules are the blame patterns, the allowed phrases and the word lists the
// lint uses. Build them with LoadRules; a nil *Rules means the defaults.
type Rules struct {
	blame       []blameRule
	allow       []pattern
	commonWords map[string]bool // lower case; names that are also words
	personWords map[string]bool // lower case; subjects that stand for a person
}

type blameRule struct {
	text       string // the pattern as written, reported as Finding.Rule
	pat        pattern
	suggestion string
	source     string // file:line, for people extending the lists
}

// pattern is a parsed rule: a sequence of tokens matched against the
// words of one clause.
type pattern []patTok

type patKind int

const (
	patWord   patKind = iota // literal, lower case
	patPrefix                // literal prefix: "careless*"
	patAny                   // "*": any one word
	patPoss                  // "'s"
	patPerson                // {person}
	patName                  // {name}
)

type patTok struct {
	kind patKind
	word string
}

// rule file kinds, by file name prefix.
const (
	fileBlame       = "blame"
	fileCommonWords = "common_words"
	fileAllow       = "allow"
	filePersonWords = "person_words"
)

var defaultRules = sync.OnceValues(func() (*Rules, error) { return LoadRules() })

// mustDefaultRules returns the embedded rules. They are tested, so a failure
// here is a broken build, not bad input.
func mustDefaultRules() *Rules {
	r, err := defaultRules()
	if err != nil {
		panic("blameless: embedded rules: " + err.Error())
	}
	return r
}

// LoadRules reads the embedded default lists and then every *.txt file in
// extraDirs, in name order: blame*.txt (pattern TAB suggestion),
// common_words*.txt and person_words*.txt (one word a line) and allow*.txt
// (one phrase a line, never flagged). A bad line is an error naming
// file:line; an unknown *.txt name is an error too, so that a misspelt
// file is not silently ignored.
func LoadRules(extraDirs ...string) (*Rules, error) {
	r := &Rules{commonWords: map[string]bool{}, personWords: map[string]bool{}}
	embedded, err := fs.Glob(lintdata, "lintdata/*.txt")
	if err != nil {
		return nil, fmt.Errorf("blameless: list embedded rules: %w", err)
	}
	for _, name := range embedded {
		b, err := lintdata.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("blameless: read embedded %s: %w", name, err)
		}
		if err := r.add(name, path.Base(name), string(b)); err != nil {
			return nil, err
		}
	}
	for _, dir := range extraDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("blameless: read rules dir: %w", err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".txt") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, name := range names {
			p := filepath.Join(dir, name)
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("blameless: read rules: %w", err)
			}
			if err := r.add(p, name, string(b)); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func (r *Rules) add(file, base, content string) error {
	var kind string
	for _, k := range []string{fileBlame, fileCommonWords, fileAllow, filePersonWords} {
		if strings.HasPrefix(base, k) {
			kind = k
			break
		}
	}
	if kind == "" {
		return errs.E(errs.Invalid, "%s: unknown rule file; want blame*.txt, common_words*.txt, person_words*.txt or allow*.txt", file)
	}
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if err := r.addLine(kind, line); err != nil {
			return errs.E(errs.Invalid, "%s:%d: %s", file, n, err)
		}
		if kind == fileBlame {
			r.blame[len(r.blame)-1].source = fmt.Sprintf("%s:%d", file, n)
		}
	}
	if err := sc.Err(); err != nil {
		return errs.E(errs.Invalid, "%s:%d: %s", file, n+1, err)
	}
	return nil
}

func (r *Rules) addLine(kind, line string) error {
	switch kind {
	case fileBlame:
		pat, sugg, ok := strings.Cut(line, "\t")
		if !ok {
			return fmt.Errorf("want a pattern, a TAB and a suggestion")
		}
		pat, sugg = strings.TrimSpace(pat), strings.TrimSpace(sugg)
		if sugg == "" {
			return fmt.Errorf("empty suggestion for %q", pat)
		}
		p, err := parsePattern(pat)
		if err != nil {
			return err
		}
		r.blame = append(r.blame, blameRule{text: pat, pat: p, suggestion: sugg})
	case fileAllow:
		if strings.Contains(line, "\t") {
			return fmt.Errorf("allow lines hold one phrase and no TAB")
		}
		p, err := parsePattern(strings.TrimSpace(line))
		if err != nil {
			return err
		}
		r.allow = append(r.allow, p)
	case fileCommonWords, filePersonWords:
		w := strings.TrimSpace(line)
		toks := tokenizeWords(w)
		if len(toks) != 1 || toks[0].text != w {
			return fmt.Errorf("want one word a line, got %q", w)
		}
		w = normWord(w)
		if kind == fileCommonWords {
			r.commonWords[w] = true
		} else {
			r.personWords[w] = true
		}
	}
	return nil
}

// parsePattern reads the pattern language described in lintdata/blame.txt.
// Every literal must be a word the text tokenizer can produce, or the rule
// could never match.
func parsePattern(s string) (pattern, error) {
	fields := strings.Fields(strings.ReplaceAll(s, "’", "'"))
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty pattern")
	}
	var p pattern
	literals := 0
	for _, f := range fields {
		poss := false
		if len(f) > 2 && strings.HasSuffix(f, "'s") {
			f, poss = f[:len(f)-2], true
		}
		switch {
		case f == "{person}":
			p = append(p, patTok{kind: patPerson})
		case f == "{name}":
			p = append(p, patTok{kind: patName})
		case f == "*":
			p = append(p, patTok{kind: patAny})
		case f == "'s":
			p = append(p, patTok{kind: patPoss})
		case strings.ContainsAny(f, "{}"):
			return nil, fmt.Errorf("unknown placeholder %q (want {person} or {name})", f)
		default:
			prefix := strings.HasSuffix(f, "*")
			w := strings.TrimSuffix(f, "*")
			toks := tokenizeWords(w)
			if len(toks) != 1 || toks[0].text != w || toks[0].kind != tokWord {
				return nil, fmt.Errorf("%q is not one word (letters, digits, inner ' or -)", f)
			}
			k := patWord
			if prefix {
				k = patPrefix
			}
			p = append(p, patTok{kind: k, word: normWord(w)})
			literals++
		}
		if poss {
			p = append(p, patTok{kind: patPoss})
		}
	}
	if literals == 0 && !hasKind(p, patPoss) {
		return nil, fmt.Errorf("pattern %q has no literal word; it would match everything", s)
	}
	return p, nil
}

func hasKind(p pattern, k patKind) bool {
	for _, t := range p {
		if t.kind == k {
			return true
		}
	}
	return false
}
