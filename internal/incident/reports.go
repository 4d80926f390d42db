package incident

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Report is one account of the problem: who saw what, where, and how
// they reach the service. Reporters are asked to confirm the fix.
type Report struct {
	ID         int64     `json:"id"`
	Email      string    `json:"email"`
	Name       string    `json:"name,omitempty"`
	Location   string    `json:"location,omitempty"` // region or office
	Access     string    `json:"access,omitempty"`   // web, mobile app, API; device; network
	Observed   string    `json:"observed,omitempty"`
	Channel    string    `json:"channel"` // api, cli, web, email
	ReportedAt time.Time `json:"reported_at"`
}

// ReportInput is a report as it is filed.
type ReportInput struct {
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Location   string     `json:"location"`
	Access     string     `json:"access"`
	Observed   string     `json:"observed"`
	Channel    string     `json:"channel"`
	ReportedAt *time.Time `json:"reported_at"`
}

// CleanReport validates a report as it is filed and returns it ready to
// store: the reporter's address lower-cased, free text trimmed and
// bounded, the channel one of api, cli, web or email (default api), the
// time never in the future.
func CleanReport(now time.Time, in ReportInput) (*Report, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, errs.InvalidField("email", "want the reporter's email address, got %q", in.Email)
	}
	r := &Report{Email: email, Name: strings.TrimSpace(in.Name), Location: strings.TrimSpace(in.Location), Access: strings.TrimSpace(in.Access),
		Observed: strings.TrimSpace(in.Observed), Channel: strings.ToLower(strings.TrimSpace(in.Channel))}
	for field, v := range map[string]string{"name": r.Name, "location": r.Location, "access": r.Access} {
		if err := validText(field, v, 200, false); err != nil {
			return nil, err
		}
	}
	if err := errs.CheckBlock("observed", r.Observed, 5000, false); err != nil {
		return nil, err
	}
	switch r.Channel {
	case "":
		r.Channel = "api"
	case "api", "cli", "web", "email":
	default:
		return nil, errs.InvalidField("channel", "want api, cli, web or email")
	}
	r.ReportedAt = now
	if in.ReportedAt != nil && !in.ReportedAt.IsZero() {
		if in.ReportedAt.After(now.Add(5 * time.Minute)) {
			return nil, errs.InvalidField("reported_at", "is in the future")
		}
		r.ReportedAt = in.ReportedAt.UTC()
	}
	return r, nil
}

// AddReport files a report on an incident, with a timeline event.
func (s *Service) AddReport(ctx context.Context, q store.Querier, actor, ref string, in ReportInput) (*Report, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if _, err := s.GetByID(ctx, q, id); err != nil {
		return nil, err
	}
	now := s.now()
	r, err := CleanReport(now, in)
	if err != nil {
		return nil, err
	}
	if err := FileReport(ctx, q, now, id, actor, r); err != nil {
		return nil, err
	}
	return r, nil
}

// FileReport stores a cleaned report on incident id, sets its ID, and
// puts it on the timeline. It runs inside the caller's transaction: the
// declaring one when reports come with the declaration or from a draft.
func FileReport(ctx context.Context, q store.Querier, now time.Time, incidentID int64, actor string, r *Report) error {
	err := q.QueryRowContext(ctx, queries.Get("insert-report"), incidentID, r.Email, r.Name, r.Location, r.Access, r.Observed, r.Channel, r.ReportedAt, now).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("incident: add report: %w", err)
	}
	_, err = AddEvent(ctx, q, now, incidentID, EventReport, actor, reportText(r),
		map[string]any{"report": r.ID, "location": r.Location, "access": r.Access, "observed": r.Observed, "channel": r.Channel})
	return err
}

// channelWords says how a report reached sitrep. It comes last and in its
// own words: "via" is how the reporter reaches the service (their access),
// as in the reports line of the status email, so "via cli" read as if the
// reporter used a command line when they were on the web.
var channelWords = map[string]string{"api": "filed through the API", "cli": "filed with the CLI", "web": "filed on the web page", "email": "sent by email"}

// reportText is the report's timeline entry: who, where, how they reach
// the service, what they saw, and how the report came in.
func reportText(r *Report) string {
	var b strings.Builder
	b.WriteString("Report from " + r.Email)
	if r.Location != "" {
		b.WriteString(" in " + r.Location)
	}
	if r.Access != "" {
		b.WriteString(" via " + r.Access)
	}
	if obs := strings.Join(strings.Fields(r.Observed), " "); obs != "" {
		b.WriteString(": " + obs)
	}
	if w, ok := channelWords[r.Channel]; ok {
		b.WriteString(" (" + w + ")")
	}
	return b.String()
}

// Reports lists an incident's reports, oldest first.
func (s *Service) Reports(ctx context.Context, ref string) ([]Report, error) {
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return ReportsOf(ctx, s.DB, id)
}

