package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// client is the API client every command shares.
type client struct {
	server, token string
	json          bool
	http          *http.Client
	e             env
	// fs is the command's flags: an API error naming a field names the
	// flag that sets it instead.
	fs *flag.FlagSet
}

// clientFlags adds the flags every client command has.
func clientFlags(e env, name, synopsis string) (*flag.FlagSet, *client) {
	c := &client{e: e, http: &http.Client{Timeout: 60 * time.Second}}
	fs := newFlagSet(e, name, synopsis)
	c.fs = fs
	server := e.getenv("SITREP_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	fs.StringVar(&c.server, "server", server, "sitrep server URL (SITREP_SERVER)")
	fs.StringVar(&c.token, "token", e.getenv("SITREP_TOKEN"), "API token (SITREP_TOKEN; default: ./sitrep-data/admin-token)")
	fs.BoolVar(&c.json, "json", false, "print machine-readable JSON; a failure is one JSON error object on stderr")
	return fs, c
}

func (c *client) resolveToken() string {
	if c.token != "" {
		return c.token
	}
	// The token the server wrote on first start, for the CLI on the same machine.
	dir := c.e.getenv("SITREP_DATA_DIR")
	if dir == "" {
		dir = "sitrep-data"
	}
	if b, err := os.ReadFile(filepath.Join(dir, "admin-token")); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

// apiError is the API's error shape, with the command's flag for the
// field at fault.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Field  string `json:"field"`
	Flag   string `json:"-"`
}

func (e *apiError) Error() string {
	switch {
	case e.Flag != "":
		return fmt.Sprintf("%s (%s: %s)", e.Msg, e.Code, e.Flag)
	case e.Field != "":
		return fmt.Sprintf("%s (%s: %s)", e.Msg, e.Code, e.Field)
	}
	return fmt.Sprintf("%s (%s)", e.Msg, e.Code)
}

// do calls the API; out receives the JSON answer. The raw answer is
// returned too, for --json.
func (c *client) do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.server, "/")+"/api/v1"+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok := c.resolveToken(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the sitrep server at %s (is `sitrep serve` running? set --server or SITREP_SERVER): %w", c.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		var eb struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &eb) != nil || eb.Error.Code == "" {
			return raw, fmt.Errorf("server answered %s", resp.Status)
		}
		eb.Error.Status = resp.StatusCode
		eb.Error.Flag = flagFor(c.fs, eb.Error.Field)
		eb.Error.Msg = withFlags(c.fs, eb.Error.Msg)
		if resp.StatusCode == 401 {
			eb.Error.Msg += "; pass --token or set SITREP_TOKEN"
		}
		return raw, &eb.Error
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("reading the server's answer: %w", err)
		}
	}
	return raw, nil
}

// get reads path into out; with --json it prints the API's answer as it
// came and reports printed, and the caller has nothing more to show.
func (c *client) get(ctx context.Context, path string, out any) (printed bool, err error) {
	raw, err := c.do(ctx, "GET", path, nil, out)
	if err != nil || !c.json {
		return false, err
	}
	c.printJSON(raw)
	return true, nil
}

func (c *client) printJSON(raw []byte) {
	c.e.stdout.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		fmt.Fprintln(c.e.stdout)
	}
}

