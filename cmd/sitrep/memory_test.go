package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestMemoryLimit: without GOMEMLIMIT the hub sets a soft limit of its
// live heap and as much again, at least 64 MiB above it; an operator's
// GOMEMLIMIT, "off" included, is left as it is.
func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{10 << 20, 74 << 20},   // a small directory: the headroom
		{36 << 20, 100 << 20},  // 100,000 people
		{300 << 20, 600 << 20}, // a heap larger than the headroom: doubled, as GOGC=100 would
	} {
		if got := memoryLimitFor(c.live); got != c.want {
			t.Errorf("memoryLimitFor(%d MiB) = %d MiB, want %d MiB", c.live>>20, got>>20, c.want>>20)
		}
	}

	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	const operators = 777 << 20
	t.Setenv("GOMEMLIMIT", "off")
	debug.SetMemoryLimit(operators)
	fitMemory(nil)
	if got := debug.SetMemoryLimit(-1); got != operators {
		t.Errorf("with GOMEMLIMIT set the limit became %d MiB", got>>20)
	}
	os.Unsetenv("GOMEMLIMIT") // restored by t.Setenv's cleanup
	debug.SetMemoryLimit(math.MaxInt64)
	fitMemory(nil)
	if got := debug.SetMemoryLimit(-1); got == math.MaxInt64 || got < memoryHeadroom {
		t.Errorf("without GOMEMLIMIT the limit is %d MiB, want the live heap and at least 64 MiB more", got>>20)
	}
}
