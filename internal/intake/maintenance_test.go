package intake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
)

// withWindow gives the harness's intake the real planned-maintenance
// service on its database, with "Database upgrade" on checkout from an
// hour before now to an hour after (now is the alert's arrival).
func withWindow(t *testing.T, h *harness, suppress bool) {
	t.Helper()
	ctx := context.Background()
	log := &changes.Service{DB: h.svc.DB, Incidents: h.incidents, Now: clock}
	end := now.Add(time.Hour)
	if _, _, err := log.Record(ctx, changes.Input{Source: "ics", ExternalID: "db-upgrade", Kind: changes.Maintenance,
		Summary: "Database upgrade", Systems: []string{"checkout"}, At: now.Add(-time.Hour), End: &end}); err != nil {
		t.Fatal(err)
	}
	h.svc.Maintenance = &maintenance.Service{DB: h.svc.DB, Changes: log, Now: clock}
	h.svc.SuppressDuringMaintenance = suppress
}

func genericAlert(key, system string) []byte {
	return []byte(fmt.Sprintf(`{"key": %q, "status": "firing", "title": "%s failing", "system": %q, "started_at": "2026-11-24T14:30:00Z"}`, key, system, system))
}

func (h *harness) noted(id int64) bool {
	h.notes.mu.Lock()
	defer h.notes.mu.Unlock()
	for _, j := range h.notes.jobs {
		if j.DraftID == id {
			return true
		}
	}
	return false
}

// TestAlertDuringMaintenanceIsMarked: the checkout alert opens a draft
// marked with the window, in its detail (which the note shows) too, and
// the comms lead is told as usual; an alert on another system is not
// marked.
func TestAlertDuringMaintenanceIsMarked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	withWindow(t, h, false)
	r, err := h.svc.Receive(ctx, intake.Generic, bearer(), nil, genericAlert("checkout-5xx", "checkout"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.svc.Receive(ctx, intake.Generic, bearer(), nil, genericAlert("login", "identity"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Created) != 1 || len(r.Suppressed) != 0 || len(other.Created) != 1 {
		t.Fatalf("receipts %+v and %+v", r, other)
	}
	d, err := h.svc.Get(ctx, intake.FormatID(r.Created[0]))
	if err != nil {
		t.Fatal(err)
	}
	if d.Maintenance != "Database upgrade" || d.Suppressed || !strings.HasPrefix(d.Detail, "During planned maintenance: Database upgrade.") {
		t.Errorf("draft during the window: maintenance %q, suppressed %v, detail %q", d.Maintenance, d.Suppressed, d.Detail)
	}
	if !h.noted(d.ID) {
		t.Error("a marked draft's comms lead was not told")
	}
	o, err := h.svc.Get(ctx, intake.FormatID(other.Created[0]))
	if err != nil {
		t.Fatal(err)
	}
	if o.Maintenance != "" || strings.Contains(o.Detail, "maintenance") {
		t.Errorf("identity's draft is marked: %q %q", o.Maintenance, o.Detail)
	}
}

// TestAlertDuringMaintenanceSuppressedIsStillRecorded: with alerts:
// suppress nobody is told, but the draft is stored, listed and says why;
// the same alert still firing after the window tells the comms lead then.
func TestAlertDuringMaintenanceSuppressedIsStillRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	withWindow(t, h, true)
	r, err := h.svc.Receive(ctx, intake.Generic, bearer(), nil, genericAlert("checkout-5xx", "checkout"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Created) != 1 || len(r.Suppressed) != 1 || r.Suppressed[0] != r.Created[0] {
		t.Fatalf("receipt %+v, want one new draft, suppressed", r)
	}
	id := r.Created[0]
	if h.noted(id) {
		t.Error("a suppressed draft's comms lead was told")
	}
	list, err := h.svc.List(ctx, intake.StateDraft, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || !list[0].Suppressed || list[0].Maintenance != "Database upgrade" {
		t.Fatalf("open drafts %+v, want the suppressed one, marked", list)
	}

	// The window is over (an hour after now) and the alert fires again.
	later := now.Add(2 * time.Hour)
	h.svc.Now = func() time.Time { return later }
	r2, err := h.svc.Receive(ctx, intake.Generic, bearer(), nil, genericAlert("checkout-5xx", "checkout"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Attached) != 1 || r2.Attached[0] != id || len(r2.Suppressed) != 0 {
		t.Fatalf("after the window: %+v", r2)
	}
	d, err := h.svc.Get(ctx, intake.FormatID(id))
	if err != nil {
		t.Fatal(err)
	}
	if d.Suppressed || !h.noted(id) {
		t.Errorf("still firing after the window: suppressed %v, told %v; want told", d.Suppressed, h.noted(id))
	}
}
