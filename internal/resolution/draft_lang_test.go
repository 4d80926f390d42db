package resolution

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// englishProse is the English catalog's own words under prefix (see
// i18n.Catalog.Prose), but for skip: words that people's text in the
// fixtures also holds.
func englishProse(t *testing.T, prefix string, skip ...string) []string {
	t.Helper()
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, w := range cat.Prose(prefix) {
		if !slices.Contains(skip, w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		t.Fatalf("en.yaml has no %s.*", prefix)
	}
	return out
}

// The draft is one document for the whole organisation: written in its
// language, headings, prompts, sentences and timeline alike, with the
// "_TODO:" marker the same in every language.
func TestDraftInTheOrganisationsLanguage(t *testing.T) {
	t.Parallel()
	english := englishProse(t, "summary_draft", "team")
	cases := map[string]struct{ headings, want []string }{
		"de": {
			headings: []string{"## Zusammenfassung", "## Zeitraum", "## Auswirkungen", "## Ursache", "## Behebung",
				"## Chronologie", "## Beteiligte Teams", "## Dank"},
			want: []string{
				"# [INC-42] Checkout errors in the EU: Zusammenfassung\n",
				"INC-42 war ein SEV2-Vorfall, der 1 Std. 23 Min. dauerte",
				"| Zeit bis zur Erkennung |",
				"- **Systeme:** checkout, payments-db",
				"| 2024-03-05 14:14 | Vorfall als SEV3 ausgerufen |",
				"| 2024-03-05 14:20 | Status-Update 1 an 6 Gruppen gesendet |",
				"| 2024-03-05 14:40 | Status geändert: in Untersuchung → Ursache erkannt: eine Person aus dem Einsatzteam found the dropped index |",
				"| 2024-03-05 14:52 | Antwort eingegangen: „still broken in DE“ |",
				"_TODO: prüfen, ob diese Zusammenfassung auch außerhalb der Technik verständlich ist",
				"Vielen Dank an das Team Payments und das SRE team",
				"| 2024-03-05 15:30 | Status geändert: behoben → Post-Mortem: Post-Mortem gebucht |",
				"| 2024-03-05 15:31 | Überwachung meldet Erholung |",
				"| 2024-03-05 15:32 | Post-Mortem |",
			},
		},
		"ja": {
			headings: []string{"## 概要", "## 期間", "## 影響", "## 根本原因", "## 復旧方法", "## タイムライン", "## 対応したチーム", "## 謝辞"},
			want: []string{
				"# [INC-42] Checkout errors in the EU：振り返りのまとめ\n",
				"INC-42は、2024-03-05 14:02から15:25（UTC）まで1時間23分続いたSEV2のインシデントでした。影響範囲は一部のユーザー（region: EU; feature: checkout）でした。",
				"| 2024-03-05 14:31 | 重大度を変更：SEV3 → SEV2 |",
				"| 2024-03-05 14:40 | ステータスを変更：調査中 → 原因特定：対応メンバー found the dropped index |",
				"| 2024-03-05 14:52 | 返信を受信：「still broken in DE」 |",
				"_TODO: エンジニア以外の人が読んでも分かる内容か確認してください",
				"| 2024-03-05 15:30 | ステータスを変更：解決済み → ポストモーテム：ポストモーテムを予約 |",
				"| 2024-03-05 15:31 | 監視が回復を検知 |",
				"| 2024-03-05 15:32 | ポストモーテム |",
				"取り組んでくださったPaymentsチーム、SRE teamの皆さん、ありがとうございました。",
			},
		},
	}
	for lang, c := range cases {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			in := fullInput()
			in.Language = lang
			in.Events = append(in.Events, DraftEvent{At: at("15:30"), Kind: "state_changed", Text: "State resolved → postmortem: post-mortem booked"},
				DraftEvent{At: at("15:31"), Kind: "monitor_recovered", Text: `Alertmanager reports "Checkout 5xx" recovered at 15:31:09 UTC`},
				DraftEvent{At: at("15:32"), Kind: "postmortem_rsvp", Text: "lena.vogel@example.com accepted"})
			md := Draft(in)
			last := -1
			for _, h := range c.headings {
				i := strings.Index(md, "\n"+h+"\n")
				if i < 0 || i < last {
					t.Fatalf("section %q missing or out of order in:\n%s", h, md)
				}
				last = i
			}
			for _, want := range c.want {
				if !strings.Contains(md, want) {
					t.Errorf("draft lacks %q:\n%s", want, md)
				}
			}
			// The empty input has every prompt and label.
			empty := Draft(DraftInput{Language: lang, Extent: "subset"})
			for _, doc := range []string{md, empty} {
				for _, en := range english {
					if strings.Contains(doc, en) {
						t.Errorf("English %q left in:\n%s", en, doc)
					}
				}
			}
			if fs := blameless.Lint(md, in.Names, nil); len(fs) != 0 {
				t.Errorf("draft has findings %v:\n%s", fs, md)
			}
			if fs := blameless.Lint(empty, in.Names, nil); len(fs) != 0 {
				t.Errorf("empty draft has findings %v:\n%s", fs, empty)
			}
		})
	}
}

// Sending refuses a summary that still has a prompt, in every language:
// each line of the draft with a placeholder is found, and nothing else.
func TestUnfinishedFindsTheTODOsInEveryLanguage(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"", "de", "fr", "es", "ja"} {
		for _, in := range []DraftInput{{Language: lang, Extent: "subset"}, {Language: lang, RootCauseUnknown: true, StillBroken: []string{"nope"}}} {
			md := Draft(in)
			var want []int
			for i, line := range strings.Split(md, "\n") {
				if strings.Contains(line, "_TODO: ") {
					want = append(want, i+1)
				}
			}
			got := unfinished(md)
			if len(want) < 5 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: unfinished = %v, want the %d placeholder lines %v:\n%s", lang, got, len(want), want, md)
			}
		}
	}
	// A writer's own TODO, with a full-width colon too.
	for _, md := range []string{"# Zusammenfassung\n\nTODO: Zahlen nachtragen\n", "# 概要\n\nTODO：数字を追記\n", "# 概要\n\n（TODO: 確認）\n"} {
		if got := unfinished(md); len(got) != 1 || got[0] != 3 {
			t.Errorf("unfinished(%q) = %v, want line 3", md, got)
		}
	}
	if got := unfinished("# Zusammenfassung\n\nAlle Punkte sind erledigt.\n"); len(got) != 0 {
		t.Errorf("a finished summary: %v", got)
	}
}
