package resolution

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/blameless"
)

// draftPeople is the directory the event texts below are written against:
// several first names are also English words, as in the lint's own corpus.
var draftPeople = []blameless.Person{
	{Name: "Will Turner", Email: "will.turner@example.com", Handles: []string{"@wturner"}},
	{Name: "Mark Chen", Email: "mark.chen@example.com", Handles: []string{"mchen"}},
	{Name: "Bill Okafor", Email: "bokafor@example.com", Handles: []string{"@billo"}},
	{Name: "Grace Liu", Email: "grace.liu@example.com", Handles: []string{"@gliu"}},
	{Name: "Rose Martin", Email: "rmartin@example.com", Handles: []string{"@rosem"}},
	{Name: "Dan Ivanov", Email: "dan.ivanov@example.com", Handles: []string{"@divanov"}},
	{Name: "Bob Reyes", Email: "breyes@example.com"},
	{Name: "Lena Vogel", Email: "lena.vogel@example.com"},
	{Name: "Daniel Fischer", Email: "dfischer@example.com"},
}

// words lists "kind:words" of each finding, for compact assertions.
func words(fs []blameless.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Kind + ":" + f.Words
	}
	return out
}

func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", "2024-03-05 "+hhmm)
	if err != nil {
		panic(err)
	}
	return t
}

// fullInput is an incident with everything filled in, and event texts as
// the incident and outbox packages write them, names and addresses included.
func fullInput() DraftInput {
	return DraftInput{
		ID: "INC-42", Title: "Checkout errors in the EU", Severity: "SEV2",
		FirstFailureAt: at("14:02"), DetectedAt: at("14:10"), DeclaredAt: at("14:14"), ResolvedAt: at("15:25"),
		Extent: "subset", Segments: []string{"region: EU", "feature: checkout"}, Systems: []string{"checkout", "payments-db"},
		Teams:     []string{"Payments", "SRE team"},
		RootCause: "A schema migration removed the index on the orders table, and checkout queries timed out.",
		Fix:       "The index was rebuilt and the migration tool now refuses to drop indexes without a flag.",
		Impact:    "About 18% of checkout attempts in the EU failed.",
		Names:     blameless.NewNameSet(draftPeople),
		Events: []DraftEvent{
			{At: at("14:14"), Kind: "declared", Text: "Declared INC-42 SEV3: Checkout errors in the EU"},
			{At: at("14:15"), Kind: "headsup_queued", Text: "Heads-up to 2 responders of checkout: Lena Vogel, Daniel Fischer"},
			{At: at("14:16"), Kind: "field_changed", Text: "roles: incident lead will.turner@example.com, comms lead grace.liu@example.com, facilitator -"},
			{At: at("14:20"), Kind: "update_queued", Text: "Status update 1 to eng-all, support, exec, eu-ops, sales, finance (640 recipients); next update by 14:50 UTC"},
			{At: at("14:31"), Kind: "field_changed", Text: "severity: SEV3 → SEV2"},
			{At: at("14:40"), Kind: "state_changed", Text: "State investigating → identified: Mark Chen found the dropped index"},
			{At: at("14:45"), Kind: "note", Text: "Will and @gliu are rebuilding the index; ETA 30 min"},
			{At: at("14:50"), Kind: "reminder", Text: "Reminder to grace.liu@example.com: next update due at 14:50 UTC"},
			{At: at("14:52"), Kind: "reply_received", Text: "Reply from bokafor@example.com: still broken in DE"},
			{At: at("15:25"), Kind: "state_changed", Text: "State identified → resolved"},
		},
	}
}

