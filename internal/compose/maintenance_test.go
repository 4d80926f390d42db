package compose

import (
	"strings"
	"testing"
)

// TestMaintenanceStepsReadAsTheirReaderReadsThem renders each step of a
// window for a member of a notified group in New York (the sample's zone
// is CET): the times are in the reader's zone with UTC beside them, the
// first line says which step it is, and the group, not a person, is named.
func TestMaintenanceStepsReadAsTheirReaderReadsThem(t *testing.T) {
	r := newRenderer(t)
	ny := mustZone(t, "America/New_York")
	for step, want := range map[string][]string{
		MaintenanceAnnounced: {"Planned maintenance from Wed 4 Mar 2026 09:05 EST (14:05 UTC)", "Database upgrade is planned on checkout and payments from Wed 4 Mar 2026 09:05 EST (14:05 UTC) to Wed 4 Mar 2026 11:05 EST (16:05 UTC).", "may be slow or unavailable"},
		MaintenanceStarted:   {"Maintenance has started, until", "Database upgrade has started on checkout and payments"},
		MaintenanceEnded:     {"Maintenance ended at 09:05 EST (14:05 UTC)", "Database upgrade on checkout and payments has ended", "should work as usual again"},
		MaintenanceCancelled: {"Cancelled: the maintenance planned from Wed 4 Mar 2026 09:05 EST (14:05 UTC) will not take place", "is cancelled"},
	} {
		d := SampleData(KindMaintenance).(MaintenanceData)
		d.Step = step
		Address(&d, Copy{Name: "Lena Fischer", Zone: ny, To: "Customer service"})
		out, err := r.Render(KindMaintenance, &d)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if out.Subject != "[MAINT-7] Planned maintenance: Database upgrade" {
			t.Errorf("%s: subject %q", step, out.Subject)
		}
		text := strings.Join(strings.Fields(strings.ReplaceAll(out.Text, "*", "")), " ")
		first, _, _ := strings.Cut(out.Text, "\n")
		if !strings.Contains(first, want[0]) {
			t.Errorf("%s: first line %q, want %q", step, first, want[0])
		}
		for _, w := range want[1:] {
			if !strings.Contains(text, w) {
				t.Errorf("%s: text lacks %q:\n%s", step, w, out.Text)
			}
		}
		for _, w := range []string{"Sent to Customer service", "PostgreSQL 16 to 17.", "https://wiki.example.com/maint/7"} {
			if !strings.Contains(text, w) {
				t.Errorf("%s: text lacks %q", step, w)
			}
		}
		if strings.Contains(text, "Lena") || strings.Contains(text, "CET") {
			t.Errorf("%s: written for someone else's name or zone:\n%s", step, out.Text)
		}
	}
}

// TestMaintenanceInEveryLanguage: each catalog writes the window in its
// reader's words, never falling back to English.
func TestMaintenanceInEveryLanguage(t *testing.T) {
	r := newRenderer(t)
	for lang, want := range map[string]string{"de": "Geplante Wartung", "es": "Mantenimiento planificado", "fr": "Maintenance planifiée", "ja": "計画メンテナンス"} {
		for _, step := range []string{MaintenanceAnnounced, MaintenanceStarted, MaintenanceEnded, MaintenanceCancelled} {
			d := SampleData(KindMaintenance).(MaintenanceData)
			d.Step = step
			out, err := r.RenderIn(lang, KindMaintenance, &d)
			if err != nil {
				t.Fatalf("%s %s: %v", lang, step, err)
			}
			if !strings.Contains(out.Subject, want) {
				t.Errorf("%s %s: subject %q", lang, step, out.Subject)
			}
			for _, en := range []string{"planned", "started", "ended", "cancelled", "Sent to"} {
				if strings.Contains(out.Text, en) {
					t.Errorf("%s %s: English %q in:\n%s", lang, step, en, out.Text)
				}
			}
		}
	}
}
