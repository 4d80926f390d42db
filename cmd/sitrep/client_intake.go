package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

type draftOut struct {
	ID             int64      `json:"id"`
	Source         string     `json:"source"`
	AlertKey       string     `json:"alert_key"`
	Title          string     `json:"title"`
	Systems        []string   `json:"systems"`
	Detail         string     `json:"detail"`
	URL            string     `json:"url"`
	Severity       string     `json:"severity"`
	FirstFailureAt time.Time  `json:"first_failure_at"`
	ReceivedAt     time.Time  `json:"received_at"`
	LastSeenAt     time.Time  `json:"last_seen_at"`
	Fired          int        `json:"fired"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	State          string     `json:"state"`
	Incident       string     `json:"incident"`
	DecidedBy      string     `json:"decided_by"`
}

// cmdDrafts lists the draft incidents monitoring alerts opened.
func cmdDrafts(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "drafts", "drafts [--all | --state draft|declared|dismissed]")
	all := fs.Bool("all", false, "every draft, decided or not")
	state := fs.String("state", "draft", "only drafts in this state")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	path := "/drafts?state=" + *state
	if *all {
		path = "/drafts"
	}
	var out struct {
		Drafts []draftOut `json:"drafts"`
	}
	if printed, err := c.get(ctx, path, &out); printed || err != nil {
		return err
	}
	if len(out.Drafts) == 0 {
		fmt.Fprintln(e.stdout, "No drafts.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSOURCE\tFIRST FAILURE (UTC)\tFIRED\tSYSTEMS\tTITLE")
	for _, d := range out.Drafts {
		state := d.State
		if d.Incident != "" {
			state += " " + d.Incident
		}
		if d.ResolvedAt != nil {
			state += " (recovered)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, state, d.Source, d.FirstFailureAt.UTC().Format("Jan 02 15:04:05"),
			d.Fired, orDash(strings.Join(d.Systems, ",")), d.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Declare one: sitrep draft declare ID [--severity SEV1]; dismiss: sitrep draft dismiss ID --reason TEXT")
	return nil
}

// cmdDraft shows, declares or dismisses one draft.
func cmdDraft(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "draft", "draft show|declare|dismiss ID [--severity SEV1] [--title T] [--incident-lead E] [--comms-lead E] [--reason TEXT]")
	severity := fs.String("severity", "", "declare: the severity (default: the monitor's suggestion)")
	title := fs.String("title", "", "declare: a title other than the alert's")
	lead := fs.String("incident-lead", "", "declare: the incident lead's email")
	comms := fs.String("comms-lead", "", "declare: the comms lead's email")
	reason := fs.String("reason", "", "dismiss: why it is a false alarm")
	quiet := fs.Bool("quiet", false, "declare: print only the new incident's id, for scripts: INC=$(sitrep draft declare 1 --quiet)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("want show, declare or dismiss, and a draft id")
	}
	verb, id := pos[0], strings.TrimPrefix(strings.ToUpper(pos[1]), "DRAFT-")
	switch verb {
	case "show":
		var out struct {
			Draft         draftOut                `json:"draft"`
			ReportSummary *incident.ReportSummary `json:"report_summary"`
		}
		if printed, err := c.get(ctx, "/drafts/"+id, &out); printed || err != nil {
			return err
		}
		d := out.Draft
		w := e.stdout
		fmt.Fprintf(w, "DRAFT-%d  %s  (%s)\n", d.ID, d.Title, d.State)
		fmt.Fprintf(w, "  source:         %s alert %s\n", d.Source, d.AlertKey)
		fmt.Fprintf(w, "  first failure:  %s (from the monitor)\n", d.FirstFailureAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		fmt.Fprintf(w, "  received:       %s; fired %s, last %s\n", d.ReceivedAt.UTC().Format("15:04:05"), count(d.Fired, "time", "times"), d.LastSeenAt.UTC().Format("15:04:05"))
		fmt.Fprintf(w, "  systems:        %s\n", orDash(strings.Join(d.Systems, ", ")))
		fmt.Fprintf(w, "  severity:       %s (suggested)\n", orDash(d.Severity))
		if d.ResolvedAt != nil {
			fmt.Fprintf(w, "  recovered:      %s\n", d.ResolvedAt.UTC().Format("15:04:05 UTC"))
		}
		if d.URL != "" {
			fmt.Fprintf(w, "  link:           %s\n", d.URL)
		}
		if d.Incident != "" {
			fmt.Fprintf(w, "  incident:       %s (by %s)\n", d.Incident, d.DecidedBy)
		}
		printReportSummary(w, out.ReportSummary)
		if d.Detail != "" {
			fmt.Fprintf(w, "\n%s\n", d.Detail)
		}
		return nil
	case "declare":
		var out struct {
			Incident incidentOut `json:"incident"`
			Draft    draftOut    `json:"draft"`
		}
		raw, err := c.do(ctx, "POST", "/drafts/"+id+"/declare", map[string]string{"severity": *severity, "title": *title,
			"incident_lead": *lead, "comms_lead": *comms}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		if *quiet {
			fmt.Fprintln(e.stdout, out.Incident.ID)
			return nil
		}
		first := "unknown"
		if out.Incident.FirstFailureAt != nil {
			first = out.Incident.FirstFailureAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(e.stdout, "Declared %s %s: %s (from DRAFT-%d; first failure %s, as the monitor saw it).\n",
			out.Incident.ID, out.Incident.Severity, out.Incident.Title, out.Draft.ID, first)
		printReportSummary(e.stdout, out.Incident.ReportSummary)
		fmt.Fprintf(e.stdout, "Not verified yet: check it is real, then `sitrep state %s identified` or send the first update.\n", out.Incident.ID)
		return nil
	case "dismiss":
		var out struct {
			Draft draftOut `json:"draft"`
		}
		raw, err := c.do(ctx, "POST", "/drafts/"+id+"/dismiss", map[string]string{"reason": *reason}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		fmt.Fprintf(e.stdout, "DRAFT-%d dismissed; the alert firing again stays attached to it until the monitor reports it recovered.\n", out.Draft.ID)
		return nil
	}
	fs.Usage()
	return fmt.Errorf("unknown draft command %q (want show, declare or dismiss)", verb)
}

// intakeSecretFile is where the embedded default keeps the generic
// webhook's secret it generated on first start (serve), for `sitrep alert`.
const intakeSecretFile = "intake-generic-secret"

// cmdAlert sends one alert in the generic webhook's form, as a monitor
// would: the way to try "drafts from monitoring" without a monitor, and to
// test a monitor's secret. It is authenticated by the webhook's secret, not
// the API token.
func cmdAlert(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "alert", "alert --title TITLE [--system S] [--severity high] [--key K] [--resolved] [--secret S]")
	title := fs.String("title", "", "what the monitor saw (required)")
	system := fs.String("system", "", "the system it concerns (a key of the escalation list, like checkout)")
	severity := fs.String("severity", "", "the monitor's word for it: critical, high, warning, info (or SEV1..SEV4)")
	key := fs.String("key", "", "the alert's key: the same key firing again attaches to the same draft (default: from the title)")
	started := fs.String("started", "", "first failure: RFC 3339, HH:MM (UTC) or a duration ago like 5m (default now)")
	link := fs.String("url", "", "a link to the monitor's page")
	desc := fs.String("description", "", "the monitor's detail")
	resolved := fs.Bool("resolved", false, "send the recovery instead: the alert is over")
	secret := fs.String("secret", e.getenv("SITREP_INTAKE_SECRET"), "intake.generic.secret (SITREP_INTAKE_SECRET; default: ./sitrep-data/"+intakeSecretFile+", which the embedded default writes)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *title == "" {
		fs.Usage()
		return fmt.Errorf("want --title")
	}
	if *secret == "" {
		dir := e.getenv("SITREP_DATA_DIR")
		if dir == "" {
			dir = "sitrep-data"
		}
		b, err := os.ReadFile(filepath.Join(dir, intakeSecretFile))
		if err != nil {
			return fmt.Errorf("no webhook secret: pass --secret (intake.generic.secret of the server's configuration) or set SITREP_INTAKE_SECRET; the embedded default keeps one in %s", filepath.Join(dir, intakeSecretFile))
		}
		*secret = strings.TrimSpace(string(b))
	}
	at := time.Now()
	if *started != "" {
		if at, err = parseWhen(*started, time.Now()); err != nil {
			return fmt.Errorf("--started: %w", err)
		}
	}
	if *key == "" {
		*key = "sitrep-alert-" + strings.Join(strings.Fields(strings.ToLower(*title)), "-")
	}
	status := "firing"
	if *resolved {
		status = "resolved"
	}
	body := map[string]any{"key": *key, "status": status, "title": *title, "system": *system, "started_at": at.UTC().Format(time.RFC3339),
		"url": *link, "severity": *severity, "description": *desc}
	if *resolved {
		body["ended_at"] = time.Now().UTC().Format(time.RFC3339)
	}
	var out struct {
		Created  []int64 `json:"created"`
		Attached []int64 `json:"attached"`
		Resolved []int64 `json:"resolved"`
		Ignored  int     `json:"ignored"`
	}
	// The webhook's secret is its bearer token, in place of the API token.
	hook := *c
	hook.token = *secret
	raw, err := hook.do(ctx, "POST", "/intake/generic", body, &out)
	if err != nil {
		var api *apiError
		if errors.As(err, &api) && api.Status == 401 {
			return fmt.Errorf("the server refused the secret: is intake.generic.secret set on it, and is it this one? (%w)", err)
		}
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	switch {
	case len(out.Created) > 0:
		fmt.Fprintf(e.stdout, "Alert sent: it opened DRAFT-%d. See it with `sitrep drafts`; declare it with `sitrep draft declare %d`.\n", out.Created[0], out.Created[0])
	case len(out.Attached) > 0:
		fmt.Fprintf(e.stdout, "Alert sent: it fired again and attached to DRAFT-%d.\n", out.Attached[0])
	case len(out.Resolved) > 0:
		fmt.Fprintln(e.stdout, "Recovery sent: the draft (or the incident declared from it) records that the monitor recovered.")
	default:
		fmt.Fprintln(e.stdout, "Alert sent; the server had nothing to do with it (a recovery of an alert it never saw?).")
	}
	return nil
}
