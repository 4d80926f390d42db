// Package statuspage is what the status pages show: the incidents of now
// and of the last 90 days, each with its status updates and nothing else,
// in the words of one audience (Internal: the status text the stakeholders
// were emailed; Public: only the public wording written for customers).
// It reads incident timelines through a whitelist, so that a stakeholder's
// question, a report and its reporter's address, a note or a lead-only
// event can never reach a page or a feed: only the kinds of event this
// file names are read, and of them only the fields it names.
//
// The internal page lives in the web UI (internal/web/ui, status*.go),
// which imports this package for the read model and the Atom feed; the
// public page is served here (public.go) on a listener of its own, or
// exported as static HTML (export.go). This package never imports the UI.
package statuspage

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Audience is whose words a page shows.
type Audience int

const (
	// Internal is the company: the status text of each update, as the
	// stakeholders were emailed it.
	Internal Audience = iota
	// Public is customers: the public wording of an update alone. An
	// update without one adds nothing; an incident without any public
	// wording is not on the public page at all.
	Public
)

func (a Audience) String() string {
	if a == Public {
		return "public"
	}
	return "internal"
}

// DefaultHistory is how far back the history goes.
const DefaultHistory = 90 * 24 * time.Hour

// maxIncidents bounds what one page reads: the newest incidents.
const maxIncidents = 1000

// The kinds of timeline event a status page reads; every other kind
// (notes, replies, reports, reminders, escalations, post-mortem work,
// changes, chat problems...) is never read. eventResolvedEmail is
// resolution.EventResolvedEmail (a test checks), named here so that this
// package stays below the resolution flow.
const (
	eventResolvedEmail = "resolved_email"
)

// Update is one entry of an incident's status as an audience reads it.
type Update struct {
	// ID is the timeline event's: stable, the feed entry's id is made of it.
	ID   int64
	At   time.Time
	Kind string // UpdateStatus, UpdateResolved or UpdateReopened
	Text string
	// Holding: a holding update ("no change; still working on it").
	Holding bool
	// NextUpdateAt is the next update this one promised (status updates).
	NextUpdateAt *time.Time
	// Number counts the audience's status updates of the incident from 1.
	Number int
	// Audiences is the wording the update carried for single groups
	// (incident.UpdateInput.Audiences: what to tell customers, the
	// executives' summary), in the order of the update's groups. Internal
	// only: the internal page shows it to the members of those groups;
	// the feeds and the public page never carry it.
	Audiences []AudienceText
}

// AudienceText is an update's wording for one group.
type AudienceText struct {
	Group string // the group's name in the directory: "customer-service"
	Text  string
}

// Kinds of Update.
const (
	UpdateStatus   = "update"
	UpdateResolved = "resolved"
	UpdateFixed    = "fixed" // a fix in place, the root cause unknown: still watched
	UpdateReopened = "reopened"
)

// Label is what the entry is, in a word or two.
func (u Update) Label() string {
	switch u.Kind {
	case UpdateResolved:
		return "Resolved"
	case UpdateReopened:
		return "Reopened"
	case UpdateFixed:
		return "Fix in place"
	}
	if u.Holding {
		return "Update (no change)"
	}
	return "Update"
}

// Incident is one incident as an audience sees it.
type Incident struct {
	Ref      string
	Title    string // internal only; the public page names components instead
	Severity string // internal only
	State    string
	Active   bool
	Systems  []string // internal only; the public page maps them to components
	// DeclaredAt is the declaration (internal), or the first public update.
	DeclaredAt time.Time
	ResolvedAt *time.Time
	// NextUpdateAt is the promise outstanding: the incident's (internal),
	// or the public promise (public); nil: none.
	NextUpdateAt *time.Time
	// Overdue: active, and the promise is past with no update since.
	Overdue bool
	// PublicNextUpdateAt is the public promise, what customers were told
	// (internal: the company sees when customers expect news); nil: none.
	// PublicOverdue: it is past with no public update since. Internal
	// only: the public page's own promise is NextUpdateAt.
	PublicNextUpdateAt *time.Time
	PublicOverdue      bool
	// Updates, newest first.
	Updates []Update
	// Updated is the newest update's time, else DeclaredAt.
	Updated time.Time
}