func TestDraftSectionsInOrder(t *testing.T) {
	t.Parallel()
	md := Draft(fullInput())
	if !strings.HasPrefix(md, "# [INC-42] Checkout errors in the EU: summary\n") {
		t.Errorf("title line: %q", strings.SplitN(md, "\n", 2)[0])
	}
	last := -1
	for _, h := range []string{"## Summary", "## Time frame", "## Impact", "## Root cause", "## How it was fixed",
		"## Timeline", "## Teams involved", "## Thanks"} {
		i := strings.Index(md, "\n"+h+"\n")
		if i < 0 || i < last {
			t.Fatalf("section %q missing or out of order in:\n%s", h, md)
		}
		last = i
	}
	for _, want := range []string{
		"INC-42 was a SEV2 incident that lasted 1 h 23 min, from 2024-03-05 14:02 to 15:25 UTC. It affected some users (region: EU; feature: checkout).",
		"| First failure | 2024-03-05 14:02 |",
		"| Resolved | 2024-03-05 15:25 |",
		"| Duration (first failure to resolution) | 1 h 23 min |",
		"| Time to detect | 8 min |",
		"- **Systems:** checkout, payments-db",
		"About 18% of checkout attempts in the EU failed.",
		"A schema migration removed the index",
		"| 2024-03-05 14:14 | Incident declared as SEV3 |",
		"| 2024-03-05 14:15 | Heads-up sent to the responders of checkout |",
		"| 2024-03-05 14:16 | Incident roles assigned |",
		"| 2024-03-05 14:20 | Status update 1 sent to 6 groups |",
		"| 2024-03-05 14:31 | Severity changed: SEV3 → SEV2 |",
		"| 2024-03-05 14:40 | State changed: investigating → identified: a responder found the dropped index |",
		"| 2024-03-05 14:45 | Note: a responder and a responder are rebuilding the index; ETA 30 min |",
		"| 2024-03-05 14:52 | Reply received: “still broken in DE” |",
		"| 2024-03-05 15:25 | State changed: identified → resolved |",
		"- Payments\n- SRE team\n",
		"Thank you to the Payments team and the SRE team for working on resolving this issue",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "_TODO") && strings.Count(md, "_TODO") != 1 {
		t.Errorf("a complete input should leave only the summary check TODO:\n%s", md)
	}
}

// The draft copies no names from event texts, and passes the lint that
// the author will run before sending.
func TestDraftPassesLint(t *testing.T) {
	t.Parallel()
	in := fullInput()
	md := Draft(in)
	if fs := blameless.Lint(md, in.Names, nil); len(fs) != 0 {
		t.Errorf("draft has findings %v:\n%s", fs, md)
	}
	for _, p := range draftPeople {
		for _, s := range append([]string{p.Name, p.Email}, p.Handles...) {
			if s != "" && strings.Contains(strings.ToLower(md), strings.ToLower(s)) {
				t.Errorf("draft contains %q", s)
			}
		}
	}
	// An empty input passes too: the TODOs are neutral.
	if fs := blameless.Lint(Draft(DraftInput{}), in.Names, nil); len(fs) != 0 {
		t.Errorf("empty draft has findings %v", fs)
	}
}

// Blame in the author's text is kept, for the lint to point at: the draft
// does not silently rewrite what people wrote.
func TestDraftKeepsBlameForTheLint(t *testing.T) {
	t.Parallel()
	in := fullInput()
	in.RootCause = "Mark forgot to add the index back."
	fs := blameless.Lint(Draft(in), in.Names, nil)
	if got := words(fs); strings.Join(got, "|") != "name:Mark|blame:forgot to" {
		t.Errorf("findings = %v", got)
	}
}

