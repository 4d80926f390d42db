package incident

import (
	"testing"
	"time"
)

// The promised time is shown as a clock time, so it falls on a minute, and
// it is never shorter than the interval asked for (issue 17: "--next 2m"
// at 04:04:59 promised 04:06:00, a second more than a minute).
func TestPromiseIsNeverShorterThanAsked(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05.000", "2026-12-06 "+s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		now  string
		d    time.Duration
		want time.Time
	}{
		{"04:04:59.000", 2 * time.Minute, at("04:07:00.000")},
		{"04:04:00.000", 2 * time.Minute, at("04:06:00.000")},
		{"04:04:00.001", 30 * time.Minute, at("04:35:00.000")},
		{"23:59:30.000", time.Minute, at("00:01:00.000").AddDate(0, 0, 1)},
	} {
		got := promiseAt(at(tc.now), tc.d)
		if !got.Equal(tc.want) {
			t.Errorf("%s + %s = %s, want %s", tc.now, tc.d, got, tc.want)
		}
		if ahead := got.Sub(at(tc.now)); ahead < tc.d {
			t.Errorf("%s + %s promised only %s ahead", tc.now, tc.d, ahead)
		}
	}
}
