package incident

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The report across incidents: the scorecards of the incidents declared
// in some months, summed by month (of the declaration, UTC), by severity
// and in all, and the incidents per system. Every figure is a sum or a
// percentile of the incidents' own scorecard figures, so the report and
// the incident pages cannot disagree.

// CommsReportFilter selects the incidents of a report.
type CommsReportFilter struct {
	// From and To are months ("2026-03"), both included. To empty: this
	// month; From empty: eleven months before To (a year).
	From, To string
	// Severity, when set, keeps the incidents of that severity only.
	Severity string
}

// maxReportMonths bounds one report: three years of months.
const maxReportMonths = 36

// CommsReport is the communication across incidents.
type CommsReport struct {
	From     string    `json:"from"` // "2026-01"
	To       string    `json:"to"`   // "2026-06", included
	Severity string    `json:"severity,omitempty"`
	AsOf     time.Time `json:"as_of"`
	// Total is every incident of the report.
	Total CommsRow `json:"total"`
	// Months has a row for every month from From to To, empty or not.
	Months []CommsRow `json:"months"`
	// Severities has a row for every severity (the filter's alone when set).
	Severities []CommsRow `json:"severities"`
	// Systems counts the incidents that named each suspected system (an
	// incident naming two counts for both), most first; System "" is the
	// incidents that named none.
	Systems []SystemRow `json:"systems"`
}

// CommsRow is the figures of one month, one severity, or all.
type CommsRow struct {
	Key            string `json:"key"` // "2026-03", "SEV1", or "total"
	Incidents      int    `json:"incidents"`
	PromisesKept   int    `json:"promises_kept"`
	PromisesMissed int    `json:"promises_missed"`
	// PromisesKeptPercent is kept of kept+missed, to one decimal; nil
	// when no promise came due.
	PromisesKeptPercent *float64 `json:"promises_kept_percent"`
	// FirstUpdate is the incidents' times to their first status update
	// (those that had one).
	FirstUpdate       Dist `json:"time_to_first_update"`
	QuestionsAsked    int  `json:"questions_asked"`
	QuestionsAnswered int  `json:"questions_answered"`
	// Answer is the answered questions' times to answer.
	Answer Dist `json:"time_to_answer"`

	firstUpdates, answers []int64
}

// Dist is how many values, and their median and 90th percentile by
// nearest rank, in seconds; nil when there are none.
type Dist struct {
	Count  int    `json:"count"`
	Median *int64 `json:"median_seconds"`
	P90    *int64 `json:"p90_seconds"`
}

// SystemRow is how many incidents named a system, in all and by month.
type SystemRow struct {
	System    string         `json:"system"`
	Incidents int            `json:"incidents"`
	Months    map[string]int `json:"months"` // the months with incidents
}

// Months are written as "2026-03".
const monthLayout = "2006-01"

// Report sums the scorecards of the incidents f selects, as of now.
func (c *Comms) Report(ctx context.Context, f CommsReportFilter) (*CommsReport, error) {
	now := c.now()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if f.To != "" {
		t, err := time.Parse(monthLayout, strings.TrimSpace(f.To))
		if err != nil {
			return nil, errs.InvalidField("to", "want a month like %s, got %q", now.Format(monthLayout), f.To)
		}
		to = t
	}
	from := to.AddDate(0, -11, 0)
	if f.From != "" {
		t, err := time.Parse(monthLayout, strings.TrimSpace(f.From))
		if err != nil {
			return nil, errs.InvalidField("from", "want a month like %s, got %q", now.Format(monthLayout), f.From)
		}
		from = t
	}
	if from.After(to) {
		return nil, errs.InvalidField("from", "%s is after %s", from.Format(monthLayout), to.Format(monthLayout))
	}
	var months []string
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		months = append(months, m.Format(monthLayout))
	}
	if len(months) > maxReportMonths {
		return nil, errs.InvalidField("from", "at most %d months in one report, asked for %d", maxReportMonths, len(months))
	}
	var sevs []Severity
	if f.Severity != "" {
		sev, err := ParseSeverity(f.Severity)
		if err != nil {
			return nil, err
		}
		sevs = []Severity{sev}
	} else {
		sevs = Severities
	}

	rows, err := c.DB.QueryContext(ctx, queries.Get("incidents-declared-between"), from, to.AddDate(0, 1, 0))
	if err != nil {
		return nil, fmt.Errorf("incident: report: %w", err)
	}
	var incs []*Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("incident: report: %w", err)
		}
		if slices.Contains(sevs, inc.Severity) {
			incs = append(incs, inc)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("incident: report: %w", err)
	}

	r := &CommsReport{From: months[0], To: months[len(months)-1], AsOf: now, Total: CommsRow{Key: "total"}}
	if f.Severity != "" {
		r.Severity = string(sevs[0])
	}
	byMonth := map[string]*CommsRow{}
	for _, m := range months {
		r.Months = append(r.Months, CommsRow{Key: m})
	}
	for i := range r.Months {
		byMonth[r.Months[i].Key] = &r.Months[i]
	}
	bySev := map[Severity]*CommsRow{}
	for _, s := range sevs {
		r.Severities = append(r.Severities, CommsRow{Key: string(s)})
	}
	for i := range r.Severities {
		bySev[Severity(r.Severities[i].Key)] = &r.Severities[i]
	}
	bySystem := map[string]*SystemRow{}
	for _, inc := range incs {
		sc, err := c.ScorecardOf(ctx, c.DB, inc)
		if err != nil {
			return nil, err
		}
		month := inc.DeclaredAt.UTC().Format(monthLayout)
		for _, row := range []*CommsRow{&r.Total, byMonth[month], bySev[inc.Severity]} {
			row.add(sc)
		}
		systems := inc.Scope.Systems
		if len(systems) == 0 {
			systems = []string{""}
		}
		for _, sys := range systems {
			s := bySystem[sys]
			if s == nil {
				s = &SystemRow{System: sys, Months: map[string]int{}}
				bySystem[sys] = s
			}
			s.Incidents++
			s.Months[month]++
		}
	}
	r.Total.finish()
	for i := range r.Months {
		r.Months[i].finish()
	}
	for i := range r.Severities {
		r.Severities[i].finish()
	}
	r.Systems = []SystemRow{}
	for _, s := range bySystem {
		r.Systems = append(r.Systems, *s)
	}
	slices.SortFunc(r.Systems, func(a, b SystemRow) int {
		if a.Incidents != b.Incidents {
			return b.Incidents - a.Incidents
		}
		if (a.System == "") != (b.System == "") {
			if a.System == "" {
				return 1 // "no system named" last
			}
			return -1
		}
		return strings.Compare(a.System, b.System)
	})
	return r, nil
}

