package compose

import "time"

// KindMaintenance is one step of a planned maintenance window told to the
// groups of the systems it touches, all in the window's own thread
// (audience Maintenance): the announcement ahead of time, the note when
// it starts, the note when it ends, or the note that it was cancelled.
const KindMaintenance Kind = "maintenance"

// Maintenance is the audience of maintenance windows' threads. A window's
// thread Key is the negative of its change id, so that it can never be an
// incident's (incidents are keyed by their positive row id).
const Maintenance = "maintenance"

// Steps of a maintenance window, in MaintenanceData.Step.
const (
	MaintenanceAnnounced = "announced"
	MaintenanceStarted   = "started"
	MaintenanceEnded     = "ended"
	MaintenanceCancelled = "cancelled"
	// MaintenanceRescheduled: a window told about moved (OldStart, OldEnd
	// are the times told before).
	MaintenanceRescheduled = "rescheduled"
)

// MaintenanceData is for KindMaintenance.
type MaintenanceData struct {
	Ref     string // "MAINT-7"
	Title   string // plain text, as the calendar or the person declaring it wrote it
	Step    string // MaintenanceAnnounced, ...
	Systems []string
	Details string // plain text; may be several lines
	URL     string
	Start   time.Time
	End     time.Time
	// OldStart and OldEnd: the times told before a move (Step
	// MaintenanceRescheduled).
	OldStart time.Time
	OldEnd   time.Time
	Now      time.Time
	Zone     *time.Location
	// Audience is the group this copy goes to ("Customer service").
	Audience string
}

func (d *MaintenanceData) address(c Copy) { d.Zone, d.Audience = c.Zone, c.To }
