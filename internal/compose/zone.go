package compose

import (
	"sync"
	"time"
)

var zones sync.Map // name → *time.Location

// Zone is the time zone of an IANA name, UTC for "" or an unknown name.
// Locations are cached: every copy of a message is rendered in its
// recipient's zone, and time.LoadLocation reads the zone database each
// time it is called.
func Zone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}
