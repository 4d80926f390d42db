package mailmsg

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// labelledReply is one item of testdata/replies/labelled/<lang>.yaml: a
// reply as a client in that language sends it, with its quoted original.
type labelledReply struct {
	ID      string            `yaml:"id"`
	Lang    string            `yaml:"lang"`
	Label   string            `yaml:"label"` // fixed, still_broken, ambiguous, question, auto_reply
	Client  string            `yaml:"client"`
	Heldout bool              `yaml:"heldout"`
	Subject string            `yaml:"subject"`
	Headers map[string]string `yaml:"headers"`
	Text    string            `yaml:"text"`

	fresh bool // from testdata/replies/fresh, not from labelled
}

// labelledLangs are the languages of the set, in the order of the table.
var labelledLangs = []string{"en", "de", "fr", "es", "ja"}

// labelledClasses are what the hub does with a reply to "is it fixed for
// you?": close (fixed), reopen (still_broken), ask a person (ambiguous;
// a question is labelled apart but is rightly ambiguous), or ignore
// (auto_reply).
var labelledClasses = []string{"fixed", "still_broken", "ambiguous", "auto_reply"}

func loadLabelled(t testing.TB) []labelledReply {
	t.Helper()
	var all []labelledReply
	for _, lang := range labelledLangs {
		raw, err := os.ReadFile(filepath.Join("testdata/replies/labelled", lang+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var items []labelledReply
		if err := yaml.Unmarshal(raw, &items); err != nil {
			t.Fatalf("%s.yaml: %v", lang, err)
		}
		for i, it := range items {
			if it.Lang != lang || it.Text == "" || it.Heldout != (i%5 == 4) {
				t.Fatalf("%s.yaml item %d (%s): wrong language, no text, or held back out of turn", lang, i, it.ID)
			}
		}
		all = append(all, items...)
	}
	return all
}

// loadFresh loads testdata/replies/fresh/<lang>.yaml: replies written
// later, by someone who had seen neither the classifiers nor the labelled
// set, all held back. They are reported as a part of their own and held
// to no floor.
func loadFresh(t testing.TB) []labelledReply {
	t.Helper()
	var all []labelledReply
	for _, lang := range labelledLangs {
		raw, err := os.ReadFile(filepath.Join("testdata/replies/fresh", lang+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var items []labelledReply
		if err := yaml.Unmarshal(raw, &items); err != nil {
			t.Fatalf("fresh/%s.yaml: %v", lang, err)
		}
		for i, it := range items {
			if it.Lang != lang || it.Text == "" || !it.Heldout {
				t.Fatalf("fresh/%s.yaml item %d (%s): wrong language, no text, or not held back", lang, i, it.ID)
			}
			items[i].fresh = true
		}
		all = append(all, items...)
	}
	return all
}

// rfc5322 wraps a labelled reply in the message its client would send:
// UTF-8 plain text, an encoded subject, the item's extra headers.
func (r labelledReply) rfc5322() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Reporter <reporter@example.net>\r\n")
	fmt.Fprintf(&b, "To: Sitrep <status+Ab3xK9@example.com>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", r.Subject))
	fmt.Fprintf(&b, "Date: Tue, 3 Mar 2026 15:42:00 +0100\r\n")
	fmt.Fprintf(&b, "Message-ID: <%s@example.net>\r\n", r.ID)
	fmt.Fprintf(&b, "In-Reply-To: <inc42.confirm.1@sitrep.example.com>\r\n")
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\r\n", k, r.Headers[k])
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(r.Text, "\n", "\r\n"))
	return []byte(b.String())
}

// predictLabelled runs what the hub runs on a reply to a confirmation
// request: Parse (with ExtractReply), Classify, ClassifyConfirmation.
func predictLabelled(t *testing.T, r labelledReply) (string, string) {
	m, err := Parse(r.rfc5322(), 0)
	if err != nil {
		t.Fatalf("%s: Parse: %v", r.ID, err)
	}
	switch c := Classify(m); c {
	case ClassAutoReply:
		return "auto_reply", m.NewText
	case ClassReply:
	default:
		return string(c), m.NewText
	}
	switch ClassifyConfirmation(m.NewText) {
	case Confirmed:
		return "fixed", m.NewText
	case StillBroken:
		return "still_broken", m.NewText
	}
	return "ambiguous", m.NewText
}

// prCount counts, for one class, true positives, predictions and labels.
type prCount struct{ tp, predicted, actual int }

func (c prCount) precision() float64 {
	if c.predicted == 0 {
		return 1 // nothing claimed, nothing wrong
	}
	return float64(c.tp) / float64(c.predicted)
}

func (c prCount) recall() float64 {
	if c.actual == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.actual)
}

