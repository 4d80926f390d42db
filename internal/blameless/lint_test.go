package blameless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func testNames() NameSet { return NewNameSet(corpusPeople) }

// words lists "kind:words" of each finding, for compact assertions.
func words(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Kind + ":" + f.Words
	}
	return out
}

func TestLintFindsNamesAndBlame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, md string
		want     []string
	}{
		{"first name at sentence start with past verb", "Will forgot to renew the certificate.",
			[]string{"name:Will", "blame:forgot to"}},
		{"full name any case", "the graphs from will turner helped", []string{"name:will turner"}},
		{"last name alone", "Okafor restarted it.", []string{"name:Okafor"}},
		{"email and local part", "Mail will.turner@example.com or bokafor.", []string{"name:will.turner@example.com", "name:bokafor"}},
		{"handle with and without @", "cc @WTurner and mchen", []string{"name:@WTurner", "name:mchen"}},
		{"unknown email is not a name", "Mail support@vendor.example for help.", nil},
		{"possessive fault", "This was Bob's fault.", []string{"name:Bob", "blame:Bob's fault"}},
		{"failed to with a person", "Someone from the payments team failed to check.", []string{"blame:Someone from the payments team failed to"}},
		{"failed to with a thing", "The job failed to start.", nil},
		{"adverb between person and verb", "The on-call simply failed to escalate.", []string{"blame:on-call simply failed to"}},
		{"one finding per stretch", "The on-call ignored the alert.", []string{"blame:on-call ignored"}},
		{"allowed phrase", "Our reviews are blameless: no one is to blame.", nil},
		{"prefix rule", "Carelessness is not a root cause.", []string{"blame:Carelessness"}},
		{"curly apostrophe", "It was Will’s mistake.", []string{"name:Will", "blame:Will’s mistake"}},
		{"common-word names as words", "We will mark the release; the bill for the CDN rose with grace.", nil},
		{"month with date cue", "In May we rose to 2x load, and by May 3 we were fine.", nil},
		{"modal at sentence start", "Will the alert fire? Mark the release as bad.", nil},
		{"common-word name mid-sentence", "Thanks to Grace and Mark for the fix.", []string{"name:Grace", "name:Mark"}},
		{"title case heading needs a cue", "## Will It Hold: Mark Every Release\n## Thanks to Grace", []string{"name:Grace"}},
		{"blame does not cross a comma", "The job failed, to start again.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := words(Lint(tt.md, testNames(), nil))
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Lint(%q) = %q, want %q", tt.md, got, tt.want)
			}
		})
	}
}

func TestLintPositions(t *testing.T) {
	t.Parallel()
	md := "# Summary\n\nÜber-fast recovery: thanks to Grace.\n  - Will Turner was paged.\n"
	fs := Lint(md, testNames(), nil)
	if len(fs) != 2 {
		t.Fatalf("findings = %v, want 2", fs)
	}
	// "Über-fast recovery: thanks to " is 30 runes but 31 bytes: columns count runes.
	if f := fs[0]; f.Line != 3 || f.Col != 31 || f.End != 36 || f.Words != "Grace" || f.Rule != "name" {
		t.Errorf("first = %+v, want line 3 col 31-36 Grace", f)
	}
	if f := fs[1]; f.Line != 4 || f.Col != 5 || f.End != 16 || f.Words != "Will Turner" || f.Rule != "full name" {
		t.Errorf("second = %+v, want line 4 col 5-16 Will Turner", f)
	}
	for _, f := range fs {
		line := strings.Split(md, "\n")[f.Line-1]
		if got := string([]rune(line)[f.Col-1 : f.End-1]); got != f.Words {
			t.Errorf("columns %d-%d of line %d are %q, want %q", f.Col, f.End, f.Line, got, f.Words)
		}
		if f.Suggestion == "" || f.Message == "" {
			t.Errorf("finding without message or suggestion: %+v", f)
		}
	}
}

