//go:build !race

package mailmsg

const raceEnabled = false