func TestDraftTODOsWhenMissing(t *testing.T) {
	t.Parallel()
	md := Draft(DraftInput{ID: "INC-7", Title: "Slow search", DeclaredAt: at("09:00")})
	for _, want := range []string{
		"INC-7 was an incident that began at 2024-03-05 09:00 UTC.",
		"| First failure | _TODO: when did it first fail? Check the graphs_ |",
		"| Resolved | _TODO: when was service restored?_ |",
		"| Duration (declaration to resolution) | _TODO: needs the start and resolution times_ |",
		"- **Extent:** _TODO: all users, or which part of them?_",
		"_TODO: describe the impact",
		"_TODO: describe the root cause",
		"_TODO: describe how service was restored",
		"_TODO: list the teams",
		"_TODO: thank the teams by name._",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(md, "_TODO: no timeline events were recorded") {
		t.Errorf("empty timeline not marked:\n%s", md)
	}
}

func TestDraftRootCauseUnknown(t *testing.T) {
	t.Parallel()
	in := fullInput()
	in.RootCause, in.RootCauseUnknown = "", true
	md := Draft(in)
	for _, want := range []string{"The root cause is not known yet", "_TODO: update when the root cause is known._",
		"Service is restored; the root cause is not known yet"} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
}

func TestDraftLocalZoneAndEscaping(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	in := fullInput()
	in.Zone = berlin
	in.Events = append(in.Events, DraftEvent{At: at("15:00"), Kind: "note", Text: "retry | backoff\nlowered"})
	md := Draft(in)
	for _, want := range []string{
		"|  | Time (UTC) | Time (Europe/Berlin) |",
		"| First failure | 2024-03-05 14:02 | 2024-03-05 15:02 CET |",
		"| Time (UTC) | Time (Europe/Berlin) | What |",
		`| 2024-03-05 15:00 | 2024-03-05 16:00 CET | Note: retry \| backoff lowered |`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		20 * time.Second:                "under a minute",
		45 * time.Minute:                "45 min",
		83 * time.Minute:                "1 h 23 min",
		2 * time.Hour:                   "2 h",
		51*time.Hour + 10*time.Minute:   "2 d 3 h",
		48*time.Hour + 30*time.Second:   "2 d",
		59*time.Minute + 40*time.Second: "1 h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// The draft's duration starts at the first failure when it is known;
// otherwise at the earliest sign the incident has, and says so (issue 17:
// the status said "45 min so far" from the detection, the draft "lasted
// 1 min" from the declaration).
func TestDraftDurationFromTheEarliestSign(t *testing.T) {
	t.Parallel()
	in := DraftInput{ID: "INC-1", Title: "Login fails", DetectedAt: at("09:15"), DeclaredAt: at("10:00"), ResolvedAt: at("10:01")}
	md := Draft(in)
	for _, want := range []string{
		"INC-1 was an incident that lasted at least 46 min, from the detection at 2024-03-05 09:15 to 10:01 UTC.",
		"| Duration (detection to resolution) | 46 min |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	in.FirstReportAt = at("09:10")
	md = Draft(in)
	for _, want := range []string{
		"lasted at least 51 min, from the first report at 2024-03-05 09:10 to 10:01 UTC.",
		"| First report | 2024-03-05 09:10 |",
		"| Duration (first report to resolution) | 51 min |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "lasted 1 min") {
		t.Errorf("the draft counts from the declaration:\n%s", md)
	}
	in.FirstFailureAt = at("09:00")
	if md := Draft(in); !strings.Contains(md, "that lasted 1 h 1 min, from 2024-03-05 09:00 to 10:01 UTC.") {
		t.Errorf("with the first failure known:\n%s", md)
	}
}

// Every timeline row says what happened: the report's words, the
// update's text, the answer to "is it fixed for you?", who the resolved
// email went to; never a bare "Report", "Confirmation" or "Resolved
// email" (issue 17). People's words keep no names or addresses.
func TestDraftTimelineSaysWhatHappened(t *testing.T) {
	t.Parallel()
	in := fullInput()
	in.Events = []DraftEvent{
		{At: at("14:12"), Kind: "report", Text: "Report from breyes@example.com in Berlin via web: checkout spins (filed with the CLI)",
			Data: map[string]any{"location": "Berlin", "access": "web", "observed": "Checkout spins; Mark saw it too", "channel": "cli"}},
		{At: at("14:20"), Kind: "update_queued", Text: "Status update 1 to exec, support (2 recipients); next update by 14:50 UTC",
			Data: map[string]any{"status": "Payments fail for **EU** cards.\nWe are rolling back.", "groups": []any{"exec", "support"}}},
		{At: at("15:25"), Kind: "resolved_email", Text: "Root cause: A migration. Resolved email sent to exec, support; write-up promised by Thu 15:25 UTC"},
		{At: at("15:25"), Kind: "confirmation_asked", Text: "Asked 2 people who reported the problem to confirm the fix",
			Data: map[string]any{"asked": []any{"breyes@example.com", "lena.vogel@example.com"}}},
		{At: at("15:40"), Kind: "confirmation", Text: "Bob Reyes <breyes@example.com> says it is STILL BROKEN: no, still 502",
			Data: map[string]any{"state": "still_broken", "answer": "No, still 502 here. Bob Reyes", "reporter": true}},
		{At: at("15:41"), Kind: "confirmation", Text: "lena.vogel@example.com answered (unclear; read it): works but slow",
			Data: map[string]any{"state": "ambiguous", "answer": "Works, but slow for lena.vogel@example.com", "reporter": true}},
		{At: at("15:42"), Kind: "confirmation", Text: "x confirmed the fix", Data: map[string]any{"state": "confirmed", "reporter": false}},
	}
	md := Draft(in)
	for _, want := range []string{
		"| 2024-03-05 14:12 | Report received from Berlin (web): “Checkout spins; a responder saw it too” |",
		"| 2024-03-05 14:20 | Status update 1 sent to 2 groups: “Payments fail for **EU** cards. We are rolling back.” |",
		"| 2024-03-05 15:25 | Resolved email sent to exec, support |",
		"| 2024-03-05 15:25 | 2 people asked to confirm the fix |",
		"| 2024-03-05 15:40 | A reporter says it is still broken: “No, still 502 here. a responder” |",
		"| 2024-03-05 15:41 | A reporter answered, not clearly yes or no: “Works, but slow for a responder” |",
		"| 2024-03-05 15:42 | A person asked to confirm the fix confirmed the fix |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	for _, bare := range []string{"| Report |", "| Confirmation |", "| Resolved email |", "| Confirmation asked |"} {
		if strings.Contains(md, bare) {
			t.Errorf("a bare row %q:\n%s", bare, md)
		}
	}
	if fs := blameless.Lint(md, in.Names, nil); len(fs) != 0 {
		t.Errorf("draft has findings %v:\n%s", words(fs), md)
	}
}

// A reporter's open "still broken" is in the summary, with their words
// and a TODO that keeps it from being sent as is, and the draft does not
// say the root cause was "found and fixed" (issue 17).
func TestDraftStillBrokenIsNotFoundAndFixed(t *testing.T) {
	t.Parallel()
	in := fullInput()
	in.StillBroken = []string{"No, still 502 for Bob Reyes.", ""}
	md := Draft(in)
	summary := md[:strings.Index(md, "## Time frame")]
	if strings.Contains(summary, "found and fixed") ||
		!strings.Contains(summary, "A fix is in place, but 2 people asked to confirm it say it is still broken for them: “No, still 502 for a responder.”.") ||
		!strings.Contains(summary, "_TODO: find out whether it is fixed for them") {
		t.Errorf("summary:\n%s", summary)
	}
	in.StillBroken = in.StillBroken[:1]
	if md := Draft(in); !strings.Contains(md, "1 person asked to confirm it says it is still broken") {
		t.Errorf("one answer:\n%s", md)
	}
}

// A title's own punctuation does not run into the heading's.
func TestDraftHeadingPunctuation(t *testing.T) {
	t.Parallel()
	for title, want := range map[string]string{"Login fails.": "# [INC-7] Login fails: summary\n", "Is search down?": "# [INC-7] Is search down: summary\n"} {
		if md := Draft(DraftInput{ID: "INC-7", Title: title}); !strings.HasPrefix(md, want) {
			t.Errorf("title %q: %q", title, strings.SplitN(md, "\n", 2)[0])
		}
	}
}
