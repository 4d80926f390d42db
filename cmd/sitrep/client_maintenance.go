package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type noticeOut struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Groups []string  `json:"groups"`
	Sent   bool      `json:"sent"`
}

type windowOut struct {
	ID      int64                 `json:"id"`
	Ref     string                `json:"ref"`
	Title   string                `json:"title"`
	Systems []string              `json:"systems"`
	Source  string                `json:"source"`
	Start   time.Time             `json:"start"`
	End     time.Time             `json:"end"`
	State   string                `json:"state"`
	Notices map[string]*noticeOut `json:"notices"`
}

// told is what was said about the window, in order: "announced 14:05,
// rescheduled 16:10, started 22:00".
func (w windowOut) told() string {
	var parts []string
	for _, step := range noticeOrder(w.Notices) {
		n := w.Notices[step]
		s := noticeName(step) + " " + n.At.UTC().Format("Jan 02 15:04")
		if !n.Sent {
			s += " (nobody told)"
		} else if step == "announced" || strings.HasPrefix(step, "rescheduled") {
			s += " to " + strings.Join(n.Groups, ", ")
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "not told yet"
	}
	return strings.Join(parts, "; ")
}

// noticeOrder lists the steps of notices in the order they were told: by
// time, and at the same time in the order of the steps (a window's moves,
// "rescheduled-1", "rescheduled-2", after its announcement).
func noticeOrder(notices map[string]*noticeOut) []string {
	rank := func(step string) int {
		switch step {
		case "announced":
			return 0
		case "started":
			return 1000
		case "ended":
			return 1001
		case "cancelled":
			return 1002
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(step, "rescheduled-"))
		return 1 + n
	}
	steps := make([]string, 0, len(notices))
	for step := range notices {
		steps = append(steps, step)
	}
	sort.Slice(steps, func(i, j int) bool {
		a, b := notices[steps[i]], notices[steps[j]]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		return rank(steps[i]) < rank(steps[j])
	})
	return steps
}

// noticeName is a step as people read it: "rescheduled" for each move.
func noticeName(step string) string {
	if strings.HasPrefix(step, "rescheduled-") {
		return "rescheduled"
	}
	return step
}

func cmdMaintenance(ctx context.Context, e env, args []string) error {
	const usage = "usage: sitrep maintenance declare --systems a,b --from TIME --to TIME --title T [--details TEXT] [--url U]\n" +
		"       sitrep maintenance list [--since 168h] [--ahead 720h]\n" +
		"       sitrep maintenance show|announce|cancel MAINT-7\n\n" +
		"Run \"sitrep maintenance declare --help\" for the flags."
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, usage)
		return errUsage
	}
	if helpAsked(args[:1]) {
		fmt.Fprintln(e.stdout, usage)
		return errHelp
	}
	switch args[0] {
	case "declare":
		return cmdMaintenanceDeclare(ctx, e, args[1:])
	case "list":
		return cmdMaintenanceList(ctx, e, args[1:])
	case "show", "announce", "cancel":
		return cmdMaintenanceAct(ctx, e, args[0], args[1:])
	default:
		fmt.Fprintf(e.stderr, "sitrep maintenance: unknown subcommand %q (want declare, list, show, announce or cancel)\n", args[0])
		return errUsage
	}
}

func cmdMaintenanceDeclare(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "maintenance declare", "maintenance declare --systems a,b --from TIME --to TIME --title T [--details TEXT] [--url U]")
	systems := fs.String("systems", "", "the systems the work touches, comma-separated, as in groups.yaml's escalations (required)")
	from := fs.String("from", "", "when the work starts: RFC 3339, e.g. 2026-11-28T22:00:00Z (required)")
	to := fs.String("to", "", "when it ends: RFC 3339 (required)")
	title := fs.String("title", "", "what the work is, one line (required)")
	details := fs.String("details", "", "what people should expect")
	link := fs.String("url", "", "a link to the change request or runbook")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected %q", pos[0])
	}
	body := map[string]any{"title": *title, "details": *details, "url": *link, "systems": splitList(*systems)}
	for flag, v := range map[string]string{"start": *from, "end": *to} {
		if v == "" {
			continue // the server names what is missing
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			name := map[string]string{"start": "--from", "end": "--to"}[flag]
			return fmt.Errorf("%s: want RFC 3339 (2026-11-28T22:00:00Z), got %q", name, v)
		}
		body[flag] = t.UTC().Format(time.RFC3339)
	}
	var out struct {
		Window windowOut `json:"window"`
	}
	raw, err := c.do(ctx, "POST", "/maintenance", body, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	w := out.Window
	fmt.Fprintf(e.stdout, "Declared %s: %s on %s, %s to %s UTC.\n", w.Ref, w.Title, strings.Join(w.Systems, ", "),
		w.Start.UTC().Format("2006-01-02 15:04"), w.End.UTC().Format("2006-01-02 15:04"))
	return nil
}

func cmdMaintenanceList(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "maintenance list", "maintenance list [--since 168h] [--ahead 720h]")
	since := fs.String("since", "168h", "windows from this long ago")
	ahead := fs.String("ahead", "720h", "to this far ahead")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var out struct {
		Windows []windowOut `json:"windows"`
	}
	if printed, err := c.get(ctx, "/maintenance?since="+*since+"&ahead="+*ahead, &out); printed || err != nil {
		return err
	}
	if len(out.Windows) == 0 {
		fmt.Fprintln(e.stdout, "No maintenance windows.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW\tFROM (UTC)\tTO\tSTATE\tSYSTEMS\tTITLE\tTOLD")
	for _, w := range out.Windows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w.Ref, w.Start.UTC().Format("Jan 02 15:04"), w.End.UTC().Format("Jan 02 15:04"),
			w.State, strings.Join(w.Systems, ","), w.Title, w.told())
	}
	return tw.Flush()
}

func cmdMaintenanceAct(ctx context.Context, e env, verb string, args []string) error {
	fs, c := clientFlags(e, "maintenance "+verb, "maintenance "+verb+" MAINT-7")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want one window, e.g. MAINT-7")
	}
	var out struct {
		Window windowOut `json:"window"`
	}
	var raw []byte
	if verb == "show" {
		raw, err = c.do(ctx, "GET", "/maintenance/"+pos[0], nil, &out)
	} else {
		raw, err = c.do(ctx, "POST", "/maintenance/"+pos[0]+"/"+verb, map[string]any{}, &out)
	}
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	w := out.Window
	fmt.Fprintf(e.stdout, "%s: %s on %s, %s to %s UTC: %s; %s.\n", w.Ref, w.Title, strings.Join(w.Systems, ", "),
		w.Start.UTC().Format("2006-01-02 15:04"), w.End.UTC().Format("2006-01-02 15:04"), w.State, w.told())
	return nil
}
