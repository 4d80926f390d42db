package incident

import (
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	if Percentile(nil, 50) != nil {
		t.Error("no values: no percentile")
	}
	for _, c := range []struct {
		values   []int64
		p50, p90 int64
	}{
		{[]int64{5}, 5, 5},
		{[]int64{720, 600}, 600, 720},
		{[]int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5, 9},
		{[]int64{60, 720, 960}, 720, 960},
	} {
		if got := *Percentile(c.values, 50); got != c.p50 {
			t.Errorf("median of %v = %d, want %d", c.values, got, c.p50)
		}
		if got := *Percentile(c.values, 90); got != c.p90 {
			t.Errorf("p90 of %v = %d, want %d", c.values, got, c.p90)
		}
	}
}

// A promise still open is pending until its time, then overdue (a miss
// by as much as so far); one the resolution comes after is missed by the
// resolution, one it comes before ended uncounted.
func TestOpenPromisesOnTheScorecard(t *testing.T) {
	at := func(hh, mm int) time.Time { return time.Date(2026, 5, 4, hh, mm, 0, 0, time.UTC) }
	update := func(id int64, when, next time.Time) Event {
		return Event{ID: id, At: when, Kind: EventUpdateQueued, Data: map[string]any{"next_update_at": next.Format(time.RFC3339Nano), "groups": []any{"exec"}}}
	}
	resolved := func(id int64, when time.Time) Event {
		return Event{ID: id, At: when, Kind: EventStateChanged, Data: map[string]any{"from": "investigating", "to": "resolved"}}
	}
	inc := &Incident{Ref: "INC-7", Severity: "SEV2", State: Investigating, DeclaredAt: at(14, 0)}
	events := []Event{{ID: 1, At: at(14, 0), Kind: EventDeclared}, update(2, at(14, 5), at(14, 30))}
	for _, c := range []struct {
		name     string
		state    State
		events   []Event
		now      time.Time
		outcome  string
		lateness int64
		kept     int
		missed   int
	}{
		{"before its time", Investigating, events, at(14, 20), PromisePending, 0, 0, 0},
		{"past its time", Identified, events, at(14, 40), PromiseOverdue, 600, 0, 1},
		{"resolved after it", Resolved, append(events, resolved(3, at(14, 45))), at(15, 0), PromiseMissed, 900, 0, 1},
		{"resolved before it", Resolved, append(events, resolved(3, at(14, 25))), at(15, 0), PromiseEnded, 0, 0, 0},
	} {
		in := *inc
		in.State = c.state
		sc := computeScorecard(scoreInput{inc: &in, events: c.events, now: c.now})
		if len(sc.Promises.List) != 1 {
			t.Fatalf("%s: %d promises", c.name, len(sc.Promises.List))
		}
		p := sc.Promises.List[0]
		if p.Outcome != c.outcome || p.Lateness != c.lateness || sc.Promises.Kept != c.kept || sc.Promises.Missed != c.missed {
			t.Errorf("%s: %s, lateness %d, %d kept, %d missed; want %s, %d, %d, %d", c.name, p.Outcome, p.Lateness,
				sc.Promises.Kept, sc.Promises.Missed, c.outcome, c.lateness, c.kept, c.missed)
		}
		if *sc.TimeToFirstUpdate != 300 || sc.TimeToHeadsUp != nil || len(sc.NotRecorded) != 2 {
			t.Errorf("%s: first update %v, heads-up %v, not recorded %v", c.name, *sc.TimeToFirstUpdate, sc.TimeToHeadsUp, sc.NotRecorded)
		}
	}
}
