package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// cmdAudit prints an incident's audit record (docs/audit.md): every
// message sitrep sent for it and every recipient's delivery state and
// times; --csv writes the record as CSV, as GET .../audit.csv does.
func cmdAudit(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "audit", "audit INC-42 [--csv] [--json]\n\n"+
		"Every message sitrep sent for the incident, oldest first, each with its Message-ID, and every recipient with the\n"+
		"delivery state (sent: the receiving server accepted it; bounced, failed, deferred, skipped, queued) and times, UTC.\n"+
		"  sitrep audit INC-42 --csv > INC-42-audit.csv")
	asCSV := fs.Bool("csv", false, "write the record as CSV (one row per recipient of each message)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	if *asCSV {
		if c.json {
			return errors.New("--csv and --json: give one")
		}
		raw, err := c.do(ctx, "GET", "/incidents/"+pos[0]+"/audit.csv", nil, nil)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(raw)
		return err
	}
	var out struct {
		Incident   string `json:"incident"`
		Title      string `json:"title"`
		Recipients int    `json:"recipients"`
		Messages   []struct {
			ID         int64     `json:"id"`
			Kind       string    `json:"kind"`
			Audience   string    `json:"audience"`
			Subject    string    `json:"subject"`
			MessageID  string    `json:"message_id"`
			Groups     []string  `json:"groups"`
			QueuedAt   time.Time `json:"queued_at"`
			Recipients []struct {
				Email     string     `json:"email"`
				Group     string     `json:"group"`
				State     string     `json:"state"`
				SentAt    *time.Time `json:"sent_at"`
				FailedAt  *time.Time `json:"failed_at"`
				BouncedAt *time.Time `json:"bounced_at"`
				LastError string     `json:"last_error"`
			} `json:"recipients"`
		} `json:"messages"`
	}
	if printed, err := c.get(ctx, "/incidents/"+pos[0]+"/audit", &out); printed || err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "Audit record of %s (%s): %d messages, %d recipients in all; times UTC.\n", out.Incident, out.Title, len(out.Messages), out.Recipients)
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("01-02 15:04:05")
	}
	for i, m := range out.Messages {
		fmt.Fprintf(w, "\n%d. %s to the %s, queued %s\n   Subject: %s\n   Message-ID: %s\n", i+1, m.Kind, m.Audience,
			m.QueuedAt.UTC().Format("2006-01-02 15:04:05"), m.Subject, m.MessageID)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "   RECIPIENT\tVIA\tSTATE\tSENT\tFAILED/BOUNCED\tERROR")
		for _, r := range m.Recipients {
			failed := stamp(r.FailedAt)
			if r.BouncedAt != nil {
				failed = stamp(r.BouncedAt)
			}
			errText := r.LastError
			if len(errText) > 60 {
				errText = errText[:60] + "..."
			}
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\t%s\n", r.Email, orDash(r.Group), r.State, stamp(r.SentAt), failed, orDash(errText))
		}
		tw.Flush()
	}
	return nil
}

// cmdQuestions lists an incident's stakeholders' questions and marks one,
// or every open one, answered (docs/policy.md).
func cmdQuestions(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "questions", "questions INC-42 [--answered ID | --all-answered] [--json]\n\n"+
		"Stakeholders' replies forwarded to the comms lead. A question is answered when a lead says so: here, on the\n"+
		"incident page, or with `sitrep update --answers-questions`; the policy's answer_within reminds the comms lead of\n"+
		"one left open, once.")
	answered := fs.Int64("answered", 0, "mark question `ID` answered")
	all := fs.Bool("all-answered", false, "mark every open question answered")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	if *answered != 0 || *all {
		if *answered != 0 && *all {
			return errors.New("--answered ID or --all-answered, not both")
		}
		path := "/incidents/" + pos[0] + "/questions/answered"
		if *answered != 0 {
			path = "/incidents/" + pos[0] + "/questions/" + strconv.FormatInt(*answered, 10) + "/answered"
		}
		var out struct {
			Answered []struct {
				ID   int64  `json:"id"`
				From string `json:"from"`
			} `json:"answered"`
		}
		raw, err := c.do(ctx, "POST", path, map[string]any{}, &out)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		for _, q := range out.Answered {
			fmt.Fprintf(e.stdout, "Question %d from %s marked answered.\n", q.ID, q.From)
		}
		return nil
	}
	var out struct {
		Incident string `json:"incident"`
		Open     int    `json:"open"`
		Policy   *struct {
			AnswerWithin string `json:"answer_within"`
		} `json:"policy"`
		Questions []struct {
			ID         int64      `json:"id"`
			From       string     `json:"from"`
			Audience   string     `json:"audience"`
			Text       string     `json:"text"`
			ReceivedAt time.Time  `json:"received_at"`
			RemindedAt *time.Time `json:"reminded_at"`
			AnsweredAt *time.Time `json:"answered_at"`
			AnsweredBy string     `json:"answered_by"`
		} `json:"questions"`
	}
	if printed, err := c.get(ctx, "/incidents/"+pos[0]+"/questions", &out); printed || err != nil {
		return err
	}
	w := e.stdout
	if len(out.Questions) == 0 {
		fmt.Fprintf(w, "No questions to %s.\n", out.Incident)
		return nil
	}
	fmt.Fprintf(w, "Questions to %s: %d, %d open", out.Incident, len(out.Questions), out.Open)
	if out.Policy != nil && out.Policy.AnswerWithin != "" {
		fmt.Fprintf(w, " (the policy answers within %s)", out.Policy.AnswerWithin)
	}
	fmt.Fprintln(w)
	for _, q := range out.Questions {
		state := "OPEN"
		switch {
		case q.AnsweredAt != nil:
			state = "answered " + q.AnsweredAt.UTC().Format("15:04 UTC") + " by " + q.AnsweredBy
		case q.RemindedAt != nil:
			state = "OPEN, reminded " + q.RemindedAt.UTC().Format("15:04 UTC")
		}
		from := q.From
		if q.Audience != "" {
			from += " (" + q.Audience + ")"
		}
		fmt.Fprintf(w, "\n#%d  %s  %s\n    %s\n", q.ID, q.ReceivedAt.UTC().Format("Jan 02 15:04 UTC"), from, state)
		for _, line := range strings.Split(strings.TrimSpace(q.Text), "\n") {
			fmt.Fprintf(w, "    | %s\n", line)
		}
	}
	return nil
}
