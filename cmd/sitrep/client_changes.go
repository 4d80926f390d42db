package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

type changeOut struct {
	ID               int64      `json:"id"`
	Kind             string     `json:"kind"`
	Source           string     `json:"source"`
	Service          string     `json:"service"`
	Systems          []string   `json:"systems"`
	Version          string     `json:"version"`
	Environment      string     `json:"environment"`
	TriggeredBy      string     `json:"triggered_by"`
	Summary          string     `json:"summary"`
	URL              string     `json:"url"`
	At               time.Time  `json:"at"`
	End              *time.Time `json:"end"`
	Before           string     `json:"before_failure"`
	TouchesSuspected bool       `json:"touches_suspected"`
	Suspicion        string     `json:"suspicion"`
}

// what is one line on a change: the service and version, or the
// maintenance event's summary.
func (c changeOut) what() string {
	if c.Kind == "maintenance" {
		s := c.Summary
		if c.End != nil {
			s += " (until " + c.End.UTC().Format("15:04") + " UTC)"
		}
		return s
	}
	s := c.Service
	if c.Version != "" {
		s += " " + c.Version
	}
	if c.Environment != "" {
		s += " to " + c.Environment
	}
	if c.TriggeredBy != "" {
		s += " by " + c.TriggeredBy
	}
	if c.Summary != "" {
		s += ": " + c.Summary
	}
	return s
}

func cmdChanges(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "changes", "changes INC-42 [--window 24h]")
	window := fs.String("window", "", "how far before the first failure to look (default: the server's, 24h)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	path := "/incidents/" + pos[0] + "/changes"
	if *window != "" {
		if _, err := time.ParseDuration(*window); err != nil {
			return fmt.Errorf("--window: want a duration like 24h: %w", err)
		}
		path += "?window=" + *window
	}
	var out struct {
		Incident    string      `json:"incident"`
		Reference   time.Time   `json:"reference"`
		ReferenceIs string      `json:"reference_is"`
		Window      string      `json:"window"`
		Suspected   []string    `json:"suspected_systems"`
		Changes     []changeOut `json:"changes"`
		Warnings    []string    `json:"warnings"`
		// Maintenance is what was told of each maintenance window, by
		// change id.
		Maintenance map[string]struct {
			Ref     string                `json:"ref"`
			Notices map[string]*noticeOut `json:"notices"`
		} `json:"maintenance"`
	}
	if printed, err := c.get(ctx, path, &out); printed || err != nil {
		return err
	}
	w := e.stdout
	for _, warn := range out.Warnings {
		fmt.Fprintf(w, "! %s\n", warn)
	}
	ref := "first failure"
	if out.ReferenceIs != "first_failure" {
		ref = "declaration (first failure not known)"
	}
	win, _ := time.ParseDuration(out.Window)
	fmt.Fprintf(w, "Changes in the %s before the %s of %s (%s), closest first:\n", shortDuration(win), ref, out.Incident,
		out.Reference.UTC().Format("2006-01-02 15:04 UTC"))
	if len(out.Changes) == 0 {
		fmt.Fprintln(w, "  none recorded")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tID\tWHEN (UTC)\tBEFORE\tKIND\tWHAT")
	highlighted := 0
	for _, ch := range out.Changes {
		mark, note := " ", ""
		if ch.TouchesSuspected {
			mark, note = "*", "  << suspected system"
			highlighted++
		}
		switch ch.Suspicion {
		case "suspected":
			note += "  [SUSPECTED]"
		case "confirmed":
			note += "  [CONFIRMED CAUSE]"
		}
		if m, ok := out.Maintenance[strconv.FormatInt(ch.ID, 10)]; ok {
			// What planned maintenance told of this window, step by step.
			told := []string{}
			for _, step := range noticeOrder(m.Notices) {
				n := m.Notices[step]
				if n.Sent {
					told = append(told, noticeName(step)+" "+n.At.UTC().Format("Jan 02 15:04")+" to "+strings.Join(n.Groups, ", "))
				} else {
					told = append(told, noticeName(step)+" (nobody told)")
				}
			}
			if len(told) == 0 {
				told = append(told, "not announced yet")
			}
			note += "  [" + m.Ref + ": " + strings.Join(told, "; ") + "]"
		}
		before, _ := time.ParseDuration(ch.Before)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s%s\n", mark, ch.ID, ch.At.UTC().Format("Jan 02 15:04"), shortDuration(before), ch.Kind, ch.what(), note)
		if ch.URL != "" {
			fmt.Fprintf(tw, "\t\t\t\t\t  %s\n", ch.URL)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if highlighted > 0 {
		fmt.Fprintf(w, "* touches a suspected system (%s). Mark one: sitrep change suspect %s ID\n", strings.Join(out.Suspected, ", "), out.Incident)
	}
	return nil
}

func shortDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%02dm", h, m)
	}
}

// cmdChange is `sitrep change add|suspect|confirm`.
func cmdChange(ctx context.Context, e env, args []string) error {
	const usage = "usage: sitrep change add --service S --version V [--at TIME] [--by WHO] [--url U]\n" +
		"       sitrep change suspect|confirm INC-42 CHANGE-ID\n\n" +
		"Run \"sitrep change add --help\" or \"sitrep change suspect --help\" for the flags."
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, usage)
		return errUsage
	}
	if helpAsked(args[:1]) {
		fmt.Fprintln(e.stdout, usage)
		return errHelp
	}
	switch args[0] {
	case "add":
		return cmdChangeAdd(ctx, e, args[1:])
	case "suspect", "confirm":
		return cmdChangeMark(ctx, e, args[0], args[1:])
	default:
		fmt.Fprintf(e.stderr, "sitrep change: unknown subcommand %q (want add, suspect or confirm)\n", args[0])
		return errUsage
	}
}

