package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

type slotOut struct {
	Start    time.Time                               `json:"start"`
	End      time.Time                               `json:"end"`
	Room     *struct{ Name, Building, Floor string } `json:"room"`
	Reasons  []string                                `json:"reasons"`
	Warnings []string                                `json:"warnings"`
}

type postmortemOut struct {
	Incident     string     `json:"incident"`
	UID          string     `json:"uid"`
	State        string     `json:"state"`
	Pending      string     `json:"pending"`
	Sequence     int        `json:"sequence"`
	Facilitator  string     `json:"facilitator"`
	Start        *time.Time `json:"start"`
	Remote       bool       `json:"remote"`
	VideoLink    string     `json:"video_link"`
	Backend      string     `json:"backend"`
	BookingError string     `json:"booking_error"`
	Booking      *struct {
		HTMLLink string `json:"html_link"`
		MeetLink string `json:"meet_link"`
	} `json:"booking"`
	Room      *struct{ Name, Building, Floor string } `json:"room"`
	Proposals []slotOut                               `json:"proposals"`
	Attendees []struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Optional bool   `json:"optional"`
		Source   string `json:"source"`
		PartStat string `json:"partstat"`
	} `json:"attendees"`
}

func cmdPostmortem(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "postmortem", "postmortem INC-42 [--propose [--remote] | --book N|TIME | --auto | --reschedule N|TIME | --cancel | --publish |\n"+
		"       --issue TEXT [--override] | --improvement TEXT [--owner EMAIL] [--due YYYY-MM-DD] [--for I1] | --add EMAIL [--optional] | --remove EMAIL]")
	propose := fs.Bool("propose", false, "propose slots 1–2 business days after the resolution, with a room")
	remote := fs.Bool("remote", false, "with --propose, --book or --auto: no room, a video call")
	book := fs.String("book", "", "book a proposal by number (1, 2, ...) or a start time (RFC 3339)")
	auto := fs.Bool("auto", false, "book the best slot")
	reschedule := fs.String("reschedule", "", "move the booked post-mortem to a proposal number or a start time")
	cancel := fs.Bool("cancel", false, "cancel the booked post-mortem")
	publish := fs.Bool("publish", false, "send the Issues and Improvements to every participant")
	issue := fs.String("issue", "", "record an Issue (a system or process failure; no names)")
	override := fs.Bool("override", false, "with --issue: record it despite blameless-lint findings (kept on the record)")
	improvement := fs.String("improvement", "", "record an Improvement")
	owner := fs.String("owner", "", "with --improvement: its owner's email (from the directory)")
	due := fs.String("due", "", "with --improvement: due date, YYYY-MM-DD")
	forIssue := fs.String("for", "", "with --improvement: the Issue it addresses (I1, I2, ...)")
	add := fs.String("add", "", "invite someone (before booking)")
	optional := fs.Bool("optional", false, "with --add: as optional")
	remove := fs.String("remove", "", "take someone off the list (before booking)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	base := "/incidents/" + url.PathEscape(pos[0]) + "/postmortem"
	remoteOpt := func() any {
		if *remote {
			return true
		}
		return nil
	}
	var actions int
	for _, set := range []bool{*propose, *book != "", *auto && *reschedule == "", *reschedule != "", *cancel, *publish, *issue != "", *improvement != "", *add != "", *remove != ""} {
		if set {
			actions++
		}
	}
	if actions > 1 {
		fs.Usage()
		return fmt.Errorf("one action at a time")
	}

	switch {
	case *propose:
		var out struct {
			Slots      []slotOut     `json:"slots"`
			Postmortem postmortemOut `json:"postmortem"`
		}
		raw, err := c.do(ctx, "POST", base+"/propose", map[string]any{"remote": remoteOpt()}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		fmt.Fprintf(e.stdout, "Post-mortem of %s: %d attendees, facilitated by %s.\n", out.Postmortem.Incident, len(out.Postmortem.Attendees), out.Postmortem.Facilitator)
		for i, s := range out.Slots {
			fmt.Fprintf(e.stdout, "  %d. %s–%s  %s\n", i+1, s.Start.Local().Format("Mon 2 Jan 15:04"), s.End.Local().Format("15:04 MST"), strings.Join(s.Reasons, "; "))
		}
		if len(out.Slots) > 0 {
			for _, w := range out.Slots[0].Warnings {
				fmt.Fprintf(e.stdout, "  note: %s\n", w)
			}
		}
		fmt.Fprintf(e.stdout, "Book one with `sitrep postmortem %s --book N`, or the best with --auto.\n", out.Postmortem.Incident)
		return nil
	case *book != "" || *auto || *reschedule != "":
		path, in := base+"/book", map[string]any{"slot": *book, "auto": *auto, "remote": remoteOpt()}
		if *reschedule != "" {
			path, in["slot"] = base+"/reschedule", *reschedule
		}
		return c.showPostmortem(ctx, e, "POST", path, in)
	case *cancel:
		return c.showPostmortem(ctx, e, "POST", base+"/cancel", map[string]any{})
	case *add != "":
		return c.showPostmortem(ctx, e, "POST", base+"/attendees", map[string]any{"email": *add, "optional": *optional})
	case *remove != "":
		return c.showPostmortem(ctx, e, "DELETE", base+"/attendees/"+url.PathEscape(*remove), nil)
	case *issue != "":
		var out struct {
			Ref        string       `json:"ref"`
			Overridden []findingOut `json:"overridden_findings"`
		}
		raw, err := c.do(ctx, "POST", base+"/issues", map[string]any{"text": *issue, "override": *override}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		fmt.Fprintf(e.stdout, "Issue %s recorded.\n", out.Ref)
		if len(out.Overridden) > 0 {
			fmt.Fprintf(e.stdout, "Blameless lint overridden (%d findings); the override is on the record.\n", len(out.Overridden))
		}
		return nil
	case *improvement != "":
		var out struct {
			Ref     string `json:"ref"`
			Owner   string `json:"owner"`
			DueOn   string `json:"due_on"`
			Unowned bool   `json:"unowned"`
		}
		raw, err := c.do(ctx, "POST", base+"/improvements", map[string]any{"text": *improvement, "owner": *owner, "due": *due, "issue": *forIssue}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		if out.Unowned {
			fmt.Fprintf(e.stdout, "Improvement %s recorded WITHOUT AN OWNER: give it one with `sitrep improvements` / PATCH /api/v1/improvements.\n", out.Ref)
		} else {
			fmt.Fprintf(e.stdout, "Improvement %s recorded; owner %s%s.\n", out.Ref, out.Owner, map[bool]string{true: ", due " + out.DueOn, false: ""}[out.DueOn != ""])
		}
		return nil
	case *publish:
		var out struct {
			Message  messageOut `json:"message"`
			Unowned  int        `json:"unowned"`
			Webhook  bool       `json:"webhook_queued"`
			Notified []string   `json:"notified"`
		}
		raw, err := c.do(ctx, "POST", base+"/publish", map[string]any{}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		fmt.Fprintf(e.stdout, "Post-mortem results sent to %d participants.\n", out.Message.Total)
		if out.Unowned > 0 {
			fmt.Fprintf(e.stdout, "  %d improvement(s) have no owner yet.\n", out.Unowned)
		}
		if out.Webhook {
			fmt.Fprintln(e.stdout, "  The webhook will be posted.")
		}
		return nil
	default:
		return c.showPostmortem(ctx, e, "GET", base, nil)
	}
}

// showPostmortem calls the API and prints the post-mortem it answers with.
func (c *client) showPostmortem(ctx context.Context, e env, method, path string, in any) error {
	var pm postmortemOut
	raw, err := c.do(ctx, method, path, in, &pm)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	state := pm.State
	if pm.Pending != "" {
		state += " (" + pm.Pending + " in progress)"
	}
	fmt.Fprintf(e.stdout, "Post-mortem of %s: %s, through %s\n", pm.Incident, state, orDash(pm.Backend))
	if pm.Start != nil {
		where := "remote"
		if pm.Room != nil && !pm.Remote {
			where = strings.TrimSuffix(strings.Join([]string{pm.Room.Name, pm.Room.Building}, ", "), ", ")
		}
		if pm.VideoLink != "" {
			where += ", " + pm.VideoLink
		}
		fmt.Fprintf(e.stdout, "  when:  %s (UID %s, sequence %d)\n  where: %s\n", pm.Start.Local().Format("Mon 2 Jan 2006 15:04 MST"), pm.UID, pm.Sequence, where)
	}
	if b := pm.Booking; b != nil && b.MeetLink != "" {
		fmt.Fprintf(e.stdout, "  join:  %s\n", b.MeetLink)
	}
	if b := pm.Booking; b != nil && b.HTMLLink != "" {
		fmt.Fprintf(e.stdout, "  event: %s\n", b.HTMLLink)
	}
	if pm.BookingError != "" {
		fmt.Fprintf(e.stdout, "  calendar: %s\n", pm.BookingError)
	}
	fmt.Fprintf(e.stdout, "  facilitator: %s\n  attendees (%d):\n", pm.Facilitator, len(pm.Attendees))
	for _, a := range pm.Attendees {
		opt := ""
		if a.Optional {
			opt = " (optional)"
		}
		fmt.Fprintf(e.stdout, "    %-36s %-14s %s%s\n", a.Email, a.PartStat, a.Source, opt)
	}
	return nil
}

func cmdImprovements(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "improvements", "improvements [--owner EMAIL] [--overdue] [--incident INC-42] [--csv]")
	owner := fs.String("owner", "", "only this owner's")
	overdue := fs.Bool("overdue", false, "only open ones past their due date")
	inc := fs.String("incident", "", "only this incident's")
	asCSV := fs.Bool("csv", false, "print CSV (for a spreadsheet or a backlog import)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"owner": *owner, "incident": *inc} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *overdue {
		q.Set("overdue", "true")
	}
	if *asCSV {
		q.Set("format", "csv")
		raw, err := c.do(ctx, "GET", "/improvements?"+q.Encode(), nil, nil)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(raw)
		return err
	}
	var out struct {
		Improvements []struct {
			Incident string `json:"incident"`
			Ref      string `json:"ref"`
			Text     string `json:"text"`
			Owner    string `json:"owner"`
			DueOn    string `json:"due_on"`
			Overdue  bool   `json:"overdue"`
			State    string `json:"state"`
			// TrackerRef: its issue in the backlog; TrackerProblem: why it could not be filed.
			TrackerRef     string `json:"tracker_ref"`
			TrackerProblem string `json:"tracker_problem"`
		} `json:"improvements"`
		Unowned int `json:"unowned"`
	}
	if printed, err := c.get(ctx, "/improvements?"+q.Encode(), &out); printed || err != nil {
		return err
	}
	if len(out.Improvements) == 0 {
		fmt.Fprintln(e.stdout, "No improvements.")
		return nil
	}
	for _, m := range out.Improvements {
		flag := ""
		switch {
		case m.Owner == "":
			flag = "NO OWNER"
		case m.Overdue:
			flag = "OVERDUE"
		case m.State == "done":
			flag = "done"
		}
		text := m.Text
		switch {
		case m.TrackerRef != "":
			text += " [backlog #" + m.TrackerRef + "]"
		case m.TrackerProblem != "":
			text += " [NOT IN THE BACKLOG: " + m.TrackerProblem + "]"
		}
		fmt.Fprintf(e.stdout, "%-8s %-4s %-30s %-10s %-9s %s\n", m.Incident, m.Ref, orDash(m.Owner), orDash(m.DueOn), flag, text)
	}
	if out.Unowned > 0 {
		fmt.Fprintf(e.stdout, "%d without an owner.\n", out.Unowned)
	}
	return nil
}
