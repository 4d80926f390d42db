package incident_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// recordingMailer is the outbox with a window: it keeps the status data
// each update hands it, queued or previewed.
type recordingMailer struct {
	incident.Mailer
	mu   sync.Mutex
	data []compose.StatusData
}

func (m *recordingMailer) keep(o compose.Outgoing) {
	if d, ok := o.Data.(compose.StatusData); ok {
		m.mu.Lock()
		m.data = append(m.data, d)
		m.mu.Unlock()
	}
}

func (m *recordingMailer) Queue(ctx context.Context, tx *sql.Tx, o compose.Outgoing) (*compose.Message, error) {
	m.keep(o)
	return m.Mailer.Queue(ctx, tx, o)
}

func (m *recordingMailer) Preview(ctx context.Context, o compose.Outgoing, subject string) ([]compose.Preview, int, error) {
	m.keep(o)
	return m.Mailer.Preview(ctx, o, subject)
}

func (m *recordingMailer) last(t *testing.T) compose.StatusData {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.data) == 0 {
		t.Fatal("no status data reached the mailer")
	}
	return m.data[len(m.data)-1]
}

// Issue 18: the lead's own translations travel with the update to the
// email (StatusData.Translations, by canonical tag), are kept on the
// timeline beside the status, and a dry run previews them too.
func TestUpdateTranslationsReachTheEmail(t *testing.T) {
	t.Parallel()
	h := newCommsHarness(t)
	rec := &recordingMailer{Mailer: h.outbox}
	h.comms.Mail = rec
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2",
		Roles: incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	in := incident.UpdateInput{Status: "Checkout fails for some EU customers.", Groups: []string{"exec"}, DryRun: true,
		Translations: map[string]string{"de": "  Der Checkout schlägt für einige Kunden in der EU fehl.\n", "ja": "一部のEUのお客様で決済ができません。",
			"fr-ca": "Le paiement échoue pour certains clients de l'UE."}}
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, in); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"de": "Der Checkout schlägt für einige Kunden in der EU fehl.", "ja": "一部のEUのお客様で決済ができません。",
		"fr-CA": "Le paiement échoue pour certains clients de l'UE."}
	if got := rec.last(t).Translations; !equalMaps(got, want) {
		t.Errorf("dry run: translations %v, want %v", got, want)
	}
	in.DryRun = false
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, in); err != nil {
		t.Fatal(err)
	}
	d := rec.last(t)
	if !equalMaps(d.Translations, want) || d.Status != in.Status {
		t.Errorf("send: status %q, translations %v; want the original and %v", d.Status, d.Translations, want)
	}
	// The recipient who reads German gets the German text; one who reads
	// Spanish (no translation) the original.
	de, es := d, d
	compose.Address(&de, compose.Copy{Language: "de-CH"})
	compose.Address(&es, compose.Copy{Language: "es"})
	if de.Status != want["de"] || es.Status != in.Status {
		t.Errorf("addressed: de-CH gets %q, es gets %q", de.Status, es.Status)
	}
	events, err := h.incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range events {
		if ev.Kind != incident.EventUpdateQueued {
			continue
		}
		found = true
		ts, _ := ev.Data["translations"].(map[string]any)
		if ts["de"] != want["de"] || ts["ja"] != want["ja"] || ts["fr-CA"] != want["fr-CA"] || len(ts) != 3 {
			t.Errorf("the timeline keeps %v as the translations", ev.Data["translations"])
		}
	}
	if !found {
		t.Fatal("no update on the timeline")
	}
}

// Issue 18: a translation is checked as the status is, and a tag sitrep
// does not write in is refused naming the ones it does.
func TestUpdateTranslationsRefused(t *testing.T) {
	t.Parallel()
	h := newCommsHarness(t)
	rec := &recordingMailer{Mailer: h.outbox}
	h.comms.Mail = rec
	ctx := context.Background()
	inc, err := h.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout down", Severity: "SEV2",
		Roles: incident.Roles{IncidentLead: "lead@x.test", CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		status       string
		translations map[string]string
		field, want  string
	}{
		{"unsupported language", "Down.", map[string]string{"pt-BR": "Fora do ar."}, "translations", `"pt-BR" is not a language sitrep writes in; give one of en, de, es, fr, ja`},
		{"not a tag", "Down.", map[string]string{"German": "Ausfall."}, "translations", "give one of en, de, es, fr, ja"},
		{"empty", "Down.", map[string]string{"de": " \n"}, "translations.de", "must not be empty"},
		{"too long", "Down.", map[string]string{"ja": strings.Repeat("あ", 7000)}, "translations.ja", "at most 20000"},
		{"control character", "Down.", map[string]string{"fr": "Panne\x07."}, "translations.fr", "U+0007"},
		{"the same language twice", "Down.", map[string]string{"de": "Ausfall.", "DE": "Störung."}, "translations.de", "given twice"},
		{"a holding update without a status", "", map[string]string{"de": "Keine Änderung."}, "translations", "give the status text too"},
	} {
		_, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: tc.status, Holding: tc.status == "",
			Groups: []string{"exec"}, Translations: tc.translations})
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != tc.field || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: got %v, want %s: …%s…", tc.name, err, tc.field, tc.want)
		}
	}
	if len(rec.data) != 0 {
		t.Errorf("a refused update reached the mailer: %+v", rec.data)
	}
	// English, the default language, may have one (an update written in
	// another language); one that repeats the original is dropped.
	if _, err := h.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Störung im Checkout.", DryRun: true,
		Groups: []string{"exec"}, Translations: map[string]string{"en": "Checkout is down.", "de": "Störung im Checkout."}}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).Translations; !equalMaps(got, map[string]string{"en": "Checkout is down."}) {
		t.Errorf("translations %v, want English alone", got)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