// ReportSummaryOf lists an incident's reports and summarises them as its
// scope leaves them (SummarizeIncidentReports): what the API and the CLI
// show.
func (s *Service) ReportSummaryOf(ctx context.Context, ref string) ([]Report, ReportSummary, error) {
	inc, err := s.Get(ctx, ref)
	if err != nil {
		return nil, ReportSummary{}, err
	}
	list, err := ReportsOf(ctx, s.DB, inc.ID)
	if err != nil {
		return nil, ReportSummary{}, err
	}
	return list, SummarizeIncidentReports(inc.Scope, list), nil
}

// ReportsOf lists incident id's reports, oldest first, through q: a
// declare hook reads the reports its own transaction filed.
func ReportsOf(ctx context.Context, q store.Querier, incidentID int64) ([]Report, error) {
	return ScanReports(q.QueryContext(ctx, queries.Get("reports"), incidentID))
}

// ScanReports reads rows of (id, email, name, location, access, observed,
// channel, reported_at), the shape of the reports and draft_reports tables.
func ScanReports(rows *sql.Rows, err error) ([]Report, error) {
	if err != nil {
		return nil, fmt.Errorf("incident: reports: %w", err)
	}
	defer rows.Close()
	out := []Report{}
	for rows.Next() {
		var r Report
		if err := rows.Scan(&r.ID, &r.Email, &r.Name, &r.Location, &r.Access, &r.Observed, &r.Channel, &r.ReportedAt); err != nil {
			return nil, fmt.Errorf("incident: reports: %w", err)
		}
		r.ReportedAt = r.ReportedAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReportSummary is what the declare step and the status emails say of the reports.
type ReportSummary struct {
	Reports   int      `json:"reports"`
	Reporters int      `json:"reporters"`
	Locations []string `json:"locations"`
	Access    []string `json:"access"`
	// PossiblyIsolated: a single report, or reports all from one place —
	// the guide's office that lost its internet connection. Verify before
	// mobilising.
	PossiblyIsolated bool   `json:"possibly_isolated"`
	Why              string `json:"why,omitempty"`
}

// SummarizeReports counts reports, reporters and the segments they cover.
func SummarizeReports(reports []Report) ReportSummary {
	sum := ReportSummary{Reports: len(reports), Locations: []string{}, Access: []string{}}
	reporters, locs, access := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range reports {
		reporters[r.Email] = true
		if r.Location != "" {
			locs[strings.ToLower(r.Location)] = true
		}
		if r.Access != "" {
			access[strings.ToLower(r.Access)] = true
		}
	}
	sum.Reporters = len(reporters)
	for l := range locs {
		sum.Locations = append(sum.Locations, l)
	}
	for a := range access {
		sum.Access = append(sum.Access, a)
	}
	sort.Strings(sum.Locations)
	sort.Strings(sum.Access)
	switch {
	case sum.Reports == 0:
	case sum.Reporters == 1:
		sum.PossiblyIsolated, sum.Why = true, "a single reporter"
	case len(locs) == 1 && len(access) <= 1:
		sum.PossiblyIsolated, sum.Why = true, "every report comes from "+sum.Locations[0]
	}
	return sum
}

// SummarizeIncidentReports is SummarizeReports as the incident's scope
// leaves it: the guide's "possibly isolated: verify before mobilising" is
// for reports nobody has checked, so it is not raised once the problem is
// verified, nor when monitoring saw it (a monitor is not one office's
// wifi). Saying it then told execs and responders both "verified: yes"
// and "being verified" (issue 17).
func SummarizeIncidentReports(sc Scope, reports []Report) ReportSummary {
	sum := SummarizeReports(reports)
	if sc.Verified || sc.DetectedVia == "monitoring" {
		sum.PossiblyIsolated, sum.Why = false, ""
	}
	return sum
}

// Facts are the summary for an email, which says them in each reader's
// language.
func (sum ReportSummary) Facts() *compose.ReportFacts {
	f := &compose.ReportFacts{Reports: sum.Reports, Reporters: sum.Reporters, Locations: sum.Locations, Access: sum.Access}
	if sum.PossiblyIsolated {
		f.Isolated = compose.IsolatedPlace
		if sum.Reporters == 1 {
			f.Isolated = compose.IsolatedSingle
		}
	}
	return f
}

// Line says the summary in one line: "3 reports from 3 people in eu, us
// via mobile app, web". Empty when there are no reports.
func (sum ReportSummary) Line() string {
	if sum.Reports == 0 {
		return ""
	}
	line := fmt.Sprintf("%d %s from %d %s", sum.Reports, plural(sum.Reports, "report", "reports"), sum.Reporters, plural(sum.Reporters, "person", "people"))
	if len(sum.Locations) > 0 {
		line += " in " + strings.Join(sum.Locations, ", ")
	}
	if len(sum.Access) > 0 {
		line += " via " + strings.Join(sum.Access, ", ")
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