func TestLintSkipsCodeURLsAndComments(t *testing.T) {
	t.Parallel()
	md := strings.Join([]string{
		"```sh",
		"git blame --author=Will.Turner  # human error",
		"```",
		"Ran `kubectl logs grace-liu-7f` and `` Will forgot ``.",
		"See [the graph](https://grafana.example/d/Will-Turner?by=Grace) and <https://x.example/Mark>.",
		"Raw: https://logs.example/q?user=Grace&blame=1 done.",
		"<!-- Will Turner: remove before sending",
		"human error -->",
		"[ref]: https://example.com/Grace-Liu \"title\"",
		"~~~",
		"Mark failed to",
		"~~~",
		"Back to prose, thanks to Grace.",
	}, "\n")
	fs := Lint(md, testNames(), nil)
	if got := words(fs); len(got) != 1 || got[0] != "name:Grace" || fs[0].Line != 13 {
		t.Errorf("findings = %v, want only Grace on line 13", fs)
	}
}

func TestLintLinkTextIsRead(t *testing.T) {
	t.Parallel()
	fs := Lint("Ask [Mark Chen](mailto:mark.chen@example.com).", testNames(), nil)
	if got := words(fs); len(got) != 1 || got[0] != "name:Mark Chen" {
		t.Errorf("findings = %v, want the link text only", got)
	}
}

func TestLintSentenceContinuesOnNextLine(t *testing.T) {
	t.Parallel()
	// A wrapped paragraph: "Mark" on the second line is mid-sentence.
	fs := Lint("The rollback was approved by\nMark at 14:10.", testNames(), nil)
	if got := words(fs); len(got) != 1 || got[0] != "name:Mark" {
		t.Errorf("findings = %v, want Mark", got)
	}
	// After a full stop the next line starts a sentence: an imperative.
	if fs := Lint("Roll back first.\nMark the release as bad.", testNames(), nil); len(fs) != 0 {
		t.Errorf("findings = %v, want none", fs)
	}
}

func TestLintZeroNameSet(t *testing.T) {
	t.Parallel()
	fs := Lint("Will Turner said he failed to renew it.", NameSet{}, nil)
	if got := words(fs); len(got) != 1 || got[0] != "blame:he failed to" {
		t.Errorf("findings = %v, want only the pronoun blame", got)
	}
}

func TestLoadRulesExtraDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("blame_local.txt", "# ours\n{name} rushed\tDescribe the timeline, not the pace.\nthrew * under the bus\tLeave blame out.\n")
	write("common_words_local.txt", "chen\n")
	write("allow_local.txt", "Grace Hopper\n")
	write("person_words_local.txt", "vendor\n")
	r, err := LoadRules(dir)
	if err != nil {
		t.Fatal(err)
	}
	md := "Dan rushed the rollout. They threw support under the bus. The vendor failed to patch. " +
		"We quoted Grace Hopper. Chen services were fine."
	got := words(Lint(md, testNames(), r))
	want := []string{"name:Dan", "blame:Dan rushed", "blame:threw support under the bus", "blame:vendor failed to"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("findings = %q, want %q", got, want)
	}
	// The defaults are still there.
	if fs := Lint("It was human error.", NameSet{}, r); len(fs) != 1 {
		t.Errorf("default rule lost: %v", fs)
	}
}

func TestLoadRulesErrorsNameFileAndLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, content, want string }{
		{"blame_x.txt", "# c\nforgot to\n", "blame_x.txt:2: want a pattern, a TAB and a suggestion"},
		{"blame_x.txt", "ok\tfine\n{who} failed\tx\n", "blame_x.txt:2: unknown placeholder"},
		{"blame_x.txt", "{person} *\tx\n", "blame_x.txt:1: pattern \"{person} *\" has no literal word"},
		{"blame_x.txt", "fail(ed)\tx\n", "blame_x.txt:1: \"fail(ed)\" is not one word"},
		{"blame_x.txt", "forgot\t  \n", "blame_x.txt:1: empty suggestion"},
		{"allow_x.txt", "\n\nno\tblame\n", "allow_x.txt:3: allow lines hold one phrase and no TAB"},
		{"common_words_x.txt", "two words\n", "common_words_x.txt:1: want one word a line"},
		{"blames.txt.bak.txt", "x\ty\n", ""}, // blame* prefix: a valid blame file
		{"names.txt", "x\n", "names.txt: unknown rule file"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadRules(dir)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.file, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errs.Is(err, errs.Invalid) {
			t.Errorf("%s %q: err = %v, want invalid containing %q", tt.file, tt.content, err, tt.want)
		}
	}
	if _, err := LoadRules(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing dir: no error")
	}
}

