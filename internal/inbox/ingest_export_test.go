package inbox

import "time"

// SetHooks lets the tests stop an ingester between fetching and storing
// (before) or between storing and acting (after), as a crash would.
func SetHooks(g *Ingester, before func(uids []uint32) error, after func(uids []uint32)) {
	g.beforeCommit, g.afterCommit = before, after
}

// SetBacklogHold shortens how long a backlog's act jobs wait at most.
func SetBacklogHold(g *Ingester, d time.Duration) { g.backlogHold = d }

// NestedMultipart builds issue 14's message of depth unclosed
// multipart/mixed levels.
func NestedMultipart(depth int) []byte { return nestedMultipart(depth, "") }
