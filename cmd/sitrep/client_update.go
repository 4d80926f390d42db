package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

type messageOut struct {
	ID        int64          `json:"id"`
	Audience  string         `json:"audience"`
	Kind      string         `json:"kind"`
	MessageID string         `json:"message_id"`
	Subject   string         `json:"subject"`
	Total     int            `json:"total"`
	Counts    map[string]int `json:"counts"`
	CreatedAt time.Time      `json:"created_at"`
	Language  string         `json:"language"`
	// Variants are the update in its readers' other languages (only in
	// the answer to a send).
	Variants []messageOut `json:"variants"`
}

// ids are the rows of the message and of its variants.
func (m messageOut) ids() []int64 {
	out := []int64{m.ID}
	for _, v := range m.Variants {
		out = append(out, v.ID)
	}
	return out
}

func cmdUpdate(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "update", "update INC-42 --status TEXT [--translation LANG=TEXT ...] [--for GROUP=TEXT ...] [--public TEXT [--public-next 1h]] [--next 30m | --next-at 15:30] [--to GROUP,...] [--dry-run]\n\n"+
		"  sitrep update INC-42 --status-file update.md --translation-file de=update.de.md --translation ja=\"決済が停止しています。\"\n"+
		"  sitrep update INC-42 --status \"Checkout fails for 30% of card payments.\" --for customer-service=\"Tell customers: retrying in a few minutes works.\" --dry-run\n\n"+
		"A translation is your own version of the status for the recipients who read that language ("+strings.Join(i18n.Available(), ", ")+
		";\nde also serves de-CH); everyone else gets the status as written. sitrep never translates it, but writes its own words\n"+
		"(labels, dates) in each recipient's language either way. --for gives one of the update's groups its own wording\n"+
		"(the executives' summary, what customer service tells customers); its members get that instead of the status.")
	status := fs.String("status", "", "what is known now (Markdown)")
	statusFile := fs.String("status-file", "", "read the status from this file (- for stdin)")
	translations := translationFlags{}
	fs.Var(translationFlag{translations, false, false}, "translation", "your own translation of the status into one language, as in --translation de=\"Der Checkout ist ausgefallen.\" (repeat per `LANG=TEXT`)")
	fs.Var(translationFlag{translations, true, false}, "translation-file", "read one language's translation from a file (- for stdin), as in --translation-file de=update.de.md (repeat per `LANG=FILE`)")
	audiences := translationFlags{}
	fs.Var(translationFlag{audiences, false, true}, "for", "wording for one of the update's groups instead of the status, as in --for customer-service=\"Tell customers: ...\" (repeat per `GROUP=TEXT`)")
	fs.Var(translationFlag{audiences, true, true}, "for-file", "read one group's wording from a file (- for stdin), as in --for-file exec=exec.md (repeat per `GROUP=FILE`)")
	public := fs.String("public", "", "the wording for the public status page, written for customers (the status itself never goes there)")
	publicNext := fs.String("public-next", "", "the public promise: next public update in 1h, 2h (with --public); default: the update's own next time")
	next := fs.String("next", "", "next update in: 30m, 1h, 1h30m (also \"3 mins\", \"1 hour\"); default: the severity's policy at the incident's phase (sitrep show says it)")
	nextAt := fs.String("next-at", "", "next update at HH:MM (your local time) or RFC 3339")
	to := fs.String("to", "", "groups, comma-separated; default: the status audience")
	dryRun := fs.Bool("dry-run", false, "show what each group would receive; send nothing")
	holding := fs.Bool("hold", false, "a holding update: no change, next update by ...")
	answers := fs.Bool("answers-questions", false, "this update answers the stakeholders' open questions: mark them answered (sitrep questions lists them)")
	wait := fs.Bool("wait", true, "show delivery progress until every recipient is done")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *next != "" && len(pos) == 2 && durationUnit(pos[1]) != "" {
		// `--next 3 mins`: the shell split the value; the unit came out as
		// a second argument.
		*next += " " + pos[1]
		pos = pos[:1]
	}
	if len(pos) > 1 && *next != "" {
		fs.Usage()
		return fmt.Errorf("want one incident id, got %q too; %s", strings.Join(pos[1:], " "), nextFormats)
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	if *next != "" {
		d, err := parseNext(*next)
		if err != nil {
			return err
		}
		*next = d.String()
	}
	text := *status
	if *statusFile != "" {
		var b []byte
		if *statusFile == "-" {
			b, err = io.ReadAll(e.stdin)
		} else {
			b, err = os.ReadFile(*statusFile)
		}
		if err != nil {
			return fmt.Errorf("--status-file: %w", err)
		}
		text = string(b)
	}
	stdinTaker := ""
	if *statusFile == "-" {
		stdinTaker = "--status-file -"
	}
	ts, err := translations.read(e.stdin, stdinTaker)
	if err != nil {
		return err
	}
	for _, a := range translations {
		if a.isFile && a.value == "-" {
			stdinTaker = a.flag
		}
	}
	as, err := audiences.read(e.stdin, stdinTaker)
	if err != nil {
		return err
	}
	in := map[string]any{"status": text, "next": *next, "groups": splitList(*to), "dry_run": *dryRun, "holding": *holding}
	if *answers {
		in["answers_questions"] = true
	}
	if len(ts) > 0 {
		in["translations"] = ts
	}
	if len(as) > 0 {
		in["audiences"] = as
	}
	if *public != "" {
		in["public"] = *public
	}
	if *publicNext != "" {
		in["public_next"] = *publicNext
	}
	if *nextAt != "" {
		t, err := parseClock(*nextAt, time.Now())
		if err != nil {
			return fmt.Errorf("--next-at: %w", err)
		}
		in["next_at"] = t
	}
	// One key per invocation: a retry of this request after a timeout is
	// folded by the server instead of sending twice.
	key := make([]byte, 12)
	_, _ = rand.Read(key)
	in["idempotency_key"] = hex.EncodeToString(key)
	var out struct {
		Message            *messageOut `json:"message"`
		DryRun             bool        `json:"dry_run"`
		Recipients         int         `json:"recipients"`
		NextUpdateAt       time.Time   `json:"next_update_at"`
		PublicNextUpdateAt *time.Time  `json:"public_next_update_at"`
		PublicRecipients   int         `json:"public_recipients"`
		// PolicyWarning: the next update is later than the policy asks.
		PolicyWarning     string `json:"policy_warning"`
		QuestionsAnswered int    `json:"questions_answered"`
		Previews          []struct {
			Group      string            `json:"group"`
			For        string            `json:"for"`
			Reader     string            `json:"reader"`
			Language   string            `json:"language"`
			Recipients int               `json:"recipients"`
			Zones      map[string]int    `json:"zones"`
			Headers    map[string]string `json:"headers"`
			Text       string            `json:"text"`
		} `json:"previews"`
	}
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/updates", in, &out)
	if err != nil {
		return err
	}
	if c.json && (*dryRun || !*wait) {
		c.printJSON(raw)
		return nil
	}
	w := e.stdout
	if out.DryRun {
		// Each preview is one group's email in one language; the language
		// is named when there is more than the default (English).
		labelled := false
		for _, p := range out.Previews {
			labelled = labelled || (p.Language != "" && p.Language != i18n.Default)
		}
		for _, p := range out.Previews {
			group := p.Group
			switch p.For {
			case "followers":
				group = "followers, each their own copy"
			case "public":
				group = "public status page subscribers (the public email)"
			}
			if labelled && p.Language != "" {
				group += " (" + p.Language + ")"
			}
			fmt.Fprintf(w, "=== %s: %d recipients (%s)\n", group, p.Recipients, zonesLine(p.Zones))
			if p.For == "public" && len(p.Headers) == 0 {
				fmt.Fprintf(w, "Nobody has subscribed to the public page's emails yet: the public page alone shows the public text.\n\n")
				continue
			}
			keys := make([]string, 0, len(p.Headers))
			for k := range p.Headers {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "%s: %s\n", k, p.Headers[k])
			}
			fmt.Fprintf(w, "\n%s\n\n", strings.TrimSpace(p.Text))
		}
		if out.PublicNextUpdateAt != nil {
			fmt.Fprintf(w, "Public promise: next public update by %s.\n", out.PublicNextUpdateAt.Local().Format("15:04 MST"))
		}
		fmt.Fprintf(w, "Dry run: %d recipients in all; nothing was sent.\n", out.Recipients)
		if out.PolicyWarning != "" {
			fmt.Fprintf(w, "Note: %s\n", out.PolicyWarning)
		}
		return nil
	}
	if !c.json {
		fmt.Fprintf(w, "Update queued for %d recipients; next update promised by %s.\n", out.Recipients, out.NextUpdateAt.Local().Format("15:04 MST"))
		if out.PolicyWarning != "" {
			fmt.Fprintf(w, "Note: %s\n", out.PolicyWarning)
		}
		if out.QuestionsAnswered > 0 {
			fmt.Fprintf(w, "%d open question(s) marked answered.\n", out.QuestionsAnswered)
		}
	}
	if !*wait || out.Message == nil {
		if c.json {
			c.printJSON(raw)
		}
		return nil
	}
	return c.progress(ctx, pos[0], out.Message.ids())
}