// Latest is the newest status update (not a resolution), or nil.
func (i *Incident) Latest() *Update {
	for k := range i.Updates {
		if i.Updates[k].Kind == UpdateStatus {
			return &i.Updates[k]
		}
	}
	return nil
}

// Duration is how long it lasted, up to now or its resolution.
func (i *Incident) Duration(now time.Time) time.Duration {
	end := now
	if i.ResolvedAt != nil {
		end = *i.ResolvedAt
	}
	if end.Before(i.DeclaredAt) {
		return 0
	}
	return end.Sub(i.DeclaredAt)
}

// Board is a status page's content: the incidents of now, and the
// history.
type Board struct {
	Now time.Time
	// Since is where the history starts.
	Since time.Time
	// Current are the active incidents, the most urgent first: overdue,
	// then the nearest promise, then the worst severity.
	Current []*Incident
	// History are the others of the window, the newest first.
	History []*Incident
}

// All is Current and History, for a feed.
func (b *Board) All() []*Incident { return append(append([]*Incident{}, b.Current...), b.History...) }

// Reader reads the status pages' incidents.
type Reader struct {
	Incidents *incident.Service
	// History is how far back the history goes; 0: DefaultHistory.
	History time.Duration
}

// Now is the incident service's clock, so that overdue agrees with it.
func (r *Reader) Now() time.Time {
	if r.Incidents != nil && r.Incidents.Now != nil {
		return r.Incidents.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Reader) history() time.Duration {
	if r.History > 0 {
		return r.History
	}
	return DefaultHistory
}

// Board reads the incidents of now and of the history window for aud,
// each with its updates (a feed's content).
func (r *Reader) Board(ctx context.Context, aud Audience) (*Board, error) {
	return r.board(ctx, aud, true)
}

// Overview is Board for the internal page, which lists the history
// without its updates: the timelines of the incidents of now are read,
// not those of the last 90 days. (The public page needs them all: an
// incident is on it only if it had public wording.)
func (r *Reader) Overview(ctx context.Context, aud Audience) (*Board, error) {
	return r.board(ctx, aud, aud == Public)
}

func (r *Reader) board(ctx context.Context, aud Audience, historyUpdates bool) (*Board, error) {
	now := r.Now()
	b := &Board{Now: now, Since: now.Add(-r.history())}
	list, err := r.Incidents.List(ctx, incident.ListFilter{Limit: maxIncidents})
	if err != nil {
		return nil, err
	}
	for _, inc := range list {
		if !inc.State.Active() && !inWindow(inc, b.Since) {
			continue
		}
		var v *Incident
		if inc.State.Active() || historyUpdates {
			if v, err = r.view(ctx, inc, aud, now); err != nil {
				return nil, err
			}
		} else {
			v = r.summary(inc)
		}
		if v == nil {
			continue // nothing for this audience
		}
		if v.Active {
			b.Current = append(b.Current, v)
		} else {
			b.History = append(b.History, v)
		}
	}
	sort.SliceStable(b.Current, func(i, j int) bool {
		x, y := b.Current[i], b.Current[j]
		if x.Overdue != y.Overdue {
			return x.Overdue
		}
		a, c := x.NextUpdateAt, y.NextUpdateAt
		switch {
		case a != nil && c != nil && !a.Equal(*c):
			return a.Before(*c)
		case (a == nil) != (c == nil):
			return a != nil
		}
		return x.Severity < y.Severity
	})
	sort.SliceStable(b.History, func(i, j int) bool { return b.History[i].DeclaredAt.After(b.History[j].DeclaredAt) })
	return b, nil
}

// inWindow: the incident was declared or resolved since since.
func inWindow(inc *incident.Incident, since time.Time) bool {
	if !inc.DeclaredAt.Before(since) {
		return true
	}
	return inc.ResolvedAt != nil && !inc.ResolvedAt.Before(since)
}

// Incident reads one incident for aud. One that aud may not see (for
// Public: one without public wording) is NotFound, as one that does not
// exist: the answer says nothing of which.
func (r *Reader) Incident(ctx context.Context, aud Audience, ref string) (*Incident, error) {
	inc, err := r.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	v, err := r.view(ctx, inc, aud, r.Now())
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, notFound(ref)
	}
	return v, nil
}

