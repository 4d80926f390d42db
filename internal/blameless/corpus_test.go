package blameless

import (
	"os"
	"strings"
	"testing"
)

// corpusPeople is the directory the corpus sentences are written against.
// Several first names are also English words (see lintdata/common_words.txt).
var corpusPeople = []Person{
	{Name: "Will Turner", Email: "will.turner@example.com", Handles: []string{"@wturner"}},
	{Name: "Mark Chen", Email: "mark.chen@example.com", Handles: []string{"mchen"}},
	{Name: "Bill Okafor", Email: "bokafor@example.com", Handles: []string{"@billo"}},
	{Name: "Grace Liu", Email: "grace.liu@example.com", Handles: []string{"@gliu"}},
	{Name: "Rose Martin", Email: "rmartin@example.com", Handles: []string{"@rosem"}},
	{Name: "Dan Ivanov", Email: "dan.ivanov@example.com", Handles: []string{"@divanov"}},
	{Name: "Bob Reyes", Email: "breyes@example.com"},
	{Name: "Lena Vogel", Email: "lena.vogel@example.com"},
	{Name: "Daniel Fischer", Email: "dfischer@example.com"},
}

type corpusLine struct {
	label, text string
}

func readCorpus(t *testing.T) []corpusLine {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusLine
	for n, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		if !ok || (label != "blame" && label != "name" && label != "neutral") {
			t.Fatalf("corpus.tsv:%d: want label TAB sentence, label blame|name|neutral", n+1)
		}
		out = append(out, corpusLine{label, text})
	}
	return out
}

// TestLintCorpus measures the lint on real-style post-mortem sentences. A
// sentence counts as flagged for a kind when the lint reports at least one
// finding of that kind in it.
//
//   - blame recall: blame sentences with a blame finding;
//   - blame precision: of sentences with a blame finding, those labelled blame;
//   - name recall: name sentences with a name finding;
//   - name precision: of sentences with a name finding, those labelled name
//     or blame (a blaming sentence may name someone too);
//   - false-positive rate: neutral sentences with any finding.
func TestLintCorpus(t *testing.T) {
	t.Parallel()
	corpus := readCorpus(t)
	if len(corpus) < 80 {
		t.Fatalf("corpus has %d sentences, want at least 80", len(corpus))
	}
	names := NewNameSet(corpusPeople)
	count := map[string]int{}
	var blameTP, blameFP, blameFN, nameTP, nameFP, nameFN, neutralFP int
	for _, c := range corpus {
		count[c.label]++
		var hasBlame, hasName bool
		fs := Lint(c.text, names, nil)
		for _, f := range fs {
			hasBlame = hasBlame || f.Kind == KindBlame
			hasName = hasName || f.Kind == KindName
		}
		switch {
		case hasBlame && c.label == "blame":
			blameTP++
		case hasBlame:
			blameFP++
			t.Logf("blame false positive (%s): %q: %v", c.label, c.text, fs)
		case c.label == "blame":
			blameFN++
			t.Logf("blame missed: %q", c.text)
		}
		switch {
		case hasName && c.label != "neutral":
			if c.label == "name" {
				nameTP++
			}
		case hasName:
			nameFP++
			t.Logf("name false positive: %q: %v", c.text, fs)
		case c.label == "name":
			nameFN++
			t.Logf("name missed: %q", c.text)
		}
		if c.label == "neutral" && len(fs) > 0 {
			neutralFP++
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 1
		}
		return float64(a) / float64(b)
	}
	blameRecall := ratio(blameTP, blameTP+blameFN)
	blamePrecision := ratio(blameTP, blameTP+blameFP)
	nameRecall := ratio(nameTP, nameTP+nameFN)
	namePrecision := ratio(nameTP, nameTP+nameFP)
	fpRate := ratio(neutralFP, count["neutral"])
	t.Logf("corpus: %d blame, %d name, %d neutral sentences", count["blame"], count["name"], count["neutral"])
	t.Logf("blame: precision %.3f, recall %.3f (%d found, %d missed, %d false)", blamePrecision, blameRecall, blameTP, blameFN, blameFP)
	t.Logf("name: precision %.3f, recall %.3f (%d found, %d missed, %d false)", namePrecision, nameRecall, nameTP, nameFN, nameFP)
	t.Logf("neutral: false-positive rate %.3f (%d of %d)", fpRate, neutralFP, count["neutral"])

	// Floors at what the lint achieves, so that a change that makes it
	// worse fails here.
	if blameRecall < 0.9 || blamePrecision < 0.95 {
		t.Errorf("blame precision %.3f recall %.3f, want ≥ 0.95 and ≥ 0.9", blamePrecision, blameRecall)
	}
	if nameRecall < 0.9 || namePrecision < 0.95 {
		t.Errorf("name precision %.3f recall %.3f, want ≥ 0.95 and ≥ 0.9", namePrecision, nameRecall)
	}
	if fpRate > 0.05 {
		t.Errorf("false-positive rate on neutral sentences %.3f, want ≤ 0.05", fpRate)
	}
}
