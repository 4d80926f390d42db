package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// englishProse is the English catalog's own words under prefix (see
// i18n.Catalog.Prose).
func englishProse(t *testing.T, prefix string) []string {
	t.Helper()
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	out := cat.Prose(prefix)
	if len(out) == 0 {
		t.Fatalf("en.yaml has no %s.*", prefix)
	}
	return out
}

// langEvents are the kinds the shared timeline retells, with the texts
// the incident and resolution packages write.
func langEvents() []incident.Event {
	at := time.Date(2026, 3, 6, 13, 0, 0, 0, time.UTC) // a Friday
	events := []incident.Event{
		{Kind: incident.EventDeclared, Actor: "lead@example.test", Text: "Declared INC-1 SEV2: Checkout fails"},
		{Kind: incident.EventFieldChanged, Actor: "vp@example.test", Text: "roles: incident lead lead@example.test, comms lead vp@example.test, facilitator -"},
		{Kind: incident.EventFieldChanged, Actor: "vp@example.test", Text: "severity: SEV2 → SEV1"},
		{Kind: incident.EventFieldChanged, Actor: "vp@example.test", Text: `title: "Checkout fails" → "Checkout down"`},
		{Kind: incident.EventHeadsUpQueued, Actor: "sitrep", Text: "Heads-up to 1 responder of checkout: Rita Weber", Data: map[string]any{"to": []any{"r1@example.test"}}},
		{Kind: "report", Actor: "zed@customer.test", Text: "Zed Quinn reports: spinning"},
		{Kind: incident.EventUpdateSent, Actor: "vp@example.test", Text: "Status update 2 to exec, support (40 recipients)", Data: map[string]any{"status": "Rita Weber rolled back the deploy."}},
		{Kind: incident.EventStateChanged, Actor: "lead@example.test", Text: "State investigating → resolved: Rita restarted the pool"},
		{Kind: "resolved_email", Actor: "vp@example.test", Text: "Root cause: A bad config. Resolved email sent to exec, support; write-up promised by Sun 13:00 UTC"},
		{Kind: "confirmation_asked", Actor: "sitrep", Text: "Asked 2 people to confirm the fix: 1 who reported the problem and 1 on the confirmers list"},
		{Kind: "confirmation", Actor: "zed@customer.test", Text: "Zed Quinn <zed@customer.test> confirmed", Data: map[string]any{"state": "confirmed"}},
		{Kind: "summary_sent", Actor: "vp@example.test", Text: "Blameless summary sent to exec; lint OVERRIDDEN with 1 finding(s): name \"Rita Weber\""},
		{Kind: "monitor_recovered", Actor: "Alertmanager", Text: `Alertmanager reports "Checkout 5xx" recovered at 14:05:09 UTC`},
	}
	for i := range events {
		events[i].At = at
	}
	return events
}

func langRedactor(lang string) *redactor {
	d := &directory.Directory{People: []directory.Person{
		{Email: "lead@example.test", Name: "Lars Eder", Team: "sre"},
		{Email: "vp@example.test", Name: "Vera Price", Team: "engineering"},
		{Email: "r1@example.test", Name: "Rita Weber", Team: "payments"},
	}}
	inc := &incident.Incident{Ref: "INC-1", Roles: incident.Roles{IncidentLead: "lead@example.test", CommsLead: "vp@example.test"}}
	pm := &Postmortem{Facilitator: "vp@example.test", Attendees: []Participant{{Email: "r1@example.test", Source: "responder"}}}
	return newRedactor(d, inc, pm, []incident.Reporter{{Email: "zed@customer.test", Name: "Zed Quinn"}}, nil, lang)
}

