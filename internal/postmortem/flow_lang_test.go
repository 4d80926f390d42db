package postmortem_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// One calendar object goes to every attendee: its title and description
// are in the organisation's language.
func TestCalendarEventInTheOrganisationsLanguage(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		summary string
		desc    []string
	}{
		"ja": {"ポストモーテム：INC-1 Checkout unavailable", []string{"INC-1：Checkout unavailableのポストモーテム\n\n議題：\n1. タイムライン（下記）の確認\n",
			"タイムライン（UTC）：\n", "INC-1をSEV1として宣言：Checkout unavailable（広報担当）", "ステータス 調査中 → 解決済み：rolled back（インシデント責任者）", "ステータス 解決済み → ポストモーテム：ポストモーテムを予約（広報担当）", "招待メールに返信してください。"}},
		"de": {"Post-Mortem: INC-1 Checkout unavailable", []string{"Post-Mortem zu INC-1: Checkout unavailable\n\nTagesordnung:\n",
			"Status in Untersuchung → behoben: rolled back (Leitung des Vorfalls)", "Status behoben → Post-Mortem: Post-Mortem gebucht (Kommunikationsleitung)", "Antworten Sie auf die Einladungs-E-Mail"}},
	}
	for lang, c := range cases {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{})
			h.svc.Language = lang
			ctx := context.Background()
			inc := h.resolved(t)
			if _, err := h.svc.Book(ctx, "vp@example.test", inc.Ref, postmortem.BookInput{Auto: true}); err != nil {
				t.Fatal(err)
			}
			pm := h.waitState(t, inc.Ref, postmortem.StateBooked)
			ev, err := h.svc.EventByUID(ctx, pm.UID)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Summary != c.summary {
				t.Errorf("SUMMARY %q, want %q", ev.Summary, c.summary)
			}
			for _, want := range c.desc {
				if !strings.Contains(ev.Description, want) {
					t.Errorf("DESCRIPTION lacks %q:\n%s", want, ev.Description)
				}
			}
			for _, en := range []string{"Post-mortem of", "Agenda:", "Timeline (UTC)", "Declared INC-1", "State investigating", "Reply to the invitation", "post-mortem booked"} {
				if strings.Contains(ev.Description, en) {
					t.Errorf("DESCRIPTION has English %q:\n%s", en, ev.Description)
				}
			}
		})
	}
}
