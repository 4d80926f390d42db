package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// UpdateInput is a status update as the comms lead writes it.
type UpdateInput struct {
	Status string `json:"status"` // Markdown
	// Next is the interval to the next update ("30m"); NextAt an explicit
	// time. Neither: the severity's default cadence.
	Next   string     `json:"next,omitempty"`
	NextAt *time.Time `json:"next_at,omitempty"`
	// Groups overrides the status audience.
	Groups         []string `json:"groups,omitempty"`
	DryRun         bool     `json:"dry_run,omitempty"`
	Holding        bool     `json:"holding,omitempty"`
	IdempotencyKey string   `json:"idempotency_key,omitempty"`
}

// Preview is what one group's members receive, for --dry-run and the UI.
type Preview struct {
	Group      string            `json:"group"`
	Recipients int               `json:"recipients"`
	Zones      map[string]int    `json:"zones"` // recipients per time zone
	Headers    map[string]string `json:"headers"`
	Subject    string            `json:"subject"`
	Text       string            `json:"text"`
	HTML       string            `json:"html"`
	Raw        string            `json:"raw,omitempty"`
}

// UpdateResult says what was (or would be) sent.
type UpdateResult struct {
	Message      *Message  `json:"message,omitempty"`
	DryRun       bool      `json:"dry_run"`
	Previews     []Preview `json:"previews,omitempty"`
	Recipients   int       `json:"recipients"`
	NextUpdateAt time.Time `json:"next_update_at"`
}

const maxStatusBytes = 20000

// SendUpdate validates and queues a status update to the stakeholder
// thread, and books it against the next-update promise. With DryRun it
// only says what each group would receive.
func (o *Outbox) SendUpdate(ctx context.Context, actor, ref string, in UpdateInput) (*UpdateResult, error) {
	inc, err := o.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	status := strings.TrimSpace(in.Status)
	if in.Holding && status == "" {
		status = "No change since the last update; we are still working on it."
	}
	if status == "" {
		return nil, errs.InvalidField("status", "must not be empty: say what is known now")
	}
	if len(status) > maxStatusBytes {
		return nil, errs.InvalidField("status", "is %d bytes; at most %d (a status email reads in ten seconds)", len(status), maxStatusBytes)
	}
	if err := errs.CheckBlock("status", status, maxStatusBytes, true); err != nil {
		return nil, err
	}
	if !inc.State.Active() {
		return nil, errs.E(errs.Conflict, "%s is %s: status updates are for active incidents", inc.Ref, inc.State)
	}
	now := o.now()
	next, err := o.nextUpdateAt(inc, in, now)
	if err != nil {
		return nil, err
	}
	d := o.Directory.Current()
	groups := in.Groups
	if len(groups) == 0 {
		groups = d.Audience(directory.KindStatus)
	}
	for i, g := range groups {
		groups[i] = strings.ToLower(strings.TrimSpace(g))
		if _, ok := d.Group(groups[i]); !ok {
			return nil, errs.InvalidField("groups", "unknown group %q", g)
		}
	}
	if len(groups) == 0 {
		return nil, errs.InvalidField("groups", "no audience: name groups or configure audiences.status")
	}
	number, err := o.updateCount(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	data := compose.StatusData{Incident: o.View(inc), Status: status, NextUpdateAt: next, Holding: in.Holding, Now: now, UpdateNumber: number + 1}
	data.Incident.ThreadTitle = o.threadTitle(ctx, inc)
	data.Incident.Reports = o.reportsLine(ctx, o.DB, inc)
	req := Request{Incident: inc, Kind: compose.KindStatus, Audience: Stakeholders, Groups: groups, Data: data,
		NextUpdateAt: &next, Actor: actor, IdempotencyKey: in.IdempotencyKey}

	if in.DryRun {
		return o.preview(ctx, req, next)
	}
	var msg *Message
	err = o.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if msg, err = o.Queue(ctx, tx, req); err != nil {
			return err
		}
		if err := o.Incidents.RecordUpdateSent(ctx, tx, inc.ID, now, &next); err != nil {
			return err
		}
		text := fmt.Sprintf("Status update %d to %s (%d recipients); next update by %s UTC", number+1, strings.Join(groups, ", "), msg.Total, next.Format("15:04"))
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, incident.EventUpdateQueued, actor, text,
			map[string]any{"message": msg.ID, "status": status, "next_update_at": next, "groups": groups, "holding": in.Holding})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &UpdateResult{Message: msg, Recipients: msg.Total, NextUpdateAt: next}, nil
}

