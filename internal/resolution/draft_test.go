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
		"| 2024-03-05 14:52 | Reply received |",
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
