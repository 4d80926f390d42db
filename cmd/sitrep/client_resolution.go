package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

func init() {
	clientCommands["resolve"] = cmdResolve
	clientCommands["summary"] = cmdSummary
	clientCommands["confirmations"] = cmdConfirmations
	clientCommands["report"] = cmdReport
}

func cmdResolve(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "resolve", "resolve INC-42 --root-cause TEXT [--fix TEXT] [--impact TEXT] | --root-cause-unknown")
	rootCause := fs.String("root-cause", "", "what caused it (required unless --root-cause-unknown)")
	fix := fs.String("fix", "", "how it was fixed")
	impact := fs.String("impact", "", "one line on the impact, for the resolved email")
	unknown := fs.Bool("root-cause-unknown", false, "fixed but the cause is not known: stay in monitoring and remind daily")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	var out struct {
		Incident struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"incident"`
		Messages  []messageOut `json:"messages"`
		Asked     []string     `json:"asked_to_confirm"`
		WriteUpBy *time.Time   `json:"write_up_by"`
	}
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/resolve", map[string]any{"root_cause": *rootCause, "fix": *fix, "impact": *impact, "root_cause_unknown": *unknown}, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s is %s.\n", out.Incident.ID, out.Incident.State)
	for _, m := range out.Messages {
		fmt.Fprintf(e.stdout, "  resolved email to the %s thread: %d recipients\n", m.Audience, m.Total)
	}
	if len(out.Asked) > 0 {
		fmt.Fprintf(e.stdout, "  asked to confirm: %s\n", strings.Join(out.Asked, ", "))
	}
	if out.WriteUpBy != nil {
		fmt.Fprintf(e.stdout, "  write-up promised by %s: start with `sitrep summary %s > summary.md`\n", out.WriteUpBy.Local().Format("Mon Jan 2 15:04 MST"), out.Incident.ID)
	}
	return nil
}

type findingOut struct {
	Line       int    `json:"Line"`
	Col        int    `json:"Col"`
	Words      string `json:"Words"`
	Kind       string `json:"Kind"`
	Message    string `json:"Message"`
	Suggestion string `json:"Suggestion"`
}

func cmdSummary(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "summary", "summary INC-42 [--file F [--lint | --dry-run | --send [--override]]]")
	file := fs.String("file", "", "the summary (Markdown); without it, print the draft")
	lint := fs.Bool("lint", false, "only run the blameless lint")
	dryRun := fs.Bool("dry-run", false, "show the rendered email; send nothing")
	send := fs.Bool("send", false, "send it to every audience")
	override := fs.Bool("override", false, "send despite lint findings (recorded on the timeline)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	ref := pos[0]
	if *file == "" {
		var out struct {
			Markdown string `json:"markdown"`
		}
		raw, err := c.do(ctx, "GET", "/incidents/"+ref+"/summary/draft", nil, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
		} else {
			fmt.Fprint(e.stdout, out.Markdown)
		}
		return nil
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	md := string(b)
	switch {
	case *lint:
		var out struct {
			Findings []findingOut `json:"findings"`
		}
		raw, err := c.do(ctx, "POST", "/incidents/"+ref+"/summary/lint", map[string]any{"markdown": md}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
		} else {
			printFindings(e, *file, out.Findings)
		}
		if len(out.Findings) > 0 {
			return fmt.Errorf("%d finding(s)", len(out.Findings))
		}
		return nil
	case *send || *dryRun:
		var out struct {
			Findings []findingOut `json:"findings"`
			Sent     bool         `json:"sent"`
			Text     string       `json:"text"`
			Messages []messageOut `json:"messages"`
		}
		raw, err := c.do(ctx, "POST", "/incidents/"+ref+"/summary", map[string]any{"markdown": md, "override": *override, "dry_run": *dryRun}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		if *dryRun {
			fmt.Fprintln(e.stdout, out.Text)
			printFindings(e, *file, out.Findings)
			return nil
		}
		for _, m := range out.Messages {
			fmt.Fprintf(e.stdout, "Summary sent to the %s thread: %d recipients\n", m.Audience, m.Total)
		}
		if len(out.Findings) > 0 {
			fmt.Fprintf(e.stdout, "Lint overridden (%d findings); the override is on the timeline.\n", len(out.Findings))
		}
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("with --file, say --lint, --dry-run or --send")
	}
}

func printFindings(e env, file string, fs []findingOut) {
	if len(fs) == 0 {
		fmt.Fprintln(e.stdout, "blameless lint: no findings")
		return
	}
	for _, f := range fs {
		fmt.Fprintf(e.stdout, "%s:%d:%d: %s %q: %s", file, f.Line, f.Col, f.Kind, f.Words, f.Message)
		if f.Suggestion != "" {
			fmt.Fprintf(e.stdout, " (try: %s)", f.Suggestion)
		}
		fmt.Fprintln(e.stdout)
	}
}

func cmdConfirmations(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "confirmations", "confirmations INC-42")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	var out struct {
		Confirmations []struct {
			Email  string `json:"email"`
			State  string `json:"state"`
			Answer string `json:"answer"`
		} `json:"confirmations"`
	}
	raw, err := c.do(ctx, "GET", "/incidents/"+pos[0]+"/confirmations", nil, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	if len(out.Confirmations) == 0 {
		fmt.Fprintln(e.stdout, "Nobody was asked to confirm (no reports, no configured confirmers).")
	}
	for _, x := range out.Confirmations {
		state := map[string]string{"asked": "no answer yet", "confirmed": "CONFIRMED", "still_broken": "STILL BROKEN", "ambiguous": "unclear"}[x.State]
		fmt.Fprintf(e.stdout, "%-40s %-14s %s\n", x.Email, state, x.Answer)
	}
	return nil
}

func cmdReport(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "report", "report INC-42 --from EMAIL [--where REGION] [--how ACCESS] --saw TEXT")
	from := fs.String("from", "", "the reporter's email (required)")
	name := fs.String("name", "", "the reporter's name")
	where := fs.String("where", "", "where they are: region or office")
	how := fs.String("how", "", "how they reach the service: web, mobile app, API; device; network")
	saw := fs.String("saw", "", "what they observe")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *from == "" {
		fs.Usage()
		return fmt.Errorf("want one incident id and --from")
	}
	var out struct {
		Summary struct {
			Reports          int    `json:"reports"`
			Reporters        int    `json:"reporters"`
			PossiblyIsolated bool   `json:"possibly_isolated"`
			Why              string `json:"why"`
		} `json:"summary"`
	}
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/reports", map[string]any{"email": *from, "name": *name, "location": *where, "access": *how, "observed": *saw, "channel": "cli"}, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	fmt.Fprintf(e.stdout, "Report filed: %d reports from %d reporters.\n", out.Summary.Reports, out.Summary.Reporters)
	if out.Summary.PossiblyIsolated {
		fmt.Fprintf(e.stdout, "Possibly isolated (%s): verify before mobilising.\n", out.Summary.Why)
	}
	return nil
}
