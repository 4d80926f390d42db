package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// inboundOut is a message that came back by mail, as the API lists it:
// the new text only, never HTML.
type inboundOut struct {
	ID         int64     `json:"id"`
	Incident   string    `json:"incident"`
	State      string    `json:"state"`
	Class      string    `json:"class"`
	Sender     string    `json:"sender"`
	SenderName string    `json:"sender_name"`
	Subject    string    `json:"subject"`
	Text       string    `json:"text"`
	ReceivedAt time.Time `json:"received_at"`
	MatchedBy  string    `json:"matched_by"`
	Action     string    `json:"action"`
	Error      string    `json:"error"`
}

// cmdReplies lists the replies by mail to an incident's emails, with the
// class the hub gave each (question, report, command, auto-reply, ...).
func cmdReplies(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "replies", "replies INC-42 [--json]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	var out struct {
		Incident string       `json:"incident"`
		Replies  []inboundOut `json:"replies"`
	}
	if printed, err := c.get(ctx, "/incidents/"+pos[0]+"/replies", &out); printed || err != nil {
		return err
	}
	if len(out.Replies) == 0 {
		fmt.Fprintf(e.stdout, "No replies to %s yet.\n", out.Incident)
		return nil
	}
	fmt.Fprintf(e.stdout, "Replies to %s (%d), oldest first:\n", out.Incident, len(out.Replies))
	for _, r := range out.Replies {
		printInbound(e.stdout, r)
	}
	return nil
}

// printInbound prints one message: when, class, sender, what was done
// with it, then its new text indented.
func printInbound(w io.Writer, r inboundOut) {
	from := r.Sender
	if r.SenderName != "" {
		from = r.SenderName + " <" + r.Sender + ">"
	}
	fmt.Fprintf(w, "\n#%d  %s  %-10s %s\n", r.ID, r.ReceivedAt.UTC().Format("Jan 02 15:04 UTC"), strings.ToUpper(r.Class), from)
	if r.Subject != "" {
		fmt.Fprintf(w, "    subject: %s\n", r.Subject)
	}
	if r.Action != "" {
		fmt.Fprintf(w, "    done:    %s\n", r.Action)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "    why:     %s\n", r.Error)
	}
	text := strings.TrimSpace(r.Text)
	if len(text) > 2000 {
		text = text[:2000] + " [...]"
	}
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "    | %s\n", line)
	}
}

// cmdTriage lists inbound mail that matched no incident (and mail set
// aside unread), or files one message on an incident: the API's two
// triage actions.
func cmdTriage(ctx context.Context, e env, args []string) error {
	if len(args) > 0 && (args[0] == "file" || args[0] == "assign") {
		return cmdTriageFile(ctx, e, args[1:])
	}
	fs, c := clientFlags(e, "triage", "triage [--limit N] [--json]\n       sitrep triage file ID INC-42")
	limit := fs.Int("limit", 0, "at most this many, newest first (default: the server's, 200)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("unknown triage command %q (want no argument to list, or file ID INC-42)", pos[0])
	}
	path := "/triage"
	if *limit > 0 {
		path += fmt.Sprintf("?limit=%d", *limit)
	}
	var out struct {
		Messages []inboundOut `json:"messages"`
	}
	if printed, err := c.get(ctx, path, &out); printed || err != nil {
		return err
	}
	if len(out.Messages) == 0 {
		fmt.Fprintln(e.stdout, "Triage is empty: every inbound message matched an incident.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED (UTC)\tCLASS\tFROM\tSUBJECT")
	for _, m := range out.Messages {
		class := m.Class
		if m.Error != "" {
			class += " (" + m.Error + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", m.ID, m.ReceivedAt.UTC().Format("Jan 02 15:04"), class, m.Sender, m.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "File one on an incident: sitrep triage file ID INC-42 (a report becomes the incident's report; anything else a timeline entry)")
	return nil
}

func cmdTriageFile(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "triage file", "triage file ID INC-42 [--json]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("want a triage message id (from `sitrep triage`) and an incident id, like INC-42")
	}
	id := strings.TrimPrefix(pos[0], "#")
	var out inboundOut
	raw, err := c.do(ctx, "POST", "/triage/"+id+"/assign", map[string]string{"incident": pos[1]}, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	what := "on the timeline"
	if out.Class == "report" {
		what = "as a report"
	}
	fmt.Fprintf(e.stdout, "Message #%d from %s filed on %s %s.\n", out.ID, out.Sender, strings.ToUpper(pos[1]), what)
	return nil
}