// add counts one incident's scorecard.
func (row *CommsRow) add(sc *Scorecard) {
	row.Incidents++
	row.PromisesKept += sc.Promises.Kept
	row.PromisesMissed += sc.Promises.Missed
	if sc.TimeToFirstUpdate != nil {
		row.firstUpdates = append(row.firstUpdates, *sc.TimeToFirstUpdate)
	}
	row.QuestionsAsked += sc.Questions.Asked
	row.QuestionsAnswered += sc.Questions.Answered
	for _, q := range sc.Questions.List {
		if q.TimeToAnswer != nil {
			row.answers = append(row.answers, *q.TimeToAnswer)
		}
	}
}

func (row *CommsRow) finish() {
	row.PromisesKeptPercent = percent(row.PromisesKept, row.PromisesKept+row.PromisesMissed)
	row.FirstUpdate = dist(row.firstUpdates)
	row.Answer = dist(row.answers)
}

func dist(values []int64) Dist {
	return Dist{Count: len(values), Median: Percentile(values, 50), P90: Percentile(values, 90)}
}

// CommsReportCSVHeader is the first line of the report's CSV.
var CommsReportCSVHeader = []string{"scope", "month", "severity", "system", "incidents",
	"promises_kept", "promises_missed", "promises_kept_percent",
	"first_update_count", "first_update_median_seconds", "first_update_p90_seconds",
	"questions_asked", "questions_answered", "answer_count", "answer_median_seconds", "answer_p90_seconds"}

// WriteCommsReportCSV writes r as CSV, the same figures as its JSON: a row for
// the total, each month, each severity, each system and each system's
// month with incidents (scope total, month, severity, system,
// system_month). A figure that does not exist (no promise came due, no
// update, no answer) is empty.
func WriteCommsReportCSV(w io.Writer, r *CommsReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CommsReportCSVHeader); err != nil {
		return err
	}
	figures := func(row CommsRow) []string {
		return []string{strconv.Itoa(row.Incidents), strconv.Itoa(row.PromisesKept), strconv.Itoa(row.PromisesMissed), pctText(row.PromisesKeptPercent),
			strconv.Itoa(row.FirstUpdate.Count), intText(row.FirstUpdate.Median), intText(row.FirstUpdate.P90),
			strconv.Itoa(row.QuestionsAsked), strconv.Itoa(row.QuestionsAnswered),
			strconv.Itoa(row.Answer.Count), intText(row.Answer.Median), intText(row.Answer.P90)}
	}
	write := func(scope, month, sev, system string, rest []string) error {
		return cw.Write(append([]string{scope, month, sev, system}, rest...))
	}
	if err := write("total", "", r.Severity, "", figures(r.Total)); err != nil {
		return err
	}
	for _, m := range r.Months {
		if err := write("month", m.Key, r.Severity, "", figures(m)); err != nil {
			return err
		}
	}
	for _, s := range r.Severities {
		if err := write("severity", "", s.Key, "", figures(s)); err != nil {
			return err
		}
	}
	blank := make([]string, len(CommsReportCSVHeader)-5)
	for _, s := range r.Systems {
		if err := write("system", "", r.Severity, s.System, append([]string{strconv.Itoa(s.Incidents)}, blank...)); err != nil {
			return err
		}
	}
	for _, s := range r.Systems {
		for _, m := range r.Months {
			if n := s.Months[m.Key]; n > 0 {
				if err := write("system_month", m.Key, r.Severity, s.System, append([]string{strconv.Itoa(n)}, blank...)); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func pctText(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

func intText(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}