// translationFlags are --translation and --translation-file as given, by
// canonical language tag: the text, or the file to read it from.
type translationFlags map[string]translationArg

type translationArg struct {
	value  string // the text, or the file name
	isFile bool
	flag   string // as typed, for errors: --translation-file de=x.md
}

// translationFlag is one of the two flags, each repeatable, each once per
// language across both. The language is checked as it is parsed, so a
// typo fails before anything is sent, naming the languages there are.
//
// With group set, the same pair of flags takes wording for one audience
// (--for customer-service=TEXT, --for-file): the key is a group's name,
// which the server checks against the update's groups.
type translationFlag struct {
	m      translationFlags
	isFile bool
	group  bool
}

func (f translationFlag) String() string { return "" }

func (f translationFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	key = strings.TrimSpace(key)
	name, unit := "--translation", "LANG"
	if f.group {
		name, unit = "--for", "GROUP"
	}
	want := unit + "=TEXT"
	if f.isFile {
		name, want = name+"-file", unit+"=FILE"
	}
	if !ok || key == "" {
		if f.group {
			return fmt.Errorf("want %s, such as customer-service=%s", want, map[bool]string{false: `"Tell customers: payments may fail; retrying works."`, true: "update.cs.md"}[f.isFile])
		}
		return fmt.Errorf("want %s, such as de=%s; the languages are %s", want, map[bool]string{false: `"Der Checkout ist ausgefallen."`, true: "update.de.md"}[f.isFile], strings.Join(i18n.Available(), ", "))
	}
	canon := strings.ToLower(key)
	if !f.group {
		if canon, ok = i18n.Supported(key); !ok {
			return fmt.Errorf("%q is not a language sitrep writes in; the languages are %s (or a regional tag of one, such as de-CH)", key, strings.Join(i18n.Available(), ", "))
		}
	}
	if prev, dup := f.m[canon]; dup {
		what := "language"
		if f.group {
			what = "group"
		}
		return fmt.Errorf("%s is given twice (also %s): give each %s once", canon, prev.flag, what)
	}
	if f.isFile && value == "" {
		return fmt.Errorf("%s: want %s, the file to read the text from (- for stdin)", key, want)
	}
	f.m[canon] = translationArg{value: value, isFile: f.isFile, flag: name + " " + v}
	return nil
}

