package web

import (
	"testing"
	"time"
)

func TestHumanDurationAndCountdown(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 12 * time.Minute: "12m", 3*time.Hour + 5*time.Minute: "3h 05m",
		52 * time.Hour: "2d 4h", -90 * time.Second: "1m"} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if got := Countdown(now.Add(12*time.Minute), now); got != "due in 12m" {
		t.Errorf("a promise ahead: %q", got)
	}
	if got := Countdown(now.Add(-3*time.Minute), now); got != "overdue by 3m" {
		t.Errorf("a promise past: %q", got)
	}
}
