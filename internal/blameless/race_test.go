//go:build race

package blameless

// raceEnabled: the race detector slows the lint five to ten times.
const raceEnabled = true
