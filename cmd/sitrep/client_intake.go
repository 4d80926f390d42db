package main

import (
	"context"
	"fmt"
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
	raw, err := c.do(ctx, "GET", path, nil, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
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
		raw, err := c.do(ctx, "GET", "/drafts/"+id, nil, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		d := out.Draft
		w := e.stdout
		fmt.Fprintf(w, "DRAFT-%d  %s  (%s)\n", d.ID, d.Title, d.State)
		fmt.Fprintf(w, "  source:         %s alert %s\n", d.Source, d.AlertKey)
		fmt.Fprintf(w, "  first failure:  %s (from the monitor)\n", d.FirstFailureAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		fmt.Fprintf(w, "  received:       %s; fired %d times, last %s\n", d.ReceivedAt.UTC().Format("15:04:05"), d.Fired, d.LastSeenAt.UTC().Format("15:04:05"))
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
