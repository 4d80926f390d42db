package chat

import "time"

// SetReconnectMax shortens c's longest wait between reconnections, so that
// a test sees it back soon after its server is.
func SetReconnectMax(c *IRC, d time.Duration) { c.maxBackoff = d }

// SetBackoffMax shortens m's longest wait between tries of a failing
// target.
func SetBackoffMax(m *Mirror, d time.Duration) { m.maxBackoff = d }
