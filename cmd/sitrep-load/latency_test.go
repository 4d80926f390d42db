package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 20; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 10 * time.Millisecond}, {95, 19 * time.Millisecond}, {100, 20 * time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v of 1..20 ms = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 95); got != 0 {
		t.Errorf("p95 of nothing = %v", got)
	}
	if got := percentile(d[:1], 95); got != time.Millisecond {
		t.Errorf("p95 of one = %v", got)
	}
}

func TestScheduleStaggersIncidents(t *testing.T) {
	s := schedule(20, time.Minute, 3*time.Minute)
	if len(s) != 60 {
		t.Fatalf("%d updates, want 60", len(s))
	}
	for i, sl := range s {
		if want := time.Duration(i) * 3 * time.Second; sl.at != want {
			t.Fatalf("update %d at %v, want %v", i, sl.at, want)
		}
		if sl.incident != i%20 || sl.round != i/20 {
			t.Fatalf("update %d is incident %d round %d", i, sl.incident, sl.round)
		}
	}
	if s := schedule(0, time.Minute, time.Minute); s != nil {
		t.Errorf("no incidents: %v", s)
	}
}

func TestIncidentAudiencesOverlapWithinBounds(t *testing.T) {
	a, err := incidentAudiences(10000, 20, 50, 500)
	if err != nil {
		t.Fatal(err)
	}
	for k, g := range a {
		if len(g) < 50 || len(g) > 500 {
			t.Errorf("group %d has %d people", k, len(g))
		}
	}
	shared := 0
	for k := 1; k < len(a); k++ {
		in := map[int]bool{}
		for _, i := range a[k-1] {
			in[i] = true
		}
		for _, i := range a[k] {
			if in[i] {
				shared++
				break
			}
		}
	}
	if shared == 0 {
		t.Error("no two neighbouring groups share anyone: the fan-outs would not overlap")
	}
	if _, err := incidentAudiences(100, 2, 50, 500); err == nil {
		t.Error("groups of up to 500 from 100 people: no error")
	}
}

func TestExactlyOnceMatchesAnUpdatesCopies(t *testing.T) {
	want := []string{"a@x", "b@x", "c@x"}
	// Two languages' Message-IDs of one update add up to one copy each.
	msgs := byMessage(map[string][]string{"a@x": {"<en>"}, "b@x": {"<de>", "<other>"}, "c@x": {"<en>"}})
	if err := exactlyOnce(want, merged(msgs, []string{"<en>", "<de>"})); err != nil {
		t.Errorf("everyone once: %v", err)
	}
	for name, got := range map[string]map[string]int{
		"missing": {"a@x": 1, "b@x": 1},
		"twice":   {"a@x": 1, "b@x": 2, "c@x": 1},
		"stray":   {"a@x": 1, "b@x": 1, "c@x": 1, "d@x": 1},
	} {
		err := exactlyOnce(want, got)
		if err == nil || !strings.Contains(err.Error(), "NOT exactly once") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStripTraceKeepsTheMessage(t *testing.T) {
	raw := "Return-Path: <s@x>\nDelivered-To: a@x\nReceived: from h\n\tby p; date\nReceived: from q\nFrom: s@x\nReceived-By: kept\nSubject: hi\n\nbody\n"
	if got, want := string(stripTrace([]byte(raw))), "From: s@x\nReceived-By: kept\nSubject: hi\n\nbody\n"; got != want {
		t.Errorf("stripTrace = %q, want %q", got, want)
	}
}
