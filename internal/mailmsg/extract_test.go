package mailmsg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExtractReplyCorpus runs Parse and ExtractReply over real-looking
// replies from the common clients (testdata/replies/*.eml) and compares
// the new text with the .want.txt beside each.
func TestExtractReplyCorpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/replies/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("reply corpus has %d messages; testdata missing?", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".want.txt")
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(raw, 0)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.NewText != strings.TrimRight(string(want), "\n") {
				t.Errorf("NewText mismatch\n--- got ---\n%s\n--- want ---\n%s\n--- Text was ---\n%s", m.NewText, want, m.Text)
			}
			if got := ExtractReply(m.Text); got != m.NewText {
				t.Errorf("ExtractReply(m.Text) = %q, Parse set NewText %q", got, m.NewText)
			}
			if got := Classify(m); got != ClassReply {
				t.Errorf("Classify = %s, want %s", got, ClassReply)
			}
		})
	}
}

func TestExtractReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "Thanks, works now.\n", "Thanks, works now."},
		{"crlf and trailing blanks", "Line one  \r\n\r\n\r\n\r\nLine two\r\n\r\n", "Line one\n\nLine two"},
		{"gmail one line", "Yes.\n\nOn Tue, 24 Nov 2026 at 14:02, Alice <a@x.org> wrote:\n> old\n", "Yes."},
		{"gmail wrapped", "Yes.\n\nOn Tue, 24 Nov 2026 at 14:02, Alice Example <\na@x.org> wrote:\n\n> old\n", "Yes."},
		{"apple", "Yes.\n\n> On 24 Nov 2026, at 14:02, Alice <a@x.org> wrote:\n>\n> old\n", "Yes."},
		{"thunderbird", "Yes.\n\nOn 24/11/2026 14:02, Alice wrote:\n> old\n", "Yes."},
		{"german apple", "Ja.\n\nAm 24.11.2026 um 14:02 schrieb Alice <a@x.org>:\n\n> alt\n", "Ja."},
		{"german thunderbird", "Ja.\n\nAm 24.11.26 um 14:02 schrieb Alice:\n> alt\n", "Ja."},
		{"french", "Oui.\n\nLe 24/11/2026 à 14:02, Alice a écrit :\n> ancien\n", "Oui."},
		{"spanish", "Sí.\n\nEl 24/11/2026 a las 14:02, Alice escribió:\n> viejo\n", "Sí."},
		{"unquoted history after attribution", "Yes.\n\nOn Tue, 24 Nov 2026 at 14:02, Alice <a@x.org> wrote:\nold, not quoted\nmore\n", "Yes."},
		{"original message", "Fine.\n-----Original Message-----\nFrom: a\nold\n", "Fine."},
		{"original message german", "Gut.\n-----Ursprüngliche Nachricht-----\nVon: a\nalt\n", "Gut."},
		{"outlook block", "Fine.\n\nFrom: Alice <a@x.org>\nSent: Tuesday, November 24, 2026 2:02 PM\nTo: Bob\nSubject: x\n\nold\n", "Fine."},
		{"outlook block bold", "Fine.\n\n*From:* Alice <a@x.org>\n*Sent:* Tuesday\n\nold\n", "Fine."},
		{"outlook mac date", "Fine.\n\nFrom: Alice <a@x.org>\nDate: Tuesday, 24 November 2026 at 14:02\nTo: Bob\n\nold\n", "Fine."},
		{"outlook underscores", "Fine.\n\n________________________________\nFrom: Alice <a@x.org>\nSent: Tuesday\n\nold\n", "Fine."},
		{"outlook german", "Gut.\n\nVon: Alice <a@x.org>\nGesendet: Dienstag, 24. November 2026 14:02\nAn: Bob\n\nalt\n", "Gut."},
		{"outlook french", "Bien.\n\nDe : Alice <a@x.org>\nEnvoyé : mardi 24 novembre 2026 14:02\n\nancien\n", "Bien."},
		{"outlook spanish", "Bien.\n\nDe: Alice <a@x.org>\nEnviado: martes\n\nviejo\n", "Bien."},
		{"german gmail", "Geht wieder.\n\nAm Di., 3. März 2026 um 15:30 Uhr schrieb Sitrep <status@example.com>:\n\n> alt\n", "Geht wieder."},
		{"german apple long date", "Ja.\n\nAm 3. März 2026 um 15:30 schrieb Sitrep <status@example.com>:\n> alt\n", "Ja."},
		{"french gmail", "Oui.\n\nLe mar. 3 mars 2026 à 15:30, Sitrep <status@example.com> a écrit :\n\n> ancien\n", "Oui."},
		{"french no-break space before colon", "Oui.\n\nLe mar. 3 mars 2026 à 15:30, Sitrep <status@example.com> a écrit\u00a0:\nancien, pas cité\n", "Oui."},
		{"spanish gmail", "Sí.\n\nEl mar, 3 mar 2026 a las 15:30, Sitrep (<status@example.com>) escribió:\n\n> viejo\n", "Sí."},
		{"japanese gmail", "はい、直りました。\n\n2026年3月3日(火) 15:30 Sitrep <status@example.com>:\n\n> 古い\n", "はい、直りました。"},
		{"japanese gmail wrapped", "はい。\n\n2026年3月3日(火) 15:30 Sitrep Status <\nstatus@example.com>:\n\n> 古い\n", "はい。"},
		{"japanese gmail full-width colon", "はい。\n\n2026年3月3日(火) 15:30 Sitrep <status@example.com>：\n> 古い\n", "はい。"},
		{"japanese thunderbird", "いいえ。\n\n2026/03/03 15:30 に Sitrep さんは書きました:\n> 古い\n", "いいえ。"},
		{"japanese apple unquoted", "いいえ。\n\n2026/03/03 15:30、Sitrep <status@example.com>のメール:\n古い\n", "いいえ。"},
		{"japanese date sentence is text", "2026年3月3日 15:30 以降の状況:\nまだエラーが出ます。\n", "2026年3月3日 15:30 以降の状況:\nまだエラーが出ます。"},
		{"outlook german full", "Gut.\n\nVon: Sitrep <s@x.org>\nGesendet: Dienstag, 3. März 2026 15:30\nAn: Klaus <k@x.de>\nBetreff: [INC-42] x\n\nalt\n", "Gut."},
		{"outlook french full", "Bien.\n\nDe : Sitrep <s@x.org>\nEnvoyé : mardi 3 mars 2026 15:30\nÀ : Claire <c@x.fr>\nObjet : [INC-42] x\n\nancien\n", "Bien."},
		{"outlook spanish enviado el", "Bien.\n\nDe: Sitrep <s@x.org>\nEnviado el: martes, 3 de marzo de 2026 15:30\nPara: Lucía <l@x.es>\nAsunto: [INC-42] x\n\nviejo\n", "Bien."},
		{"outlook spanish web", "Bien.\n\nDe: Sitrep <s@x.org>\nEnviado: martes, 3 de marzo de 2026 15:30\nPara: Lucía <l@x.es>\nAsunto: [INC-42] x\n\nviejo\n", "Bien."},
		{"outlook japanese", "直りました。\n\n差出人: Sitrep <s@x.org>\n送信日時: 2026年3月3日 15:30\n宛先: 田中 <t@x.jp>\n件名: [INC-42] x\n\n古い\n", "直りました。"},
		{"outlook japanese full-width colons", "直りました。\n\n差出人：Sitrep <s@x.org>\n送信日時：2026年3月3日 15:30\n\n古い\n", "直りました。"},
		{"thunderbird french header block", "Oui.\n\n-------- Message original --------\nSujet : x\nDate : 03/03/2026 15:30\nDe : Sitrep\n\nancien\n", "Oui."},
		{"apple forward german", "Siehe unten.\n\nAnfang der weitergeleiteten Nachricht:\n\nVon: Sitrep <s@x.org>\n", "Siehe unten."},
		{"japanese iphone", "直りました\n\niPhoneから送信\n", "直りました"},
		{"french outlook mobile", "Oui.\n\nObtenir Outlook pour iOS<https://aka.ms/o0ukef>\n", "Oui."},
		{"from line alone is text", "From: the logs I see errors since 13:00.\nNo idea why.", "From: the logs I see errors since 13:00.\nNo idea why."},
		{"sig delimiter", "Works.\n\n-- \nAlice\nOps\n", "Works."},
		{"sig delimiter without space", "Works.\n--\nAlice\n", "Works."},
		{"iphone", "Works.\n\nSent from my iPhone\n", "Works."},
		{"outlook ios", "Works.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n", "Works."},
		{"german iphone", "Geht.\n\nVon meinem iPhone gesendet\n", "Geht."},
		{"quote only", "> only quoted\n> text\n", ""},
		{
			"inline reply keeps answers",
			"On 24/11/2026 14:02, Alice wrote:\n> Question one?\n\nAnswer one.\n\n> Question two?\nAnswer two.\n",
			"Answer one.\n\nAnswer two.",
		},
		{
			"inline without attribution",
			"> Is EU affected?\nYes, all of it.\n> Next update?\nPlease at 15:00.\n",
			"Yes, all of it.\nPlease at 15:00.",
		},
		{
			"signature inside inline reply stops at next quote",
			"> q1\nA1\n-- \nsig\n> q2\nA2\n",
			"A1\nA2",
		},
		{
			"dashes in text are not a signature",
			"Step 1 -- restart\nStep 2 -- check\n",
			"Step 1 -- restart\nStep 2 -- check",
		},
		{
			"last line starting with On before the attribution",
			"On my side it works.\nOn Tue, 24 Nov 2026 at 14:02, Alice <a@x.org> wrote:\n> old\n",
			"On my side it works.",
		},
		{
			"sentence starting with On is kept",
			"On Monday we will migrate.\nThanks.\n",
			"On Monday we will migrate.\nThanks.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtractReply(tt.in); got != tt.want {
				t.Errorf("ExtractReply(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