// The timeline every attendee reads, and the calendar event's
// description, are written in the organisation's language; English reads
// as it always did.
func TestSharedTextsInTheOrganisationsLanguage(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"": {
			"Declared INC-1 SEV2: Checkout fails | incident lead",
			"Incident roles reassigned | comms lead",
			"Severity: SEV2 → SEV1 | comms lead",
			`Title: "Checkout fails" → "Checkout down" | comms lead`,
			"Heads-up sent to 1 responder of checkout (payments) | sitrep",
			"Problem reported by a reporter (report 1) | reporter",
			"Status update 2 to exec, support: a responder from payments rolled back the deploy. | comms lead",
			"State investigating → resolved: a responder from payments restarted the pool | incident lead",
			"Root cause: A bad config. Resolved email sent to exec, support; write-up promised by Sun 13:00 UTC | comms lead",
			"Asked 2 people to confirm the fix: 1 who reported the problem and 1 on the confirmers list | sitrep",
			"A reporter confirmed the fix (1 confirmation so far) | reporter",
			"Blameless summary sent to exec | comms lead",
			`Alertmanager reports "Checkout 5xx" recovered at 14:05:09 UTC | `,
		},
		"de": {
			"INC-1 als SEV2 ausgerufen: Checkout fails | Leitung des Vorfalls",
			"Rollen im Vorfall neu vergeben | Kommunikationsleitung",
			"Schweregrad: SEV2 → SEV1 | Kommunikationsleitung",
			`Titel: "Checkout fails" → "Checkout down" | Kommunikationsleitung`,
			"Vorwarnung an 1 Person aus dem Einsatzteam gesendet, zu checkout (payments) | sitrep",
			"Problem von einer meldenden Person gemeldet (Meldung 1) | Meldende Person",
			"Status-Update 2 an exec, support: eine Person aus dem Einsatzteam (payments) rolled back the deploy. | Kommunikationsleitung",
			"Status in Untersuchung → behoben: eine Person aus dem Einsatzteam (payments) restarted the pool | Leitung des Vorfalls",
			"Ursache: A bad config. „Behoben“-E-Mail an exec, support gesendet; Nachbetrachtung zugesagt bis So., 8. März 13:00 UTC | Kommunikationsleitung",
			"2 Personen um Bestätigung der Behebung gebeten: 1 aus den Meldungen und 1 von der Bestätigungsliste | sitrep",
			"Eine meldende Person hat die Behebung bestätigt (1 Bestätigung bisher) | Meldende Person",
			"Nachbetrachtung ohne Schuldzuweisungen an exec gesendet | Kommunikationsleitung",
			`Alertmanager meldet "Checkout 5xx" um 14:05:09 UTC als erholt | `,
		},
		"ja": {
			"INC-1をSEV2として宣言：Checkout fails | インシデント責任者",
			"インシデントの役割を再割り当て | 広報担当",
			"重大度：SEV2 → SEV1 | 広報担当",
			`タイトル："Checkout fails" → "Checkout down" | 広報担当`,
			"Checkoutの対応メンバー1人に事前連絡を送信（payments） | sitrep",
			"報告者から問題の報告（1件目） | 報告者",
			"状況報告2（宛先：exec, support）：paymentsの対応メンバー rolled back the deploy. | 広報担当",
			"ステータス 調査中 → 解決済み：paymentsの対応メンバー restarted the pool | インシデント責任者",
			"根本原因：A bad config.「解決」メールをexec, supportに送信。振り返りレポートの期限は3月8日(日) 13:00（UTC） | 広報担当",
			"2人に修正の確認を依頼（問題を報告した1人、確認者リストの1人） | sitrep",
			"報告者が修正を確認（これまでに1件） | 報告者",
			"振り返りのまとめをexecに送信 | 広報担当",
			`Alertmanagerが14:05:09（UTC）に"Checkout 5xx"の回復を検知 | `,
		},
	}
	for lang, lines := range want {
		t.Run("lang="+lang, func(t *testing.T) {
			t.Parallel()
			entries := langRedactor(lang).timeline(langEvents())
			var got []string
			for _, e := range entries {
				got = append(got, e.What+" | "+e.Who)
			}
			if strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("shared timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(lines, "\n"))
			}
			desc := agenda(Shared{Incident: compose.IncidentView{ID: "INC-1", Title: "Checkout fails"}, Entries: entries}, newProse(lang))
			if lang == "" {
				if !strings.HasPrefix(desc, "Post-mortem of INC-1: Checkout fails\n\nAgenda:\n1. Review of the timeline (below)\n2. Issues: system and process failures (no names, no blame)\n3. Improvements: each with an owner and a due date\n\nTimeline (UTC):\n2026-03-06 13:00  Declared INC-1 SEV2: Checkout fails (incident lead)\n") ||
					!strings.HasSuffix(desc, "\nReply to the invitation email to add or correct an item.\n") {
					t.Errorf("English description changed:\n%s", desc)
				}
				return
			}
			for _, en := range englishProse(t, "postmortem_doc") {
				if strings.Contains(desc, en) {
					t.Errorf("English %q left in the %s description:\n%s", en, lang, desc)
				}
			}
		})
	}
	de := agenda(Shared{Incident: compose.IncidentView{ID: "INC-1", Title: "Checkout fails"}}, newProse("de"))
	if want := "Post-Mortem zu INC-1: Checkout fails\n\nTagesordnung:\n1. Durchsicht der Chronologie (unten)\n"; !strings.HasPrefix(de, want) || !strings.Contains(de, "Chronologie (UTC):\n") {
		t.Errorf("German description:\n%s", de)
	}
	ja := agenda(Shared{Incident: compose.IncidentView{ID: "INC-1", Title: "Checkout fails"}}, newProse("ja"))
	if want := "INC-1：Checkout failsのポストモーテム\n\n議題：\n1. タイムライン（下記）の確認\n"; !strings.HasPrefix(ja, want) || !strings.Contains(ja, "タイムライン（UTC）：\n") {
		t.Errorf("Japanese description:\n%s", ja)
	}
}