// summary is an internal view of inc without its updates.
func (r *Reader) summary(inc *incident.Incident) *Incident {
	return &Incident{Ref: inc.Ref, Title: inc.Title, Severity: string(inc.Severity), State: string(inc.State), Active: inc.State.Active(),
		Systems: append([]string{}, inc.Scope.Systems...), DeclaredAt: inc.DeclaredAt, ResolvedAt: inc.ResolvedAt, Updated: inc.DeclaredAt}
}

// view is inc as aud sees it; nil when aud sees nothing of it.
func (r *Reader) view(ctx context.Context, inc *incident.Incident, aud Audience, now time.Time) (*Incident, error) {
	events, err := r.Incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		return nil, err
	}
	ups := updatesOf(events, aud)
	if aud == Public && len(ups) == 0 {
		return nil, nil
	}
	v := &Incident{Ref: inc.Ref, State: string(inc.State), Active: inc.State.Active(), ResolvedAt: inc.ResolvedAt, Updates: ups}
	var public *time.Time // the public promise, of an active incident
	if v.Active {
		if public, err = r.publicPromise(ctx, inc, ups, aud); err != nil {
			return nil, err
		}
	}
	if aud == Internal {
		v.Title, v.Severity, v.Systems = inc.Title, string(inc.Severity), append([]string{}, inc.Scope.Systems...)
		v.DeclaredAt = inc.DeclaredAt
		v.NextUpdateAt = inc.Promise.NextUpdateAt
		v.Overdue = v.Active && inc.Promise.Status == "overdue"
		if public != nil {
			v.PublicNextUpdateAt, v.PublicOverdue = public, now.After(*public)
		}
	} else {
		v.Systems = append([]string{}, inc.Scope.Systems...) // mapped to components by the public page
		v.DeclaredAt = ups[len(ups)-1].At
		if public != nil {
			v.NextUpdateAt, v.Overdue = public, now.After(*public)
		}
	}
	v.Updated = v.DeclaredAt
	if len(ups) > 0 && ups[0].At.After(v.Updated) {
		v.Updated = ups[0].At
	}
	return v, nil
}

// publicPromise is inc's public promise, as the incident keeps it (and
// its reminders read it). An incident whose last public update predates
// the incident keeping it has none stored: the public page then shows
// that update's own promise (ups, newest first), unless the end was told
// since; nothing else leaves a public update without a stored promise.
func (r *Reader) publicPromise(ctx context.Context, inc *incident.Incident, ups []Update, aud Audience) (*time.Time, error) {
	p, err := r.Incidents.PublicPromiseOf(ctx, r.Incidents.DB, inc)
	if err != nil || p.NextUpdateAt != nil || aud != Public {
		return p.NextUpdateAt, err
	}
	if len(ups) > 0 && ups[0].Kind == UpdateStatus {
		return ups[0].NextUpdateAt, nil
	}
	return nil, nil
}