// read returns the translations by language, reading the files.
// Standard input is read once: stdinTaker is the flag that reads it
// already ("--status-file -"), or "".
func (t translationFlags) read(stdin io.Reader, stdinTaker string) (map[string]string, error) {
	if len(t) == 0 {
		return nil, nil
	}
	tags := make([]string, 0, len(t))
	for tag := range t {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	out := make(map[string]string, len(t))
	for _, tag := range tags {
		a := t[tag]
		if !a.isFile {
			out[tag] = a.value
			continue
		}
		var b []byte
		var err error
		if a.value == "-" {
			if stdinTaker != "" {
				return nil, fmt.Errorf("%s: standard input can be read once, and %s reads it; give the other texts as files", a.flag, stdinTaker)
			}
			stdinTaker = a.flag
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(a.value)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.flag, err)
		}
		out[tag] = string(b)
	}
	return out, nil
}

// progress polls the deliveries of the messages ids (an update's, one
// per language its readers read) until none is queued or being sent.
func (c *client) progress(ctx context.Context, ref string, ids []int64) error {
	var last string
	for {
		m := messageOut{Counts: map[string]int{}}
		var raws []json.RawMessage
		for _, id := range ids {
			var out struct {
				Message messageOut `json:"message"`
			}
			raw, err := c.do(ctx, "GET", fmt.Sprintf("/incidents/%s/messages/%d/deliveries?state=failed", ref, id), nil, &out)
			if err != nil {
				return err
			}
			raws = append(raws, raw)
			m.Total += out.Message.Total
			for st, n := range out.Message.Counts {
				m.Counts[st] += n
			}
		}
		done := m.Counts["sent"] + m.Counts["failed"] + m.Counts["skipped"]
		line := fmt.Sprintf("delivered %d / %d", m.Counts["sent"], m.Total)
		if n := m.Counts["failed"]; n > 0 {
			line += fmt.Sprintf(", %d failed", n)
		}
		if n := m.Counts["deferred"]; n > 0 {
			line += fmt.Sprintf(", %d retrying", n)
		}
		if n := m.Counts["skipped"]; n > 0 {
			line += fmt.Sprintf(", %d skipped", n)
		}
		if line != last && !c.json {
			// On a terminal the line is redrawn in place; in a log, one line each.
			if isTerminal(c.e.stderr) {
				fmt.Fprintf(c.e.stderr, "\r%s", line)
			} else {
				fmt.Fprintln(c.e.stderr, line)
			}
			last = line
		}
		if done >= m.Total || (m.Counts["queued"] == 0 && m.Counts["sending"] == 0) {
			if c.json {
				if len(raws) == 1 {
					c.printJSON(raws[0])
				} else {
					// One answer per language's message, in the order of ids.
					all, _ := json.Marshal(raws)
					c.printJSON(all)
				}
			} else {
				if isTerminal(c.e.stderr) {
					fmt.Fprintln(c.e.stderr)
				}
				if m.Counts["failed"] > 0 || m.Counts["deferred"] > 0 {
					if len(ids) == 1 {
						fmt.Fprintf(c.e.stdout, "See who: sitrep deliveries %s %d\n", ref, ids[0])
					} else {
						fmt.Fprintf(c.e.stdout, "See who: sitrep deliveries %s --state failed (and --state deferred)\n", ref)
					}
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func zonesLine(z map[string]int) string {
	keys := make([]string, 0, len(z))
	for k := range z {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, z[k])
	}
	return strings.Join(parts, ", ")
}

// nextFormats says what --next and --next-at take, for their errors.
const nextFormats = "--next takes a duration like 30m, 1h, 1h30m or \"3 mins\" (quoted, or written 3m); --next-at takes HH:MM (your local time) or RFC 3339"

// parseNext reads --next: a Go duration (30m, 1h30m), or a number and a
// unit as people write them ("3 mins", "1 hour", "90 seconds").
func parseNext(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i > 0 {
		if unit := durationUnit(strings.TrimSpace(s[i:])); unit != "" {
			if d, err := time.ParseDuration(s[:i] + unit); err == nil {
				return d, nil
			}
		}
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("--next %s: add a unit, like %sm or %sh; %s", s, s, s, nextFormats)
	}
	return 0, fmt.Errorf("--next %q: %s", s, nextFormats)
}

// durationUnit is the Go unit of a word people use for one: "mins" is m.
func durationUnit(word string) string {
	switch strings.ToLower(strings.TrimSuffix(strings.TrimSpace(word), ".")) {
	case "s", "sec", "secs", "second", "seconds":
		return "s"
	case "m", "min", "mins", "minute", "minutes":
		return "m"
	case "h", "hr", "hrs", "hour", "hours":
		return "h"
	}
	return ""
}

// parseClock reads HH:MM as the next such time in local time, or RFC 3339.
func parseClock(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("15:04", s, now.Location())
	if err != nil {
		return time.Time{}, fmt.Errorf("want HH:MM or RFC 3339, got %q", s)
	}
	at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
	if !at.After(now) {
		at = at.Add(24 * time.Hour)
	}
	return at, nil
}

func cmdHeadsUp(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "headsup", "headsup INC-42 [--to EMAIL,...]")
	to := fs.String("to", "", "people, comma-separated; default: responders of the suspected systems")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantOneIncident(fs, pos); err != nil {
		return err
	}
	var m messageOut
	raw, err := c.do(ctx, "POST", "/incidents/"+pos[0]+"/headsup", map[string]any{"to": splitList(*to)}, &m)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	fmt.Fprintf(e.stdout, "Heads-up queued for %d responders.\n", m.Total)
	return nil
}

func cmdDeliveries(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "deliveries", "deliveries INC-42 [MESSAGE] [--state failed]")
	state := fs.String("state", "", "only deliveries in this state: queued, sending, sent, deferred, failed, skipped (of every message, without MESSAGE)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return fmt.Errorf("want an incident id, and optionally a message number from `sitrep deliveries INC-42`")
	}
	if len(pos) == 1 {
		var out struct {
			Messages []messageOut `json:"messages"`
		}
		raw, err := c.do(ctx, "GET", "/incidents/"+pos[0]+"/messages", nil, &out)
		if err != nil {
			return err
		}
		if *state != "" {
			return c.deliveriesInState(ctx, pos[0], out.Messages, *state)
		}
		if c.json {
			c.printJSON(raw)
			return nil
		}
		if len(out.Messages) == 0 {
			fmt.Fprintf(e.stdout, "No messages sent on %s yet.\n", strings.ToUpper(pos[0]))
			return nil
		}
		for _, m := range out.Messages {
			fmt.Fprintf(e.stdout, "%4d  %s  %-12s %-9s %-3s sent %d/%d failed %d retrying %d skipped %d  %s\n", m.ID, m.CreatedAt.Local().Format("15:04"),
				m.Audience, m.Kind, m.Language, m.Counts["sent"], m.Total, m.Counts["failed"], m.Counts["deferred"], m.Counts["skipped"], m.MessageID)
		}
		fmt.Fprintf(e.stdout, "Who: sitrep deliveries %s MESSAGE [--state failed]\n", strings.ToUpper(pos[0]))
		return nil
	}
	out, raw, err := c.deliveries(ctx, pos[0], pos[1], *state)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	printDeliveries(e.stdout, out)
	return nil
}

// deliveriesOut is one message's deliveries, as the API lists them.
type deliveriesOut struct {
	Message    messageOut `json:"message"`
	Deliveries []struct {
		Email     string `json:"email"`
		State     string `json:"state"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
	} `json:"deliveries"`
}

// deliveriesPage is how many recipients the client asks for at a time.
var deliveriesPage = 1000

// deliveries reads every page of a message's deliveries (in state, when
// not empty): out for printing, raw as one answer of the API's shape
// with every recipient in it, for --json.
func (c *client) deliveries(ctx context.Context, ref, message, state string) (out deliveriesOut, raw []byte, err error) {
	var all struct {
		Message    json.RawMessage   `json:"message"`
		Deliveries []json.RawMessage `json:"deliveries"`
		More       bool              `json:"more"`
	}
	all.Deliveries = []json.RawMessage{}
	q := url.Values{"limit": {strconv.Itoa(deliveriesPage)}}
	if state != "" {
		q.Set("state", state)
	}
	for {
		var page struct {
			Message    json.RawMessage   `json:"message"`
			Deliveries []json.RawMessage `json:"deliveries"`
			NextAfter  int64             `json:"next_after"`
		}
		path := fmt.Sprintf("/incidents/%s/messages/%s/deliveries?%s", url.PathEscape(ref), url.PathEscape(message), q.Encode())
		if _, err := c.do(ctx, "GET", path, nil, &page); err != nil {
			return out, nil, err
		}
		all.Message = page.Message // the last page's counts: the latest
		all.Deliveries = append(all.Deliveries, page.Deliveries...)
		if page.NextAfter == 0 {
			break
		}
		q.Set("after", strconv.FormatInt(page.NextAfter, 10))
	}
	if raw, err = json.Marshal(all); err != nil {
		return out, nil, err
	}
	return out, raw, json.Unmarshal(raw, &out)
}

func printDeliveries(w io.Writer, out deliveriesOut) {
	for _, d := range out.Deliveries {
		fmt.Fprintf(w, "%-40s %-9s %d  %s\n", d.Email, d.State, d.Attempts, d.LastError)
	}
}

// deliveriesInState is `sitrep deliveries INC-42 --state failed`: the
// deliveries in that state of every message of the incident, by message.
func (c *client) deliveriesInState(ctx context.Context, ref string, messages []messageOut, state string) error {
	var all []json.RawMessage
	found := 0
	for _, m := range messages {
		out, raw, err := c.deliveries(ctx, ref, strconv.FormatInt(m.ID, 10), state)
		if err != nil {
			return err
		}
		all = append(all, raw)
		if c.json || len(out.Deliveries) == 0 {
			found += len(out.Deliveries)
			continue
		}
		found += len(out.Deliveries)
		fmt.Fprintf(c.e.stdout, "%4d  %s  %-12s %-9s %d %s of %d\n", m.ID, m.CreatedAt.Local().Format("15:04"), m.Audience, m.Kind, len(out.Deliveries), state, m.Total)
		printDeliveries(c.e.stdout, out)
	}
	if c.json {
		b, err := json.Marshal(map[string]any{"incident": strings.ToUpper(ref), "state": state, "messages": all})
		if err != nil {
			return err
		}
		c.printJSON(b)
		return nil
	}
	if found == 0 {
		plural := "s"
		if len(messages) == 1 {
			plural = ""
		}
		fmt.Fprintf(c.e.stdout, "No %s deliveries on %s (of %d message%s).\n", state, strings.ToUpper(ref), len(messages), plural)
	}
	return nil
}
