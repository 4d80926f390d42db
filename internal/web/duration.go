package web

import (
	"fmt"
	"time"
)

// HumanDuration says a duration the way a person would: 45s, 12m, 3h 05m,
// 2d 4h. The UI and the public status page both say it so.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// Countdown is the time from now to a promise, as a page writes it before
// its script keeps it ticking: "due in 12m", "overdue by 3m".
func Countdown(due, now time.Time) string {
	d := due.Sub(now)
	if d < 0 {
		return "overdue by " + HumanDuration(-d)
	}
	return "due in " + HumanDuration(d)
}
