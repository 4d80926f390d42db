package compose_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
)

func TestZone(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "No/Such_Zone", "../../etc/passwd"} {
		if got := compose.Zone(name); got != time.UTC {
			t.Errorf("Zone(%q) = %v, want UTC", name, got)
		}
	}
	berlin := compose.Zone("Europe/Berlin")
	if berlin.String() != "Europe/Berlin" {
		t.Fatalf("Zone(Europe/Berlin) = %v", berlin)
	}
	if _, off := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(berlin).Zone(); off != 2*3600 {
		t.Errorf("Berlin in July is UTC%+d s, want +7200", off)
	}
	if again := compose.Zone("Europe/Berlin"); again != berlin {
		t.Error("Zone loaded Europe/Berlin again instead of returning the cached one")
	}
}

// Renders run in parallel workers; run with -race.
func TestZoneConcurrent(t *testing.T) {
	t.Parallel()
	names := []string{"America/New_York", "Asia/Tokyo", "Australia/Adelaide", "", "Bad/Zone"}
	var wg sync.WaitGroup
	got := make([][]*time.Location, 16)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got[g] = got[g][:0]
				for _, n := range names {
					got[g] = append(got[g], compose.Zone(n))
				}
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for i, n := range names {
			if got[g][i].String() != got[0][i].String() {
				t.Fatalf("goroutine %d got %v for %q, goroutine 0 got %v", g, got[g][i], n, got[0][i])
			}
		}
	}
	if got[0][0].String() != "America/New_York" || got[0][3] != time.UTC || got[0][4] != time.UTC {
		t.Errorf("zones: %v", got[0])
	}
	// Once loaded, a zone comes from the cache.
	if compose.Zone("Asia/Tokyo") != compose.Zone("Asia/Tokyo") {
		t.Error("Zone loaded Asia/Tokyo again instead of returning the cached one")
	}
}
