package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

func cmdResolve(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "resolve", "resolve INC-42 --root-cause TEXT [--fix TEXT] [--impact TEXT] [--public TEXT] | --root-cause-unknown\n\n"+
		"An incident that had public wording (sitrep update --public) is shown resolved on the public status page, and its\n"+
		"subscribers are mailed, in the words of --public, else sitrep's own (\"This incident is resolved\"); never the root cause.")
	rootCause := fs.String("root-cause", "", "what caused it (required unless --root-cause-unknown)")
	fix := fs.String("fix", "", "how it was fixed")
	impact := fs.String("impact", "", "one line on the impact, for the resolved email")
	unknown := fs.Bool("root-cause-unknown", false, "fixed but the cause is not known: stay in monitoring and remind daily")
	public := fs.String("public", "", "what customers read of the end, on the public status page and by email (only for an incident that had public wording)")
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
		Messages   []messageOut `json:"messages"`
		Asked      []string     `json:"asked_to_confirm"`
		WriteUpBy  *time.Time   `json:"write_up_by"`
		PublicTold bool         `json:"public_told"`
	}
	in := map[string]any{"root_cause": *rootCause, "fix": *fix, "impact": *impact, "root_cause_unknown": *unknown}
	if *public != "" {
		in["public"] = *public
	}
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/resolve", in, &out)
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
	if out.PublicTold {
		fmt.Fprintf(e.stdout, "  the public status page shows it resolved\n")
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
			return errors.New(count(len(out.Findings), "finding", "findings"))
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
	if printed, err := c.get(ctx, "/incidents/"+pos[0]+"/confirmations", &out); printed || err != nil {
		return err
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

// cmdReport files a report on an incident (INC-42) or on a draft
// (DRAFT-3), and says what the reports now add up to.
func cmdReport(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "report", "report INC-42|DRAFT-3 --from EMAIL [--where REGION] [--how ACCESS] --saw TEXT")
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
		return fmt.Errorf("want one incident or draft id and --from")
	}
	path := "/incidents/" + pos[0] + "/reports"
	if ref := strings.ToUpper(pos[0]); strings.HasPrefix(ref, "DRAFT-") {
		path = "/drafts/" + strings.TrimPrefix(ref, "DRAFT-") + "/reports"
	}
	var out struct {
		Incident string                 `json:"incident"`
		Draft    string                 `json:"draft"`
		Summary  incident.ReportSummary `json:"summary"`
	}
	raw, err := c.do(ctx, "POST", path, map[string]any{"email": *from, "name": *name, "location": *where, "access": *how, "observed": *saw, "channel": "cli"}, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	on := strings.ToUpper(pos[0])
	if out.Draft != "" && out.Incident != "" {
		on = out.Incident + " (" + out.Draft + " was declared as " + out.Incident + ")"
	}
	fmt.Fprintf(e.stdout, "Report filed on %s.\n", on)
	printReportSummary(e.stdout, &out.Summary)
	return nil
}

// reportFlags collects `sitrep declare --report`, repeatable:
// "EMAIL; where=REGION; how=ACCESS; saw=TEXT; name=NAME", every key but
// the address optional. Semicolons separate because what people saw
// often has commas in it.
type reportFlags []map[string]string

func (f *reportFlags) String() string { return fmt.Sprint(len(*f), " reports") }

func (f *reportFlags) Set(v string) error {
	keys := map[string]string{"where": "location", "how": "access", "saw": "observed", "name": "name"}
	parts := strings.Split(v, ";")
	r := map[string]string{"email": strings.TrimSpace(parts[0]), "channel": "cli"}
	if r["email"] == "" || strings.Contains(r["email"], "=") {
		return fmt.Errorf("start with the reporter's email, then ; where=... ; how=... ; saw=...")
	}
	last := ""
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok && last != "" {
			// "how=mobile app; iPhone; office wifi": the access text has
			// semicolons of its own; a part without a key continues it.
			r[last] += "; " + strings.TrimSpace(p)
			continue
		}
		field, known := keys[strings.ToLower(strings.TrimSpace(k))]
		if !ok || !known {
			return fmt.Errorf("unknown part %q (want where=, how=, saw= or name=)", strings.TrimSpace(p))
		}
		r[field], last = strings.TrimSpace(val), field
	}
	*f = append(*f, r)
	return nil
}
