package postmortem

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The outage guide ends: "Get these added to your sprint planning
// backlog." Each improvement becomes an issue in the team's tracker, and
// the tracker's word on it comes back: closed there is done here (its
// reminders stop), reopened is open again.

// Tracker files improvements in the team's backlog (internal/backlog),
// once each, from a job of its own: a tracker that is down never holds up
// the post-mortem.
type Tracker interface {
	// Enqueue records, in tx, the intent to file improvement id with
	// this title and Markdown body, assigned to the owner's email (""
	// none), due on due ("" none). A second call for the same id changes
	// nothing, unless the tracker refused it: then it is tried again.
	Enqueue(ctx context.Context, tx *sql.Tx, id int64, title, body, assignee, due string) error
}

// TrackerChanges is a Tracker that also carries changes made here to the
// issue (from here to there): the improvement done or reopened, its owner
// or due date changed. Recorded in tx, with the job that carries it; nil
// arguments are unchanged. Changes the tracker reports (TrackerState) are
// not carried back.
type TrackerChanges interface {
	Changed(ctx context.Context, tx *sql.Tx, id int64, closed *bool, owner, due *string) error
}

// maxTitle keeps an issue's title to a line trackers show whole.
const maxTitle = 200

func (s *Service) fileImprovement(ctx context.Context, tx *sql.Tx, inc *incident.Incident, id int64, text, owner, due, issue string) error {
	if s.Tracker == nil {
		return nil
	}
	title := "[" + inc.Ref + "] " + oneLine(text)
	if len(title) > maxTitle {
		cut := maxTitle - len("…")
		for cut > 0 && !utf8.RuneStart(title[cut]) {
			cut--
		}
		title = title[:cut] + "…"
	}
	if err := s.Tracker.Enqueue(ctx, tx, id, title, s.issueBody(inc, text, owner, due, issue), owner, due); err != nil {
		return fmt.Errorf("postmortem: file improvement %d in the backlog: %w", id, err)
	}
	return nil
}

// issueBody is the issue's description: the improvement, what it
// addresses, the owner, the due date, and the way back to the incident.
func (s *Service) issueBody(inc *incident.Incident, text, owner, due, issue string) string {
	var b strings.Builder
	b.WriteString(text + "\n\n")
	if issue != "" {
		b.WriteString("**Addresses:** " + oneLine(issue) + "\n")
	}
	if owner != "" {
		// The name only: the repository may be seen by more people than
		// the directory is (a public one, outside contributors).
		b.WriteString("**Owner:** " + s.displayName(owner) + "\n")
	}
	if due != "" {
		b.WriteString("**Due:** " + due + "\n")
	}
	ref := inc.Ref + ": " + oneLine(inc.Title)
	if url := s.Comms.View(inc).URL; url != "" {
		ref = "[" + ref + "](" + url + ")"
	}
	b.WriteString("**Incident:** " + ref + " (" + string(inc.Severity) + ")\n\n")
	b.WriteString("An improvement from the incident's post-mortem, filed by sitrep. Closing this issue marks it done in sitrep " +
		"and stops its reminders; reopening it opens it again.")
	return b.String()
}

// issueText is the text of the Issue id among issues ("" none).
func issueText(issues []Issue, id sql.NullInt64) string {
	for _, is := range issues {
		if id.Valid && is.ID == id.Int64 {
			return is.Text
		}
	}
	return ""
}

// TrackerFiled records where improvement id was filed (backlog.Items).
func (s *Service) TrackerFiled(ctx context.Context, tx *sql.Tx, id int64, tracker, ref, url string) error {
	incidentID, err := s.incidentOfImprovement(ctx, tx, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, queries.Get("set-improvement-tracker"), url, ref, id); err != nil {
		return fmt.Errorf("postmortem: improvement %d filed: %w", id, err)
	}
	_, err = incident.AddEvent(ctx, tx, s.now(), incidentID, "postmortem_improvement", "sitrep",
		fmt.Sprintf("Improvement %d filed in the backlog (%s #%s): %s", id, tracker, ref, url), map[string]any{"improvement": id, "tracker": tracker, "ref": ref})
	return err
}

// TrackerRefused records why improvement id could not be filed
// (backlog.Items): on the improvement, shown on the post-mortem page,
// and on the timeline.
func (s *Service) TrackerRefused(ctx context.Context, tx *sql.Tx, id int64, tracker, why string) error {
	incidentID, err := s.incidentOfImprovement(ctx, tx, id)
	if err != nil {
		return err
	}
	why = cmp.Or(strings.TrimSpace(why), "refused")
	if _, err := tx.ExecContext(ctx, queries.Get("set-improvement-tracker-problem"), why, id); err != nil {
		return fmt.Errorf("postmortem: improvement %d refused: %w", id, err)
	}
	_, err = incident.AddEvent(ctx, tx, s.now(), incidentID, "postmortem_improvement", "sitrep",
		fmt.Sprintf("Improvement %d could not be filed in the backlog (%s): %s", id, tracker, why), map[string]any{"improvement": id, "tracker": tracker})
	return err
}

// TrackerState makes improvement id done when its issue was closed in the
// tracker, open when it was reopened (backlog.Items). A done improvement
// is no longer reminded (CheckImprovements takes open ones only).
func (s *Service) TrackerState(ctx context.Context, tx *sql.Tx, id int64, tracker, ref string, closed bool, by string) error {
	incidentID, err := s.incidentOfImprovement(ctx, tx, id)
	if err != nil {
		return err
	}
	state, word := "open", "reopened"
	if closed {
		state, word = "done", "closed"
	}
	res, err := tx.ExecContext(ctx, queries.Get("set-improvement-state-from-tracker"), state, id)
	if err != nil {
		return fmt.Errorf("postmortem: improvement %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already so
	}
	text := fmt.Sprintf("Improvement %d: %s in the backlog (%s #%s), so %s here", id, word, tracker, ref, map[bool]string{true: "done", false: "open again"}[closed])
	if by != "" {
		text += "; by " + by
	}
	_, err = incident.AddEvent(ctx, tx, s.now(), incidentID, "postmortem_improvement", "sitrep", text,
		map[string]any{"improvement": id, "tracker": tracker, "ref": ref, "state": state})
	return err
}

func (s *Service) incidentOfImprovement(ctx context.Context, tx *sql.Tx, id int64) (int64, error) {
	var incidentID int64
	if err := tx.QueryRowContext(ctx, queries.Get("incident-of-improvement"), id).Scan(&incidentID); err != nil {
		return 0, fmt.Errorf("postmortem: improvement %s: %w", strconv.FormatInt(id, 10), err)
	}
	return incidentID, nil
}