// updatesOf reads the status updates of a timeline (oldest first) for
// aud, newest first. Only the event kinds named here are read, and of
// each only the fields named here.
func updatesOf(events []incident.Event, aud Audience) []Update {
	// The resolution flow changes the state and sends the resolved email
	// in one transaction: one entry, the email's.
	var emails []time.Time
	for _, ev := range events {
		if ev.Kind == eventResolvedEmail {
			emails = append(emails, ev.At)
		}
	}
	withEmail := func(at time.Time) bool {
		for _, e := range emails {
			if d := e.Sub(at); d > -5*time.Second && d < time.Minute {
				return true
			}
		}
		return false
	}
	var out []Update
	published := false // Public: a public update came before
	number := 0
	for _, ev := range events {
		switch ev.Kind {
		case incident.EventUpdateQueued:
			key := "status"
			if aud == Public {
				key = "public"
			}
			text := strings.TrimSpace(stringOf(ev.Data[key]))
			if text == "" {
				continue
			}
			number++
			published = true
			u := Update{ID: ev.ID, At: ev.At, Kind: UpdateStatus, Text: text, Holding: ev.Data["holding"] == true, Number: number}
			if aud == Internal {
				u.Audiences = audiencesOf(ev)
			}
			if t, ok := timeOf(ev.Data["next_update_at"]); ok {
				u.NextUpdateAt = &t
			}
			// The public update's own promise (UpdateInput.PublicNext),
			// when it made one apart from the internal.
			if t, ok := timeOf(ev.Data["public_next_update_at"]); ok && aud == Public {
				u.NextUpdateAt = &t
			}
			out = append(out, u)
		case eventResolvedEmail:
			if aud == Public && !published {
				continue
			}
			kind := UpdateResolved
			if ev.Data["root_cause_unknown"] == true {
				kind = UpdateFixed
			}
			out = append(out, Update{ID: ev.ID, At: ev.At, Kind: kind, Text: resolvedText(ev, aud)})
		case incident.EventStateChanged:
			from, to := stringOf(ev.Data["from"]), stringOf(ev.Data["to"])
			switch {
			case aud == Public && !published:
			case to == string(incident.Resolved) && !withEmail(ev.At):
				// Resolved without the resolved email (a state change alone).
				out = append(out, Update{ID: ev.ID, At: ev.At, Kind: UpdateResolved, Text: "Resolved."})
			case from == string(incident.Resolved) && to == string(incident.Investigating):
				out = append(out, Update{ID: ev.ID, At: ev.At, Kind: UpdateReopened, Text: "Reopened: the problem is back, and we are investigating again."})
			}
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// audiencesOf reads an update's wording per group ("audiences", group
// name → text), in the order of its groups ("groups"), then any other by
// name.
func audiencesOf(ev incident.Event) []AudienceText {
	m, _ := ev.Data["audiences"].(map[string]any)
	if len(m) == 0 {
		return nil
	}
	var out []AudienceText
	done := map[string]bool{}
	add := func(group string) {
		text := strings.TrimSpace(stringOf(m[group]))
		if text == "" || done[group] {
			return
		}
		done[group] = true
		out = append(out, AudienceText{Group: group, Text: text})
	}
	groups, _ := ev.Data["groups"].([]any)
	for _, g := range groups {
		add(stringOf(g))
	}
	rest := make([]string, 0, len(m))
	for g := range m {
		rest = append(rest, g)
	}
	sort.Strings(rest)
	for _, g := range rest {
		add(g)
	}
	return out
}

// resolvedText is the resolution as aud reads it: internally what the
// resolved email told everyone (the impact and the root cause); publicly
// the public wording the comms lead gave with it (what its subscribers
// were mailed), else sitrep's words, the email's English ones.
func resolvedText(ev incident.Event, aud Audience) string {
	unknown := ev.Data["root_cause_unknown"] == true
	public := strings.TrimSpace(stringOf(ev.Data["public"]))
	switch {
	case aud == Public && public != "":
		return public
	case aud == Public && unknown:
		return "A fix is in place and the service is working again. We are monitoring it closely and will post here if anything changes."
	case aud == Public:
		return "This incident is resolved: the service is working normally again. Thank you for your patience."
	case unknown:
		return "A fix is in place; the root cause is not known yet, and the incident is being watched."
	}
	parts := []string{"Resolved."}
	if v := strings.TrimSpace(stringOf(ev.Data["impact"])); v != "" {
		parts = append(parts, "Impact: "+v)
	}
	if v := strings.TrimSpace(stringOf(ev.Data["root_cause"])); v != "" {
		parts = append(parts, "Root cause: "+v)
	}
	return strings.Join(parts, "\n")
}

func notFound(ref string) error {
	return errs.E(errs.NotFound, "no incident %q on this status page", ref)
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func timeOf(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
