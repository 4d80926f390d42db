package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"

	"github.com/sitrep-dev/sitrep/internal/directory"
)

// memoryHeadroom is the least room the soft memory limit leaves above what
// the hub keeps (fitMemory): a 100,000-recipient update's expansion and
// queueing (~30 MB at once), or a password hash (argon2id, 64 MB, for as
// long as it takes), without collecting all the time.
const memoryHeadroom = 64 << 20

// memoryLimitFor is the soft memory limit for a hub whose live heap is
// live bytes: the live heap and as much again, at least memoryHeadroom.
// With the Go default (GOGC=100 and no limit) the heap grows to twice
// everything live at the last collection, the directory included, and an
// update in flight doubled a 100,000-person directory's 25 MB with it; the
// limit keeps the doubling for large heaps and bounds it for the small
// ones a directory makes (docs/benchmarks.md, issue 22).
func memoryLimitFor(live uint64) int64 {
	return int64(live + max(live, memoryHeadroom))
}

// fitMemory collects the garbage of a one-off piece of work (the start,
// a directory sync) and gives its pages back to the system now rather
// than over the next minutes, then sets the soft memory limit for the
// live heap left. An operator's GOMEMLIMIT (a size, or "off") is left as
// it is.
func fitMemory(logger *slog.Logger) {
	debug.FreeOSMemory()
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := s[0].Value.Uint64()
	limit := memoryLimitFor(live)
	debug.SetMemoryLimit(limit)
	if logger != nil {
		logger.Debug("soft memory limit", "live_mb", live>>20, "limit_mb", limit>>20)
	}
}

// liftMemoryLimit lifts the limit fitMemory set, for a directory sync: the
// previous directory and the new one are both live while the file is
// parsed, close to a limit fitted to one, and collecting the parse's
// garbage against it cost a reload of 100,000 people about a second of CPU
// more. fitMemory after the sync sets it again.
func liftMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// fittingGroups is the API's sync of groups.yaml, fitting the memory limit
// to the directory it leaves, as the start and SIGHUP do.
type fittingGroups struct {
	*directory.FileSync
	logger *slog.Logger
}

func (g fittingGroups) Sync(ctx context.Context) (*directory.SyncResult, error) {
	liftMemoryLimit()
	res, err := g.FileSync.Sync(ctx)
	fitMemory(g.logger)
	return res, err
}