func cmdChangeAdd(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "change add", "change add --service S --version V [--env E] [--at TIME] [--by WHO] [--url U] [--description TEXT]")
	service := fs.String("service", "", "the service deployed (required)")
	version := fs.String("version", "", "the version deployed")
	envName := fs.String("env", "", "the environment (production, staging, ...)")
	at := fs.String("at", "", "when: RFC 3339, HH:MM (UTC) or a duration ago (3h); default now")
	by := fs.String("by", "", "who or what triggered it (default: you)")
	link := fs.String("url", "", "a link to the deployment or its change request")
	desc := fs.String("description", "", "what changed")
	id := fs.String("id", "", "the deployment's id in your tool (posting it again is then a no-op)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *service == "" {
		fs.Usage()
		return fmt.Errorf("want --service")
	}
	body := map[string]any{"service": *service, "version": *version, "environment": *envName, "triggered_by": *by,
		"url": *link, "description": *desc, "id": *id, "source": "cli"}
	if *at != "" {
		t, err := parseWhen(*at, time.Now())
		if err != nil {
			return fmt.Errorf("--at: %w", err)
		}
		body["at"] = t.UTC().Format(time.RFC3339)
	}
	var out struct {
		Change  changeOut `json:"change"`
		Created bool      `json:"created"`
	}
	raw, err := c.do(ctx, "POST", "/changes", body, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	if out.Created {
		fmt.Fprintf(e.stdout, "Change %d recorded: %s at %s\n", out.Change.ID, out.Change.what(), out.Change.At.UTC().Format("2006-01-02 15:04 UTC"))
	} else {
		fmt.Fprintf(e.stdout, "Change %d was already recorded: %s\n", out.Change.ID, out.Change.what())
	}
	return nil
}

func cmdChangeMark(ctx context.Context, e env, verb string, args []string) error {
	fs, c := clientFlags(e, "change "+verb, "change "+verb+" INC-42 CHANGE-ID")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("want an incident id and a change id (from `sitrep changes INC-42`)")
	}
	var out struct {
		Change changeOut `json:"change"`
	}
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/changes/"+pos[1]+"/"+verb, nil, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	if verb == "confirm" {
		fmt.Fprintf(e.stdout, "Change %d confirmed as a cause of %s (on the timeline; the summary draft's root cause names it).\n", out.Change.ID, strings.ToUpper(pos[0]))
	} else {
		fmt.Fprintf(e.stdout, "Change %d suspected on %s (on the timeline).\n", out.Change.ID, strings.ToUpper(pos[0]))
	}
	return nil
}

// printReportSummary is the reports line of `sitrep show` and of the
// declare commands: how many reports from how many people where, and the
// guide's warning when they may all come from one place. Quiet when there
// are none.
func printReportSummary(w io.Writer, s *incident.ReportSummary) {
	if s == nil || s.Reports == 0 {
		return
	}
	fmt.Fprintf(w, "  reports      %s\n", s.Line())
	if s.PossiblyIsolated {
		fmt.Fprintf(w, "               POSSIBLY ISOLATED (%s): verify before mobilising\n", s.Why)
	}
}