// TestDefaultRulesCoverTheGuide checks the phrases the brief requires are
// in the embedded list, and that their neutral look-alikes are not flagged.
func TestDefaultRulesCoverTheGuide(t *testing.T) {
	t.Parallel()
	blaming := []string{
		"It was Will's fault.", "The fault of the on-call.", "A human error.", "A careless change.",
		"Pure carelessness.", "He should have known.", "She should have noticed.", "They forgot to renew it.",
		"Dan failed to renew it.", "They failed to renew it.", "Pure negligence.", "A negligent change.",
		"Do not blame anyone.", "The vendor was blamed.", "We screwed up.", "The team dropped the ball.",
		"Incompetent handling.", "A sloppy deploy.", "A mistake by the on-call.", "He didn't bother to look.",
		"The on-call was asleep.", "The responder ignored the alert.",
	}
	for _, s := range blaming {
		found := false
		for _, f := range Lint(s, testNames(), nil) {
			found = found || f.Kind == KindBlame
		}
		if !found {
			t.Errorf("%q: no blame finding", s)
		}
	}
	for _, s := range []string{"The job failed to start.", "The blameless review.", "No blame is assigned."} {
		if fs := Lint(s, testNames(), nil); len(fs) != 0 {
			t.Errorf("%q: %v, want none", s, fs)
		}
	}
}

func TestEmbeddedRulesLoad(t *testing.T) {
	t.Parallel()
	r, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.blame) < 40 || len(r.allow) < 10 || !r.commonWords["will"] || !r.personWords["on-call"] {
		t.Errorf("embedded rules look incomplete: %d blame, %d allow", len(r.blame), len(r.allow))
	}
	if r.blame[0].source != "lintdata/blame.txt:16" {
		t.Errorf("first rule source = %q", r.blame[0].source)
	}
}

func FuzzLint(f *testing.F) {
	for _, s := range []string{
		"Will forgot to renew the certificate.",
		"```\nWill\n```\n`x` [a](b(c)) <!-- y --> @wturner mark.chen@example.com",
		"Über ’s 's '' -- | : . Bob’s fault\r\n- [x] Grace, the on-call, failed to",
		"<!--\n\n-->\n~~~~\n~~~\n",
		"\xff\xfe Will\x00Turner",
	} {
		f.Add(s)
	}
	names := testNames()
	f.Fuzz(func(t *testing.T, md string) {
		lines := strings.Split(md, "\n")
		for _, fd := range Lint(md, names, nil) {
			if fd.Line < 1 || fd.Line > len(lines) {
				t.Fatalf("line %d outside 1..%d: %+v", fd.Line, len(lines), fd)
			}
			n := utf8.RuneCountInString(lines[fd.Line-1])
			if fd.Col < 1 || fd.End <= fd.Col || fd.End-1 > n {
				t.Fatalf("columns %d-%d outside line of %d runes: %+v", fd.Col, fd.End, n, fd)
			}
			if fd.Kind != KindName && fd.Kind != KindBlame {
				t.Fatalf("kind %q", fd.Kind)
			}
		}
	})
}

// A pasted log or a line of stray Markdown must not stall the lint: every
// step is linear or n·log n in the line's length. 200 KB of any of these
// takes under a second here; the quadratic versions took tens of seconds
// (minutes under the race detector, which slows the lint five to ten
// times). The bounds leave room for a loaded machine running both
// databases' suites at once. Not parallel: it times itself.
func TestLintLongLines(t *testing.T) {
	limit := 15 * time.Second
	if raceEnabled {
		limit = 90 * time.Second
	}
	for _, unit := range []string{"@wturner ", "`a", "](a", "<a", "no blame, ", "Will forgot to, ", "someone from "} {
		md := strings.Repeat(unit, 200_000/len(unit))
		start := time.Now()
		Lint(md, testNames(), nil)
		if d := time.Since(start); d > limit {
			t.Errorf("%q × %d took %v; the lint must stay linear in a line's length", unit, 200_000/len(unit), d)
		}
	}
}
