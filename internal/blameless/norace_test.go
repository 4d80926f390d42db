//go:build !race

package blameless

const raceEnabled = false
