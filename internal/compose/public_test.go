package compose

import (
	"strings"
	"testing"
)

// TestPublicStatusReadsAsACustomerReadsIt renders the public email for a
// customer in New York (the sample's zone is CET) who is not the person
// it is about: the public wording, the components and the public promise
// in the reader's zone; no name, no severity, no systems.
func TestPublicStatusReadsAsACustomerReadsIt(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindPublicStatus).(PublicStatusData)
	Address(&d, Copy{Name: "Lena Fischer", Zone: mustZone(t, "America/New_York"), To: "Example Corp status"})
	out, err := r.Render(KindPublicStatus, &d)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "[INC-42] Example Corp status: Checkout and Payments" {
		t.Errorf("subject %q", out.Subject)
	}
	text := strings.Join(strings.Fields(strings.ReplaceAll(out.Text, "*", "")), " ")
	for _, w := range []string{"Affected: Checkout and Payments", "Some customers cannot complete orders", "Next update by 10:05 EST (15:05 UTC)",
		"Sent by Example Corp status", "https://status.example.com/incidents/INC-42.html"} {
		if !strings.Contains(text, w) {
			t.Errorf("lacks %q:\n%s", w, out.Text)
		}
	}
	for _, never := range []string{"Lena", "CET", "SEV", "checkout-api"} {
		if strings.Contains(out.Text+out.HTML, never) {
			t.Errorf("shows %q:\n%s", never, out.Text)
		}
	}
	d.Components = nil
	if out, err = r.Render(KindPublicStatus, &d); err != nil || !strings.Contains(out.Subject, "Service disruption") {
		t.Errorf("without components: %q %v", out.Subject, err)
	}
}

// TestPublicStatusInEveryLanguage: each catalog writes it in its reader's
// words, never falling back to English.
func TestPublicStatusInEveryLanguage(t *testing.T) {
	r := newRenderer(t)
	for _, lang := range []string{"de", "es", "fr", "ja"} {
		d := SampleData(KindPublicStatus).(PublicStatusData)
		out, err := r.RenderIn(lang, KindPublicStatus, &d)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		for _, en := range []string{"Affected", "Next update", "Sent by", "Status page"} {
			if strings.Contains(out.Text, en) {
				t.Errorf("%s: English %q in:\n%s", lang, en, out.Text)
			}
		}
	}
}
