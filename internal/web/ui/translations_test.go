package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Issue 18: the compose form's "Add a translation", as a plain form (no
// JavaScript): choosing a language and pressing Add renders the page
// again with a textarea for it, the text kept; sending passes the written
// translations to the update (an empty box sends the original) and the
// timeline shows them; a refused one marks its box.
func TestUIComposeTranslations(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declare("Checkout down")
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/" + inc.Ref)
	for _, want := range []string{`<summary>Add a translation`, `<select id="add_translation" name="add_translation"`,
		`<option value="de">German (Deutsch)</option>`, `<option value="ja">Japanese (日本語)</option>`, `<option value="en">English</option>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the compose form lacks %s", want)
		}
	}
	if strings.Contains(page, `name="translation_`) {
		t.Error("no translation box until a language is added")
	}
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(page)[1]

	// Add German, then Japanese: each Add is a post to the preview, which
	// renders the whole page again with the boxes and the text typed.
	form := url.Values{"csrf": {lead.csrf}, "idempotency_key": {key}, "status": {"Card payments fail in the EU."}, "groups": {"exec"},
		"add_translation": {"de"}, "add": {"translation"}}
	resp := lead.post("/incidents/"+inc.Ref+"/preview", form)
	page = body(resp)
	if resp.StatusCode != 200 || !strings.Contains(page, `<textarea id="translation-de" name="translation_de" lang="de"`) ||
		!strings.Contains(page, `<label for="translation-de">German (Deutsch)`) || strings.Contains(page, `<option value="de">`) ||
		!strings.Contains(page, `<details class="translations" id="translations" open>`) {
		t.Fatalf("after adding German: %d\n%s", resp.StatusCode, page)
	}
	form.Set("translation_de", "Kartenzahlungen schlagen in der EU fehl.")
	form.Set("add_translation", "ja")
	page = body(lead.post("/incidents/"+inc.Ref+"/preview", form))
	if !strings.Contains(page, `name="translation_de" lang="de" rows="4" >Kartenzahlungen schlagen in der EU fehl.</textarea>`) ||
		!strings.Contains(page, `name="translation_ja"`) || !strings.Contains(page, "Executives") {
		t.Fatalf("after adding Japanese, the German text and the preview must stay:\n%s", page)
	}
	for _, tag := range unlabelledInputs(page) {
		t.Errorf("%s has no label", tag)
	}
	// The live preview (app.js's fetch) takes the form as it is.
	resp = lead.post("/incidents/"+inc.Ref+"/preview", form, fetchHeader, "fetch", "X-CSRF-Token", lead.csrf)
	if frag := body(resp); resp.StatusCode != 200 || !strings.Contains(frag, "1 recipients") {
		t.Fatalf("live preview with translations: %d\n%s", resp.StatusCode, frag)
	}

	// A control character in a translation: refused, its box marked, the
	// form kept.
	bad := url.Values{"csrf": {lead.csrf}, "idempotency_key": {key}, "status": {"Card payments fail in the EU."}, "groups": {"exec"},
		"translation_de": {"Kartenzahlungen\x07"}, "translation_ja": {""}}
	resp = lead.post("/incidents/"+inc.Ref+"/updates", bad)
	page = body(resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `name="translation_de" lang="de" rows="4" aria-invalid="true"`) ||
		!strings.Contains(page, "the de translation contains U&#43;0007") {
		t.Fatalf("a bad translation: %d\n%s", resp.StatusCode, page)
	}

	// Send: German written, Japanese left empty (its readers get the original).
	form.Del("add_translation")
	form.Del("add")
	form.Set("translation_ja", "  ")
	resp = lead.post("/incidents/"+inc.Ref+"/updates", form)
	body(resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send with a translation: %d", resp.StatusCode)
	}
	events, err := e.incidents.Timeline(context.Background(), inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued {
			got, _ = ev.Data["translations"].(map[string]any)
		}
	}
	if len(got) != 1 || got["de"] != "Kartenzahlungen schlagen in der EU fehl." {
		t.Errorf("the update's translations: %v, want German alone", got)
	}
	_, page = lead.get("/incidents/" + inc.Ref)
	if !strings.Contains(page, `<div class="text reply" lang="de"><span class="hint">German (Deutsch):</span> Kartenzahlungen schlagen in der EU fehl.</div>`) {
		t.Error("the timeline does not show the translation beside the status")
	}
}

// Issue 18: the outbox may preview a group once per language its
// members read; each preview is labelled with its language, and the
// groups are counted once.
func TestUIPreviewPerLanguage(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	pd := &previewData{Result: &incident.UpdateResult{DryRun: true, Recipients: 3, NextUpdateAt: time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC),
		Previews: []compose.Preview{
			{Group: "exec", Language: "en", Recipients: 2, Zones: map[string]int{"UTC": 2}, Headers: map[string]string{"To": "Executives"}, Text: "Card payments fail."},
			{Group: "exec", Language: "de", Recipients: 1, Zones: map[string]int{"Europe/Berlin": 1}, Headers: map[string]string{"To": "Executives"}, Text: "Kartenzahlungen schlagen fehl."},
		}}}
	w := httptest.NewRecorder()
	if err := e.s.renderFragment(w, 200, "incident", "preview", viewer{}, pd); err != nil {
		t.Fatal(err)
	}
	frag := w.Body.String()
	for _, want := range []string{"in 1 group (2 emails: one per group and language)", `aria-label="Preview for exec in German (Deutsch)" lang="de"`,
		"exec · German (Deutsch) · 1 recipient", "exec · English · 2 recipients", "Kartenzahlungen schlagen fehl."} {
		if !strings.Contains(frag, want) {
			t.Errorf("the preview lacks %q:\n%s", want, frag)
		}
	}
	// An audience that reads English alone (or previews without a
	// language): no label.
	pd.Result.Previews = []compose.Preview{{Group: "exec", Language: "en", Recipients: 1, Zones: map[string]int{"UTC": 1}}}
	w = httptest.NewRecorder()
	if err := e.s.renderFragment(w, 200, "incident", "preview", viewer{}, pd); err != nil {
		t.Fatal(err)
	}
	if frag := w.Body.String(); !strings.Contains(frag, "in 1 group;") || !strings.Contains(frag, `aria-label="Preview for exec" lang="en">`) || strings.Contains(frag, "English") {
		t.Errorf("a preview without a language:\n%s", frag)
	}
}