type incidentOut struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Severity       string     `json:"severity"`
	State          string     `json:"state"`
	Duration       string     `json:"duration"`
	DeclaredAt     time.Time  `json:"declared_at"`
	FirstFailureAt *time.Time `json:"first_failure_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	Scope          struct {
		DetectedVia string   `json:"detected_via"`
		Detail      string   `json:"detection_detail"`
		Verified    bool     `json:"verified"`
		Extent      string   `json:"extent"`
		Segments    []string `json:"segments"`
		Systems     []string `json:"systems"`
		Teams       []string `json:"teams"`
	} `json:"scope"`
	Roles struct {
		IncidentLead string `json:"incident_lead"`
		CommsLead    string `json:"comms_lead"`
	} `json:"roles"`
	Promise struct {
		NextUpdateAt *time.Time `json:"next_update_at"`
		Status       string     `json:"status"`
		Promised     int        `json:"promised"`
		Kept         int        `json:"kept"`
	} `json:"promise"`
	Timeline []struct {
		At    time.Time `json:"at"`
		Kind  string    `json:"kind"`
		Actor string    `json:"actor"`
		Text  string    `json:"text"`
	} `json:"timeline"`
	ReportSummary *incident.ReportSummary `json:"report_summary"`
	Warnings      []string                `json:"warnings"`
	// Policy: the severity's communication policy at the incident's phase.
	Policy *struct {
		Phase               string `json:"phase"`
		NextIntervalMinutes int    `json:"next_interval_minutes"`
		FirstUpdateWithin   string `json:"first_update_within"`
		AnswerWithin        string `json:"answer_within"`
	} `json:"policy"`
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdDeclare(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "declare", "declare --title TITLE --severity SEV1..SEV4 [flags]")
	title := fs.String("title", "", "what is broken, as stakeholders would say it (required)")
	severity := fs.String("severity", "", "SEV1 (worst) to SEV4 (required)")
	detectedVia := fs.String("detected-via", "", "how we heard: monitoring, customer or employee")
	detail := fs.String("detail", "", "detection detail: which monitor, which ticket")
	verified := fs.Bool("verified", false, "the report has been verified (the guide: make sure it is not a false alarm)")
	extent := fs.String("extent", "", "all or subset of users")
	segments := fs.String("segments", "", "affected segments, comma-separated (\"region: EU,device: iOS\")")
	systems := fs.String("systems", "", "suspected systems, comma-separated (keys of the escalation list)")
	teams := fs.String("teams", "", "teams involved, comma-separated")
	lead := fs.String("lead", "", "incident lead's email")
	comms := fs.String("comms", "", "comms lead's email")
	since := fs.String("since", "", "first failure time (RFC 3339, or HH:MM today UTC, or a duration ago like 20m)")
	quiet := fs.Bool("quiet", false, "print only the new incident's id, for scripts: INC=$(sitrep declare ... --quiet)")
	var reports reportFlags
	fs.Var(&reports, "report", "a report that led here, repeatable: \"EMAIL; where=REGION; how=ACCESS; saw=TEXT\"")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *title == "" || *severity == "" {
		fs.Usage()
		return fmt.Errorf("--title and --severity are required")
	}
	in := map[string]any{
		"title": *title, "severity": *severity,
		"scope": map[string]any{"detected_via": *detectedVia, "detection_detail": *detail, "verified": *verified,
			"extent": *extent, "segments": splitList(*segments), "systems": splitList(*systems), "teams": splitList(*teams)},
		"roles":   map[string]any{"incident_lead": *lead, "comms_lead": *comms},
		"reports": reports,
	}
	if *since != "" {
		t, err := parseWhen(*since, time.Now())
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		in["first_failure_at"] = t
	}
	var out incidentOut
	raw, err := c.do(ctx, "POST", "/incidents", in, &out)
	if err != nil {
		return declareFlagError(err)
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	if *quiet {
		fmt.Fprintln(e.stdout, out.ID)
		return nil
	}
	fmt.Fprintf(e.stdout, "Declared %s %s: %s\n", out.ID, out.Severity, out.Title)
	for _, w := range out.Warnings {
		fmt.Fprintf(e.stdout, "  WARNING: %s\n", w)
	}
	for _, ev := range out.Timeline {
		if ev.Kind != "declared" && ev.Kind != "report" {
			fmt.Fprintf(e.stdout, "  %s\n", ev.Text)
		}
	}
	printReportSummary(e.stdout, out.ReportSummary)
	fmt.Fprintf(e.stdout, "Next: sitrep show %s\n", out.ID)
	return nil
}

// declareFlags names the declare flag behind each field the API can
// refuse, so that the error points at what was typed.
var declareFlags = map[string]string{
	"title": "--title", "severity": "--severity", "scope.detected_via": "--detected-via", "scope.extent": "--extent",
	"scope.segments": "--segments", "scope.systems": "--systems", "scope.teams": "--teams",
	"roles.incident_lead": "--lead", "roles.comms_lead": "--comms", "first_failure_at": "--since",
}

// declareFlagError says a refused field as the flag that set it:
// "--systems: unknown system "logins" ...".
func declareFlagError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Field != "" {
		field := ae.Field
		if i := strings.IndexByte(field, '['); i > 0 {
			field = field[:i] // scope.systems[2]
		}
		if flag, ok := declareFlags[field]; ok {
			return fmt.Errorf("%s: %s", flag, ae.Msg)
		}
	}
	return err
}

// parseWhen reads an RFC 3339 time, HH:MM (today, UTC) or a duration ago.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse("15:04", s); err == nil {
		n := now.UTC()
		return time.Date(n.Year(), n.Month(), n.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2026-11-24T14:05:00Z), HH:MM (UTC) or a duration ago (20m), got %q", s)
}

func cmdList(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "list", "list [--active] [--json]")
	active := fs.Bool("active", false, "only incidents still being worked on")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	path := "/incidents"
	if *active {
		path += "?active=true"
	}
	var out struct {
		Incidents []incidentOut `json:"incidents"`
	}
	if printed, err := c.get(ctx, path, &out); printed || err != nil {
		return err
	}
	if len(out.Incidents) == 0 {
		fmt.Fprintln(e.stdout, "No incidents.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEV\tSTATE\tDURATION\tNEXT UPDATE\tTITLE")
	for _, inc := range out.Incidents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.Severity, inc.State, inc.Duration, nextUpdate(inc), inc.Title)
	}
	return tw.Flush()
}

func nextUpdate(inc incidentOut) string {
	if inc.Promise.NextUpdateAt == nil {
		return firstUpdateDue(inc, time.Now())
	}
	s := inc.Promise.NextUpdateAt.Local().Format("15:04")
	switch inc.Promise.Status {
	case "overdue":
		s += " OVERDUE"
	case "due_soon":
		s += " (due soon)"
	}
	return s
}

// firstUpdateDue is what an incident with no status update yet owes: the
// policy's first update, due first_update_within after the declaration
// (the time its reminder counts to), "-" when the policy sets none or
// the incident is over.
func firstUpdateDue(inc incidentOut, now time.Time) string {
	if inc.Policy == nil || inc.Policy.FirstUpdateWithin == "" || inc.DeclaredAt.IsZero() {
		return "-"
	}
	switch inc.State {
	case "resolved", "postmortem", "closed":
		return "-"
	}
	within, err := time.ParseDuration(inc.Policy.FirstUpdateWithin)
	if err != nil {
		return "-"
	}
	due := inc.DeclaredAt.Add(within)
	s := "first by " + due.Local().Format("15:04")
	if now.After(due) {
		s += " OVERDUE"
	}
	return s
}

func cmdShow(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "show", "show INC-42 [--json]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	var inc incidentOut
	if printed, err := c.get(ctx, "/incidents/"+pos[0], &inc); printed || err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "%s  %s  %s  %s\n", inc.ID, inc.Severity, strings.ToUpper(inc.State), inc.Title)
	fmt.Fprintf(w, "  duration     %s", inc.Duration)
	if inc.FirstFailureAt != nil {
		fmt.Fprintf(w, " (first failure %s)", inc.FirstFailureAt.Local().Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  next update  %s", nextUpdate(inc))
	if inc.Promise.Promised > 0 {
		fmt.Fprintf(w, " (promises kept %d/%d)", inc.Promise.Kept, inc.Promise.Promised)
	}
	fmt.Fprintln(w)
	if p := inc.Policy; p != nil {
		fmt.Fprintf(w, "  policy       %s: %s (an update without --next promises %d min)", inc.Severity, p.Phase, p.NextIntervalMinutes)
		if p.AnswerWithin != "" {
			fmt.Fprintf(w, "; questions answered within %s", strings.TrimSuffix(strings.TrimSuffix(p.AnswerWithin, "0s"), "0m"))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  leads        incident %s, comms %s\n", orDash(inc.Roles.IncidentLead), orDash(inc.Roles.CommsLead))
	for _, warning := range inc.Warnings {
		fmt.Fprintf(w, "               WARNING: %s\n", warning)
	}
	sc := inc.Scope
	verified := "not verified"
	if sc.Verified {
		verified = "verified"
	}
	fmt.Fprintf(w, "  detected     %s %s (%s)\n", orDash(sc.DetectedVia), sc.Detail, verified)
	fmt.Fprintf(w, "  extent       %s %s\n", orDash(sc.Extent), strings.Join(sc.Segments, "; "))
	fmt.Fprintf(w, "  systems      %s\n", orDash(strings.Join(sc.Systems, ", ")))
	fmt.Fprintf(w, "  teams        %s\n", orDash(strings.Join(sc.Teams, ", ")))
	printReportSummary(w, inc.ReportSummary)
	fmt.Fprintf(w, "\nTimeline (%d events)\n", len(inc.Timeline))
	for _, ev := range inc.Timeline {
		fmt.Fprintf(w, "  %s  %-16s %s  (%s)\n", ev.At.Local().Format("Jan 02 15:04"), ev.Kind, ev.Text, orDash(ev.Actor))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdGroups(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "groups", "groups [NAME] [--json]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	type recipient struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
		Group    string `json:"group"`
	}
	type group struct {
		Name        string      `json:"name"`
		DisplayName string      `json:"display_name"`
		Groups      []string    `json:"groups"`
		Source      string      `json:"source"`
		Recipients  []recipient `json:"recipients"`
	}
	if len(pos) == 1 {
		var g group
		if printed, err := c.get(ctx, "/groups/"+pos[0], &g); printed || err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s (%s) — %d recipients, from %s\n", g.Name, g.DisplayName, len(g.Recipients), g.Source)
		if len(g.Groups) > 0 {
			fmt.Fprintf(e.stdout, "  includes: %s\n", strings.Join(g.Groups, ", "))
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, r := range g.Recipients {
			fmt.Fprintf(tw, "  %s\t%s\t%s\tvia %s\n", r.Email, r.Name, orDash(r.TimeZone), r.Group)
		}
		return tw.Flush()
	}
	var out struct {
		Organization string  `json:"organization"`
		Example      bool    `json:"example"`
		Groups       []group `json:"groups"`
	}
	if printed, err := c.get(ctx, "/groups", &out); printed || err != nil {
		return err
	}
	title := out.Organization
	if out.Example {
		title += " (EXAMPLE organisation)"
	}
	fmt.Fprintln(e.stdout, title)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tRECIPIENTS\tINCLUDES\tSOURCE")
	for _, g := range out.Groups {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", g.Name, len(g.Recipients), orDash(strings.Join(g.Groups, ", ")), g.Source)
	}
	return tw.Flush()
}

func cmdState(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "state", "state INC-42 STATE [--note TEXT] [--json]")
	note := fs.String("note", "", "why, for the timeline")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("want an incident id and a state (investigating, identified, monitoring, resolved, postmortem, closed)")
	}
	var inc incidentOut
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/transitions", map[string]string{"state": pos[1], "note": *note}, &inc)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s is now %s\n", inc.ID, inc.State)
	return nil
}

// wantOneIncident checks that a command got exactly one incident id.
func wantOneIncident(fs *flag.FlagSet, pos []string) error {
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want one incident id, like INC-42")
	}
	return nil
}

// count is "1 finding" or "3 findings".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