// Floors, stated before the figures were known and not moved to pass.
// A wrong "fixed" closes an incident for someone it still fails for, so
// fixed's precision has the highest floor; the held-back part has 10
// replies per language (3-4 per class), so its floors are pooled over
// the five languages, where one reply is 2 to 4 points.
const (
	floorTunedRecall       = 0.95 // fixed and still_broken, per language
	floorTunedFixedPrec    = 0.95 // per language
	floorTunedAutoRecall   = 0.95 // per language
	floorHeldRecall        = 0.80 // fixed and still_broken, all languages
	floorHeldFixedPrec     = 0.90 // all languages
	floorHeldAutoReplyPrec = 0.90 // all languages: a person's reply must not be dropped
)

// TestReplyLabelledSet reports precision and recall per language and
// class on the labelled replies (testdata/replies/labelled), the tuned
// part, the held-back part and the fresh held-back part separately (the
// last only reported, with no floor):
//
//	go test ./internal/mailmsg -run TestReplyLabelledSet -v
//
// SITREP_LABELLED_HIDE_HELDOUT=1 leaves the held-back part out entirely,
// for tuning the classifiers without seeing it.
func TestReplyLabelledSet(t *testing.T) {
	t.Parallel()
	items := append(loadLabelled(t), loadFresh(t)...)
	hide := os.Getenv("SITREP_LABELLED_HIDE_HELDOUT") == "1"

	// counts[part][lang][class]; lang "all" pools the languages.
	counts := map[string]map[string]map[string]*prCount{}
	for _, part := range []string{"tuned", "held-back", "fresh held-back"} {
		counts[part] = map[string]map[string]*prCount{}
		for _, lang := range append(append([]string(nil), labelledLangs...), "all") {
			counts[part][lang] = map[string]*prCount{}
			for _, c := range labelledClasses {
				counts[part][lang][c] = &prCount{}
			}
		}
	}
	var misses []string
	for _, r := range items {
		if r.Heldout && hide {
			continue
		}
		part := "tuned"
		if r.fresh {
			part = "fresh held-back"
		} else if r.Heldout {
			part = "held-back"
		}
		want := r.Label
		if want == "question" {
			want = "ambiguous" // a question is for a person to answer
		}
		got, newText := predictLabelled(t, r)
		for _, lang := range []string{r.Lang, "all"} {
			cs := counts[part][lang]
			if c, ok := cs[want]; ok {
				c.actual++
			}
			if c, ok := cs[got]; ok {
				c.predicted++
				if got == want {
					c.tp++
				}
			}
		}
		if got != want {
			misses = append(misses, fmt.Sprintf("%-15s %s (%s, %s): got %s, want %s; new text %q", part, r.ID, r.Client, r.Label, got, want, newText))
		}
	}

	parts := []string{"tuned", "held-back", "fresh held-back"}
	if hide {
		parts = parts[:1]
	}
	var tab strings.Builder
	fmt.Fprintf(&tab, "\n%-15s %-4s", "part", "lang")
	for _, c := range labelledClasses {
		fmt.Fprintf(&tab, " | %-18s", c+" P/R")
	}
	tab.WriteString("\n")
	for _, part := range parts {
		for _, lang := range append(append([]string(nil), labelledLangs...), "all") {
			fmt.Fprintf(&tab, "%-15s %-4s", part, lang)
			for _, c := range labelledClasses {
				k := counts[part][lang][c]
				fmt.Fprintf(&tab, " | %4.2f / %4.2f (%3d)", k.precision(), k.recall(), k.actual)
			}
			tab.WriteString("\n")
		}
	}
	t.Logf("precision / recall (number labelled) per language and class:%s", tab.String())
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}

	for _, lang := range labelledLangs {
		k := counts["tuned"][lang]
		check(t, "tuned", lang, "fixed recall", k["fixed"].recall(), floorTunedRecall)
		check(t, "tuned", lang, "still_broken recall", k["still_broken"].recall(), floorTunedRecall)
		check(t, "tuned", lang, "fixed precision", k["fixed"].precision(), floorTunedFixedPrec)
		check(t, "tuned", lang, "auto_reply recall", k["auto_reply"].recall(), floorTunedAutoRecall)
	}
	if !hide {
		k := counts["held-back"]["all"]
		check(t, "held-back", "all", "fixed recall", k["fixed"].recall(), floorHeldRecall)
		check(t, "held-back", "all", "still_broken recall", k["still_broken"].recall(), floorHeldRecall)
		check(t, "held-back", "all", "fixed precision", k["fixed"].precision(), floorHeldFixedPrec)
		check(t, "held-back", "all", "auto_reply precision", k["auto_reply"].precision(), floorHeldAutoReplyPrec)
	}
}

func check(t *testing.T, part, lang, what string, got, floor float64) {
	t.Helper()
	if got < floor {
		t.Errorf("%s %s: %s %.2f below the floor %.2f", part, lang, what, got, floor)
	}
}
