package calendar

import (
	"strings"
	"time"
)

// SampleEvent is a post-mortem as the backends' tests book it: long, with
// commas, semicolons, a backslash and non-ASCII text, so that escaping
// (RFC 5545 3.3.11) and folding (3.1) both show, and with a room.
func SampleEvent() Event {
	start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	return Event{
		UID:      "pm-INC-42@sitrep.example.test",
		Sequence: 2,
		Summary:  "Post-mortem: INC-42, checkout errors",
		Description: "Agenda:\n1. Timeline; what happened, when\n2. Root cause \\ contributing factors\n" +
			"3. Issues and improvements, each with an owner — blameless, no names. " +
			strings.Repeat("Zeitleiste über Überlast; ", 8),
		Start:     start,
		End:       start.Add(time.Hour),
		Organizer: Attendee{Email: "facilitator@example.test", Name: "Fran Facilitator"},
		Attendees: []Attendee{
			{Email: "ana@example.test", Name: "Ana, SRE"},
			{Email: "exec@example.test", Name: `Eve "the boss" Exec`, Optional: true},
			{Email: "facilitator@example.test", Name: "Fran Facilitator"},
		},
		Room:      &Room{Email: "atlas@resource.example.test", Name: "Atlas", Building: "HQ", Floor: "3", Capacity: 8, Features: []string{"Whiteboard"}},
		VideoLink: "https://meet.example.test/abc-defg-hij",
	}
}