func (o *Outbox) nextUpdateAt(inc *incident.Incident, in UpdateInput, now time.Time) (time.Time, error) {
	switch {
	case in.NextAt != nil && in.Next != "":
		return time.Time{}, errs.InvalidField("next", "give next or next_at, not both")
	case in.NextAt != nil:
		t := in.NextAt.UTC()
		if !t.After(now) {
			return time.Time{}, errs.InvalidField("next_at", "%s is in the past", t.Format(time.RFC3339))
		}
		if t.Sub(now) > 7*24*time.Hour {
			return time.Time{}, errs.InvalidField("next_at", "more than a week away")
		}
		return t, nil
	case in.Next != "":
		d, err := time.ParseDuration(in.Next)
		if err != nil {
			return time.Time{}, errs.InvalidField("next", "want a duration like 30m or 1h, got %q", in.Next)
		}
		if d < time.Minute || d > 7*24*time.Hour {
			return time.Time{}, errs.InvalidField("next", "want between 1m and a week, got %s", d)
		}
		return now.Add(d).Truncate(time.Minute), nil
	default:
		d := 30 * time.Minute
		if o.Cadence != nil {
			d = o.Cadence(string(inc.Severity))
		}
		return now.Add(d).Truncate(time.Minute), nil
	}
}

func (o *Outbox) updateCount(ctx context.Context, incidentID int64) (int, error) {
	var n int
	err := o.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE incident_id = $1 AND kind = 'status'`, incidentID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("outbox: update count: %w", err)
	}
	return n, nil
}

// threadTitle is the title the stakeholder thread started with, so a
// renamed incident keeps one thread.
func (o *Outbox) threadTitle(ctx context.Context, inc *incident.Incident) string {
	var subject string
	if err := o.DB.QueryRowContext(ctx, `SELECT subject FROM threads WHERE incident_id = $1 AND audience = $2`, inc.ID, Stakeholders).Scan(&subject); err != nil {
		return inc.Title
	}
	return strings.TrimSpace(strings.TrimPrefix(subject, "["+inc.Ref+"]"))
}

// preview renders each group's copy without storing anything.
func (o *Outbox) preview(ctx context.Context, req Request, next time.Time) (*UpdateResult, error) {
	d := o.Directory.Current()
	res := &UpdateResult{DryRun: true, NextUpdateAt: next}
	seen := map[string]bool{}
	for _, g := range req.Groups {
		recipients, err := d.Expand(g)
		if err != nil {
			return nil, err
		}
		p := Preview{Group: g, Zones: map[string]int{}}
		for _, r := range recipients {
			z := r.TimeZone
			if z == "" {
				z = "UTC"
			}
			p.Zones[z]++
			if !seen[r.Email] {
				seen[r.Email] = true
				p.Recipients++
			}
		}
		res.Recipients += p.Recipients
		if len(recipients) == 0 {
			res.Previews = append(res.Previews, p)
			continue
		}
		// The most common zone of the group stands for it in the preview.
		zones := make([]string, 0, len(p.Zones))
		for z := range p.Zones {
			zones = append(zones, z)
		}
		sort.Slice(zones, func(i, j int) bool {
			return p.Zones[zones[i]] > p.Zones[zones[j]] || (p.Zones[zones[i]] == p.Zones[zones[j]] && zones[i] < zones[j])
		})
		sample := recipients[0]
		for _, r := range recipients {
			if r.TimeZone == zones[0] || (zones[0] == "UTC" && r.TimeZone == "") {
				sample = r
				break
			}
		}
		snapshot := mustJSON(req.Data)
		display := g
		if gr, ok := d.Group(g); ok && gr.DisplayName != "" {
			display = gr.DisplayName
		}
		rendered, err := o.render(req.Kind, []byte(snapshot), sample, display)
		if err != nil {
			return nil, err
		}
		subject := compose.ThreadSubject(req.Incident.Ref, o.threadTitle(ctx, req.Incident))
		p.Subject, p.Text, p.HTML = subject, rendered.Text, rendered.HTML
		fromName, fromAddr := o.fromAddress()
		p.Headers = map[string]string{
			"From":     fmt.Sprintf("%s <%s>", fromName, fromAddr),
			"To":       display + ":;",
			"Reply-To": o.ReplyTo(req.Incident),
			"Subject":  subject,
			"List-Id":  fmt.Sprintf("%s %s <%s.%s.%s>", req.Incident.Ref, Stakeholders, strings.ToLower(req.Incident.Ref), Stakeholders, o.Domain),
		}
		res.Previews = append(res.Previews, p)
	}
	return res, nil
}

// QueueHeadsUp sends the guide's heads-up to the responders of the
// suspected systems, in its own thread. It runs in the declaring
// transaction (incident.DeclareHook). No suspected system: nothing to send.
func (o *Outbox) QueueHeadsUp(ctx context.Context, tx *sql.Tx, inc *incident.Incident) error {
	d := o.Directory.Current()
	responders := d.Responders(inc.Scope.Systems...)
	if len(responders) == 0 {
		return nil
	}
	people := make([]string, len(responders))
	names := make([]string, len(responders))
	for i, p := range responders {
		people[i], names[i] = p.Email, p.Name
	}
	now := o.now()
	data := compose.HeadsUpData{Incident: o.View(inc), Now: now}
	data.Incident.Reports = o.reportsLine(ctx, tx, inc)
	msg, err := o.Queue(ctx, tx, Request{Incident: inc, Kind: compose.KindHeadsUp, Audience: Responders, People: people, Data: data, Actor: "sitrep"})
	if err != nil {
		return fmt.Errorf("outbox: heads-up: %w", err)
	}
	_, err = incident.AddEvent(ctx, tx, now, inc.ID, incident.EventHeadsUpQueued, "sitrep",
		fmt.Sprintf("Heads-up to %d responders of %s: %s", len(people), strings.Join(inc.Scope.Systems, ", "), strings.Join(names, ", ")),
		map[string]any{"message": msg.ID, "to": people})
	return err
}

// SendHeadsUp sends a heads-up on demand (to the responders of the
// incident's suspected systems, or to the people named).
func (o *Outbox) SendHeadsUp(ctx context.Context, actor, ref string, people []string) (*Message, error) {
	inc, err := o.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(people) == 0 {
		for _, p := range o.Directory.Current().Responders(inc.Scope.Systems...) {
			people = append(people, p.Email)
		}
	}
	if len(people) == 0 {
		return nil, errs.InvalidField("to", "no responders for the suspected systems (%s); name people", strings.Join(inc.Scope.Systems, ", "))
	}
	var msg *Message
	err = o.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := o.now()
		msg, err = o.Queue(ctx, tx, Request{Incident: inc, Kind: compose.KindHeadsUp, Audience: Responders, People: people,
			Data: compose.HeadsUpData{Incident: o.View(inc), Now: now}, Actor: actor})
		if err != nil {
			return err
		}
		_, err = incident.AddEvent(ctx, tx, now, inc.ID, incident.EventHeadsUpQueued, actor,
			fmt.Sprintf("Heads-up to %s", strings.Join(people, ", ")), map[string]any{"message": msg.ID, "to": people})
		return err
	})
	return msg, err
}

// reportsLine is the status email's and the heads-up's word on the
// reports: how many, from whom, where, how, and the guide's warning when
// they may be isolated. q is the declaring transaction for the heads-up,
// which must see the reports filed with the declaration.
func (o *Outbox) reportsLine(ctx context.Context, q store.Querier, inc *incident.Incident) string {
	reps, err := incident.ReportsOf(ctx, q, inc.ID)
	if err != nil || len(reps) == 0 {
		return ""
	}
	s := incident.SummarizeReports(reps)
	line := s.Line()
	if s.PossiblyIsolated {
		line += "; possibly isolated (" + s.Why + "): being verified"
	}
	return line
}
